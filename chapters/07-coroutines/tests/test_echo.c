/*
 * test_echo.c - exercise 3 of chapter 07: the echo server as one coroutine
 * per connection, checked against chapter 02's scenarios: one client and
 * many, 2,000 at once, a client that never reads, half-close with echo
 * owed, resets, a flooding client, and the stop.
 *
 * The server runs in a thread (tk_server); the test is its clients. Idle
 * time and fairness are counted through the fault layer (epoll_wait and
 * read calls of the server), never timed; a server that closes a
 * connection later than the client is waited for under a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "iolab/fault.h"

/* ---- one client, many clients ------------------------------------------ */

TK_TEST(echo, one_client,
        .description = "[CO-23] one client gets its bytes back")
{
    struct tk_server srv;
    char big[3000];

    ct_start(&srv, NULL);
    int fd = tk_connect_tcp(srv.port);
    ct_echo_str(fd, "hello, coroutine\n", "one client");
    ct_echo_str(fd, "x", "one client, a 1-byte message");
    tk_fill(big, sizeof(big), 1);
    ct_echo(fd, big, sizeof(big), "one client, 3000 binary bytes");
    close(fd);
    ct_stop(&srv);
    cr_assert_eq(ct_stats.accepted, 1,
                 "stats.accepted is %lu after one client; expected 1",
                 ct_stats.accepted);
}

#define NCLIENTS 100
#define STREAM 6000 /* bytes each client sends in all */

TK_TEST(echo, many_clients,
        .description = "[CO-23] 100 clients, random sizes, each gets its "
                       "own bytes in order")
{
    struct tk_server srv;

    ct_start(&srv, NULL);
    tk_echo_many(srv.port, NCLIENTS, STREAM, 900, 42, CT_REPLY_MS, "echo");
    ct_stop(&srv);
}

#define THOUSANDS 2000
#define BATCH 250 /* connects in flight at once: below the backlog of 512 */

TK_TEST(echo, two_thousand,
        .description = "[CO-23] 2000 concurrent connections, a coroutine "
                       "each")
{
    struct tk_server srv;

    tk_raise_nofile(2 * THOUSANDS + 100); /* both ends live in this process */
    ct_start(&srv, NULL);
    tk_echo_thousands(srv.port, THOUSANDS, BATCH, CT_REPLY_MS, "echo");
    ct_stop(&srv);
    cr_assert_eq(ct_stats.accepted, THOUSANDS,
                 "stats.accepted is %lu; expected %d", ct_stats.accepted,
                 THOUSANDS);
}

/* ---- a client that never reads ----------------------------------------- */

#define FLOOD (2u << 20) /* far more than every buffer on the way holds */

TK_TEST(echo, never_reads,
        .description = "[CO-24] a client that never reads is held back, "
                       "the others are served, nothing is lost")
{
    struct tk_server srv;
    char *data = tk_xmalloc(FLOOD);

    tk_fill(data, FLOOD, 10);
    ct_start(&srv, NULL);
    tk_small_buffers(srv.listen_fd, 32 * 1024); /* accepted sockets inherit */
    int fd = tk_connect_tcp(srv.port);
    tk_small_buffers(fd, 32 * 1024);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD};
    tk_pump_start(&p);
    size_t sent = tk_pump_wait_stall(&p);
    cr_assert_lt(sent, FLOOD,
                 "a client sent all %u bytes without reading any echo: a "
                 "connection must not read more while its echo is unwritten",
                 FLOOD);
    int other = tk_connect_tcp(srv.port);
    for (int i = 0; i < 10; i++)
        ct_echo_str(other, "not stuck\n",
                    "a client served while another one reads nothing");
    tk_read_check(fd, data, FLOOD, 30000, "the client that read late");
    tk_pump_join(&p);
    close(fd);
    close(other);
    free(data);
    ct_stop(&srv);
}

/* ---- half-close --------------------------------------------------------- */

#define HALF (48 * 1024)

/*
 * The client sends 48 KiB, shuts down its write side, and reads nothing
 * for 300 ms; the server's buffers are a few KiB, so most of the echo is
 * owed when the client's EOF is in the socket. The server must then
 * sleep, not spin, and send everything before it closes.
 */
TK_TEST(echo, half_close,
        .description = "[CO-25] after a client's shutdown(SHUT_WR) all its "
                       "echo is sent, then the connection closed")
{
    struct tk_server srv;
    char *data = tk_xmalloc(HALF);
    char tail;

    tk_fill(data, HALF, 3);
    ct_start(&srv, NULL);
    int small = 4096;
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    int fd = tk_connect_tcp_rcvbuf(srv.port, 4096);
    tk_write_all(fd, data, HALF);
    shutdown(fd, SHUT_WR); /* EOF to the server; we still read */
    unsigned long waits0 = fi_calls(FI_WAIT);
    tk_readable(-1, 300); /* 300 ms, counting the server's waits */
    unsigned long waits = fi_calls(FI_WAIT) - waits0;
    cr_assert_leq(waits, 20,
                  "with a client's echo owed and nothing read, the server "
                  "called epoll_wait %lu times in 300 ms: it spins",
                  waits);
    tk_read_check(fd, data, HALF, CT_REPLY_MS,
                  "a client that sent 48 KiB, shut down its write side and "
                  "read the echo late");
    ssize_t n = tk_read_exact(fd, &tail, 1, CT_REPLY_MS);
    cr_assert_eq(n, 0,
                 "after echoing everything the server should close the "
                 "connection (EOF); got %s",
                 n == -ETIMEDOUT ? "nothing: it stayed open" : "more bytes");
    close(fd);
    free(data);
    ct_stop(&srv);
    cr_assert_eq(ct_stats.closed, 1,
                 "stats.closed is %lu; the half-closed client should have "
                 "been closed by the server",
                 ct_stats.closed);
}

/* ---- resets ------------------------------------------------------------- */

TK_TEST(echo, resets,
        .description = "[CO-26] a reset ends that connection only: its "
                       "descriptor is closed at once, SIGPIPE kills nobody")
{
    struct tk_server srv;
    size_t big = 1 << 20;
    char *junk = tk_xmalloc(big);

    signal(SIGPIPE, SIG_DFL); /* a server that lets SIGPIPE through dies */
    tk_fill(junk, big, 4);
    ct_start(&srv, NULL);
    int small = 4096; /* accepted sockets inherit it: echoes stay pending */
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    int keep = tk_connect_tcp(srv.port);
    ct_echo_str(keep, "before\n", "the surviving client");
    int base = tk_count_open_fds();

    /* a resets between messages: the server's read fails. */
    int a = tk_connect_tcp(srv.port);
    ct_echo_str(a, "about to reset\n", "client a");
    tk_reset_close(a);

    /* c sends a lot, reads nothing, and resets while the server is parked
     * writing its echo: the server's write fails. */
    int c = tk_connect_tcp(srv.port);
    tk_small_buffers(c, 32 * 1024);
    struct tk_pump p = {.fd = c, .data = junk, .len = big};
    tk_pump_start(&p);
    tk_wait_stall(&p.written, big, 200, 10000);
    shutdown(c, SHUT_RDWR); /* unblocks the pump if it is stuck */
    tk_pump_join(&p);
    tk_reset_close(c);

    /* e half-closes with 60 KiB of echo owed to its 1-byte window, then
     * resets: the server's next write fails with EPIPE, which raises
     * SIGPIPE unless it is ignored. */
    int e = tk_connect_tcp_rcvbuf(srv.port, 1);
    tk_write_all(e, junk, 60 * 1024);
    shutdown(e, SHUT_WR);
    tk_readable(e, 100); /* let the server start writing; bounded */
    tk_reset_close(e);

    int n = ct_wait_open_fds(base, 5000);
    cr_assert_eq(n, base,
                 "5 s after three clients reset, %d descriptors are open "
                 "instead of %d: the server kept %d of their sockets (a "
                 "connection's coroutine must close its descriptor and "
                 "finish when a read or write fails)",
                 n, base, n - base);
    ct_echo_str(keep, "after\n",
                "the surviving client, after three others reset");
    int d = tk_connect_tcp(srv.port);
    ct_echo_str(d, "newcomer\n", "a client that came after the resets");
    close(d);
    close(keep);
    free(junk);
    ct_stop(&srv);
    cr_assert_geq(ct_stats.closed, 3,
                  "stats.closed is %lu; the reset clients should have been "
                  "dropped",
                  ct_stats.closed);
}

/* ---- a flooding client ------------------------------------------------- */

/* The server's reads since its last epoll_wait, and the most seen. */
static unsigned long reads_run, reads_run_max;

static void
on_call(enum fi_op op, int fd, void *arg)
{
    (void)fd;
    (void)arg;
    if (op == FI_WAIT) {
        __atomic_store_n(&reads_run, 0, __ATOMIC_RELAXED);
        return;
    }
    unsigned long n = __atomic_add_fetch(&reads_run, 1, __ATOMIC_RELAXED);
    if (n > __atomic_load_n(&reads_run_max, __ATOMIC_RELAXED))
        __atomic_store_n(&reads_run_max, n, __ATOMIC_RELAXED);
}

/*
 * Every read of the server is cut to 1 KiB, so the flooder's socket always
 * has more: co_read never parks, and only the budget (4 KiB here) gives
 * the thread back. Counted: the reads the server makes between two
 * epoll_wait calls stay few (a turn is 4 reads), whatever the timing.
 */
TK_TEST(echo, flood_yields,
        .description = "[CO-27] a flooding client yields after the budget; "
                       "the others are served between its turns")
{
    struct tk_server srv;
    struct co_echo_config cfg = {.budget = 4096};
    char *data = tk_xmalloc(FLOOD);

    tk_fill(data, FLOOD, 13);
    cr_assert_eq(fi_plan(FI_READ, "short:1024 *"), 0);
    cr_assert_eq(fi_observe(FI_READ, on_call, NULL), 0);
    cr_assert_eq(fi_observe(FI_WAIT, on_call, NULL), 0);
    ct_start(&srv, &cfg);
    int fd = tk_connect_tcp(srv.port);
    int other = tk_connect_tcp(srv.port);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD, .chunk = 1 << 20};
    tk_pump_start(&p);
    for (int i = 0; i < 20; i++)
        ct_echo_str(other, "my turn\n", "a client beside a flooding one");
    tk_read_check(fd, data, FLOOD, 30000,
                  "the flooding client (budget 4 KiB per turn)");
    tk_pump_join(&p);
    close(fd);
    close(other);
    free(data);
    ct_stop(&srv);
    unsigned long most = __atomic_load_n(&reads_run_max, __ATOMIC_RELAXED);
    cr_assert_gt(ct_stats.budget_yields, 0,
                 "stats.budget_yields is 0: with budget 4 KiB, a 2 MiB flood "
                 "must make its connection yield");
    cr_assert_leq(most, 64,
                  "the server made %lu reads (1 KiB each) between two "
                  "epoll_wait calls: a flooding connection kept the thread "
                  "past its 4 KiB budget",
                  most);
}

/* ---- stop --------------------------------------------------------------- */

TK_TEST(echo, stop_closes_all,
        .description = "[CO-28] stop cancels every connection; no "
                       "descriptor is left open")
{
    struct tk_server srv;
    int fds[6];
    char junk[4096];

    tk_fill(junk, sizeof(junk), 5);
    int before = tk_count_open_fds();
    ct_start(&srv, NULL);
    for (int i = 0; i < 6; i++) {
        fds[i] = tk_connect_tcp(srv.port);
        ct_echo_str(fds[i], "hi\n", "a client");
    }
    /* Leave some of them with work in progress: unread echoes. */
    for (int i = 0; i < 3; i++)
        tk_write_all(fds[i], junk, sizeof(junk));
    tk_readable(fds[2], 200); /* let the server see it; bounded */
    ct_stop(&srv);
    int after = tk_count_open_fds();
    cr_assert_eq(after, before + 6,
                 "after the stop %d descriptors are open; expected %d (the "
                 "test's 6 clients): the server left %d open",
                 after, before + 6, after - before - 6);
    cr_assert_eq(ct_stats.closed, 6, "stats.closed is %lu; expected 6",
                 ct_stats.closed);
    for (int i = 0; i < 6; i++) {
        tk_expect_closed_drain(fds[i], CT_REPLY_MS,
                               "a client after the server stopped");
        close(fds[i]);
    }
}

/*
 * A client that floods for as long as the test lets it: one thread sends
 * 64 KiB at a time, another drains the echo, so the server's connection
 * always has data to read and room to write.
 */
struct flood {
    int fd;
    bool done;              /* atomic: the test says stop sending */
    unsigned long long got; /* atomic: echo bytes drained */
};

static void *
flood_send(void *arg)
{
    struct flood *f = arg;
    char buf[64 * 1024];

    tk_fill(buf, sizeof(buf), 17);
    while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
        ssize_t k = send(f->fd, buf, sizeof(buf), MSG_NOSIGNAL);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* the server is gone */
    }
    return NULL;
}

static void *
flood_drain(void *arg)
{
    struct flood *f = arg;
    char buf[64 * 1024];

    for (;;) {
        ssize_t n = read(f->fd, buf, sizeof(buf));
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        __atomic_add_fetch(&f->got, (unsigned long long)n, __ATOMIC_RELAXED);
    }
}

/*
 * Before each of the server's reads and writes, wait (bounded) until the
 * socket is ready: so the flooded connection never meets EAGAIN and never
 * parks, whatever the timing of the client's threads, and a cancellation
 * can reach it only through the loop's own look at the stop.
 */
static void
ready_first(enum fi_op op, int fd, void *arg)
{
    struct pollfd p = {.fd = fd, .events = op == FI_READ ? POLLIN : POLLOUT};

    (void)arg;
    poll(&p, 1, 2000);
}

TK_TEST(echo, stop_while_flooding,
        .description = "[CO-28] stop while a client floods: a connection "
                       "that never parks still sees the stop")
{
    struct tk_server srv;
    struct flood f = {.fd = -1};
    pthread_t snd, drn;

    cr_assert_eq(fi_observe(FI_READ, ready_first, NULL), 0);
    cr_assert_eq(fi_observe(FI_WRITE, ready_first, NULL), 0);
    ct_start(&srv, NULL);
    f.fd = tk_connect_tcp(srv.port);
    cr_assert_eq(pthread_create(&snd, NULL, flood_send, &f), 0);
    cr_assert_eq(pthread_create(&drn, NULL, flood_drain, &f), 0);
    /* Stop once the flood is well under way (polled under a deadline). */
    long long end = tk_now_ms() + CT_REPLY_MS;
    while (__atomic_load_n(&f.got, __ATOMIC_RELAXED) < 1024 * 1024 &&
           tk_now_ms() < end)
        tk_readable(-1, 10);
    cr_assert_geq(__atomic_load_n(&f.got, __ATOMIC_RELAXED), 1024 * 1024,
                  "the flooding client got %llu bytes of echo in %d ms",
                  __atomic_load_n(&f.got, __ATOMIC_RELAXED), CT_REPLY_MS);
    ct_stop(&srv); /* fails if the flooded connection never looks */
    __atomic_store_n(&f.done, true, __ATOMIC_RELEASE);
    shutdown(f.fd, SHUT_RDWR);
    pthread_join(snd, NULL);
    pthread_join(drn, NULL);
    close(f.fd);
    cr_assert_eq(ct_stats.closed, 1, "stats.closed is %lu; expected 1",
                 ct_stats.closed);
}

/* ---- out of descriptors -------------------------------------------------- */

#define FILL_MAX 4096 /* descriptors the test may open to fill the table */
#define WINDOW_MS                                                              \
    300 /* how long the server is watched while it cannot accept */

/*
 * The process's descriptor table is made full (a soft RLIMIT_NOFILE just
 * above what is open, then dups), and a client connects: the connection
 * waits in the listener's backlog, the listener stays readable, and every
 * accept says EMFILE. Over a 300 ms window a server that backs off makes
 * a few accepts (one per CO_ECHO_BACKOFF_MS); one that retries at once
 * makes thousands. Then the table is freed and a new client is served.
 */
TK_TEST(echo, emfile_backs_off,
        .description = "[CO-30] out of descriptors, the server backs off "
                       "instead of spinning, and serves again once freed")
{
    struct tk_server srv;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct rlimit old, low;
    int *fill = tk_xmalloc(FILL_MAX * sizeof(int)), nfill = 0, p[2];

    ct_start(&srv, NULL);
    /* An echo first: the server is up (its epoll instance made) before the
     * table fills; this connection stays open, its coroutine parked. */
    int first = tk_connect_tcp(srv.port);
    ct_echo_str(first, "up\n", "a first client, before the table fills");
    a.sin_port = htons(srv.port);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_neq(c, -1, "socket: %s", strerror(errno));
    tk_pipe(p);
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)tk_count_open_fds() + 64;
    if (low.rlim_cur > old.rlim_cur)
        low.rlim_cur = old.rlim_cur;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    while (nfill < FILL_MAX && (fill[nfill] = dup(p[0])) != -1)
        nfill++;
    int fill_errno = errno;
    /* The table is full: nothing here may open a descriptor until freed. */
    unsigned long a0 = fi_calls(FI_ACCEPT);
    int conn_r = connect(c, (struct sockaddr *)&a, sizeof(a));
    tk_nap_ms(WINDOW_MS); /* a measuring window, not a wait for readiness */
    unsigned long accepts = fi_calls(FI_ACCEPT) - a0;
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    free(fill);
    close(p[0]);
    close(p[1]);
    cr_assert_eq(fill_errno, EMFILE,
                 "filling the descriptor table stopped with %s after %d",
                 strerror(fill_errno), nfill);
    cr_assert_eq(conn_r, 0, "connect: %s", strerror(errno));
    cr_assert_leq(accepts, WINDOW_MS / CO_ECHO_BACKOFF_MS * 3 + 3,
                  "the server called accept %lu times in %d ms while every "
                  "accept said EMFILE: it retries at once and spins (back "
                  "off for CO_ECHO_BACKOFF_MS = %d ms)",
                  accepts, WINDOW_MS, CO_ECHO_BACKOFF_MS);
    /* A new client: under Valgrind the one in the backlog is lost (its
     * accept succeeds in the kernel, whose limit Valgrind does not lower,
     * and Valgrind closes the descriptor it cannot allow and says EMFILE). */
    int again = tk_connect_tcp(srv.port);
    ct_echo_str(again, "served after EMFILE\n",
                "a client that connected once descriptors were free again");
    close(again);
    close(c);
    close(first);
    ct_stop(&srv);
    cr_assert_geq(ct_stats.accept_errors, 1,
                  "stats.accept_errors is 0 after accepts that said EMFILE");
    cr_assert_geq(ct_stats.accepted, 2,
                  "stats.accepted is %lu; expected 2 "
                  "or more",
                  ct_stats.accepted);
}
