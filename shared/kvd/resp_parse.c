/*
 * resp_parse.c - the reply parser of iolab/resp.h: resp_parse and
 * resp_reply_free, and the resumable scanner (resp_scan.h) that the
 * connection code in resp.c drives as bytes arrive.
 *
 * Organisation: replies (free), the scanner (a resumable pass that only
 * finds where a reply ends and validates it), the builder (a second pass
 * over a complete reply that allocates it), and resp_parse.
 *
 * Why two passes: a reply arrives in pieces. The scanner remembers how far
 * it got (its position, the open arrays, the bulk string it waits for), so
 * each new piece is looked at once; nothing is allocated until the whole
 * reply is there, so a hostile "*16777216" costs nothing until its
 * elements actually arrive. The builder then walks the complete reply
 * once. Reading a reply of n bytes costs O(n) however it is split.
 */
#include "resp_scan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* ===================================================================== */
/* Replies                                                               */
/* ===================================================================== */

void
resp_reply_free(struct resp_reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nelem; i++)
        resp_reply_free(&r->elem[i]);
    free(r->elem);
    free(r->str);
    *r = (struct resp_reply){.type = RESP_NIL};
}

/* ===================================================================== */
/* The scanner: where does the reply end, and is it valid?               */
/* ===================================================================== */

void
resp_scan_init(struct resp_scan *s)
{
    *s = (struct resp_scan){.depth = 1, .rem = {1}};
}

/* One element finished: close every array it completes. */
static void
scan_complete(struct resp_scan *s)
{
    while (s->depth > 0) {
        if (--s->rem[s->depth - 1] > 0)
            return;
        s->depth--;
    }
}

long
resp_scan_run(struct resp_scan *s, const char *buf, size_t len)
{
    if (s->need > len)
        return 0;
    while (s->depth > 0) {
        size_t start = s->pos;
        const char *nl = NULL;

        if (start < len) {
            size_t from = s->lscan > start ? s->lscan : start;
            nl = memchr(buf + from, '\n', len - from);
        }
        if (nl == NULL) {
            if (len - start > RESP_MAX_LINE + 2)
                return -EPROTO;
            s->lscan = len;
            return 0;
        }
        size_t end = (size_t)(nl - buf); /* the '\n' */
        if (end < start + 2 || buf[end - 1] != '\r' ||
            end - start > RESP_MAX_LINE + 1)
            return -EPROTO; /* type byte, "\r\n" at least */
        const char *body = buf + start + 1;
        size_t blen = end - 1 - (start + 1);
        long long n = 0;
        char type = buf[start];

        if (type != '+' && type != '-' && !wire_parse_ll(body, blen, &n))
            return -EPROTO;
        switch (type) {
        case '+':
        case '-':
        case ':':
            s->pos = end + 1;
            scan_complete(s);
            break;
        case '$':
            if (n < -1 || n > RESP_MAX_BULK)
                return -EPROTO;
            if (n >= 0) {
                size_t stop = end + 1 + (size_t)n + 2;
                if (stop > len) {
                    s->need = stop; /* header re-read later: a few bytes */
                    return 0;
                }
                if (buf[stop - 2] != '\r' || buf[stop - 1] != '\n')
                    return -EPROTO;
                s->pos = stop;
            } else {
                s->pos = end + 1;
            }
            s->need = 0;
            scan_complete(s);
            break;
        case '*':
            if (n < -1 || n > RESP_MAX_ELEMS)
                return -EPROTO;
            s->pos = end + 1;
            if (n <= 0) {
                scan_complete(s);
            } else {
                if (s->depth > RESP_MAX_DEPTH)
                    return -EPROTO;
                s->rem[s->depth++] = (long)n;
            }
            break;
        default:
            return -EPROTO;
        }
        s->lscan = s->pos;
    }
    if (s->pos > LONG_MAX)
        return -EPROTO;
    return (long)s->pos;
}

/* ===================================================================== */
/* The builder: a complete, validated reply into a struct resp_reply      */
/* ===================================================================== */

/* Copies p[0..len) into a new NUL-terminated string. */
static int
dup_str(struct resp_reply *r, const char *p, size_t len)
{
    r->str = malloc(len + 1);
    if (r->str == NULL)
        return -ENOMEM;
    memcpy(r->str, p, len);
    r->str[len] = '\0';
    r->len = len;
    return 0;
}

int
resp_build(const char *buf, size_t *pos, struct resp_reply *r)
{
    const char *p = buf + *pos;
    const char *nl = memchr(p, '\n', RESP_MAX_LINE + 2);
    size_t blen = (size_t)(nl - 1 - (p + 1));
    long long n = 0;
    int err = 0;

    *r = (struct resp_reply){.type = RESP_NIL};
    *pos = (size_t)(nl + 1 - buf);
    if (p[0] != '+' && p[0] != '-')
        wire_parse_ll(p + 1, blen, &n); /* validated by the scanner */
    switch (p[0]) {
    case '+':
    case '-':
        r->type = p[0] == '+' ? RESP_SIMPLE : RESP_ERROR;
        return dup_str(r, p + 1, blen);
    case ':':
        r->type = RESP_INTEGER;
        r->integer = n;
        return 0;
    case '$':
        if (n < 0)
            return 0;
        err = dup_str(r, nl + 1, (size_t)n);
        if (err == 0)
            r->type = RESP_BULK;
        *pos += (size_t)n + 2;
        return err;
    default: /* '*' */
        if (n < 0)
            return 0;
        r->type = RESP_ARRAY;
        if (n == 0)
            return 0;
        r->elem = calloc((size_t)n, sizeof(*r->elem));
        if (r->elem == NULL) {
            r->type = RESP_NIL;
            return -ENOMEM;
        }
        r->nelem = (size_t)n;
        for (size_t i = 0; i < r->nelem; i++) {
            err = resp_build(buf, pos, &r->elem[i]);
            if (err < 0) {
                resp_reply_free(r);
                return err;
            }
        }
        return 0;
    }
}

long
resp_parse(const char *buf, size_t len, struct resp_reply *out)
{
    struct resp_scan s;
    size_t pos = 0;

    *out = (struct resp_reply){.type = RESP_NIL};
    resp_scan_init(&s);
    long n = resp_scan_run(&s, buf, len);
    if (n <= 0)
        return n;
    int err = resp_build(buf, &pos, out);
    return err < 0 ? err : n;
}
