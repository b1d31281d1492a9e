/*
 * test_echo.c - chapter 02: the echo server's behaviour, the same on every
 * backend: one client, many clients, idle ones, half-close, resets, stop.
 *
 * Each test exists once per backend (select/..., poll/..., epoll_lt/...,
 * epoll_et/...): the connection core is shared, so a failure on every
 * backend points at the core, a failure on one at that backend.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* ---- one client --------------------------------------------------------- */

static void
one_client(enum mux_backend b)
{
    struct tk_server srv;
    char big[3000];

    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    mt_echo_str(fd, "hello, server\n", "one client");
    mt_echo_str(fd, "x", "one client, a 1-byte message");
    mt_fill(big, sizeof(big), 1);
    mt_echo(fd, big, sizeof(big), "one client, 3000 binary bytes");
    close(fd);
    mt_stop(&srv);
    cr_assert_eq(mt_stats.accepted, 1,
                 "%s: stats.accepted is %lu after one client; expected 1",
                 mt_name(), mt_stats.accepted);
}
MUX_TEST_EACH(one_client, "[MUX-1] one client gets its bytes back", one_client)

/* ---- many clients, interleaved ---------------------------------------- */

#define NCLIENTS 100
#define STREAM 6000 /* bytes each client sends in all */

static void
many_clients(enum mux_backend b)
{
    struct tk_server srv;
    struct tk_rng rng;
    int fd[NCLIENTS];
    size_t sent[NCLIENTS] = {0};
    char *data = tk_xmalloc((size_t)NCLIENTS * STREAM);
    char who[64];

    tk_rng_seed(&rng, 42);
    mt_fill(data, (size_t)NCLIENTS * STREAM, 2);
    mt_start(&srv, b, NULL);
    for (int i = 0; i < NCLIENTS; i++)
        fd[i] = tk_connect_tcp(srv.port);
    /* Rounds: every client sends a random-sized piece, then every client
     * reads exactly its own piece back. */
    for (bool busy = true; busy;) {
        size_t piece[NCLIENTS];
        busy = false;
        for (int i = 0; i < NCLIENTS; i++) {
            piece[i] = 1 + tk_rng_below(&rng, 900);
            if (piece[i] > STREAM - sent[i])
                piece[i] = STREAM - sent[i];
            tk_write_all(fd[i], data + (size_t)i * STREAM + sent[i], piece[i]);
        }
        for (int i = 0; i < NCLIENTS; i++) {
            snprintf(who, sizeof(who), "client %d of %d", i, NCLIENTS);
            mt_read_check(fd[i], data + (size_t)i * STREAM + sent[i], piece[i],
                          REPLY_MS, who);
            sent[i] += piece[i];
            busy |= sent[i] < STREAM;
        }
    }
    for (int i = 0; i < NCLIENTS; i++)
        close(fd[i]);
    free(data);
    mt_stop(&srv);
}
MUX_TEST_EACH(many_clients,
              "[MUX-1][MUX-2] 100 clients, random sizes, each gets its own "
              "bytes in order",
              many_clients)

/* ---- idle clients ------------------------------------------------------- */

#define NIDLE 50

static void
idle_and_partial(enum mux_backend b)
{
    struct tk_server srv;
    int idle[NIDLE];

    mt_start(&srv, b, NULL);
    for (int i = 0; i < NIDLE; i++)
        idle[i] = tk_connect_tcp(srv.port);
    int active = tk_connect_tcp(srv.port);
    for (int r = 0; r < 20; r++)
        mt_echo_str(active, "still answered\n",
                    "the one active client among 50 idle ones");
    /* Idle clients wake up, in reverse order of arrival. */
    for (int i = NIDLE - 1; i >= 0; i -= 7)
        mt_echo_str(idle[i], "late\n", "an idle client that spoke at last");
    for (int i = 0; i < NIDLE; i++)
        close(idle[i]);
    close(active);
    mt_stop(&srv);
}
MUX_TEST_EACH(idle_and_partial, "[MUX-2] 50 idle connections delay nobody",
              idle_and_partial)

/* ---- half-close ---------------------------------------------------------- */

#define HALF (40 * 1024) /* fits in the socket buffers: no writer thread */

static void
half_close(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(HALF);
    char tail;

    mt_fill(data, HALF, 3);
    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    tk_write_all(fd, data, HALF);
    shutdown(fd, SHUT_WR); /* EOF to the server; we still read */
    mt_read_check(fd, data, HALF, REPLY_MS,
                  "a client that sent 40 KiB and then shut down its write "
                  "side");
    ssize_t n = tk_read_exact(fd, &tail, 1, REPLY_MS);
    cr_assert_eq(n, 0,
                 "%s: after echoing everything, the server should close the "
                 "connection (EOF); got %s",
                 mt_name(),
                 n == -ETIMEDOUT ? "nothing: it stayed open" : "more bytes");
    close(fd);
    free(data);
    mt_stop(&srv);
    cr_assert_eq(mt_stats.closed, 1,
                 "%s: stats.closed is %lu; the half-closed client should "
                 "have been closed by the server",
                 mt_name(), mt_stats.closed);
}
MUX_TEST_EACH(half_close,
              "[MUX-4] a client's shutdown(SHUT_WR): all echoed, then closed",
              half_close)

/* ---- resets -------------------------------------------------------------- */

static void
resets(enum mux_backend b)
{
    struct tk_server srv;
    size_t big = 1 << 20;
    char *junk = tk_xmalloc(big);

    signal(SIGPIPE, SIG_DFL); /* a server that lets SIGPIPE through dies */
    mt_fill(junk, big, 4);
    mt_start(&srv, b, NULL);
    int keep = tk_connect_tcp(srv.port);
    mt_echo_str(keep, "before\n", "the surviving client");

    int a = tk_connect_tcp(srv.port);
    mt_echo_str(a, "about to reset\n", "client a");
    tk_reset_close(a);

    /* b sends a lot, reads nothing, and resets: its echo has nowhere to
     * go, so the server's next send fails with EPIPE or ECONNRESET. */
    int c = tk_connect_tcp(srv.port);
    mt_small_buffers(c);
    struct mt_pump p = {.fd = c, .data = junk, .len = big};
    mt_pump_start(&p);
    while (__atomic_load_n(&p.written, __ATOMIC_ACQUIRE) < 64 * 1024)
        tk_readable(keep, 10); /* a bounded wait that watches the server */
    shutdown(c, SHUT_RDWR);    /* unblocks the pump if it is stuck */
    mt_pump_join(&p);
    tk_reset_close(c);

    mt_echo_str(keep, "after\n",
                "the surviving client, after two others reset");
    int d = tk_connect_tcp(srv.port);
    mt_echo_str(d, "newcomer\n", "a client that came after the resets");
    close(d);
    close(keep);
    free(junk);
    mt_stop(&srv);
    cr_assert_geq(mt_stats.closed, 2,
                  "%s: stats.closed is %lu; the reset clients should have "
                  "been dropped",
                  mt_name(), mt_stats.closed);
}
MUX_TEST_EACH(resets,
              "[MUX-5] resets drop only that client; SIGPIPE kills nobody",
              resets)

/* ---- stop ------------------------------------------------------------------
 */

static void
stop_closes_all(enum mux_backend b)
{
    struct tk_server srv;
    int fds[6];
    char junk[4096];

    mt_fill(junk, sizeof(junk), 5);
    int before = tk_count_open_fds();
    mt_start(&srv, b, NULL);
    for (int i = 0; i < 6; i++) {
        fds[i] = tk_connect_tcp(srv.port);
        mt_echo_str(fds[i], "hi\n", "a client");
    }
    /* Leave some of them with work in progress: unread echoes. */
    for (int i = 0; i < 3; i++)
        tk_write_all(fds[i], junk, sizeof(junk));
    tk_readable(fds[2], 200); /* let the server see it; bounded */
    mt_stop(&srv);
    int after = tk_count_open_fds();
    cr_assert_eq(after, before + 6,
                 "%s: after the stop %d descriptors are open; expected %d "
                 "(the test's 6 clients): the server left %d open (clients, "
                 "an epoll instance, ...)",
                 mt_name(), after, before + 6, after - before - 6);
    for (int i = 0; i < 6; i++) {
        mt_expect_closed(fds[i], "a client after the server stopped");
        close(fds[i]);
    }
}
MUX_TEST_EACH(stop_closes_all,
              "[MUX-13] stop closes every connection and leaks no "
              "descriptor",
              stop_closes_all)
