/*
 * sbuf.c - the growable text buffer of sbuf.h. Each function keeps the
 * invariants that sbuf.h states beside the struct.
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The first allocation: most texts (a label, a message) fit. */
#define SBUF_FIRST_CAP 256

/* Makes room for n more bytes and the NUL after them. */
static void
sb_grow(struct sbuf *sb, size_t n)
{
    if (n > (size_t)-1 - sb->len - 1)
        xalloc_die(); /* no buffer can hold that much */
    if (sb->len + n + 1 <= sb->cap)
        return;
    size_t cap = sb->cap != 0 ? sb->cap : SBUF_FIRST_CAP;
    while (cap < sb->len + n + 1)
        cap = cap <= (size_t)-1 / 2 ? cap * 2 : sb->len + n + 1;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
}

void
sb_putn(struct sbuf *sb, const char *s, size_t n)
{
    sb_grow(sb, n);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void
sb_puts(struct sbuf *sb, const char *s)
{
    sb_putn(sb, s, strlen(s));
}

void
sb_putc(struct sbuf *sb, char c)
{
    sb_putn(sb, &c, 1);
}

void
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;

    /* First try the room there is; then grow once to the exact size. */
    sb_grow(sb, 0);
    va_start(ap, fmt);
    int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->buf[sb->len] = '\0'; /* an encoding error: append nothing */
        return;
    }
    if ((size_t)n >= sb->cap - sb->len) {
        sb_grow(sb, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
    }
    sb->len += (size_t)n;
}

const char *
sb_str(const struct sbuf *sb)
{
    return sb->buf != NULL ? sb->buf : "";
}

void
sb_reset(struct sbuf *sb)
{
    sb->len = 0;
    if (sb->buf != NULL)
        sb->buf[0] = '\0';
}

char *
sb_detach(struct sbuf *sb)
{
    char *s = sb->buf != NULL ? sb->buf : xstrdup("");

    *sb = (struct sbuf)SBUF_INIT;
    return s;
}

void
sb_free(struct sbuf *sb)
{
    free(sb->buf);
    *sb = (struct sbuf)SBUF_INIT;
}
