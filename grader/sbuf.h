/*
 * sbuf.h - the grader's one growable text buffer: reports, messages and
 * logs are built in one, then written or handed over as a string.
 *
 * Invariants, true between any two calls:
 * - buf is NULL exactly while cap is 0 (a zeroed struct sbuf, SBUF_INIT,
 *   is an empty buffer and needs no set-up call);
 * - otherwise buf holds len bytes of text followed by a NUL, and
 *   len + 1 <= cap: the text is always a valid C string;
 * - the text may hold NUL bytes of its own when sb_putn was given them;
 *   len, not strlen, is its length.
 *
 * Ownership: the sbuf owns buf. Pointers from sb_str are valid until the
 * next call that changes the buffer; sb_detach hands the text over to the
 * caller and leaves the buffer empty; sb_free releases it.
 *
 * Allocation never fails visibly: running out of memory ends the grader
 * (xalloc.h), so no append reports an error. Not thread-safe: one buffer,
 * one thread. Never used in a child after fork (it allocates).
 */
#ifndef IOLAB_SBUF_H
#define IOLAB_SBUF_H

#include <stddef.h>

struct sbuf {
    char *buf;  /* the text, NUL-terminated; NULL while cap is 0 */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated for buf */
};

#define SBUF_INIT                                                              \
    {                                                                          \
        0                                                                      \
    }

/* Appends n bytes of s (which may hold NULs), a C string, or one byte. */
void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);

/* Appends text formatted as by printf. */
void sb_printf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The text so far: "" while empty; valid until the next change. */
const char *sb_str(const struct sbuf *sb);

/* Empties the text, keeping the allocation for reuse. */
void sb_reset(struct sbuf *sb);

/* Hands the text to the caller (free it; "" is allocated for an empty
 * buffer) and leaves sb empty. */
char *sb_detach(struct sbuf *sb);

/* Releases the text; sb is then empty again. */
void sb_free(struct sbuf *sb);

#endif /* IOLAB_SBUF_H */
