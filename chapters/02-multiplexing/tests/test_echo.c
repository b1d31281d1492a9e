/*
 * test_echo.c - chapter 02: the echo server's behaviour, the same on every
 * backend: one client, many clients, idle ones, half-close, resets, stop.
 *
 * Each test exists once per backend (select/..., poll/..., epoll_lt/...,
 * epoll_et/...): the connection core is shared, so a failure on every
 * backend points at the core, a failure on one at that backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "iolab/fault.h"

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

    mt_start(&srv, b, NULL);
    tk_echo_many(srv.port, NCLIENTS, STREAM, 900, 42, REPLY_MS, mt_name());
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

#define HALF (48 * 1024) /* under MUX_OUT_CAP: the server reads it all */

/*
 * The client sends 48 KiB, shuts down its write side, and reads nothing
 * for 300 ms: the server has read the EOF with most of the echo still
 * pending (small buffers). It must then sleep, not spin on a socket that
 * stays readable after EOF, and must send everything before it closes.
 */
static void
half_close(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(HALF);
    char tail;

    mt_fill(data, HALF, 3);
    mt_start(&srv, b, NULL);
    int small = 4096;
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    int fd = tk_connect_tcp_rcvbuf(srv.port, 4096);
    tk_write_all(fd, data, HALF);
    shutdown(fd, SHUT_WR); /* EOF to the server; we still read */
    unsigned long waits0 = fi_calls(FI_WAIT);
    tk_readable(-1, 300); /* 300 ms, watching the server */
    unsigned long waits = fi_calls(FI_WAIT) - waits0;
    cr_assert_leq(waits, 20,
                  "%s: after a client's EOF, with its echo pending, the "
                  "server called its wait %lu times in 300 ms: stop "
                  "watching for input after EOF (it stays readable)",
                  mt_name(), waits);
    mt_read_check(fd, data, HALF, REPLY_MS,
                  "a client that sent 48 KiB, shut down its write side and "
                  "read the echo late");
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
              "[MUX-4][MUX-11] a client's shutdown(SHUT_WR): all echoed, "
              "then closed",
              half_close)

/* ---- resets -------------------------------------------------------------- */

/*
 * Waits (bounded) until the server's end of the connection from client
 * port cport to server port sport is in CLOSE_WAIT: the server has read
 * the client's FIN. Reads /proc/net/tcp, where that end is the line with
 * local port sport and remote port cport, state 08.
 */
static bool
server_in_close_wait(unsigned short sport, unsigned short cport)
{
    /* /proc/net/tcp lists every socket of the machine: give it 3 s. */
    for (long long t0 = tk_now_ms(); tk_now_ms() - t0 < 3000;) {
        FILE *f = fopen("/proc/net/tcp", "r");
        char line[512];
        unsigned lp, rp, st;
        bool seen = false;

        if (f == NULL)
            return false;
        while (!seen && fgets(line, sizeof(line), f) != NULL)
            seen =
                sscanf(line, " %*d: %*8x:%x %*8x:%x %x", &lp, &rp, &st) == 3 &&
                lp == sport && rp == cport && st == 0x08;
        fclose(f);
        if (seen)
            return true;
        tk_readable(-1, 10); /* 10 ms, watching the server */
    }
    return false;
}

static void
resets(enum mux_backend b)
{
    struct tk_server srv;
    size_t big = 1 << 20;
    char *junk = tk_xmalloc(big);

    signal(SIGPIPE, SIG_DFL); /* a server that lets SIGPIPE through dies */
    mt_fill(junk, big, 4);
    mt_start(&srv, b, NULL);
    int small = 4096; /* accepted sockets inherit it: echoes stay pending */
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    int keep = tk_connect_tcp(srv.port);
    mt_echo_str(keep, "before\n", "the surviving client");

    int a = tk_connect_tcp(srv.port);
    mt_echo_str(a, "about to reset\n", "client a");
    tk_reset_close(a);

    /* b sends a lot, reads nothing, and resets: its echo has nowhere to
     * go, so the server's next send fails with EPIPE or ECONNRESET. */
    int c = tk_connect_tcp(srv.port);
    tk_small_buffers(c, MT_SMALL_BUF);
    struct tk_pump p = {.fd = c, .data = junk, .len = big};
    tk_pump_start(&p);
    while (__atomic_load_n(&p.written, __ATOMIC_ACQUIRE) < 64 * 1024)
        tk_readable(keep, 10); /* a bounded wait that watches the server */
    shutdown(c, SHUT_RDWR);    /* unblocks the pump if it is stuck */
    tk_pump_join(&p);
    tk_reset_close(c);

    /* e half-closes, so the server reads its EOF (CLOSE_WAIT) while most
     * of the echo is still pending (tiny buffers), then e resets: the
     * server's next send fails with EPIPE, which raises SIGPIPE unless
     * the send says MSG_NOSIGNAL. */
    int e = tk_connect_tcp_rcvbuf(srv.port, 1);
    struct sockaddr_in me;
    socklen_t mlen = sizeof(me);
    getsockname(e, (struct sockaddr *)&me, &mlen);
    tk_write_all(e, junk, 60 * 1024); /* under MUX_OUT_CAP: all read */
    shutdown(e, SHUT_WR);
    cr_assert(server_in_close_wait(srv.port, ntohs(me.sin_port)),
              "%s: the server's end of a client that sent 60 KiB and shut "
              "down its write side was not in CLOSE_WAIT within 3 s (did "
              "the server close it at EOF, with the echo still owed?)",
              mt_name());
    tk_reset_close(e);

    mt_echo_str(keep, "after\n",
                "the surviving client, after three others reset");
    int d = tk_connect_tcp(srv.port);
    mt_echo_str(d, "newcomer\n", "a client that came after the resets");
    close(d);
    close(keep);
    free(junk);
    mt_stop(&srv);
    cr_assert_geq(mt_stats.closed, 3,
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
