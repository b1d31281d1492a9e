/*
 * test_kvd.c - kvd's commands, through the resp client and through raw
 * bytes: every command and its errors, inline commands, binary safety,
 * expiry, resizing, malformed and oversized input.
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iolab/resp.h"
#include "iolab/testkit.h"
#include "helpers.h"

TK_TEST(cmd, ping_echo,
        .description = "[KVD-1] PING, PING msg and ECHO answer at once")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_reply r;

    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "PING", NULL), 0);
    cr_assert(r.type == RESP_SIMPLE && !strcmp(r.str, "PONG"),
              "PING must answer +PONG");
    resp_reply_free(&r);
    kvdt_bulk(c, "hi", "ping", "hi", NULL);
    kvdt_bulk(c, "a b", "ECHO", "a b", NULL);
    kvdt_err(c, "ERR wrong number of arguments for 'echo'", "ECHO", NULL);
    kvdt_err(c, "ERR wrong number of arguments for 'ping'", "PING", "a", "b",
             NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, get_set_del_exists,
        .description = "GET, SET, DEL and EXISTS with their replies")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));

    kvdt_nil(c, "GET", "k", NULL);
    kvdt_ok(c, "SET", "k", "v1", NULL);
    kvdt_bulk(c, "v1", "GET", "k", NULL);
    kvdt_ok(c, "set", "k", "a longer value", NULL);
    kvdt_bulk(c, "a longer value", "get", "k", NULL);
    kvdt_ok(c, "SET", "k2", "", NULL);
    kvdt_bulk(c, "", "GET", "k2", NULL);
    kvdt_int(c, 3, "EXISTS", "k", "k2", "k", "nope", NULL);
    kvdt_int(c, 2, "DEL", "k", "k2", "nope", NULL);
    kvdt_int(c, 0, "EXISTS", "k", NULL);
    kvdt_nil(c, "GET", "k", NULL);
    kvdt_err(c, "ERR wrong number of arguments for 'get'", "GET", NULL);
    kvdt_err(c, "ERR wrong number of arguments for 'set'", "SET", "k", NULL);
    kvdt_err(c, "ERR wrong number of arguments for 'del'", "DEL", NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, set_options,
        .description = "SET's NX, XX, EX, PX and KEEPTTL, and their errors")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));

    kvdt_nil(c, "SET", "k", "v", "XX", NULL);
    kvdt_ok(c, "SET", "k", "v", "NX", NULL);
    kvdt_nil(c, "SET", "k", "w", "NX", NULL);
    kvdt_ok(c, "SET", "k", "w", "XX", NULL);
    kvdt_bulk(c, "w", "GET", "k", NULL);
    kvdt_int(c, -1, "TTL", "k", NULL);
    kvdt_ok(c, "SET", "k", "x", "EX", "100", NULL);
    kvdt_int(c, 100, "TTL", "k", NULL);
    kvdt_ok(c, "SET", "k", "y", "KEEPTTL", NULL);
    kvdt_int(c, 100, "TTL", "k", NULL);
    kvdt_ok(c, "SET", "k", "z", NULL);
    kvdt_int(c, -1, "TTL", "k", NULL);
    kvdt_int(c, -2, "TTL", "nope", NULL);
    kvdt_err(c, "ERR syntax error", "SET", "k", "v", "NX", "XX", NULL);
    kvdt_err(c, "ERR syntax error", "SET", "k", "v", "EX", "1", "PX", "1",
             NULL);
    kvdt_err(c, "ERR syntax error", "SET", "k", "v", "BOGUS", NULL);
    kvdt_err(c, "ERR syntax error", "SET", "k", "v", "EX", NULL);
    kvdt_err(c, "ERR value is not an integer", "SET", "k", "v", "EX", "1x",
             NULL);
    kvdt_err(c, "ERR invalid expire time", "SET", "k", "v", "PX", "0", NULL);
    kvdt_err(c, "ERR invalid expire time", "SET", "k", "v", "EX", "-5", NULL);
    kvdt_err(c, "ERR invalid expire time", "SET", "k", "v", "EX",
             "9223372036854775807", NULL);
    kvdt_bulk(c, "z", "GET", "k", NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, incr,
        .description = "INCR, DECR, INCRBY, DECRBY: integers, errors, "
                       "overflow")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));

    kvdt_int(c, 1, "INCR", "n", NULL);
    kvdt_int(c, 2, "INCR", "n", NULL);
    kvdt_int(c, 1, "DECR", "n", NULL);
    kvdt_int(c, 11, "INCRBY", "n", "10", NULL);
    kvdt_int(c, -9, "DECRBY", "n", "20", NULL);
    kvdt_bulk(c, "-9", "GET", "n", NULL);
    kvdt_ok(c, "SET", "s", "abc", NULL);
    kvdt_err(c, "ERR value is not an integer", "INCR", "s", NULL);
    kvdt_ok(c, "SET", "s", " 1", NULL);
    kvdt_err(c, "ERR value is not an integer", "INCR", "s", NULL);
    kvdt_ok(c, "SET", "s", "01", NULL);
    kvdt_err(c, "ERR value is not an integer", "INCR", "s", NULL);
    kvdt_ok(c, "SET", "m", "9223372036854775807", NULL);
    kvdt_err(c, "ERR increment or decrement would overflow", "INCR", "m", NULL);
    kvdt_bulk(c, "9223372036854775807", "GET", "m", NULL);
    kvdt_err(c, "ERR value is not an integer", "INCRBY", "n", "x", NULL);
    kvdt_ok(c, "SET", "t", "5", "EX", "100", NULL);
    kvdt_int(c, 6, "INCR", "t", NULL);
    kvdt_int(c, 100, "TTL", "t", NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, mget_mset_dbsize_flushall,
        .description = "MGET, MSET, DBSIZE, FLUSHALL")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_reply r;

    kvdt_ok(c, "MSET", "a", "1", "b", "2", "c", "3", NULL);
    kvdt_int(c, 3, "DBSIZE", NULL);
    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "MGET", "a", "x", "c", NULL),
                 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 3, "MGET: an array of 3");
    cr_assert(r.elem[0].type == RESP_BULK && !strcmp(r.elem[0].str, "1"));
    cr_assert_eq(r.elem[1].type, RESP_NIL, "MGET of a missing key: nil");
    cr_assert(r.elem[2].type == RESP_BULK && !strcmp(r.elem[2].str, "3"));
    resp_reply_free(&r);
    kvdt_err(c, "ERR wrong number of arguments for 'mset'", "MSET", "a", "1",
             "b", NULL);
    kvdt_ok(c, "FLUSHALL", NULL);
    kvdt_int(c, 0, "DBSIZE", NULL);
    kvdt_nil(c, "GET", "a", NULL);
    kvdt_ok(c, "SET", "a", "again", NULL);
    kvdt_bulk(c, "again", "GET", "a", NULL);
    kvdt_err(c, "ERR syntax error", "FLUSHALL", "NOW", NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, handshake_commands,
        .description = "CONFIG GET, COMMAND, SELECT and INFO answer like "
                       "Redis for the clients' handshakes")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_reply r;

    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "CONFIG", "GET", "save", NULL),
                 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 2 &&
                  !strcmp(r.elem[0].str, "save") && r.elem[1].len == 0,
              "CONFIG GET save: [\"save\", \"\"]");
    resp_reply_free(&r);
    cr_assert_eq(
        resp_call(c, &r, KVDT_WAIT_MS, "config", "get", "APPENDONLY", NULL), 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 2 &&
                  !strcmp(r.elem[1].str, "no"),
              "CONFIG GET appendonly: [\"appendonly\", \"no\"]");
    resp_reply_free(&r);
    cr_assert_eq(
        resp_call(c, &r, KVDT_WAIT_MS, "CONFIG", "GET", "nothing*", NULL), 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 0);
    resp_reply_free(&r);
    kvdt_err(c, "ERR unknown subcommand", "CONFIG", "FROB", NULL);

    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "COMMAND", NULL), 0);
    cr_assert(r.type == RESP_ARRAY && r.nelem > 10, "COMMAND: an array");
    cr_assert(r.elem[0].type == RESP_ARRAY && r.elem[0].nelem == 7 &&
                  r.elem[0].elem[0].type == RESP_BULK &&
                  r.elem[0].elem[1].type == RESP_INTEGER,
              "COMMAND entries: [name, arity, flags, first, last, step, "
              "categories]");
    long long count = (long long)r.nelem;
    resp_reply_free(&r);
    kvdt_int(c, count, "COMMAND", "COUNT", NULL);
    cr_assert_eq(
        resp_call(c, &r, KVDT_WAIT_MS, "COMMAND", "INFO", "get", "nope", NULL),
        0);
    cr_assert(r.type == RESP_ARRAY && r.nelem == 2 &&
                  r.elem[0].elem[1].integer == 2 && r.elem[1].type == RESP_NIL,
              "COMMAND INFO get nope: [[get, 2, ...], nil]");
    resp_reply_free(&r);
    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "COMMAND", "DOCS", NULL), 0);
    cr_assert_eq(r.type, RESP_ARRAY);
    resp_reply_free(&r);

    kvdt_ok(c, "SELECT", "0", NULL);
    kvdt_err(c, "ERR DB index is out of range", "SELECT", "1", NULL);

    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "INFO", NULL), 0);
    cr_assert(r.type == RESP_BULK && strstr(r.str, "# Stats\r\n") &&
                  strstr(r.str, "total_commands_processed:") &&
                  strstr(r.str, "kvd_round_trips:") &&
                  strstr(r.str, "connected_clients:1\r\n"),
              "INFO lacks the counters: \"%s\"", kvdt_esc(r.str, r.len));
    resp_reply_free(&r);
    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "INFO", "stats", NULL), 0);
    cr_assert(r.type == RESP_BULK && strstr(r.str, "# Stats") &&
                  !strstr(r.str, "# Server"),
              "INFO stats: only the stats section");
    resp_reply_free(&r);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, unknown_command_keeps_connection,
        .description = "an unknown command is an error reply and the "
                       "connection stays usable")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));

    kvdt_err(c, "ERR unknown command 'FROB', with args beginning with: 'a' ",
             "FROB", "a", NULL);
    kvdt_err(c, "ERR unknown command '?\?\?'", "\r\x01\n", NULL);
    kvdt_bulk(c, "ok", "ECHO", "ok", NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, quit, .description = "QUIT answers +OK, then the server closes")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));

    tk_write_all(fd, "*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n", 28);
    kvdt_expect_raw(fd, "+OK\r\n");
    tk_expect_closed(fd, KVDT_WAIT_MS);
    close(fd);
    kvd_stop(kv);
}

TK_TEST(cmd, binary_safe,
        .description = "keys and values may hold any byte, NUL and CRLF "
                       "included")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    char key[256], val[1000];
    struct resp_reply r;

    for (int i = 0; i < 256; i++)
        key[i] = (char)i;
    tk_fill(val, sizeof(val), 3);
    const char *set[] = {"SET", key, val};
    const size_t setl[] = {3, sizeof(key), sizeof(val)};
    cr_assert_eq(resp_command(c, &r, KVDT_WAIT_MS, 3, set, setl), 0);
    cr_assert_eq(r.type, RESP_SIMPLE);
    resp_reply_free(&r);
    const char *get[] = {"GET", key};
    const size_t getl[] = {3, sizeof(key)};
    cr_assert_eq(resp_command(c, &r, KVDT_WAIT_MS, 2, get, getl), 0);
    cr_assert(r.type == RESP_BULK && r.len == sizeof(val) &&
                  memcmp(r.str, val, sizeof(val)) == 0,
              "the binary value came back different");
    resp_reply_free(&r);
    const size_t shortl[] = {3, 255}; /* the key without its last byte */
    cr_assert_eq(resp_command(c, &r, KVDT_WAIT_MS, 2, get, shortl), 0);
    cr_assert_eq(r.type, RESP_NIL,
                 "a key that is a prefix of another is a "
                 "different key");
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, many_keys_resize,
        .description = "20000 keys survive the table's resizes")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_buf b;
    struct resp_reply r;
    char k[32], v[32];
    int n = 20000;

    resp_buf_init(&b);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "val:%d", i * 7);
        cr_assert_eq(resp_encode_cmd(&b, "SET", k, v, NULL), 0);
    }
    tk_write_all(resp_conn_fd(c), b.data, b.len);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
        cr_assert_eq(r.type, RESP_SIMPLE, "SET %d did not answer +OK", i);
        resp_reply_free(&r);
    }
    resp_buf_free(&b);
    kvdt_int(c, n, "DBSIZE", NULL);
    for (int i = 0; i < n; i += 997) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "val:%d", i * 7);
        kvdt_bulk(c, v, "GET", k, NULL);
    }
    struct kvd_stats st;
    kvd_stats(kv, &st);
    cr_assert_eq(st.keys, (uint64_t)n, "kvd_stats keys: %llu",
                 (unsigned long long)st.keys);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(cmd, expiry_lazy,
        .description = "a key with PX is gone once its time is up, not "
                       "before")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_reply r;

    double t0 =
        tk_now_ns() / 1e6; /* before the SET: the server's time is later */
    kvdt_ok(c, "SET", "k", "v", "PX", "150", NULL);
    cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "PTTL", "k", NULL), 0);
    cr_assert(r.type == RESP_INTEGER && r.integer <= 150 &&
                  (r.integer > 0 || r.integer == -2),
              "PTTL right after SET PX 150: %lld", r.integer);
    for (;;) {
        cr_assert_eq(resp_call(c, &r, KVDT_WAIT_MS, "GET", "k", NULL), 0);
        double t = tk_now_ns() / 1e6 - t0;
        if (r.type == RESP_NIL) {
            cr_assert_geq(t, 148,
                          "the key expired after %.0f ms, before its "
                          "150 ms were up",
                          t);
            break;
        }
        resp_reply_free(&r);
        cr_assert_lt(t, 150 + KVDT_WAIT_MS, "the key never expired");
        usleep(20000);
    }
    kvdt_int(c, 0, "EXISTS", "k", NULL);
    kvdt_int(c, -2, "TTL", "k", NULL);
    resp_close(c);
    kvd_stop(kv);
}

static bool
all_expired(const struct kvd_stats *st)
{
    return st->keys == 1 && st->expired == 50;
}

TK_TEST(cmd, expiry_sweep,
        .description = "expired keys nobody reads are removed by the "
                       "periodic sweep")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    char k[16];

    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        kvdt_ok(c, "SET", k, "v", "PX", "30", NULL);
    }
    kvdt_ok(c, "SET", "stays", "v", NULL);
    cr_assert(kvdt_wait_stats(kv, all_expired),
              "50 keys set with PX 30 were not swept away within %d ms "
              "(keys left must be 1, expired 50)",
              KVDT_WAIT_MS);
    kvdt_int(c, 1, "DBSIZE", NULL);
    resp_close(c);
    kvd_stop(kv);
}

/* ---- raw protocol ----------------------------------------------------------
 */

TK_TEST(proto, inline_commands,
        .description = "inline (telnet-style) commands work, with quotes")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));

    tk_write_all(fd, "PING\r\n", 6);
    kvdt_expect_raw(fd, "+PONG\r\n");
    const char *cmds = "set k \"a b\\x41\\n\"\r\n\r\nget k\nSET x 'it''s'\r\n"
                       "ECHO \"unbalanced\r\nECHO ok\r\n";
    tk_write_all(fd, cmds, strlen(cmds));
    kvdt_expect_raw(fd, "+OK\r\n$5\r\na bA\n\r\n"
                        "-ERR Protocol error: unbalanced quotes in request\r\n"
                        "-ERR Protocol error: unbalanced quotes in request\r\n"
                        "$2\r\nok\r\n");
    close(fd);
    kvd_stop(kv);
}

/* Sends bad bytes; expects a reply starting with want, then EOF. */
static void
expect_protocol_error(struct kvd *kv, const char *bytes, size_t len,
                      const char *want)
{
    int fd = tk_connect_tcp(kvd_port(kv));
    char got[256] = {0};
    size_t wlen = strlen(want);

    tk_write_all(fd, bytes, len);
    ssize_t n = tk_read_exact(fd, got, wlen, KVDT_WAIT_MS);
    cr_assert(n == (ssize_t)wlen && memcmp(got, want, wlen) == 0,
              "after \"%s\": expected \"%s...\", got \"%s\"",
              kvdt_esc(bytes, len < 60 ? len : 60), kvdt_esc(want, wlen),
              kvdt_esc(got, n > 0 ? (size_t)n : 0));
    /* The rest of the error line, then the server hangs up. */
    char ch;
    do
        cr_assert_eq(tk_read_exact(fd, &ch, 1, KVDT_WAIT_MS), 1,
                     "the error line did not end");
    while (ch != '\n');
    tk_expect_closed(fd, KVDT_WAIT_MS);
    close(fd);
}

TK_TEST(proto, malformed_frames,
        .description = "malformed frames get a protocol error, then the "
                       "connection is closed; the server goes on")
{
    struct kvd *kv = kvdt_start(NULL);

    expect_protocol_error(kv, "*abc\r\n", 6,
                          "-ERR Protocol error: invalid multibulk length");
    expect_protocol_error(kv, "*1\r\n+PING\r\n", 11,
                          "-ERR Protocol error: expected '$', got '+'");
    expect_protocol_error(kv, "*1\r\n$x\r\n", 8,
                          "-ERR Protocol error: invalid bulk length");
    expect_protocol_error(kv, "*1\r\n$-3\r\n", 9,
                          "-ERR Protocol error: invalid bulk length");
    expect_protocol_error(kv, "*1\r\n$4\r\nPINGxx", 14,
                          "-ERR Protocol error: bulk string not followed");
    expect_protocol_error(kv, "*1\n", 3,
                          "-ERR Protocol error: invalid multibulk length");
    /* Commands before the bad frame are answered first. */
    expect_protocol_error(kv, "*1\r\n$4\r\nPING\r\n*z\r\n", 18,
                          "+PONG\r\n-ERR");
    /* Empty commands are ignored, as Redis does. */
    int fd = tk_connect_tcp(kvd_port(kv));
    tk_write_all(fd, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", 23);
    kvdt_expect_raw(fd, "+PONG\r\n");
    close(fd);
    kvd_stop(kv);
}

TK_TEST(proto, oversized_frames,
        .description = "frames over max_frame are refused before they are "
                       "read, and the connection is closed")
{
    struct kvd_config cfg = {.max_frame = 1024};
    struct kvd *kv = kvdt_start(&cfg);
    char big[3000];

    /* A bulk length over the limit: refused from its header alone. */
    expect_protocol_error(kv, "*2\r\n$4\r\nECHO\r\n$5000\r\n", 21,
                          "-ERR Protocol error: invalid bulk length");
    expect_protocol_error(kv, "*999999999\r\n", 12,
                          "-ERR Protocol error: invalid multibulk length");
    /* Several arguments each under the limit, together over it. */
    int n = sprintf(big, "*3\r\n$3\r\nSET\r\n$600\r\n");
    memset(big + n, 'k', 600);
    n += 600;
    n += sprintf(big + n, "\r\n$600\r\n");
    expect_protocol_error(kv, big, (size_t)n,
                          "-ERR Protocol error: command larger");
    /* An inline line with no end. */
    memset(big, 'x', sizeof(big));
    expect_protocol_error(kv, big, sizeof(big),
                          "-ERR Protocol error: too big inline request");
    /* Just under the limit is fine. */
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    memset(big, 'v', 900);
    big[900] = '\0';
    kvdt_bulk(c, big, "ECHO", big, NULL);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(proto, split_anywhere,
        .description = "commands split at any byte are executed once, in "
                       "order")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));
    const char *cmds = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
                       "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";

    for (size_t i = 0; i < strlen(cmds); i++) {
        tk_write_all(fd, cmds + i, 1);
        usleep(300);
    }
    kvdt_expect_raw(fd, "+OK\r\n$5\r\nhello\r\n+PONG\r\n");
    close(fd);
    kvd_stop(kv);
}
