/*
 * test_faults.c - chapter 02 with the fault-injection layer: short and
 * refused writes, interrupted waits, accept out of descriptors, and a
 * check that an idle server sleeps.
 *
 * Faults are injected into the server's own calls (see iolab/fault.h),
 * seeded, so a failure repeats exactly. Two tests count the server's wait
 * calls over a fixed window: that sleep measures, it does not wait for
 * readiness.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "iolab/fault.h"

/* ---- short and refused writes, short reads, EINTR everywhere ------------ */

/*
 * out_cap is 1000 bytes, less than most messages: a short send leaves part
 * of the echo pending, the next read must append behind it, and making
 * room moves the pending bytes to the front of the buffer. Every echo is
 * checked byte for byte.
 *
 * An injected EAGAIN on a send is a lie the edge-triggered backend cannot
 * survive: the socket is in fact writable, so the kernel never reports a
 * change, and a real EAGAIN is always followed by one. So epoll-et gets
 * short transfers and EINTR only; the level-triggered backends also get
 * EAGAIN, which they must answer by waiting for writability.
 */
static void
faults_io(enum mux_backend b)
{
    struct tk_server srv;
    /* Smaller than a message: pending echo is compacted again and again. */
    struct mux_config cfg = {.out_cap = 1000};
    unsigned eagain = b == MUX_EPOLL_ET ? 0 : 20;
    char msg[3000], who[64];
    int fds[5];

    for (enum fi_op op = FI_READ; op <= FI_RECV; op++) {
        bool rd = op == FI_READ || op == FI_READV || op == FI_RECV;
        cr_assert_eq(
            fi_plan_random(op, 100 + op, 40, rd ? 100 : 7, rd ? 0 : eagain, 10),
            0);
    }
    cr_assert_eq(fi_plan_random(FI_WAIT, 200, 0, 1, 0, 30), 0);
    mt_start(&srv, b, &cfg);
    for (int i = 0; i < 5; i++)
        fds[i] = tk_connect_tcp(srv.port);
    for (int round = 0; round < 12; round++)
        for (int i = 0; i < 5; i++) {
            size_t len = 1 + (size_t)(round * 997 + i * 131) % sizeof(msg);
            mt_fill(msg, len, (unsigned long)(round * 5 + i));
            snprintf(who, sizeof(who), "client %d, round %d, under faults", i,
                     round);
            mt_echo(fds[i], msg, len, who);
        }
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    mt_stop(&srv);
    cr_assert_gt(fi_calls(FI_SEND) + fi_calls(FI_WRITE) + fi_calls(FI_WRITEV),
                 0, "%s: the server never called send() or write()", mt_name());
}
MUX_TEST_EACH(faults_io,
              "[MUX-1][MUX-3][MUX-10] short reads and writes, EAGAIN and "
              "EINTR injected, through a 1000-byte out_cap",
              faults_io)

/* ---- a send that returns 0 ---------------------------------------------- */

/*
 * Every send and write the server makes returns 0: no progress and no
 * reason. A core that adds 0 and tries again spins in one turn for ever,
 * and nothing else is served; the contract drops the connection instead.
 */
static void
send_zero(enum mux_backend b)
{
    struct tk_server srv;

    cr_assert_eq(fi_plan(FI_SEND, "zero *"), 0);
    cr_assert_eq(fi_plan(FI_WRITE, "zero *"), 0);
    cr_assert_eq(fi_plan(FI_WRITEV, "zero *"), 0);
    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    tk_write_all(fd, "hello\n", 6);
    mt_expect_closed(fd, "a client whose echo send() returned 0 (no "
                         "progress and no error: drop the connection, as "
                         "chapter 01's nb_write_full returns -EIO)");
    close(fd);
    cr_assert_gt(fi_calls(FI_SEND) + fi_calls(FI_WRITE) + fi_calls(FI_WRITEV),
                 0, "%s: the server never called send() or write()", mt_name());

    /* Sends work again: the server must still be serving. */
    fi_reset();
    fd = tk_connect_tcp(srv.port);
    mt_echo_str(fd, "still here\n", "a client after the dropped one");
    close(fd);
    mt_stop(&srv);
    cr_assert_geq(mt_stats.closed, 1,
                  "%s: stats.closed is 0 after a connection was dropped",
                  mt_name());
}
MUX_TEST_EACH(send_zero,
              "[MUX-14] a send that returns 0 drops that connection; the "
              "server does not spin on it",
              send_zero)

/* ---- EINTR from the wait ----------------------------------------------------
 */

static void
wait_eintr(enum mux_backend b)
{
    struct tk_server srv;

    cr_assert_eq(fi_plan(FI_WAIT, "eintr eintr eintr pass *"), 0);
    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    for (int i = 0; i < 10; i++)
        mt_echo_str(fd, "interrupted?\n",
                    "a client while every wait is interrupted three times");
    close(fd);
    mt_stop(&srv);
    cr_assert_geq(fi_calls(FI_WAIT), 4,
                  "%s: only %lu wait calls went through the fault layer: "
                  "call select, poll or epoll_wait directly",
                  mt_name(), fi_calls(FI_WAIT));
}
MUX_TEST_EACH(wait_eintr, "[MUX-10] EINTR from the wait call is retried",
              wait_eintr)

/* ---- accept out of descriptors
 * ------------------------------------------------ */

#define WINDOW_MS 500
#define MAX_CALLS 60 /* 500 ms / 100 ms backoff is 5; spinning makes 1000s */

static void
emfile_backoff(enum mux_backend b)
{
    struct tk_server srv;

    mt_start(&srv, b, NULL);
    int first = tk_connect_tcp(srv.port);
    mt_echo_str(first, "before\n", "a client accepted before EMFILE");

    cr_assert_eq(fi_plan(FI_ACCEPT, "err:EMFILE *"), 0);
    unsigned long waits0 = fi_calls(FI_WAIT), acc0 = fi_calls(FI_ACCEPT);
    int fd = tk_connect_tcp(srv.port); /* complete, waiting in the backlog */
    tk_nap_ms(WINDOW_MS);
    unsigned long waits = fi_calls(FI_WAIT) - waits0;
    unsigned long accepts = fi_calls(FI_ACCEPT) - acc0;
    cr_assert_gt(accepts, 0,
                 "%s: the server did not try to accept the new connection",
                 mt_name());
    cr_assert_leq(waits + accepts, MAX_CALLS,
                  "%s: while accept failed with EMFILE the server made %lu "
                  "wait and %lu accept calls in %d ms: it spins on a "
                  "listener that stays readable; stop watching it for "
                  "accept_backoff_ms",
                  mt_name(), waits, accepts, WINDOW_MS);

    cr_assert_eq(fi_plan(FI_ACCEPT, "pass"), 0); /* descriptors are back */
    mt_echo_str(fd, "after\n",
                "the client that waited in the backlog during EMFILE");
    mt_echo_str(first, "still\n", "the client accepted before EMFILE");
    close(fd);
    close(first);
    mt_stop(&srv);
    cr_assert_geq(mt_stats.accept_errors, 1,
                  "%s: stats.accept_errors is 0 after EMFILE", mt_name());
}
MUX_TEST_EACH(emfile_backoff,
              "[MUX-12] EMFILE from accept: back off, do not spin, accept "
              "later",
              emfile_backoff)

/* ---- idle means asleep
 * ---------------------------------------------------------- */

static void
idle_sleeps(enum mux_backend b)
{
    struct tk_server srv;
    int fds[20];

    mt_start(&srv, b, NULL);
    for (int i = 0; i < 20; i++) {
        fds[i] = tk_connect_tcp(srv.port);
        mt_echo_str(fds[i], "hi\n", "a client");
    }
    tk_write_all(fds[0], "part", 4); /* a partial message changes nothing */
    char got[4];
    cr_assert_eq(tk_read_exact(fds[0], got, 4, REPLY_MS), 4);
    unsigned long waits0 = fi_calls(FI_WAIT);
    tk_nap_ms(300);
    unsigned long waits = fi_calls(FI_WAIT) - waits0;
    cr_assert_leq(waits, 3,
                  "%s: with 20 idle clients the server called its wait %lu "
                  "times in 300 ms: it should sleep in the kernel until "
                  "something happens (a timeout of -1, no interest in "
                  "writability with nothing to send)",
                  mt_name(), waits);
    for (int i = 0; i < 20; i++)
        close(fds[i]);
    mt_stop(&srv);
}
MUX_TEST_EACH(idle_sleeps, "[MUX-11] an idle server sleeps: no busy polling",
              idle_sleeps)
