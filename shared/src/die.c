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

unsigned long
die_number(const char *what, const char *s, unsigned long min,
           unsigned long max)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    /* strtoul skips blanks and accepts a sign: refuse both. */
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min ||
        v > max) {
        fflush(stdout);
        fprintf(stderr,
                "%s: %s '%s': expected a whole number from %lu to %lu\n", prog,
                what, s, min, max);
        exit(2);
    }
    return v;
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
