/*
 * xalloc.c - the allocation helpers of xalloc.h: each failure ends in
 * xalloc_die, the grader's one out-of-memory path.
 */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
xalloc_die(void)
{
    /* write(2), not stdio: stdio may itself need memory to print. */
    static const char msg[] = "iolab-grade: out of memory\n";

    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    exit(2);
}

void *
xmalloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);

    if (p == NULL)
        xalloc_die();
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

    if (p == NULL)
        xalloc_die();
    return p;
}

void *
xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size != 0 ? size : 1);

    if (q == NULL)
        xalloc_die();
    return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > (size_t)-1 / size)
        xalloc_die(); /* the product would wrap: no allocation can hold it */
    return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        xalloc_die();
    return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
    char *s;

    if (vasprintf(&s, fmt, ap) < 0)
        xalloc_die(); /* or an encoding error, which the grader never makes */
    return s;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}
