/*
 * die.c - fatal-error reporting for demos and benchmarks (see iolab/die.h).
 */
#include "iolab/die.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "iolab";

void
die_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    prog = slash ? slash + 1 : argv0;
}

_Noreturn void
die_neg(const char *action, const char *arg, long neg_errno)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s '%s': %s\n", prog, action, arg,
            strerror((int)-neg_errno));
    exit(1);
}

_Noreturn void
die_errno(const char *action, const char *arg)
{
    die_neg(action, arg, -errno);
}

_Noreturn void
die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}
