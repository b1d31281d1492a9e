/*
 * test_echo.c - exercise 2 of chapter 09: chapter 02's echo server on
 * io_uring, checked with chapter 02's scenarios (one client and many, a
 * client that never reads, half-close with echo owed, resets, the stop)
 * through the test kit's clients, and with the scenarios only a buffer
 * ring has: a ring of four buffers shared by several clients, and a
 * receive that ends for want of a buffer.
 *
 * The server runs in a child process of its own, its stats in memory
 * shared with the test: under Valgrind a thread asleep in io_uring_enter
 * keeps every other thread of its process from running, so the clients
 * could not run beside it in one process. The test waits for the stats
 * to say something happened (polled under a deadline), never for time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "iolab/testkit.h"
#include "uiot.h"

#define REPLY_MS 5000 /* for an echo: a correct server answers at once */
#define STOP_MS 20000 /* for the server's process to end after the stop */

/* What the server's process shares with the test. */
struct echo_shared {
    struct uio_echo_stats st; /* live while it runs */
    int result;               /* what uio_echo_serve returned */
    int fds_before;           /* descriptors open before the call */
    int fds_after;            /* and after it */
};

struct echo_srv {
    pid_t pid;
    int stop_wr;
    unsigned short port;
    struct echo_shared *sh;
};

/* The server's settings, and the listener's socket buffers (0: kept). */
struct echo_setup {
    struct uio_echo_config cfg;
    int sndbuf;       /* SO_SNDBUF for the connections (they inherit it) */
    int small;        /* tk_small_buffers for the connections */
    int nofile_extra; /* > 0: the server's process may open this many
                         descriptors more than it holds at the call */
};

/*
 * Starts uio_echo_serve in a child process on a fresh listener, which
 * only the child keeps open: a server that returned early refuses
 * connections at once instead of leaving them in a backlog.
 */
static void
srv_start(struct echo_srv *e, const struct echo_setup *set)
{
    int stop[2];
    static const struct echo_setup none;

    uiot_need_uring();
    if (set == NULL)
        set = &none;
    e->sh = mmap(NULL, sizeof(*e->sh), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(e->sh, MAP_FAILED, "mmap: %s", strerror(errno));
    int lfd = tk_listen_tcp(&e->port);
    if (set->sndbuf > 0)
        cr_assert_eq(setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &set->sndbuf,
                                sizeof(set->sndbuf)),
                     0);
    if (set->small > 0)
        tk_small_buffers(lfd, set->small);
    tk_pipe(stop);
    fflush(NULL);
    e->pid = fork();
    cr_assert_neq(e->pid, -1, "fork: %s", strerror(errno));
    if (e->pid == 0) {
        close(stop[1]);
        signal(SIGPIPE, SIG_DFL); /* a server that raises it dies */
        e->sh->fds_before = tk_count_open_fds();
        if (set->nofile_extra > 0) {
            struct rlimit lim;
            getrlimit(RLIMIT_NOFILE, &lim);
            lim.rlim_cur = (rlim_t)(e->sh->fds_before + set->nofile_extra);
            setrlimit(RLIMIT_NOFILE, &lim);
        }
        e->sh->result = uio_echo_serve(lfd, stop[0], &set->cfg, &e->sh->st);
        e->sh->fds_after = tk_count_open_fds();
        _exit(0);
    }
    close(lfd);
    close(stop[0]);
    e->stop_wr = stop[1];
}

/* A live counter of the server's stats, read atomically. */
static uint64_t
live(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Waits up to REPLY_MS until *counter reaches want; returns its value. */
static uint64_t
wait_stat(const uint64_t *counter, uint64_t want)
{
    long long end = tk_now_ms() + REPLY_MS;

    while (live(counter) < want && tk_now_ms() < end)
        tk_readable(-1, 5);
    return live(counter);
}

/*
 * Writes to the stop pipe, waits for the server's process to end, and
 * checks that uio_echo_serve returned 0 and the process exited by itself.
 * The stats are then final in e->sh (unmapped by srv_free).
 */
static void
srv_stop(struct echo_srv *e)
{
    int status;
    pid_t r = 0;
    long long end = tk_now_ms() + STOP_MS;

    cr_assert_eq(write(e->stop_wr, "s", 1), 1);
    while ((r = waitpid(e->pid, &status, WNOHANG)) == 0 && tk_now_ms() < end)
        tk_readable(-1, 10);
    if (r == 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, &status, 0);
        cr_assert_fail("uio_echo_serve did not return within %d ms of the "
                       "stop",
                       STOP_MS);
    }
    close(e->stop_wr);
    cr_assert(WIFEXITED(status), "the server's process died of signal %d (%s)",
              WTERMSIG(status), strsignal(WTERMSIG(status)));
    cr_assert_eq(e->sh->result, 0,
                 "uio_echo_serve returned %d (%s) after a stop; expected 0",
                 e->sh->result, strerror(-e->sh->result));
}

static void
srv_free(struct echo_srv *e)
{
    munmap(e->sh, sizeof(*e->sh));
}

static void
echo_ok(int fd, const void *buf, size_t len, const char *who)
{
    tk_write_all(fd, buf, len);
    tk_read_check(fd, buf, len, REPLY_MS, who);
}

/* ---- one client, many clients ------------------------------------------ */

TK_TEST(echo, one_client,
        .description = "[UIO-20] [UIO-26] one client gets its bytes back; "
                       "after the stop all is closed and given back")
{
    struct echo_srv e;
    char big[3000];

    srv_start(&e, NULL);
    int fd = tk_connect_tcp(e.port);
    echo_ok(fd, "hello, ring\n", 12, "one client");
    echo_ok(fd, "x", 1, "one client, a 1-byte message");
    tk_fill(big, sizeof(big), 1);
    echo_ok(fd, big, sizeof(big), "one client, 3000 binary bytes");
    close(fd);
    cr_assert_eq(wait_stat(&e.sh->st.closed, 1), 1,
                 "stats.closed is %lu after the client closed; expected 1",
                 (unsigned long)live(&e.sh->st.closed));
    srv_stop(&e);
    struct uio_echo_stats st = e.sh->st;
    cr_assert_eq(st.accepted, 1, "stats.accepted is %lu; expected 1",
                 (unsigned long)st.accepted);
    cr_assert_eq(st.bytes, 12 + 1 + sizeof(big),
                 "stats.bytes is %lu; expected %zu", (unsigned long)st.bytes,
                 12 + 1 + sizeof(big));
    cr_assert_eq(st.buffers_out, 0,
                 "stats.buffers_out is %lu after the call returned: "
                 "buffers not given back to the ring",
                 (unsigned long)st.buffers_out);
    cr_assert_eq(e.sh->fds_after, e.sh->fds_before,
                 "the server's process had %d descriptors open before the "
                 "call and %d after it",
                 e.sh->fds_before, e.sh->fds_after);
    srv_free(&e);
}

#define NCLIENTS 400
#define STREAM 6000 /* bytes each client sends in all */

TK_TEST(echo, many_clients,
        .description = "[UIO-20] 400 clients at once, random sizes, each "
                       "gets its own bytes in order")
{
    struct echo_srv e;

    srv_start(&e, NULL);
    tk_echo_many(e.port, NCLIENTS, STREAM, 2000, 9, REPLY_MS, "uio_echo_serve");
    srv_stop(&e);
    cr_assert_eq(e.sh->st.accepted, NCLIENTS,
                 "stats.accepted is %lu; expected %d",
                 (unsigned long)e.sh->st.accepted, NCLIENTS);
    srv_free(&e);
}

#define THOUSANDS 2000
#define BATCH 250 /* connects in flight at once: below the backlog */

/*
 * Chapter 02's 2,000 connections: a server that keeps its connections in
 * a fixed table, or indexes one by descriptor with a small bound, stops
 * answering at the table's end. Both ends of every connection are open at
 * once: the test's process holds the clients, the server's the rest.
 */
TK_TEST(echo, two_thousand,
        .description = "[UIO-20] 2000 connections at once, each gets its "
                       "own bytes back, twice")
{
    struct echo_srv e;

    tk_raise_nofile(2 * THOUSANDS + 100); /* the server's process inherits */
    srv_start(&e, NULL);
    tk_echo_thousands(e.port, THOUSANDS, BATCH, REPLY_MS, "uio_echo_serve");
    srv_stop(&e);
    cr_assert_eq(e.sh->st.accepted, THOUSANDS,
                 "stats.accepted is %lu; expected %d",
                 (unsigned long)e.sh->st.accepted, THOUSANDS);
    cr_assert_eq(e.sh->st.closed, THOUSANDS,
                 "stats.closed is %lu after all %d clients closed",
                 (unsigned long)e.sh->st.closed, THOUSANDS);
    cr_assert_eq(e.sh->fds_after, e.sh->fds_before,
                 "the server's process had %d descriptors open before the "
                 "call and %d after it",
                 e.sh->fds_before, e.sh->fds_after);
    srv_free(&e);
}

/* ---- buffers and the ring ------------------------------------------------ */

#define SLOW (128 * 1024) /* far more than four buffers and the sockets */
#define OTHERS 6
#define OTHER_LEN 1500

/*
 * Four buffers of 512 bytes for everyone. Client A sends 128 KiB and
 * reads nothing, so the server's sends to A stall with A's bytes in the
 * buffers; the other clients' bytes wait for buffers. A server that puts
 * a buffer back into the ring when it submits the send, not when the
 * send completes, lets the next receive write over bytes A is still
 * owed: A then reads someone else's (or its own later) bytes.
 */
TK_TEST(echo, buffer_kept_until_sent,
        .description = "[UIO-21] four buffers, a client whose sends "
                       "stall and six others: nobody's bytes are overwritten")
{
    struct echo_srv e;
    struct echo_setup set = {
        .cfg = {.nbufs = 4, .buf_size = 512, .max_held = 1 << 20},
        .sndbuf = 4096,
    };
    char *slow = tk_xmalloc(SLOW), other[OTHERS][OTHER_LEN], who[64];
    int ofd[OTHERS];

    tk_fill(slow, SLOW, 100);
    srv_start(&e, &set);
    int a = tk_connect_tcp_rcvbuf(e.port, 1);
    struct tk_pump p = {.fd = a, .data = slow, .len = SLOW, .chunk = 4096};
    tk_pump_start(&p);
    tk_pump_wait_stall(&p);
    uint64_t nobufs = wait_stat(&e.sh->st.enobufs, 1);
    cr_assert_geq(nobufs, 1,
                  "stats.enobufs is 0 while one client holds all 4 buffers "
                  "with its sends stalled");
    for (int i = 0; i < OTHERS; i++) {
        tk_fill(other[i], OTHER_LEN, 200 + (uint64_t)i);
        ofd[i] = tk_connect_tcp(e.port);
        tk_write_all(ofd[i], other[i], OTHER_LEN);
    }
    tk_read_check(a, slow, SLOW, 4 * REPLY_MS,
                  "the client whose echo stalled, read late (a buffer given "
                  "back before its send completed was written over)");
    tk_pump_join(&p);
    for (int i = 0; i < OTHERS; i++) {
        snprintf(who, sizeof(who), "client %d of %d that waited for buffers", i,
                 OTHERS);
        tk_read_check(ofd[i], other[i], OTHER_LEN, REPLY_MS, who);
        close(ofd[i]);
    }
    close(a);
    free(slow);
    srv_stop(&e);
    cr_assert_eq(e.sh->st.buffers_out, 0,
                 "stats.buffers_out is %lu after the call returned",
                 (unsigned long)e.sh->st.buffers_out);
    srv_free(&e);
}

/*
 * Two buffers: client A takes both and its sends stall; B's receive
 * ends with ENOBUFS. When A reads, its buffers come back, and B's
 * receive must be armed again: a multishot receive that has ended
 * (no IORING_CQE_F_MORE) delivers nothing more by itself.
 */
TK_TEST(echo, enobufs_rearmed,
        .description = "[UIO-23] a receive that ended with ENOBUFS is armed "
                       "again once a buffer is back")
{
    struct echo_srv e;
    struct echo_setup set = {
        .cfg = {.nbufs = 2, .buf_size = 256, .max_held = 1 << 20},
        .sndbuf = 4096,
    };
    char *slow = tk_xmalloc(SLOW);

    tk_fill(slow, SLOW, 7);
    srv_start(&e, &set);
    int a = tk_connect_tcp_rcvbuf(e.port, 1);
    struct tk_pump p = {.fd = a, .data = slow, .len = SLOW, .chunk = 4096};
    tk_pump_start(&p);
    tk_pump_wait_stall(&p);
    uint64_t before = wait_stat(&e.sh->st.enobufs, 1);
    cr_assert_geq(before, 1,
                  "stats.enobufs is 0 while one client holds "
                  "both buffers with its sends stalled");
    int b = tk_connect_tcp(e.port);
    tk_write_all(b, "waiting\n", 8);
    cr_assert_gt(wait_stat(&e.sh->st.enobufs, before + 1), before,
                 "stats.enobufs did not grow when a second client sent "
                 "while the ring was empty");
    tk_read_check(a, slow, SLOW, 4 * REPLY_MS,
                  "the client that held both buffers, read late");
    tk_pump_join(&p);
    tk_read_check(b, "waiting\n", 8, REPLY_MS,
                  "a client whose receive ended with ENOBUFS (never armed "
                  "again?)");
    echo_ok(b, "again\n", 6, "the same client, once more");
    close(a);
    close(b);
    free(slow);
    srv_stop(&e);
    cr_assert_geq(e.sh->st.rearms, 2,
                  "stats.rearms is %lu; expected 2 or "
                  "more",
                  (unsigned long)e.sh->st.rearms);
    srv_free(&e);
}

/* ---- a client that never reads ----------------------------------------- */

#define FLOOD (4u << 20) /* far more than the ring and every socket buffer */

/*
 * 1024 buffers of 1 KiB (1 MiB) and max_held 32 KiB: a client that
 * floods and never reads must be held back by TCP, holding at most
 * max_held and one buffer of the ring, the rest free for the other
 * clients. One that keeps receiving fills the whole ring and starves
 * everyone else.
 */
TK_TEST(echo, never_reads,
        .description = "[UIO-22] a client that never reads is held back, "
                       "the others are served, nothing is lost")
{
    struct echo_srv e;
    struct echo_setup set = {
        .cfg = {.nbufs = 1024, .buf_size = 1024, .max_held = 32 * 1024},
        .small = 16 * 1024,
    };
    char *data = tk_xmalloc(FLOOD);

    tk_fill(data, FLOOD, 10);
    srv_start(&e, &set);
    int fd = tk_connect_tcp(e.port);
    tk_small_buffers(fd, 16 * 1024);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD};
    tk_pump_start(&p);
    size_t sent = tk_pump_wait_stall(&p);
    cr_assert_lt(sent, FLOOD,
                 "a client sent all %u bytes without reading any echo", FLOOD);
    cr_assert_geq(live(&e.sh->st.paused), 1,
                  "stats.paused is 0: a connection holding more than "
                  "max_held bytes must stop receiving");
    int other = tk_connect_tcp(e.port);
    for (int i = 0; i < 10; i++)
        echo_ok(other, "not stuck\n", 10,
                "a client served while another one reads nothing");
    uint64_t most = live(&e.sh->st.max_held);
    cr_assert_leq(most, 33 * 1024,
                  "one connection held %lu bytes at once; max_held is 32 "
                  "KiB and a buffer 1 KiB: it went on receiving",
                  (unsigned long)most);
    /* Read it all back through a larger buffer: through 16 KiB, TCP
     * moves 4 MiB a small window at a time, for seconds. */
    int big = 1 << 20;
    cr_assert(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) == 0);
    tk_read_check(fd, data, FLOOD, 30000, "the client that read late");
    tk_pump_join(&p);
    close(fd);
    close(other);
    free(data);
    srv_stop(&e);
    srv_free(&e);
}

/* ---- half-close --------------------------------------------------------- */

#define HALF (48 * 1024)

TK_TEST(echo, half_close,
        .description = "[UIO-24] after a client's shutdown(SHUT_WR) all its "
                       "echo is sent, then the connection closed")
{
    struct echo_srv e;
    /* 64 KiB buffers and a send buffer of a few KiB: sends come back
     * short, and the rest of a buffer is owed too. */
    struct echo_setup set = {.cfg = {.buf_size = 64 * 1024}, .sndbuf = 4096};
    char *data = tk_xmalloc(HALF);
    char tail;

    tk_fill(data, HALF, 3);
    srv_start(&e, &set);
    int fd = tk_connect_tcp_rcvbuf(e.port, 4096);
    tk_write_all(fd, data, HALF);
    shutdown(fd, SHUT_WR); /* EOF to the server, with most echo owed */
    tk_read_check(fd, data, HALF, REPLY_MS,
                  "a client that sent 48 KiB, shut down its write side and "
                  "read the echo late");
    ssize_t n = tk_read_exact(fd, &tail, 1, REPLY_MS);
    cr_assert_eq(n, 0,
                 "after echoing everything the server should close the "
                 "connection (EOF); got %s",
                 n == -ETIMEDOUT ? "nothing: it stayed open" : "more bytes");
    close(fd);
    srv_stop(&e);
    cr_assert_eq(e.sh->st.closed, 1, "stats.closed is %lu; expected 1",
                 (unsigned long)e.sh->st.closed);
    free(data);
    srv_free(&e);
}

/* ---- resets ------------------------------------------------------------- */

TK_TEST(echo, resets,
        .description = "[UIO-25] a reset ends that connection only; SIGPIPE "
                       "kills nobody")
{
    struct echo_srv e;
    struct echo_setup set = {.sndbuf = 4096};
    size_t big = 1 << 20;
    char *junk = tk_xmalloc(big);

    tk_fill(junk, big, 4);
    srv_start(&e, &set);
    int keep = tk_connect_tcp(e.port);
    echo_ok(keep, "before\n", 7, "the surviving client");

    /* a resets between messages: the server's receive fails. */
    int a = tk_connect_tcp(e.port);
    echo_ok(a, "about to reset\n", 15, "client a");
    tk_reset_close(a);

    /* c sends a lot, reads nothing, and resets while the server's sends
     * to it are stalled: a send fails. */
    int c = tk_connect_tcp(e.port);
    tk_small_buffers(c, 32 * 1024);
    struct tk_pump p = {.fd = c, .data = junk, .len = big};
    tk_pump_start(&p);
    tk_wait_stall(&p.written, big, 200, 10000);
    shutdown(c, SHUT_RDWR); /* unblocks the pump if it is stuck */
    tk_pump_join(&p);
    tk_reset_close(c);

    /* d half-closes with 60 KiB owed to its tiny window, then resets: the
     * next send says EPIPE, which raises SIGPIPE without MSG_NOSIGNAL. */
    int d = tk_connect_tcp_rcvbuf(e.port, 1);
    tk_write_all(d, junk, 60 * 1024);
    shutdown(d, SHUT_WR);
    tk_reset_close(d);

    cr_assert_eq(wait_stat(&e.sh->st.closed, 3), 3,
                 "stats.closed is %lu after three clients reset; expected 3",
                 (unsigned long)live(&e.sh->st.closed));
    echo_ok(keep, "after\n", 6, "the surviving client, after the resets");
    close(keep);
    free(junk);
    srv_stop(&e);
    cr_assert_eq(e.sh->st.closed, 4, "stats.closed is %lu; expected 4",
                 (unsigned long)e.sh->st.closed);
    srv_free(&e);
}

/* ---- stop --------------------------------------------------------------- */

TK_TEST(echo, stop_closes_all,
        .description = "[UIO-26] the stop ends every connection, even those "
                       "with sends stalled; all is given back")
{
    struct echo_srv e;
    struct echo_setup set = {.sndbuf = 4096};
    char *junk = tk_xmalloc(64 * 1024);
    int fds[6];

    tk_fill(junk, 64 * 1024, 5);
    srv_start(&e, &set);
    for (int i = 0; i < 6; i++) {
        fds[i] = tk_connect_tcp_rcvbuf(e.port, i < 3 ? 1 : 0);
        echo_ok(fds[i], "hi\n", 3, "a client");
    }
    /* Three of them owe echoes they do not read: stalled sends. */
    for (int i = 0; i < 3; i++)
        tk_write_all(fds[i], junk, 64 * 1024);
    srv_stop(&e);
    struct uio_echo_stats st = e.sh->st;
    cr_assert_eq(st.closed, 6, "stats.closed is %lu; expected 6",
                 (unsigned long)st.closed);
    cr_assert_eq(st.buffers_out, 0,
                 "stats.buffers_out is %lu after the call returned",
                 (unsigned long)st.buffers_out);
    cr_assert_eq(e.sh->fds_after, e.sh->fds_before,
                 "the server's process had %d descriptors open before the "
                 "call and %d after it",
                 e.sh->fds_before, e.sh->fds_after);
    for (int i = 0; i < 6; i++) {
        tk_expect_closed_drain(fds[i], REPLY_MS,
                               "a client after the server stopped");
        close(fds[i]);
    }
    free(junk);
    srv_free(&e);
}

/* ---- a bad config ------------------------------------------------------- */

TK_TEST(echo, rejects_bad_config,
        .description = "[UIO-27] nbufs not a power of two or too large, or "
                       "buf_size too large: -EINVAL at once")
{
    static const struct uio_echo_config bad[] = {
        {.nbufs = 3},
        {.nbufs = UIO_ECHO_MAX_NBUFS * 2},
        {.buf_size = UIO_ECHO_MAX_BUF_SIZE + 1},
    };
    unsigned short port;
    int lfd = tk_listen_tcp(&port), stop[2];

    tk_pipe(stop);
    /* Already stopped: a server that takes the config returns 0 at once. */
    cr_assert_eq(write(stop[1], "s", 1), 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = uio_echo_serve(lfd, stop[0], &bad[i], NULL);
        cr_assert_eq(r, -EINVAL,
                     "uio_echo_serve with nbufs %u, buf_size %u returned "
                     "%d; expected -EINVAL (%d)",
                     bad[i].nbufs, bad[i].buf_size, r, -EINVAL);
    }
    close(stop[0]);
    close(stop[1]);
    close(lfd);
}

/* ---- the accept ------------------------------------------------------- */

/*
 * The server's process may open two descriptors more than it holds when
 * uio_echo_serve starts (its ring's and one connection's). The second
 * client's accept fails with EMFILE, which ends the multishot accept (a
 * completion without IORING_CQE_F_MORE); once the first client leaves,
 * an accept armed again takes the second. Under Valgrind the limit does
 * not reach the kernel, which accepts at once: the echo is checked, the
 * counts are not.
 */
TK_TEST(echo, accept_rearmed,
        .description = "[UIO-23] a multishot accept that ended (EMFILE) is "
                       "armed again: the next client is served")
{
    struct echo_srv e;
    struct echo_setup set = {.nofile_extra = 2};

    srv_start(&e, &set);
    int first = tk_connect_tcp(e.port);
    echo_ok(first, "first\n", 6, "the first client");
    int second = tk_connect_tcp(e.port);
    if (!RUNNING_ON_VALGRIND)
        cr_assert_geq(wait_stat(&e.sh->st.accept_errors, 1), 1,
                      "stats.accept_errors is 0: with the descriptor table "
                      "full the accept should have failed (EMFILE)");
    tk_write_all(second, "second\n", 7);
    close(first);
    tk_read_check(second, "second\n", 7, REPLY_MS,
                  "a client that connected while the table was full, once "
                  "the first one left (the accept was never armed again?)");
    close(second);
    srv_stop(&e);
    if (!RUNNING_ON_VALGRIND)
        cr_assert_geq(e.sh->st.accept_rearms, 1,
                      "stats.accept_rearms is 0 after an accept ended");
    srv_free(&e);
}
