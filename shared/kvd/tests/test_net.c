/*
 * test_net.c - kvd as the far end of round trips: pipelining, the
 * round-trip and accept delays, the counters, fault injection, vanishing
 * clients, the child process, and a clean stop.
 *
 * Timing: lower bounds (a delay was at least D) are exact; upper bounds
 * (a client was not delayed) leave a wide margin for Valgrind on a loaded
 * machine, and are always a fraction of a delay that is made long on
 * purpose.
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/resp.h"
#include "iolab/testkit.h"
#include "helpers.h"

#define PING "*1\r\n$4\r\nPING\r\n"
#define PING_LEN 14

/* Sends n PINGs in one write. */
static void
send_pings(int fd, int n)
{
    char buf[PING_LEN * 64];

    cr_assert_leq(n, 64);
    for (int i = 0; i < n; i++)
        memcpy(buf + i * PING_LEN, PING, PING_LEN);
    tk_write_all(fd, buf, (size_t)n * PING_LEN);
}

/* Reads n +PONG replies. */
static void
expect_pongs(int fd, int n)
{
    for (int i = 0; i < n; i++)
        kvdt_expect_raw(fd, "+PONG\r\n");
}

/* One PING round trip on fd; returns its duration in ms. */
static double
ping_ms(int fd)
{
    double t0 = tk_now_ns() / 1e6;

    send_pings(fd, 1);
    expect_pongs(fd, 1);
    return tk_now_ns() / 1e6 - t0;
}

/* ---- pipelining and counters --------------------------------------------- */

TK_TEST(pipeline, one_round_trip,
        .description = "[KVD-4] [KVD-6] commands sent in one write are "
                       "answered in order and count as one round trip")
{
    /* The accept delay keeps the server from reading before the whole
     * batch is there, so it arrives in one read whatever the timing. */
    struct kvd_config cfg = {.accept_delay_us = 300000};
    struct kvd *kv = kvdt_start(&cfg);
    int fd = tk_connect_tcp(kvd_port(kv));
    struct resp_buf b;
    char want[4096], k[16];
    size_t wlen = 0;

    resp_buf_init(&b);
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof(k), "k%d", i % 5);
        cr_assert_eq(resp_encode_cmd(&b, "INCR", k, NULL), 0);
        wlen += (size_t)sprintf(want + wlen, ":%d\r\n", i / 5 + 1);
    }
    tk_write_all(fd, b.data, b.len);
    kvdt_expect_raw(fd, want);

    struct kvd_stats st;
    kvd_stats(kv, &st);
    cr_assert_eq(st.commands, 50, "commands: %llu, expected 50",
                 (unsigned long long)st.commands);
    cr_assert_eq(st.round_trips, 1,
                 "50 commands in one write must be one round trip (one "
                 "read, one batch of replies), counted %llu",
                 (unsigned long long)st.round_trips);
    cr_assert_eq(st.bytes_in, b.len, "bytes_in %llu, sent %zu",
                 (unsigned long long)st.bytes_in, b.len);
    cr_assert_eq(st.bytes_out, wlen, "bytes_out %llu, received %zu",
                 (unsigned long long)st.bytes_out, wlen);
    cr_assert(st.accepted == 1 && st.connected == 1);
    resp_buf_free(&b);
    close(fd);
    kvd_stop(kv);
}

static bool
none_connected(const struct kvd_stats *st)
{
    return st->connected == 0;
}

TK_TEST(pipeline, counters_and_reset,
        .description = "[KVD-6] each separate round trip counts; "
                       "kvd_reset_stats zeroes the counters and keeps the "
                       "gauges, connected and keys")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));
    struct kvd_stats st;

    for (int i = 0; i < 3; i++)
        ping_ms(fd);
    kvd_stats(kv, &st);
    cr_assert(st.commands == 3 && st.round_trips == 3,
              "3 PINGs, one at a time: commands %llu, round trips %llu",
              (unsigned long long)st.commands,
              (unsigned long long)st.round_trips);
    cr_assert_eq(st.bytes_in, 3 * PING_LEN);
    cr_assert_eq(st.bytes_out, 3 * 7);
    kvd_reset_stats(kv);
    kvd_stats(kv, &st);
    cr_assert(st.commands == 0 && st.round_trips == 0 && st.bytes_in == 0 &&
                  st.bytes_out == 0 && st.accepted == 0,
              "kvd_reset_stats left counters non-zero");
    cr_assert_eq(st.connected, 1, "connected is not a counter to reset");
    cr_assert_eq(st.keys, 0);
    tk_write_all(fd, "SET k v\r\n", 9);
    kvdt_expect_raw(fd, "+OK\r\n");
    kvd_reset_stats(kv);
    kvd_stats(kv, &st);
    cr_assert_eq(st.keys, 1, "keys is not a counter to reset");
    tk_write_all(fd, "SET e v PX 1\r\n", 14);
    kvdt_expect_raw(fd, "+OK\r\n");
    usleep(5000); /* let its millisecond pass */
    tk_write_all(fd, "GET e\r\n", 7);
    kvdt_expect_raw(fd, "$-1\r\n");
    kvd_stats(kv, &st);
    /* Swept or found expired on GET: counted once either way. */
    cr_assert(st.keys == 1 && st.expired == 1,
              "after one of two keys expired: keys %llu (want 1), expired "
              "%llu (want 1)",
              (unsigned long long)st.keys, (unsigned long long)st.expired);
    close(fd);
    cr_assert(kvdt_wait_stats(kv, none_connected),
              "connected did not drop to 0 after the client closed");
    kvd_stop(kv);
}

TK_TEST(pipeline, large_batch_in_order,
        .description = "[KVD-4] a batch larger than one read is answered "
                       "completely and in order")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    struct resp_buf b;
    struct resp_reply r;
    char v[32];
    int n = 3000;

    resp_buf_init(&b);
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof(v), "value-%d", i);
        cr_assert_eq(resp_encode_cmd(&b, "ECHO", v, NULL), 0);
    }
    tk_write_all(resp_conn_fd(c), b.data, b.len);
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof(v), "value-%d", i);
        cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
        cr_assert(r.type == RESP_BULK && !strcmp(r.str, v),
                  "reply %d: expected \"%s\"", i, v);
        resp_reply_free(&r);
    }
    struct kvd_stats st;
    kvd_stats(kv, &st);
    cr_assert_lt(st.round_trips, (uint64_t)n / 10,
                 "%d pipelined commands took %llu round trips", n,
                 (unsigned long long)st.round_trips);
    resp_buf_free(&b);
    resp_close(c);
    kvd_stop(kv);
}

TK_TEST(pipeline, large_replies_in_bounded_batches,
        .description = "[KVD-13] a pipeline of large replies is answered in "
                       "batches of about KVD_BATCH_OUT bytes, in order")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    size_t len = 1 << 20;
    char *val = tk_xmalloc(len + 1);
    struct resp_buf b;
    struct resp_reply r;
    struct kvd_stats st;

    tk_fill(val, len, 11);
    const char *set[] = {"SET", "v", val};
    const size_t setl[] = {3, 1, len};
    cr_assert_eq(resp_command(c, &r, KVDT_WAIT_MS, 3, set, setl), 0);
    resp_reply_free(&r);
    kvd_reset_stats(kv);
    resp_buf_init(&b);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(resp_encode_cmd(&b, "GET", "v", NULL), 0);
        cr_assert_eq(resp_encode_cmd(&b, "ECHO", i % 2 ? "odd" : "even", NULL),
                     0);
    }
    tk_write_all(resp_conn_fd(c), b.data, b.len);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
        cr_assert(r.type == RESP_BULK && r.len == len &&
                      memcmp(r.str, val, len) == 0,
                  "GET %d of a 1 MiB value came back different", i);
        resp_reply_free(&r);
        cr_assert_eq(resp_read_reply(c, &r, KVDT_WAIT_MS), 0);
        cr_assert(r.type == RESP_BULK && !strcmp(r.str, i % 2 ? "odd" : "even"),
                  "reply %d out of order", 2 * i + 1);
        resp_reply_free(&r);
    }
    kvd_stats(kv, &st);
    cr_assert_eq(st.commands, 40);
    cr_assert_geq(st.round_trips, 20 * len / KVD_BATCH_OUT,
                  "20 MiB of replies went out in %llu batches: a batch must "
                  "stop at about %u bytes",
                  (unsigned long long)st.round_trips, KVD_BATCH_OUT);
    resp_buf_free(&b);
    free(val);
    resp_close(c);
    kvd_stop(kv);
}

/* ---- the round-trip delay ----------------------------------------------- */

TK_TEST(latency, round_trip_delayed,
        .description = "[KVD-3] each round trip takes at least the delay")
{
    struct kvd_config cfg = {.rtt_delay_us = 200000};
    struct kvd *kv = kvdt_start(&cfg);
    int fd = tk_connect_tcp(kvd_port(kv));

    for (int i = 0; i < 2; i++) {
        double ms = ping_ms(fd);
        cr_assert_geq(ms, 199,
                      "round trip %d took %.1f ms with a 200 ms "
                      "delay",
                      i, ms);
    }
    close(fd);
    kvd_stop(kv);
}

static bool
one_command(const struct kvd_stats *st)
{
    return st->commands >= 1;
}

TK_TEST(latency, other_client_not_delayed,
        .description = "[KVD-3] replies are held by a timer: while one "
                       "client's replies are held, another is served")
{
    struct kvd_config cfg = {.rtt_delay_us = 2000000};
    struct kvd *kv = kvdt_start(&cfg);
    int a = tk_connect_tcp(kvd_port(kv));
    int b = tk_connect_tcp(kvd_port(kv));

    double t0 = tk_now_ns() / 1e6;
    send_pings(a, 1);
    cr_assert(kvdt_wait_stats(kv, one_command), "the server never read A");
    /* A's reply is held for 2 s from now; B must not wait for it. */
    cr_assert_eq(kvd_set_delays(kv, 0, 0), 0);
    double ms = ping_ms(b);
    cr_assert_lt(ms, 500,
                 "B's round trip took %.0f ms while A's reply was held for "
                 "2000 ms: the server must not sleep",
                 ms);
    cr_assert_not(tk_readable(a, 0),
                  "A's reply came early: held replies keep their time");
    expect_pongs(a, 1);
    double ta = tk_now_ns() / 1e6 - t0;
    cr_assert_geq(ta, 1999,
                  "A's reply came after %.0f ms, before its "
                  "2000 ms delay",
                  ta);
    close(a);
    close(b);
    kvd_stop(kv);
}

TK_TEST(latency, concurrent_clients_overlap,
        .description = "[KVD-3] eight clients waiting at once wait about one "
                       "delay, not eight")
{
    struct kvd_config cfg = {.rtt_delay_us = 300000};
    struct kvd *kv = kvdt_start(&cfg);
    int fds[8];

    for (int i = 0; i < 8; i++)
        fds[i] = tk_connect_tcp(kvd_port(kv));
    double t0 = tk_now_ns() / 1e6;
    for (int i = 0; i < 8; i++)
        send_pings(fds[i], 1);
    for (int i = 0; i < 8; i++)
        expect_pongs(fds[i], 1);
    double ms = tk_now_ns() / 1e6 - t0;
    cr_assert_geq(ms, 299);
    cr_assert_lt(ms, 1200,
                 "8 clients with a 300 ms delay took %.0f ms in all: they "
                 "were served one after another (8 x 300 = 2400)",
                 ms);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    kvd_stop(kv);
}

TK_TEST(latency, batch_pays_once,
        .description = "[KVD-4] a pipelined batch pays the delay once")
{
    struct kvd_config cfg = {.rtt_delay_us = 200000};
    struct kvd *kv = kvdt_start(&cfg);
    int fd = tk_connect_tcp(kvd_port(kv));

    double t0 = tk_now_ns() / 1e6;
    send_pings(fd, 20);
    expect_pongs(fd, 20);
    double ms = tk_now_ns() / 1e6 - t0;
    cr_assert_lt(ms, 1000,
                 "20 pipelined PINGs took %.0f ms with a 200 ms delay "
                 "(one round trip is expected)",
                 ms);
    close(fd);
    kvd_stop(kv);
}

TK_TEST(latency, input_waits_behind_held_replies,
        .description = "[KVD-4] input sent while replies are held is read "
                       "after them, as a new round trip, in order")
{
    struct kvd_config cfg = {.rtt_delay_us = 300000};
    struct kvd *kv = kvdt_start(&cfg);
    int fd = tk_connect_tcp(kvd_port(kv));

    double t0 = tk_now_ns() / 1e6;
    send_pings(fd, 1);
    cr_assert(kvdt_wait_stats(kv, one_command), "the server never read it");
    tk_write_all(fd, "*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n", 21);
    kvdt_expect_raw(fd, "+PONG\r\n$1\r\nx\r\n");
    double ms = tk_now_ns() / 1e6 - t0;
    cr_assert_geq(ms, 599,
                  "two round trips with a 300 ms delay took "
                  "%.0f ms",
                  ms);
    struct kvd_stats st;
    kvd_stats(kv, &st);
    cr_assert_eq(st.round_trips, 2);
    close(fd);
    kvd_stop(kv);
}

TK_TEST(latency, set_at_run_time,
        .description = "kvd_set_delays changes the delay for the next "
                       "round trip; over a minute is -EINVAL")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));

    cr_assert_eq(kvd_set_delays(kv, 200000, 0), 0);
    double ms = ping_ms(fd);
    cr_assert_geq(ms, 199,
                  "after kvd_set_delays(200 ms) a round trip "
                  "took %.1f ms",
                  ms);
    cr_assert_eq(kvd_set_delays(kv, KVD_MAX_DELAY_US + 1, 0), -EINVAL);
    cr_assert_eq(kvd_set_delays(kv, 0, KVD_MAX_DELAY_US + 1), -EINVAL);
    cr_assert_eq(kvd_set_delays(kv, 0, 0), 0);
    ping_ms(fd);
    close(fd);
    kvd_stop(kv);
}

/* ---- the accept delay ------------------------------------------------------
 */

TK_TEST(accept, new_connections_wait,
        .description = "[KVD-5] a new connection is served only after the "
                       "accept delay; open ones are not affected")
{
    struct kvd *kv = kvdt_start(NULL);
    int old = tk_connect_tcp(kvd_port(kv));

    ping_ms(old);
    cr_assert_eq(kvd_set_delays(kv, 0, 1000000), 0);
    double t0 = tk_now_ns() / 1e6;
    int fd = tk_connect_tcp(kvd_port(kv));
    send_pings(fd, 1);
    double ms = ping_ms(old);
    cr_assert_lt(ms, 500,
                 "an open connection took %.0f ms while a new "
                 "one waited its accept delay",
                 ms);
    expect_pongs(fd, 1);
    ms = tk_now_ns() / 1e6 - t0;
    cr_assert_geq(ms, 999,
                  "a new connection was served after %.0f ms, "
                  "before its 1000 ms accept delay",
                  ms);
    struct kvd_stats st;
    kvd_stats(kv, &st);
    cr_assert_eq(st.accepted, 2, "accepted: %llu",
                 (unsigned long long)st.accepted);
    close(fd);
    close(old);
    kvd_stop(kv);
}

/* ---- fault injection -------------------------------------------------------
 */

/* PING over c must fail (the server closed or refused the connection). */
static void
expect_dead(struct resp_conn *c, const char *why)
{
    struct resp_reply r;
    int err = resp_call(c, &r, KVDT_WAIT_MS, "PING", NULL);

    cr_assert(err == -ECONNRESET || err == -EPIPE,
              "%s: PING returned %d (%s), expected -ECONNRESET or -EPIPE", why,
              err, strerror(-err));
}

TK_TEST(fault, drop_all,
        .description = "[KVD-7] kvd_drop_all closes every connection; new "
                       "ones are served")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *a = kvdt_connect(kvd_port(kv));
    struct resp_conn *b = kvdt_connect(kvd_port(kv));
    struct kvd_stats st;

    kvdt_ok(a, "SET", "k", "v", NULL);
    kvdt_bulk(b, "v", "GET", "k", NULL);
    cr_assert_eq(kvd_drop_all(kv), 0);
    kvd_stats(kv, &st);
    cr_assert_eq(st.connected, 0, "connected is %llu after kvd_drop_all",
                 (unsigned long long)st.connected);
    expect_dead(a, "after kvd_drop_all");
    expect_dead(b, "after kvd_drop_all");
    resp_close(a);
    resp_close(b);
    a = kvdt_connect(kvd_port(kv));
    kvdt_bulk(a, "v", "GET", "k", NULL);
    resp_close(a);
    kvd_stop(kv);
}

TK_TEST(fault, refuse_for,
        .description = "[KVD-8] kvd_refuse_for closes new connections for "
                       "a while; open ones and later ones are served")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *open = kvdt_connect(kvd_port(kv));
    struct kvd_stats st;

    cr_assert_eq(kvd_refuse_for(kv, 60000), 0);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    expect_dead(c, "a connection made while refusing");
    resp_close(c);
    kvdt_ok(open, "SET", "still", "here", NULL);
    kvd_stats(kv, &st);
    cr_assert_eq(st.accepted, 2, "refused connections are accepted first");
    cr_assert_eq(kvd_refuse_for(kv, 0), 0);
    c = kvdt_connect(kvd_port(kv));
    kvdt_bulk(c, "here", "GET", "still", NULL);
    resp_close(c);

    /* A refusal ends by itself. */
    double t0 = tk_now_ns() / 1e6;
    cr_assert_eq(kvd_refuse_for(kv, 300), 0);
    for (;;) {
        struct resp_reply r;
        c = kvdt_connect(kvd_port(kv));
        int err = resp_call(c, &r, KVDT_WAIT_MS, "PING", NULL);
        resp_reply_free(&r);
        resp_close(c);
        if (err == 0)
            break;
        cr_assert_lt(tk_now_ns() / 1e6 - t0, KVDT_WAIT_MS,
                     "the refusal never ended");
        usleep(20000);
    }
    cr_assert_geq(tk_now_ns() / 1e6 - t0, 299,
                  "a connection was served before the 300 ms were up");
    resp_close(open);
    kvd_stop(kv);
}

TK_TEST(fault, close_after,
        .description = "[KVD-9] kvd_close_after(n) answers n more commands "
                       "per connection, then closes it")
{
    struct kvd *kv = kvdt_start(NULL);
    int a = tk_connect_tcp(kvd_port(kv));
    int b = tk_connect_tcp(kvd_port(kv));
    int idle = tk_connect_tcp(kvd_port(kv));

    ping_ms(a); /* all three are accepted before the call */
    ping_ms(b);
    ping_ms(idle);
    cr_assert_eq(kvd_close_after(kv, 2), 0);
    int later = tk_connect_tcp(kvd_port(kv));
    send_pings(a, 3);
    expect_pongs(a, 2);
    tk_expect_closed(a, KVDT_WAIT_MS);
    ping_ms(b);
    send_pings(b, 1);
    expect_pongs(b, 1);
    tk_expect_closed(b, KVDT_WAIT_MS);
    for (int i = 0; i < 5; i++)
        ping_ms(later); /* accepted after the call: not affected */
    cr_assert_eq(kvd_close_after(kv, 0), 0);
    tk_expect_closed(idle, KVDT_WAIT_MS);
    tk_expect_closed(later, KVDT_WAIT_MS);
    close(a);
    close(b);
    close(idle);
    close(later);
    kvd_stop(kv);
}

TK_TEST(fault, kvd_command,
        .description = "the KVD command sets delays and faults over the "
                       "protocol")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    int fd = tk_connect_tcp(kvd_port(kv));

    kvdt_ok(c, "KVD", "DELAY", "200000", "0", NULL);
    double ms = ping_ms(fd);
    cr_assert_geq(ms, 199, "KVD DELAY 200000: a round trip took %.1f ms", ms);
    kvdt_ok(c, "KVD", "DELAY", "0", "0", NULL);
    kvdt_err(c, "ERR delays are microseconds", "KVD", "DELAY", "-1", "0", NULL);
    kvdt_err(c, "ERR unknown KVD subcommand", "KVD", "FROB", NULL);
    kvdt_ok(c, "KVD", "RESETSTATS", NULL);
    kvdt_ok(c, "KVD", "CLOSEAFTER", "1", NULL);
    kvdt_bulk(c, "last", "ECHO", "last", NULL);
    expect_dead(c, "after KVD CLOSEAFTER 1 and one command");
    resp_close(c);
    ping_ms(fd); /* its one command, then it is closed too */
    tk_expect_closed(fd, KVDT_WAIT_MS);
    close(fd);

    c = kvdt_connect(kvd_port(kv));
    kvdt_ok(c, "KVD", "REFUSE", "60000", NULL);
    struct resp_conn *d = kvdt_connect(kvd_port(kv));
    expect_dead(d, "a connection made after KVD REFUSE");
    resp_close(d);
    kvdt_ok(c, "KVD", "REFUSE", "0", NULL);
    d = kvdt_connect(kvd_port(kv));
    tk_write_all(resp_conn_fd(d), "*2\r\n$3\r\nKVD\r\n$4\r\nDROP\r\n", 23);
    tk_expect_closed(resp_conn_fd(d), KVDT_WAIT_MS);
    expect_dead(c, "after KVD DROP");
    resp_close(c);
    resp_close(d);
    kvd_stop(kv);
}

static bool
one_connected(const struct kvd_stats *st)
{
    return st->connected == 1;
}

TK_TEST(fault, client_vanishes_mid_reply,
        .description = "[KVD-2] a client that resets in the middle of a "
                       "large reply, or while its reply is held, is dropped; "
                       "the server goes on")
{
    struct kvd *kv = kvdt_start(NULL);
    struct resp_conn *c = kvdt_connect(kvd_port(kv));
    size_t len = 4 << 20;
    char *big = tk_xmalloc(len + 1);
    struct resp_reply r;
    int small = 16 * 1024;

    memset(big, 'b', len);
    big[len] = '\0';
    const char *set[] = {"SET", "big", big};
    cr_assert_eq(resp_command(c, &r, KVDT_WAIT_MS, 3, set, NULL), 0);
    resp_reply_free(&r);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons(kvd_port(kv)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    tk_write_all(fd, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 22);
    char head[1000];
    cr_assert_eq(tk_read_exact(fd, head, sizeof(head), KVDT_WAIT_MS),
                 (ssize_t)sizeof(head));
    tk_reset_close(fd);

    cr_assert_eq(kvd_set_delays(kv, 200000, 0), 0);
    fd = tk_connect_tcp(kvd_port(kv));
    send_pings(fd, 1);
    tk_reset_close(fd);

    cr_assert(kvdt_wait_stats(kv, one_connected),
              "the vanished clients were not dropped");
    cr_assert_eq(kvd_set_delays(kv, 0, 0), 0);
    kvdt_bulk(c, "ok", "ECHO", "ok", NULL);
    free(big);
    resp_close(c);
    kvd_stop(kv);
}

/* ---- start, stop, spawn ----------------------------------------------------
 */

TK_TEST(life, start_errors,
        .description = "[KVD-1] kvd_start reports a taken port and a bad "
                       "config, leaving nothing open")
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    struct kvd *kv = NULL;
    int before = tk_count_open_fds();
    struct kvd_config taken = {.port = port};
    struct kvd_config tiny = {.max_frame = 10};

    cr_assert_eq(kvd_start(&taken, &kv), -EADDRINUSE);
    cr_assert_eq(kvd_start(&tiny, &kv), -EINVAL);
    cr_assert_eq(kv, NULL, "*out must not be written on failure");
    cr_assert_eq(tk_count_open_fds(), before,
                 "a failed start left "
                 "descriptors open");
    close(lfd);
}

TK_TEST(life, stop_closes_and_frees,
        .description = "[KVD-10] kvd_stop closes every connection, held or "
                       "half-sent, and frees everything")
{
    int before = tk_count_open_fds();
    struct kvd *kv = kvdt_start(NULL);
    int idle = tk_connect_tcp(kvd_port(kv));
    int partial = tk_connect_tcp(kvd_port(kv));
    int held = tk_connect_tcp(kvd_port(kv));
    struct resp_conn *c = kvdt_connect(kvd_port(kv));

    kvdt_ok(c, "SET", "k", "v", "EX", "100", NULL);
    tk_write_all(partial, "*2\r\n$3\r\nGET\r\n$1", 15);
    cr_assert_eq(kvd_set_delays(kv, 60000000, 0), 0);
    send_pings(held, 1);
    cr_assert(kvdt_wait_stats(kv, one_command));
    kvd_stop(kv);
    tk_expect_closed(idle, KVDT_WAIT_MS);
    tk_expect_closed(partial, KVDT_WAIT_MS);
    tk_expect_closed(held, KVDT_WAIT_MS);
    close(idle);
    close(partial);
    close(held);
    resp_close(c);
    cr_assert_eq(tk_count_open_fds(), before,
                 "descriptors left open after kvd_stop");
    kvd_stop(NULL);
}

TK_TEST(life, spawn_and_terminate,
        .description = "[KVD-11] [KVD-12] kvd_spawn serves from a child "
                       "that exits 0 on SIGTERM")
{
    pid_t pid;
    unsigned short port;
    struct kvd_config cfg = {.rtt_delay_us = 1000};

    cr_assert_eq(kvd_spawn(&cfg, &pid, &port), 0);
    struct resp_conn *c = kvdt_connect(port);
    kvdt_ok(c, "SET", "k", "in a child", NULL);
    kvdt_bulk(c, "in a child", "GET", "k", NULL);
    int st = kvd_reap(pid, SIGTERM);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the child did not exit 0 on SIGTERM (status 0x%x)", st);
    expect_dead(c, "after the child exited");
    resp_close(c);

    cr_assert_eq(kvd_spawn(NULL, &pid, &port), 0);
    st = kvd_reap(pid, SIGKILL);
    cr_assert(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(kvd_reap(pid, 0), -ECHILD);
}

TK_TEST(life, spawn_holds_no_caller_socket,
        .description = "[KVD-14] a spawned child does not keep the "
                       "caller's sockets open")
{
    struct kvd *kv = kvdt_start(NULL);
    int fd = tk_connect_tcp(kvd_port(kv));
    pid_t pid;
    unsigned short port;

    ping_ms(fd); /* accepted: the server side exists */
    cr_assert_eq(kvd_spawn(NULL, &pid, &port), 0);
    close(fd);
    cr_assert(kvdt_wait_stats(kv, none_connected),
              "the server never saw the client's close: the child kept a "
              "copy of the client socket open");
    int st = kvd_reap(pid, SIGTERM);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kvd_stop(kv);
}

TK_TEST(life, spawn_dies_with_caller,
        .description = "[KVD-15] a spawned server exits when the process "
                       "that spawned it dies")
{
    int p[2];
    unsigned short port = 0;

    tk_pipe(p);
    pid_t mid = fork();
    cr_assert_geq(mid, 0);
    if (mid == 0) { /* a caller that dies without reaping its server */
        pid_t pid;
        close(p[0]);
        if (kvd_spawn(NULL, &pid, &port) == 0)
            (void)!write(p[1], &port, sizeof(port));
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &port, sizeof(port)), (ssize_t)sizeof(port),
                 "the intermediate process could not spawn a server");
    close(p[0]);
    waitpid(mid, NULL, 0);
    /* The server is now an orphan: it must go away by itself. */
    double until = tk_now_ns() / 1e6 + KVDT_WAIT_MS;
    for (;;) {
        struct resp_conn *c = NULL;
        if (resp_connect("127.0.0.1", port, 1000, &c) == -ECONNREFUSED)
            break;
        resp_close(c);
        cr_assert_lt(tk_now_ns() / 1e6, until,
                     "the server outlived the process that spawned it");
        usleep(10000);
    }
}

TK_TEST(life, spawn_error,
        .description = "[KVD-11] kvd_spawn reports the child's start error "
                       "and leaves no child")
{
    unsigned short port, got;
    int lfd = tk_listen_tcp(&port);
    struct kvd_config taken = {.port = port};
    pid_t pid;

    cr_assert_eq(kvd_spawn(&taken, &pid, &got), -EADDRINUSE);
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child was left behind");
    cr_assert_eq(errno, ECHILD);
    close(lfd);
}
