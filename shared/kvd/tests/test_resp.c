/*
 * test_resp.c - the RESP client library (resp.h): encoding, the pure
 * parser, and connections against a scripted server socket, so every
 * byte the client sees is chosen by the test.
 */
#include "iolab/resp.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/testkit.h"
#include "helpers.h"

/* ---- encoding ----------------------------------------------------------- */

TK_TEST(resp, encode_exact_bytes,
        .description = "[RESP-1] commands encode as arrays of bulk strings, "
                       "appended one after another")
{
    struct resp_buf b;
    const char *argv[] = {"SET", "key", ""};
    const char *want = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n"
                       "*1\r\n$4\r\nPING\r\n";

    resp_buf_init(&b);
    cr_assert_eq(resp_encode(&b, 3, argv, NULL), 0);
    cr_assert_eq(resp_encode_cmd(&b, "PING", NULL), 0);
    cr_assert(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
              "encoded \"%s\", expected \"%s\"", kvdt_esc(b.data, b.len),
              kvdt_esc(want, strlen(want)));
    resp_buf_reset(&b);
    cr_assert_eq(b.len, 0, "resp_buf_reset must empty the buffer");
    cr_assert_neq(b.data, NULL, "resp_buf_reset keeps the memory");
    resp_buf_free(&b);
    cr_assert(b.data == NULL && b.len == 0 && b.cap == 0);
}

TK_TEST(resp, encode_binary_and_many,
        .description = "[RESP-1] lens makes arguments binary-safe; many "
                       "commands grow the buffer")
{
    struct resp_buf b;
    const char *argv[] = {"SET", "a\0b", "\r\n"};
    const size_t lens[] = {3, 3, 2};
    const char want[] = "*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$2\r\n\r\n\r\n";

    resp_buf_init(&b);
    cr_assert_eq(resp_encode(&b, 3, argv, lens), 0);
    cr_assert(b.len == sizeof(want) - 1 && memcmp(b.data, want, b.len) == 0,
              "encoded \"%s\"", kvdt_esc(b.data, b.len));
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(resp_encode(&b, 3, argv, lens), 0);
    cr_assert_eq(b.len, 10001 * (sizeof(want) - 1));
    cr_assert_leq(b.len, b.cap);
    resp_buf_free(&b);
}

TK_TEST(resp, encode_invalid,
        .description = "[RESP-2] no argument or a NULL one is -EINVAL and "
                       "leaves the buffer unchanged")
{
    struct resp_buf b;
    const char *argv[] = {"GET", NULL};

    resp_buf_init(&b);
    cr_assert_eq(resp_encode_cmd(&b, "PING", NULL), 0);
    size_t len = b.len;
    cr_assert_eq(resp_encode(&b, 0, argv, NULL), -EINVAL);
    cr_assert_eq(resp_encode(&b, 2, argv, NULL), -EINVAL);
    cr_assert_eq(resp_encode_cmd(&b, (const char *)NULL, (const char *)NULL),
                 -EINVAL);
    cr_assert_eq(b.len, len, "a failed encode must not leave half a command");
    resp_buf_free(&b);
}

/* ---- parsing --------------------------------------------------------------
 */

/* Parses text, which must be one whole reply; returns it. */
static struct resp_reply
parse_all(const char *text, size_t len)
{
    struct resp_reply r;
    long n = resp_parse(text, len, &r);

    cr_assert_eq(n, (long)len, "resp_parse(\"%s\") returned %ld, expected %zu",
                 kvdt_esc(text, len), n, len);
    return r;
}

TK_TEST(resp, parse_every_type,
        .description = "[RESP-3] each reply type parses to its fields")
{
    struct resp_reply r;

    r = parse_all("+OK\r\n", 5);
    cr_assert(r.type == RESP_SIMPLE && r.len == 2 && !strcmp(r.str, "OK"));
    resp_reply_free(&r);
    r = parse_all("-ERR no\r\n", 9);
    cr_assert(r.type == RESP_ERROR && !strcmp(r.str, "ERR no"));
    resp_reply_free(&r);
    r = parse_all(":-9223372036854775808\r\n", 23);
    cr_assert(r.type == RESP_INTEGER &&
              r.integer == -9223372036854775807LL - 1);
    r = parse_all("$5\r\na\0\r\nb\r\n", 11);
    cr_assert(r.type == RESP_BULK && r.len == 5 &&
              !memcmp(r.str, "a\0\r\nb", 5) && r.str[5] == '\0');
    resp_reply_free(&r);
    r = parse_all("$0\r\n\r\n", 6);
    cr_assert(r.type == RESP_BULK && r.len == 0 && r.str[0] == '\0');
    resp_reply_free(&r);
    r = parse_all("$-1\r\n", 5);
    cr_assert_eq(r.type, RESP_NIL);
    r = parse_all("*-1\r\n", 5);
    cr_assert_eq(r.type, RESP_NIL);
    r = parse_all("*0\r\n", 4);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 0);
    resp_reply_free(&r);
    r = parse_all("+\r\n", 3);
    cr_assert(r.type == RESP_SIMPLE && r.len == 0);
    resp_reply_free(&r);
}

TK_TEST(resp, parse_nested_and_trailing,
        .description = "[RESP-3] nested arrays parse; bytes after the reply "
                       "are not consumed")
{
    const char *text = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n+next\r\n";
    struct resp_reply r;
    long n = resp_parse(text, strlen(text), &r);

    cr_assert_eq(n, (long)strlen(text) - 7,
                 "resp_parse must stop after the first reply: %ld", n);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 3);
    cr_assert(r.elem[0].type == RESP_INTEGER && r.elem[0].integer == 1);
    cr_assert(r.elem[1].type == RESP_ARRAY && r.elem[1].nelem == 2);
    cr_assert(r.elem[1].elem[0].type == RESP_BULK &&
              !strcmp(r.elem[1].elem[0].str, "a"));
    cr_assert_eq(r.elem[1].elem[1].type, RESP_NIL);
    cr_assert(r.elem[2].type == RESP_SIMPLE && !strcmp(r.elem[2].str, "x"));
    resp_reply_free(&r);
    resp_reply_free(&r); /* harmless twice */
    resp_reply_free(NULL);
}

TK_TEST(resp, parse_every_prefix_incomplete,
        .description = "[RESP-4] every proper prefix of a reply is "
                       "incomplete (0), never an error")
{
    const char *text = "*4\r\n$3\r\nabc\r\n:12\r\n*1\r\n+ok\r\n-E\r\n";
    size_t len = strlen(text);

    for (size_t i = 0; i < len; i++) {
        struct resp_reply r;
        long n = resp_parse(text, i, &r);
        cr_assert_eq(n, 0, "prefix of %zu bytes \"%s\": got %ld, expected 0", i,
                     kvdt_esc(text, i), n);
        cr_assert_eq(r.type, RESP_NIL, "*out must stay empty when incomplete");
    }
    struct resp_reply r = parse_all(text, len);
    resp_reply_free(&r);
}

TK_TEST(resp, parse_malformed,
        .description = "[RESP-5] malformed replies are -EPROTO")
{
    static const char *const bad[] = {
        "?x\r\n",                    /* unknown type */
        ":12a\r\n",                  /* not a number */
        ":\r\n",                     /* empty number */
        ":99999999999999999999\r\n", /* overflow */
        "$-2\r\n",                   /* length below -1 */
        "$3\r\nabcXY",               /* bulk not followed by CRLF */
        "+OK\n",                     /* LF without CR */
        "*2\r\n:1\r\n!\r\n",         /* bad element */
        "$abc\r\n",
        "*-5\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct resp_reply r;
        long n = resp_parse(bad[i], strlen(bad[i]), &r);
        cr_assert_eq(n, -EPROTO, "\"%s\": got %ld, expected -EPROTO",
                     kvdt_esc(bad[i], strlen(bad[i])), n);
    }
}

TK_TEST(resp, parse_limits,
        .description = "[RESP-5] depth, bulk, array and line limits are "
                       "enforced from the header alone")
{
    char deep[4 * (RESP_MAX_DEPTH + 2) + 8];
    size_t n = 0;
    struct resp_reply r;

    for (int i = 0; i <= RESP_MAX_DEPTH; i++)
        n += (size_t)sprintf(deep + n, "*1\r\n");
    cr_assert_eq(resp_parse(deep, n, &r), -EPROTO,
                 "%d nested arrays must be refused", RESP_MAX_DEPTH + 1);
    /* One level less is fine (and incomplete). */
    cr_assert_eq(resp_parse(deep, n - 4, &r), 0);

    cr_assert_eq(resp_parse("$536870913\r\n", 12, &r), -EPROTO,
                 "a bulk string over RESP_MAX_BULK must be refused at once");
    cr_assert_eq(resp_parse("*16777217\r\n", 11, &r), -EPROTO,
                 "an array over RESP_MAX_ELEMS must be refused at once");
    size_t big = RESP_MAX_LINE + 16;
    char *line = tk_xmalloc(big);
    memset(line, 'x', big);
    line[0] = '+';
    cr_assert_eq(resp_parse(line, big, &r), -EPROTO,
                 "a line over RESP_MAX_LINE without CRLF must be refused");
    free(line);
}

/* ---- connections, against a scripted server ------------------------------ */

/* A listening socket and a client connected to it; *srv is the server end. */
static struct resp_conn *
scripted(int *srv)
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    struct resp_conn *c = kvdt_connect(port);

    *srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(*srv, 0, "accept: %s", strerror(errno));
    close(lfd);
    return c;
}

TK_TEST(resp, read_trickled,
        .description = "[RESP-6] a reply written one byte at a time is read "
                       "whole; an error reply is a successful read")
{
    int srv;
    struct resp_conn *c = scripted(&srv);
    const char *text = "*2\r\n$5\r\nhello\r\n:7\r\n-ERR bad\r\n";
    struct resp_reply r;

    for (size_t i = 0; i < strlen(text); i++) {
        tk_write_all(srv, text + i, 1);
        usleep(200);
    }
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 2 &&
              !strcmp(r.elem[0].str, "hello") && r.elem[1].integer == 7);
    resp_reply_free(&r);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0,
                 "an error reply is read successfully");
    cr_assert(r.type == RESP_ERROR && !strcmp(r.str, "ERR bad"),
              "expected RESP_ERROR \"ERR bad\"");
    resp_reply_free(&r);
    cr_assert_eq(resp_conn_buffered(c), 0);
    resp_close(c);
    close(srv);
}

TK_TEST(resp, read_timeout_keeps_bytes,
        .description = "[RESP-7] -ETIMEDOUT keeps the bytes received, so "
                       "the reply can still be read later")
{
    int srv;
    struct resp_conn *c = scripted(&srv);
    struct resp_reply r;

    tk_write_all(srv, "$10\r\n01234", 10);
    double t0 = tk_now_ns() / 1e6;
    cr_assert_eq(resp_read_reply(c, &r, 100), -ETIMEDOUT);
    cr_assert_geq(tk_now_ns() / 1e6 - t0, 95, "the timeout returned too early");
    cr_assert_eq(resp_read_reply(c, &r, 0), -ETIMEDOUT,
                 "timeout 0 must not wait");
    tk_write_all(srv, "56789\r\n", 7);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
    cr_assert(r.type == RESP_BULK && !strcmp(r.str, "0123456789"),
              "the bytes from before the timeout were lost");
    resp_reply_free(&r);
    resp_close(c);
    close(srv);
}

TK_TEST(resp, read_eof_and_garbage,
        .description = "[RESP-8] EOF, even in the middle of a reply, is "
                       "-ECONNRESET; garbage is -EPROTO")
{
    int srv;
    struct resp_conn *c = scripted(&srv);
    struct resp_reply r;

    tk_write_all(srv, "$5\r\nab", 6);
    close(srv);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), -ECONNRESET);
    cr_assert_eq(r.type, RESP_NIL);
    resp_close(c);

    c = scripted(&srv);
    tk_write_all(srv, "HTTP/1.1 200 OK\r\n", 17);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), -EPROTO);
    resp_close(c);
    close(srv);
}

TK_TEST(resp, read_pipelined_buffered,
        .description = "[RESP-9] pipelined replies that arrived together "
                       "are buffered and returned without further reads")
{
    int srv;
    struct resp_conn *c = scripted(&srv);
    struct resp_reply r;
    char text[100 * 16];
    size_t n = 0;

    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(text + n, ":%d\r\n", i);
    tk_write_all(srv, text, n);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
    cr_assert_eq(r.integer, 0);
    /* The server is gone now: the rest must come from the buffer. */
    close(srv);
    cr_assert_gt(resp_conn_buffered(c), 0,
                 "the other replies were not read "
                 "with the first");
    for (int i = 1; i < 100; i++) {
        cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0,
                     "reply %d of 100 was not in the buffer", i);
        cr_assert_eq(r.integer, i);
    }
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), -ECONNRESET);
    resp_close(c);
}

struct writer {
    int fd;
    const char *data;
    size_t len;
};

static void *
write_thread(void *arg)
{
    struct writer *w = arg;

    tk_write_all(w->fd, w->data, w->len);
    return NULL;
}

TK_TEST(resp, large_reply,
        .description = "[RESP-6] a 4 MiB bulk string arrives intact")
{
    int srv;
    struct resp_conn *c = scripted(&srv);
    size_t len = 4 << 20;
    char *data = tk_xmalloc(len + 32);
    int hdr = sprintf(data, "$%zu\r\n", len);
    struct resp_reply r;
    pthread_t t;

    tk_fill(data + hdr, len, 7);
    memcpy(data + hdr + len, "\r\n", 2);
    struct writer w = {srv, data, (size_t)hdr + len + 2};
    cr_assert_eq(pthread_create(&t, NULL, write_thread, &w), 0);
    cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
    pthread_join(t, NULL);
    cr_assert(r.type == RESP_BULK && r.len == len &&
                  memcmp(r.str, data + hdr, len) == 0,
              "the 4 MiB bulk string came back different");
    resp_reply_free(&r);
    free(data);
    resp_close(c);
    close(srv);
}

TK_TEST(resp, connect_refused,
        .description = "[RESP-8] connecting to a closed port is "
                       "-ECONNREFUSED and leaves nothing open")
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    struct resp_conn *c = NULL;

    close(lfd);
    int before = tk_count_open_fds();
    cr_assert_eq(resp_connect("127.0.0.1", port, 1000, &c), -ECONNREFUSED);
    cr_assert_eq(tk_count_open_fds(), before);
}

TK_TEST(resp, connect_by_name,
        .description = "[RESP-8] a host name is resolved; every address is "
                       "tried until one answers")
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port); /* 127.0.0.1 only: ::1 is refused */
    struct resp_conn *c = NULL;

    int err = resp_connect("localhost", port, KVDT_WAIT_MS, &c);
    if (err == -EINVAL)
        tk_skip("this machine does not resolve \"localhost\"");
    cr_assert_eq(err, 0, "resp_connect(\"localhost\"): %d (%s)", err,
                 strerror(-err));
    cr_assert_geq(resp_conn_fd(c), 0);
    resp_close(c);
    close(lfd);
}
