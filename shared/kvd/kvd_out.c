/*
 * kvd_out.c - the reply buffer of kvd_out.h: growing it, and appending
 * each kind of RESP reply to it.
 */
#include "kvd_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* The first allocation: a batch of small replies fits without growing. */
#define KOUT_INIT_CAP (16 * 1024)

/* Room for n more bytes at data + len, or NULL (and oom) when there is none. */
static char *
out_reserve(struct kout *o, size_t n)
{
    if (o->oom)
        return NULL;
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : KOUT_INIT_CAP;
        while (cap - o->len < n)
            cap *= 2;
        char *p = realloc(o->data, cap);
        if (p == NULL) {
            o->oom = true; /* the owner closes the connection */
            return NULL;
        }
        o->data = p;
        o->cap = cap;
    }
    return o->data + o->len;
}

void
out_consume(struct kout *o, size_t n, size_t keep_cap)
{
    o->off += n;
    if (o->off < o->len)
        return;
    o->off = o->len = 0;
    if (o->cap > keep_cap) {
        free(o->data);
        o->data = NULL;
        o->cap = 0;
    }
}

void
out_free(struct kout *o)
{
    free(o->data);
    *o = (struct kout){0};
}

void
out_raw(struct kout *o, const char *p, size_t len)
{
    char *d = out_reserve(o, len);

    if (d != NULL) {
        memcpy(d, p, len);
        o->len += len;
    }
}

void
out_simple(struct kout *o, const char *s)
{
    size_t len = strlen(s);
    char *d = out_reserve(o, len + 3);

    if (d != NULL) {
        d[0] = '+';
        memcpy(d + 1, s, len);
        memcpy(d + 1 + len, "\r\n", 2);
        o->len += len + 3;
    }
}

void
out_error(struct kout *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    /* A reply line must not contain CR or LF: they would end it early. */
    for (int i = 0; i < n; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            msg[i] = ' ';
    char *d = out_reserve(o, (size_t)n + 3);
    if (d != NULL) {
        d[0] = '-';
        memcpy(d + 1, msg, (size_t)n);
        memcpy(d + 1 + n, "\r\n", 2);
        o->len += (size_t)n + 3;
    }
}

void
out_int(struct kout *o, long long n)
{
    char *d = out_reserve(o, WIRE_HEADER_MAX);

    if (d != NULL)
        o->len += wire_put_header(d, ':', n);
}

void
out_bulk(struct kout *o, const char *p, size_t len)
{
    char *d = out_reserve(o, WIRE_HEADER_MAX + len + 2);

    if (d != NULL) {
        size_t h = wire_put_header(d, '$', (long long)len);
        memcpy(d + h, p, len);
        memcpy(d + h + len, "\r\n", 2);
        o->len += h + len + 2;
    }
}

void
out_nil(struct kout *o)
{
    out_raw(o, "$-1\r\n", 5);
}

void
out_array(struct kout *o, size_t n)
{
    char *d = out_reserve(o, WIRE_HEADER_MAX);

    if (d != NULL)
        o->len += wire_put_header(d, '*', (long long)n);
}
