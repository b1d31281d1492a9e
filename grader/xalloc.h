/*
 * xalloc.h - the grader's allocation and formatting helpers, and the one
 * place that decides what running out of memory does.
 *
 * The grader is a short-lived command: when an allocation fails it cannot
 * grade anything it could trust, so every helper here prints
 * "iolab-grade: out of memory" on stderr and exits with status 2 (the
 * status of a broken run, see main.c's usage) instead of returning NULL.
 * Callers therefore never check these results. Reports are written only
 * once they are complete in memory, so an out-of-memory exit never leaves
 * a half-written report behind.
 *
 * None of these may be called in a child between fork and exec: they
 * allocate (run.c prepares everything a child needs before it forks).
 */
#ifndef IOLAB_XALLOC_H
#define IOLAB_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Prints "iolab-grade: out of memory" and exits with status 2. */
_Noreturn void xalloc_die(void);

/* malloc, calloc and realloc that never return NULL (see above). A size
 * of 0 still returns a pointer that free() accepts. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* realloc for n elements of size bytes each; n * size may not overflow. */
void *xreallocarray(void *p, size_t n, size_t size);

/* A new copy of s (s may not be NULL), or of its first n bytes. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A newly allocated string, formatted as by printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif /* IOLAB_XALLOC_H */
