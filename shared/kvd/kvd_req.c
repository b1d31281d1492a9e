/*
 * kvd_req.c - kvd's request parser (kvd_req.h): multibulk requests,
 * resumed where they stopped, and inline lines split Redis-style.
 *
 * Organisation: growing the argument arrays, reading a header line, the
 * inline form, the multibulk form, and kreq_parse choosing between them.
 */
#include "kvd_req.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

void
kreq_init(struct kreq *r, size_t max_frame)
{
    *r = (struct kreq){.max_frame = max_frame, .m_argc = -1};
}

void
kreq_free(struct kreq *r)
{
    free(r->aoff);
    free(r->alen);
    free(r->args);
    free(r->scratch);
    *r = (struct kreq){.m_argc = -1};
}

/* Grows the argument arrays to hold n; false when out of memory. */
static bool
args_reserve(struct kreq *r, long n)
{
    if (n <= r->acap)
        return true;
    long cap = r->acap ? r->acap * 2 : 16;
    while (cap < n)
        cap *= 2;
    /* Each array that grew is kept, so a failure leaks nothing. */
    size_t *off = realloc(r->aoff, (size_t)cap * sizeof(*off));
    if (off != NULL)
        r->aoff = off;
    size_t *len = realloc(r->alen, (size_t)cap * sizeof(*len));
    if (len != NULL)
        r->alen = len;
    struct karg *args = realloc(r->args, (size_t)cap * sizeof(*args));
    if (args != NULL)
        r->args = args;
    if (off == NULL || len == NULL || args == NULL)
        return false;
    r->acap = cap;
    return true;
}

/* Refuses the request: the stream is out of step. */
static int
protocol_error(struct kreq *r, struct kreq_cmd *out, const char *why)
{
    snprintf(r->why, sizeof(r->why), "%s", why);
    out->error = r->why;
    return -EPROTO;
}

/*
 * A count or length from a header, or LLONG_MIN when it is not one. The
 * field is at most 19 bytes ('-' and 18 digits): anything longer is out
 * of every limit anyway.
 */
static long long
parse_len(const char *p, size_t len)
{
    long long v;

    return len <= 19 && wire_parse_ll(p, len, &v) ? v : LLONG_MIN;
}

/*
 * Finds the header line at buf[at...]: returns the offset of its '\n', or
 * 0 if it is not complete yet (a header never ends at offset 0). Sets
 * *bad when it cannot be a header (too long, no '\r').
 */
static size_t
header_end(const char *buf, size_t len, size_t at, bool *bad)
{
    const char *nl = memchr(buf + at, '\n', len - at);

    *bad = false;
    if (nl == NULL) {
        *bad = len - at > KVD_MAX_HEADER;
        return 0;
    }
    size_t end = (size_t)(nl - buf);
    *bad = end - at < 2 || buf[end - 1] != '\r';
    return end;
}

/* ---- the inline form ------------------------------------------------ */

/* The value of a hexadecimal digit, or -1. */
static int
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/*
 * Splits an inline command line into arguments in r->scratch, Redis-style:
 * blanks separate; "..." allows \n \r \t \b \a \\ \" and \xHH escapes;
 * '...' allows \'. Returns argc (0 for a blank line), -EINVAL for
 * unbalanced quotes, or -ENOMEM.
 */
static long
split_inline(struct kreq *r, const char *p, size_t len)
{
    char *out = r->scratch;
    long argc = 0;
    size_t i = 0, o = 0;

    for (;;) {
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == len)
            return argc;
        if (!args_reserve(r, argc + 1))
            return -ENOMEM;
        size_t start = o;
        char q = 0;
        for (; i < len; i++) {
            char ch = p[i];
            if (q == 0 && (ch == ' ' || ch == '\t'))
                break;
            if (q == 0 && (ch == '"' || ch == '\'')) {
                q = ch;
                continue;
            }
            if (q != 0 && ch == q) {
                q = 0;
                /* A closing quote must end the argument. */
                if (i + 1 < len && p[i + 1] != ' ' && p[i + 1] != '\t')
                    return -EINVAL;
                continue;
            }
            if (q == '"' && ch == '\\' && i + 1 < len) {
                char e = p[++i];
                int hi = i + 2 < len ? hex_digit(p[i + 1]) : -1;
                int lo = i + 2 < len ? hex_digit(p[i + 2]) : -1;
                if (e == 'x' && hi >= 0 && lo >= 0) {
                    ch = (char)(hi * 16 + lo);
                    i += 2;
                } else {
                    ch = e == 'n'   ? '\n'
                         : e == 'r' ? '\r'
                         : e == 't' ? '\t'
                         : e == 'b' ? '\b'
                         : e == 'a' ? '\a'
                                    : e;
                }
            } else if (q == '\'' && ch == '\\' && i + 1 < len &&
                       p[i + 1] == '\'') {
                ch = p[++i];
            }
            out[o++] = ch;
        }
        if (q != 0)
            return -EINVAL;
        r->args[argc++] = (struct karg){.p = out + start, .len = o - start};
    }
}

static int
parse_inline(struct kreq *r, const char *buf, size_t len, struct kreq_cmd *out)
{
    const char *nl = memchr(buf, '\n', len);

    if (nl == NULL) {
        if (len > KVD_MAX_INLINE || len > r->max_frame)
            return protocol_error(r, out, "too big inline request");
        out->need = len + 1;
        return 0;
    }
    size_t n = (size_t)(nl - buf);
    out->used = n + 1;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (r->scap < n + 1) {
        char *s = realloc(r->scratch, n + 1);
        if (s == NULL)
            return -ENOMEM;
        r->scratch = s;
        r->scap = n + 1;
    }
    long argc = split_inline(r, buf, n);
    if (argc == -ENOMEM)
        return -ENOMEM;
    if (argc < 0) {
        /* The line is consumed, so the stream stays in step. */
        out->error = "unbalanced quotes in request";
        return 1;
    }
    out->argc = (int)argc; /* 0 for a blank line: no reply, as in Redis */
    out->argv = r->args;
    return 1;
}

/* ---- the multibulk form ------------------------------------------------ */

static int
parse_multibulk(struct kreq *r, const char *buf, size_t len,
                struct kreq_cmd *out)
{
    size_t max = r->max_frame;
    bool bad;

    if (r->m_argc < 0) {
        size_t end = header_end(buf, len, 0, &bad);
        long long n = bad ? LLONG_MIN : end ? parse_len(buf + 1, end - 2) : 0;
        if (bad || (end && (n == LLONG_MIN || n > (long long)(max / 6))))
            return protocol_error(r, out, "invalid multibulk length");
        if (end == 0) {
            out->need = len + 1;
            return 0;
        }
        if (n <= 0) { /* "*0" and "*-1": an empty command, ignored */
            out->used = end + 1;
            return 1;
        }
        r->m_argc = (long)n;
        r->m_argn = 0;
        r->m_scan = end + 1;
    }
    while (r->m_argn < r->m_argc) {
        size_t at = r->m_scan;
        if (at >= len) {
            out->need = at + 1;
            return 0;
        }
        if (buf[at] != '$') {
            char what[40];
            unsigned char ch = (unsigned char)buf[at];
            snprintf(what, sizeof(what), "expected '$', got '%c'",
                     ch >= 32 && ch < 127 ? ch : '?');
            return protocol_error(r, out, what);
        }
        size_t end = header_end(buf, len, at, &bad);
        long long n = bad   ? LLONG_MIN
                      : end ? parse_len(buf + at + 1, end - 1 - (at + 1))
                            : 0;
        if (bad || (end && (n < 0 || (unsigned long long)n > max)))
            return protocol_error(r, out, "invalid bulk length");
        if (end == 0) {
            out->need = len + 1;
            return 0;
        }
        size_t stop = end + 1 + (size_t)n + 2;
        if (stop > max + KVD_MAX_HEADER)
            return protocol_error(r, out,
                                  "command larger than the frame limit");
        if (stop > len) {
            out->need = stop;
            return 0;
        }
        if (buf[stop - 2] != '\r' || buf[stop - 1] != '\n')
            return protocol_error(r, out, "bulk string not followed by CRLF");
        if (!args_reserve(r, r->m_argn + 1))
            return -ENOMEM;
        r->aoff[r->m_argn] = end + 1;
        r->alen[r->m_argn] = (size_t)n;
        r->m_argn++;
        r->m_scan = stop;
    }
    for (long i = 0; i < r->m_argc; i++)
        r->args[i] = (struct karg){buf + r->aoff[i], r->alen[i]};
    out->argc = (int)r->m_argc;
    out->argv = r->args;
    out->used = r->m_scan;
    r->m_argc = -1;
    return 1;
}

int
kreq_parse(struct kreq *r, const char *buf, size_t len, struct kreq_cmd *out)
{
    *out = (struct kreq_cmd){0};
    if (r->m_argc >= 0 || buf[0] == '*')
        return parse_multibulk(r, buf, len, out);
    return parse_inline(r, buf, len, out);
}
