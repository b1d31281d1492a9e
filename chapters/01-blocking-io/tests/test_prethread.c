/*
 * test_prethread.c - exercise 4 of chapter 01: the bounded prethreaded
 * server (nb_pool_start, nb_pool_stats, nb_pool_stop).
 *
 * The pool runs in the test process on a loopback port the kernel chose;
 * the test drives real TCP clients. The pool serves them with one of two
 * handlers: the test's hold_handler keeps a connection until the client
 * shuts down its write side, so the test decides exactly how many workers
 * are busy and how many connections wait; the given nb_echo_conn answers
 * lines with the student's nb_read_some and nb_write_full. No test sleeps for
 * readiness: each waits for the pool's counters (nb_pool_stats) to reach a
 * state, within WAIT_MS. Where a test must show that something does not happen,
 * it watches for QUIET_MS: a correct pool passes however long it watches.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/testkit.h"
#include "nb.h"

#define WAIT_MS 10000 /* generous: a correct pool takes microseconds */
#define QUIET_MS 300  /* how long "nothing more happens" is watched */
#define MAX_CLIENTS 16

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* Threads of this process: the entries of /proc/self/task. */
static int
count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d, "cannot open /proc/self/task: %s", strerror(errno));
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void
nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* A count to wait for, or any value. */
#define ANY ((unsigned long)-1)

/*
 * Waits until the pool has accepted, has busy, and has served the counts
 * given (ANY for a count that does not matter), and returns the stats
 * then. Fails the test with what it saw after WAIT_MS.
 */
static struct nb_pool_stats
wait_counts(struct nb_pool *pool, unsigned long accepted, unsigned long busy,
            unsigned long served, const char *what)
{
    long long end = tk_now_ms() + WAIT_MS;
    struct nb_pool_stats st;

    for (;;) {
        nb_pool_stats(pool, &st);
        if ((accepted == ANY || st.accepted == accepted) &&
            (busy == ANY || st.busy == busy) &&
            (served == ANY || st.served == served))
            return st;
        if (tk_now_ms() > end)
            cr_assert_fail("%s: after %d ms the pool had accepted %lu, with "
                           "%zu busy and %lu served; expected %ld, %ld, %ld "
                           "(-1: any)",
                           what, WAIT_MS, st.accepted, st.busy, st.served,
                           (long)accepted, (long)busy, (long)served);
        nap_ms(1);
    }
}

/* Checks the invariant [NB-31] on one copy of the stats. */
static void
check_invariant(const struct nb_pool_stats *st)
{
    cr_assert_eq(st->accepted, st->served + st->queued + st->busy,
                 "nb_pool_stats: accepted %lu should equal served %lu + "
                 "queued %zu + busy %zu",
                 st->accepted, st->served, st->queued, st->busy);
}

/*
 * What hold_handler records. Each call keeps its connection until the
 * client's EOF (or an error), noting the first byte the client sent, then,
 * if gate_fd is a pipe, waits for that pipe's EOF before it returns.
 */
struct hold {
    pthread_mutex_t lock;
    int live, peak_live; /* handlers running now, and the most at once */
    int saw_eof;         /* handlers that read EOF or an error */
    int returned;        /* handlers that returned */
    char order[MAX_CLIENTS + 1]; /* first bytes, in the order served */
    int norder;
    int gate_fd; /* -1, or the read end of a pipe held after EOF */
};

static void
hold_init(struct hold *h)
{
    *h = (struct hold){.gate_fd = -1};
    pthread_mutex_init(&h->lock, NULL);
}

static int
hold_get(struct hold *h, const int *field)
{
    pthread_mutex_lock(&h->lock);
    int v = *field;
    pthread_mutex_unlock(&h->lock);
    return v;
}

/* Waits until *field of h reaches want, or fails the test after WAIT_MS. */
static void
hold_wait(struct hold *h, const int *field, int want, const char *what)
{
    long long end = tk_now_ms() + WAIT_MS;
    int v;

    while ((v = hold_get(h, field)) < want) {
        cr_assert_lt(tk_now_ms(), end, "%s: %d of %d after %d ms", what, v,
                     want, WAIT_MS);
        nap_ms(1);
    }
}

static int
hold_handler(int fd, void *arg)
{
    struct hold *h = arg;
    bool first = true;
    ssize_t n;
    char c;

    pthread_mutex_lock(&h->lock);
    if (++h->live > h->peak_live)
        h->peak_live = h->live;
    pthread_mutex_unlock(&h->lock);

    while ((n = read(fd, &c, 1)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            break;
        if (first && h->norder < MAX_CLIENTS) {
            pthread_mutex_lock(&h->lock);
            h->order[h->norder++] = c;
            pthread_mutex_unlock(&h->lock);
        }
        first = false;
    }
    int result = n == 0 ? 0 : -errno;

    pthread_mutex_lock(&h->lock);
    h->live--;
    h->saw_eof++;
    pthread_mutex_unlock(&h->lock);
    while (h->gate_fd >= 0 &&
           ((n = read(h->gate_fd, &c, 1)) > 0 || (n == -1 && errno == EINTR)))
        ;
    pthread_mutex_lock(&h->lock);
    h->returned++;
    pthread_mutex_unlock(&h->lock);
    return result;
}

/* Sends line on fd and checks that exactly the same bytes come back. */
static void
echo_ok(int fd, const char *line, const char *who)
{
    size_t len = strlen(line);
    char got[256];

    tk_write_all(fd, line, len);
    ssize_t n = tk_read_exact(fd, got, len, WAIT_MS);
    cr_assert_eq(n, (ssize_t)len, "%s: sent %zu bytes, got %s%zd back", who,
                 len, n == -ETIMEDOUT ? "no reply within 10 s, " : "", n);
    cr_assert_arr_eq(got, line, len, "%s: the reply differs", who);
}

/* A started pool on a fresh loopback listener. */
struct fixture {
    int listen_fd;
    unsigned short port;
    struct nb_pool *pool;
    int base_fds, base_tasks; /* before the listener and the pool */
};

static void
start(struct fixture *f, unsigned nthreads, unsigned cap, nb_conn_cb handler,
      void *arg)
{
    f->base_fds = tk_count_open_fds();
    f->base_tasks = count_tasks();
    f->listen_fd = tk_listen_tcp(&f->port);
    f->pool = NULL;
    int err =
        nb_pool_start(&f->pool, f->listen_fd, nthreads, cap, handler, arg);
    cr_assert_eq(err, 0, "nb_pool_start(%u threads, queue %u) returned %d",
                 nthreads, cap, err);
    cr_assert_not_null(f->pool, "nb_pool_start returned 0 and no pool");
}

/* Stops the pool, closes the listener, and checks nothing is left. */
static void
stop_and_check(struct fixture *f)
{
    cr_assert_eq(nb_pool_stop(f->pool), 0, "nb_pool_stop should return 0");
    close(f->listen_fd);
    cr_assert_eq(count_tasks(), f->base_tasks,
                 "after nb_pool_stop the process has %d threads; it had %d "
                 "before nb_pool_start: a thread of the pool was not joined",
                 count_tasks(), f->base_tasks);
    cr_assert_eq(tk_count_open_fds(), f->base_fds,
                 "after nb_pool_stop %d descriptors are open; %d were before "
                 "nb_pool_start",
                 tk_count_open_fds(), f->base_fds);
}

/* Connects a client and waits until the pool has accepted want in all. */
static int
connect_accepted(struct fixture *f, unsigned long want, const char *what)
{
    int fd = tk_connect_tcp(f->port);

    wait_counts(f->pool, want, ANY, ANY, what);
    return fd;
}

/* ===================================================================== */
/* Tests                                                                 */
/* ===================================================================== */

TK_TEST(prethread, at_most_nthreads_handlers,
        .description = "[NB-25] 3 workers and 8 slow clients: never more than "
                       "3 handlers at once, and exactly 3 + 1 threads")
{
    struct fixture f;
    struct hold h;
    int fds[8];

    hold_init(&h);
    start(&f, 3, 8, hold_handler, &h);
    cr_assert_eq(count_tasks(), f.base_tasks + 4,
                 "a pool of 3 workers should add 4 threads (3 workers and "
                 "the acceptor); it added %d",
                 count_tasks() - f.base_tasks);
    for (int i = 0; i < 8; i++)
        fds[i] = tk_connect_tcp(f.port);
    struct nb_pool_stats st =
        wait_counts(f.pool, 8, 3, 0, "8 slow clients, 3 workers");
    cr_assert_eq(st.peak_busy, 3, "peak_busy is %zu; 3 workers were busy",
                 st.peak_busy);
    hold_wait(&h, &h.live, 3, "handlers running in 3 busy workers");
    for (int i = 0; i < 8; i++)
        shutdown(fds[i], SHUT_WR); /* each handler ends at this EOF */
    for (int i = 0; i < 8; i++) {
        tk_expect_closed(fds[i], WAIT_MS);
        close(fds[i]);
    }
    st = wait_counts(f.pool, 8, 0, 8, "every client finished");
    cr_assert_eq(hold_get(&h, &h.peak_live), 3,
                 "%d handlers ran at once in a pool of 3 workers",
                 hold_get(&h, &h.peak_live));
    cr_assert_eq(st.peak_busy, 3,
                 "peak_busy is %zu after 8 clients, 3 "
                 "workers",
                 st.peak_busy);
    cr_assert_eq(count_tasks(), f.base_tasks + 4,
                 "after serving 8 clients the pool has %d threads; it "
                 "started with 4 (threads are created once, at start)",
                 count_tasks() - f.base_tasks);
    stop_and_check(&f);
}

TK_TEST(prethread, queue_never_exceeds_cap,
        .description = "[NB-26] [NB-31] a full queue stops the acceptor: 1 "
                       "busy + 2 queued of 6 clients, the rest wait in the "
                       "backlog")
{
    struct fixture f;
    struct hold h;
    int fds[6];

    hold_init(&h);
    start(&f, 1, 2, hold_handler, &h);
    for (int i = 0; i < 6; i++)
        fds[i] = tk_connect_tcp(f.port);
    struct nb_pool_stats st =
        wait_counts(f.pool, 3, 1, 0, "1 worker, queue of 2, 6 clients");
    for (long long end = tk_now_ms() + QUIET_MS; tk_now_ms() < end;) {
        nb_pool_stats(f.pool, &st);
        check_invariant(&st);
        cr_assert_eq(st.accepted, 3,
                     "with 1 busy worker and a queue of 2 the pool accepted "
                     "%lu connections: a full queue must stop the acceptor",
                     st.accepted);
        nap_ms(5);
    }
    cr_assert_eq(st.queued, 2, "queued is %zu; expected 2", st.queued);
    cr_assert_eq(st.peak_queued, 2, "peak_queued is %zu with a queue of 2",
                 st.peak_queued);

    /* Release them all: each handler ends, freeing a slot for the next. */
    for (int i = 0; i < 6; i++)
        shutdown(fds[i], SHUT_WR);
    for (int i = 0; i < 6; i++) {
        tk_expect_closed(fds[i], WAIT_MS);
        close(fds[i]);
        nb_pool_stats(f.pool, &st);
        check_invariant(&st);
        cr_assert_leq(st.peak_queued, 2, "peak_queued is %zu with a queue of 2",
                      st.peak_queued);
    }
    wait_counts(f.pool, 6, 0, 6, "every client finished");
    stop_and_check(&f);
}

TK_TEST(prethread, fifo_order,
        .description = "[NB-27] queued connections are served in the order "
                       "they were accepted")
{
    struct fixture f;
    struct hold h;
    int fds[5];
    const char *ids = "ABCDE";

    hold_init(&h);
    start(&f, 1, 4, hold_handler, &h);
    /* A holds the only worker; B to E queue behind it, in order. */
    for (int i = 0; i < 5; i++) {
        fds[i] = connect_accepted(&f, (unsigned long)i + 1, "one at a time");
        tk_write_all(fds[i], &ids[i], 1);
        if (i > 0)
            shutdown(fds[i], SHUT_WR);
    }
    shutdown(fds[0], SHUT_WR);
    wait_counts(f.pool, 5, 0, 5, "five clients, one worker");
    pthread_mutex_lock(&h.lock);
    h.order[h.norder] = '\0';
    pthread_mutex_unlock(&h.lock);
    cr_assert_str_eq(h.order, "ABCDE",
                     "clients accepted in the order ABCDE were served in "
                     "the order %s: the queue must be first in, first out",
                     h.order);
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    stop_and_check(&f);
}

TK_TEST(prethread, slow_client_holds_one_worker,
        .description = "[NB-28] [NB-34] a silent client holds one of 2 "
                       "workers; the other serves everyone else")
{
    struct fixture f;
    char line[32];

    signal(SIGPIPE, SIG_IGN);
    start(&f, 2, 4, nb_echo_conn, NULL);
    int slow = connect_accepted(&f, 1, "the silent client");
    wait_counts(f.pool, 1, 1, 0, "the silent client taken by a worker");
    for (int i = 0; i < 4; i++) {
        int fd = tk_connect_tcp(f.port);
        snprintf(line, sizeof(line), "hello %d\n", i);
        echo_ok(fd, line, "a client beside a silent one");
        close(fd);
    }
    wait_counts(f.pool, 5, 1, 4, "four clients served beside a silent one");
    close(slow);
    wait_counts(f.pool, 5, 0, 5, "the silent client closed");
    stop_and_check(&f);
}

TK_TEST(prethread, reset_client_does_not_kill_worker,
        .description = "[NB-29] a handler that fails on a reset: its "
                       "connection is closed and its worker serves the next")
{
    struct fixture f;

    signal(SIGPIPE, SIG_IGN);
    start(&f, 1, 4, nb_echo_conn, NULL);
    int fd = tk_connect_tcp(f.port);
    echo_ok(fd, "first\n", "the client that will reset");
    tk_reset_close(fd);
    struct nb_pool_stats st =
        wait_counts(f.pool, 1, 0, 1, "the reset client's handler returned");
    cr_assert_eq(st.failed, 1,
                 "the handler returned an error for the reset client; "
                 "failed is %lu",
                 st.failed);
    for (int i = 0; i < 3; i++) {
        fd = tk_connect_tcp(f.port);
        echo_ok(fd, "after the reset\n", "the next client (same worker)");
        close(fd);
    }
    st = wait_counts(f.pool, 4, 0, 4, "three clients after the reset");
    cr_assert_eq(st.failed, 1, "failed is %lu; only the reset one failed",
                 st.failed);
    check_invariant(&st);
    stop_and_check(&f);
}

TK_TEST(prethread, stop_with_full_queue_closes_all,
        .description = "[NB-32] stop with 2 busy workers and a full queue: "
                       "every accepted connection closed, every thread joined")
{
    struct fixture f;
    struct hold h;
    int fds[7];

    hold_init(&h);
    start(&f, 2, 3, hold_handler, &h);
    for (int i = 0; i < 5; i++)
        fds[i] = connect_accepted(&f, (unsigned long)i + 1, "one at a time");
    for (int i = 5; i < 7; i++)
        fds[i] = tk_connect_tcp(f.port); /* these stay in the backlog */
    struct nb_pool_stats st = wait_counts(f.pool, 5, 2, 0, "2 busy, 3 queued");
    cr_assert_eq(st.queued, 3, "queued is %zu; expected 3", st.queued);

    cr_assert_eq(nb_pool_stop(f.pool), 0, "nb_pool_stop should return 0");
    cr_assert_eq(hold_get(&h, &h.returned), 2,
                 "nb_pool_stop returned while %d of 2 handlers had not",
                 2 - hold_get(&h, &h.returned));
    for (int i = 0; i < 5; i++)
        tk_expect_closed(fds[i], WAIT_MS); /* busy or queued: closed */
    cr_assert_eq(count_tasks(), f.base_tasks,
                 "after nb_pool_stop %d threads of the pool are left",
                 count_tasks() - f.base_tasks);
    for (int i = 0; i < 7; i++)
        close(fds[i]);
    close(f.listen_fd);
    cr_assert_eq(tk_count_open_fds(), f.base_fds,
                 "after nb_pool_stop %d descriptors more are open than "
                 "before nb_pool_start: a queued connection was not closed",
                 tk_count_open_fds() - f.base_fds);
}

/* nb_pool_stop in a thread, so the test can watch it wait. */
struct stopper {
    struct nb_pool *pool;
    int result;
    bool returned; /* atomic */
};

static void *
stopper_main(void *arg)
{
    struct stopper *s = arg;

    s->result = nb_pool_stop(s->pool);
    __atomic_store_n(&s->returned, true, __ATOMIC_RELEASE);
    return NULL;
}

TK_TEST(prethread, stop_waits_for_handlers,
        .description = "[NB-32] nb_pool_stop wakes busy handlers (their "
                       "reads see EOF) and returns only after they return")
{
    struct fixture f;
    struct hold h;
    struct stopper s = {.result = -1};
    int gate[2], fds[2];
    pthread_t t;

    hold_init(&h);
    tk_pipe(gate);
    h.gate_fd = gate[0];
    start(&f, 2, 2, hold_handler, &h);
    for (int i = 0; i < 2; i++)
        fds[i] = tk_connect_tcp(f.port);
    wait_counts(f.pool, 2, 2, 0, "two busy workers");

    s.pool = f.pool;
    cr_assert_eq(pthread_create(&t, NULL, stopper_main, &s), 0);
    hold_wait(&h, &h.saw_eof, 2,
              "nb_pool_stop did not end the busy handlers' reads (shut "
              "down their connections); handlers that saw EOF");
    /* The handlers now wait for the gate: stop must wait for them. */
    for (long long end = tk_now_ms() + QUIET_MS; tk_now_ms() < end;) {
        cr_assert(!__atomic_load_n(&s.returned, __ATOMIC_ACQUIRE),
                  "nb_pool_stop returned while 2 handlers were still "
                  "running: it must join every worker");
        nap_ms(5);
    }
    close(gate[1]);
    pthread_join(t, NULL);
    cr_assert_eq(s.result, 0, "nb_pool_stop returned %d", s.result);
    cr_assert_eq(hold_get(&h, &h.returned), 2, "2 handlers should be done");
    close(gate[0]);
    close(fds[0]);
    close(fds[1]);
    close(f.listen_fd);
    cr_assert_eq(count_tasks(), f.base_tasks,
                 "after nb_pool_stop %d threads of the pool are left",
                 count_tasks() - f.base_tasks);
}

TK_TEST(prethread, stop_while_idle,
        .description = "[NB-33] stop an idle pool, and one just started: "
                       "every thread joined, nothing left open")
{
    struct fixture f;
    struct hold h;

    hold_init(&h);
    for (int i = 0; i < 5; i++) {
        start(&f, 4, 4, hold_handler, &h);
        stop_and_check(&f);
    }
    /* Idle for real: every worker asleep waiting for a connection. */
    start(&f, 4, 4, hold_handler, &h);
    int fd = connect_accepted(&f, 1, "one client");
    shutdown(fd, SHUT_WR);
    wait_counts(f.pool, 1, 0, 1, "one client served");
    close(fd);
    stop_and_check(&f);
}

TK_TEST(prethread, bad_arguments,
        .description = "[NB-30] bad arguments are refused with nothing left "
                       "behind")
{
    struct nb_pool *pool = NULL;
    struct hold h;
    unsigned short port;
    int p[2];

    hold_init(&h);
    int fds0 = tk_count_open_fds(), tasks0 = count_tasks();
    int lfd = tk_listen_tcp(&port);
    int unlistened = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    tk_pipe(p);
    struct {
        const char *what;
        struct nb_pool **out;
        int fd;
        unsigned nthreads, cap;
        nb_conn_cb handler;
        int want;
    } cases[] = {
        {"0 threads", &pool, lfd, 0, 4, hold_handler, -EINVAL},
        {"NB_POOL_MAX + 1 threads", &pool, lfd, NB_POOL_MAX + 1, 4,
         hold_handler, -EINVAL},
        {"a queue of 0", &pool, lfd, 2, 0, hold_handler, -EINVAL},
        {"a queue of NB_POOL_MAX + 1", &pool, lfd, 2, NB_POOL_MAX + 1,
         hold_handler, -EINVAL},
        {"a NULL handler", &pool, lfd, 2, 4, NULL, -EINVAL},
        {"a NULL out", NULL, lfd, 2, 4, hold_handler, -EINVAL},
        {"listen_fd -1", &pool, -1, 2, 4, hold_handler, -EBADF},
        {"a pipe for listen_fd", &pool, p[0], 2, 4, hold_handler, -ENOTSOCK},
        {"a socket that is not listening", &pool, unlistened, 2, 4,
         hold_handler, -EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int err = nb_pool_start(cases[i].out, cases[i].fd, cases[i].nthreads,
                                cases[i].cap, cases[i].handler, &h);
        cr_assert_eq(err, cases[i].want,
                     "nb_pool_start with %s returned %d; expected %d",
                     cases[i].what, err, cases[i].want);
    }
    close(lfd);
    close(unlistened);
    close(p[0]);
    close(p[1]);
    cr_assert_eq(count_tasks(), tasks0, "refused starts left %d threads behind",
                 count_tasks() - tasks0);
    cr_assert_eq(tk_count_open_fds(), fds0,
                 "refused starts left %d descriptors open",
                 tk_count_open_fds() - fds0);
}
