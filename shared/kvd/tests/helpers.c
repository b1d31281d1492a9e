/*
 * helpers.c - the helpers of helpers.h.
 */
#include "helpers.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iolab/testkit.h"

#define MAX_ARGS 64

struct kvd *
kvdt_start(const struct kvd_config *cfg)
{
    struct kvd *kv = NULL;
    int err = kvd_start(cfg, &kv);

    cr_assert_eq(err, 0, "kvd_start returned %d (%s), expected 0", err,
                 strerror(-err));
    cr_assert_neq(kvd_port(kv), 0, "kvd_port is 0 after kvd_start");
    return kv;
}

struct resp_conn *
kvdt_connect(unsigned short port)
{
    struct resp_conn *c = NULL;
    int err = resp_connect("127.0.0.1", port, KVDT_WAIT_MS, &c);

    cr_assert_eq(err, 0, "resp_connect to port %u: %d (%s)", port, err,
                 strerror(-err));
    return c;
}

const char *
kvdt_esc(const char *p, size_t len)
{
    static char out[4][512];
    static int which;
    char *o = out[which++ % 4];
    size_t n = 0;

    for (size_t i = 0; i < len && n < sizeof(out[0]) - 8; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r')
            n += (size_t)sprintf(o + n, "\\r");
        else if (ch == '\n')
            n += (size_t)sprintf(o + n, "\\n");
        else if (ch < 32 || ch >= 127)
            n += (size_t)sprintf(o + n, "\\x%02x", ch);
        else
            o[n++] = (char)ch;
    }
    if (len > 0 && n >= sizeof(out[0]) - 8)
        n += (size_t)sprintf(o + n, "...");
    o[n] = '\0';
    return o;
}

static const char *
type_name(enum resp_type t)
{
    static const char *const names[] = {"simple string", "error", "integer",
                                        "bulk string",   "nil",   "array"};
    return (unsigned)t < 6 ? names[t] : "?";
}

/* Describes a reply for a failure message. */
static const char *
describe(const struct resp_reply *r)
{
    static char out[600];

    switch (r->type) {
    case RESP_INTEGER:
        snprintf(out, sizeof(out), "integer %lld", r->integer);
        break;
    case RESP_SIMPLE:
    case RESP_ERROR:
    case RESP_BULK:
        snprintf(out, sizeof(out), "%s \"%s\"", type_name(r->type),
                 kvdt_esc(r->str, r->len));
        break;
    case RESP_ARRAY:
        snprintf(out, sizeof(out), "array of %zu", r->nelem);
        break;
    default:
        snprintf(out, sizeof(out), "%s", type_name(r->type));
    }
    return out;
}

/* Sends the command in ap and reads its reply into r (or fails). */
static const char *
call(struct resp_conn *c, struct resp_reply *r, va_list ap)
{
    const char *argv[MAX_ARGS];
    static char text[300];
    int argc = 0;
    size_t n = 0;

    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        argv[argc++] = a;
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s",
                              argc > 1 ? " " : "", kvdt_esc(a, strlen(a)));
        if (n >= sizeof(text))
            n = sizeof(text) - 1;
    }
    int err = resp_command(c, r, KVDT_WAIT_MS, argc, argv, NULL);
    cr_assert_eq(err, 0, "%s: resp_command returned %d (%s)", text, err,
                 strerror(-err));
    return text;
}

void
kvdt_ok(struct resp_conn *c, ...)
{
    struct resp_reply r;
    va_list ap;

    va_start(ap, c);
    const char *cmd = call(c, &r, ap);
    va_end(ap);
    cr_assert(r.type == RESP_SIMPLE && strcmp(r.str, "OK") == 0,
              "%s: expected +OK, got %s", cmd, describe(&r));
    resp_reply_free(&r);
}

void
kvdt_int(struct resp_conn *c, long long n, ...)
{
    struct resp_reply r;
    va_list ap;

    va_start(ap, n);
    const char *cmd = call(c, &r, ap);
    va_end(ap);
    cr_assert(r.type == RESP_INTEGER && r.integer == n,
              "%s: expected integer %lld, got %s", cmd, n, describe(&r));
}

void
kvdt_bulk(struct resp_conn *c, const char *want, ...)
{
    struct resp_reply r;
    va_list ap;

    va_start(ap, want);
    const char *cmd = call(c, &r, ap);
    va_end(ap);
    cr_assert(r.type == RESP_BULK && r.len == strlen(want) &&
                  memcmp(r.str, want, r.len) == 0,
              "%s: expected bulk string \"%s\", got %s", cmd,
              kvdt_esc(want, strlen(want)), describe(&r));
    resp_reply_free(&r);
}

void
kvdt_nil(struct resp_conn *c, ...)
{
    struct resp_reply r;
    va_list ap;

    va_start(ap, c);
    const char *cmd = call(c, &r, ap);
    va_end(ap);
    cr_assert(r.type == RESP_NIL, "%s: expected nil, got %s", cmd,
              describe(&r));
}

void
kvdt_err(struct resp_conn *c, const char *want, ...)
{
    struct resp_reply r;
    va_list ap;

    va_start(ap, want);
    const char *cmd = call(c, &r, ap);
    va_end(ap);
    cr_assert(r.type == RESP_ERROR && strncmp(r.str, want, strlen(want)) == 0,
              "%s: expected an error starting \"%s\", got %s", cmd, want,
              describe(&r));
    resp_reply_free(&r);
}

void
kvdt_expect_raw(int fd, const char *want)
{
    size_t len = strlen(want);
    char got[4096];

    cr_assert_leq(len, sizeof(got));
    ssize_t n = tk_read_exact(fd, got, len, KVDT_WAIT_MS);
    cr_assert_eq(
        n, (ssize_t)len, "expected \"%s\" (%zu bytes), got %zd bytes \"%s\"%s",
        kvdt_esc(want, len), len, n, kvdt_esc(got, n > 0 ? (size_t)n : 0),
        n == -ETIMEDOUT ? " (timed out)" : " before EOF");
    cr_assert(memcmp(got, want, len) == 0, "expected \"%s\", got \"%s\"",
              kvdt_esc(want, len), kvdt_esc(got, len));
}

bool
kvdt_wait_stats(struct kvd *kv, bool (*cond)(const struct kvd_stats *))
{
    struct kvd_stats st;
    long long until = tk_now_ms() + KVDT_WAIT_MS;

    for (;;) {
        kvd_stats(kv, &st);
        if (cond(&st))
            return true;
        if (tk_now_ms() > until)
            return false;
        usleep(2000);
    }
}
