/*
 * bench.c - chapter 01's benchmark. Prints what it does and reports:
 *
 *  syscalls_per_mib     (counted) system calls made by nb_read_full and
 *                       nb_write_full to move 1 MiB each way through
 *                       regular files, counted in the kernel with ptrace.
 *                       The kernel moves a whole regular-file request at
 *                       once, so a full-length loop needs 1 call each way.
 *  speedup_vs_blocking  (timed ratio) wall time of the given blocking server
 *                       divided by the wall time of nb_serve, for the same
 *                       interactive clients: each run keeps each server's
 *                       best of TRIES, the metric is the median over --runs.
 *  busy_cpu_per_wall    (info) CPU time the nb_serve thread used per second
 *                       of wall time: about 1.0 for a polling server.
 *  pool_threads_per_1000_conns
 *                       (counted) threads the prethreaded pool creates
 *                       (clone system calls, counted with ptrace) over
 *                       its whole life, scaled to 1,000 connections: the
 *                       pool's size plus its acceptor, whatever the load.
 *  pool_futex_per_conn  (counted) futex system calls per connection: the
 *                       pool's waits and wake-ups. Waking every worker for
 *                       each new connection multiplies them.
 *  thread_per_conn_threads_per_1000_conns
 *                       (info) the same clients served by a thread per
 *                       connection: 1,000 threads.
 *
 * Run by hand: build/grade/chapters/01-blocking-io/bench [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "nb.h"

#define MIB (1u << 20)

/* The interactive workload: each client sends, waits, thinks, repeats. */
#define CLIENTS 16    /* concurrent clients */
#define ROUNDS 12     /* requests per client */
#define THINK_US 2000 /* think time between a reply and the next request */
/*
 * Each run times both servers TRIES times, alternating, and keeps each
 * one's best. A busy machine only ever adds time, and it adds most to the
 * polling server, which needs the CPU for every request while the blocking
 * one sleeps in recv(): the best of a few tries is the estimate least
 * disturbed by other work. The metric is the median of the runs' ratios.
 */
#define TRIES 3
/* A reply later than this means the server is gone. */
#define REPLY_TIMEOUT_S 5

/* ===================================================================== */
/* System calls per MiB                                                   */
/* ===================================================================== */

static const char *tmpl; /* the bench's private directory */

static int
count_rw(void *arg)
{
    const char *dir = arg;
    char in_path[256], out_path[256];
    char *buf = malloc(MIB);

    if (buf == NULL)
        return 1;
    memset(buf, 'x', MIB);
    snprintf(in_path, sizeof(in_path), "%s/in", dir);
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    int in = open(in_path, O_RDONLY | O_CLOEXEC);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (in == -1 || out == -1)
        return 1;

    pk_region_begin();
    ssize_t nr = nb_read_full(in, buf, MIB);
    ssize_t nw = nb_write_full(out, buf, MIB);
    pk_region_end();

    close(in);
    close(out);
    free(buf);
    return nr == (ssize_t)MIB && nw == (ssize_t)MIB ? 0 : 1;
}

static void
bench_syscalls(void)
{
    struct pk_syscalls sc;
    char path[256];
    char *buf = calloc(1, MIB);

    if (buf == NULL)
        die("out of memory");
    tmpl = pk_tmpdir("bench01");
    snprintf(path, sizeof(path), "%s/in", tmpl);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1 || write(fd, buf, MIB) != (ssize_t)MIB)
        die_errno("write", path);
    close(fd);
    free(buf);

    printf("counting system calls for 1 MiB read + 1 MiB written...\n");
    int err = pk_count_syscalls(count_rw, (void *)tmpl, &sc);
    unlink(path);
    snprintf(path, sizeof(path), "%s/out", tmpl);
    unlink(path);
    rmdir(tmpl);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD
                   ? "nb_read_full or nb_write_full did not move 1 MiB"
                   : strerror(-err));
        return;
    }
    pk_metric("syscalls_per_mib", (double)sc.total);
}

/* ===================================================================== */
/* Interactive clients: blocking server versus nb_serve                   */
/* ===================================================================== */

/* A loopback listener on a port the kernel chose. */
static int
listen_loopback(unsigned short *port)
{
    return pk_listen_tcp(port, 128);
}

/*
 * A client connected to port on loopback, with TCP_NODELAY; a server that
 * died must not hang the bench, so a reply later than REPLY_TIMEOUT_S is
 * given up on.
 */
static int
connect_loopback(unsigned short port)
{
    int fd = pk_dial_tcp(port, REPLY_TIMEOUT_S * 1000);

    if (fd < 0)
        die_neg("connect", "127.0.0.1", fd);
    return fd;
}

/* One client: connect, one line there and back, close. 0 when it echoed. */
static int
round_trip(unsigned short port)
{
    char got[5];
    int fd = connect_loopback(port);
    int ok = pk_send_all(fd, "ping\n", 5) == 0 &&
             recv(fd, got, sizeof(got), MSG_WAITALL) == 5 &&
             memcmp(got, "ping\n", 5) == 0;

    close(fd);
    return ok ? 0 : -1;
}

struct run {
    unsigned short port;
    pthread_barrier_t start; /* all clients begin together */
    int failures;            /* clients that saw a wrong reply */
};

static void
think(void)
{
    struct timespec ts = {.tv_nsec = THINK_US * 1000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void *
client_main(void *arg)
{
    struct run *r = arg;
    char req[64], got[64];

    pthread_barrier_wait(&r->start);
    int fd = connect_loopback(r->port);
    for (int i = 0; i < ROUNDS; i++) {
        int len = snprintf(req, sizeof(req), "request %d\n", i);
        size_t have = 0;
        if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
            break;
        while (have < (size_t)len) {
            ssize_t n = recv(fd, got + have, (size_t)len - have, 0);
            if (n <= 0)
                break;
            have += (size_t)n;
        }
        if (have != (size_t)len || memcmp(got, req, have) != 0) {
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
            break;
        }
        think();
    }
    close(fd);
    return NULL;
}

struct server_arg {
    int listen_fd, stop_fd;
    bool blocking;
    uint64_t cpu_ns; /* CPU the server thread used */
    int result;
};

static void *
server_main(void *arg)
{
    struct server_arg *s = arg;
    uint64_t cpu0 = pk_thread_cpu_ns();

    s->result = s->blocking ? nb_serve_blocking(s->listen_fd, CLIENTS)
                            : nb_serve(s->listen_fd, s->stop_fd);
    s->cpu_ns = pk_thread_cpu_ns() - cpu0;
    return NULL;
}

/* One run of the workload against one server. Returns wall ns, or 0. */
static uint64_t
run_once(bool blocking, double *cpu_per_wall)
{
    struct run r = {.failures = 0};
    pthread_t clients[CLIENTS], server;
    int stop[2];

    int lfd = listen_loopback(&r.port);
    if (pipe2(stop, O_CLOEXEC) == -1)
        die_errno("pipe", "stop");
    pthread_barrier_init(&r.start, NULL, CLIENTS + 1);

    struct server_arg sa = {
        .listen_fd = lfd, .stop_fd = stop[0], .blocking = blocking};
    pthread_create(&server, NULL, server_main, &sa);
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&clients[i], NULL, client_main, &r);

    uint64_t t0 = pk_now_ns();
    pthread_barrier_wait(&r.start);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i], NULL);
    uint64_t wall = pk_now_ns() - t0;

    if (write(stop[1], "x", 1) != 1)
        die_errno("write", "stop pipe");
    pthread_join(server, NULL);
    pthread_barrier_destroy(&r.start);
    close(stop[0]);
    close(stop[1]);
    close(lfd);
    if (cpu_per_wall != NULL)
        *cpu_per_wall = (double)sa.cpu_ns / (double)wall;
    if (r.failures > 0 || sa.result != 0) {
        printf("  %s server: %d clients got wrong replies, result %d\n",
               blocking ? "blocking" : "nb_serve", r.failures, sa.result);
        return 0;
    }
    return wall;
}

static void
bench_serve(int runs)
{
    double *ratio = calloc((size_t)runs, sizeof(double));
    double *busy = calloc((size_t)runs, sizeof(double));

    if (ratio == NULL || busy == NULL)
        die("out of memory");
    printf("%d interactive clients x %d requests, %d us think time, %d runs\n",
           CLIENTS, ROUNDS, THINK_US, runs);
    for (int i = 0; i < runs; i++) {
        uint64_t tb = UINT64_MAX, tn = UINT64_MAX;
        for (int k = 0; k < TRIES; k++) {
            uint64_t b = run_once(true, NULL);
            uint64_t n = run_once(false, &busy[i]);
            if (b == 0 || n == 0) {
                printf("  not measured: a server gave wrong replies\n");
                free(ratio);
                free(busy);
                return;
            }
            tb = b < tb ? b : tb;
            tn = n < tn ? n : tn;
        }
        ratio[i] = (double)tb / (double)tn;
        printf("  run %d: blocking %.1f ms, nb_serve %.1f ms (best of %d), "
               "ratio %.2f\n",
               i + 1, tb / 1e6, tn / 1e6, TRIES, ratio[i]);
    }
    pk_metric("speedup_vs_blocking", pk_median(ratio, (size_t)runs));
    pk_metric("busy_cpu_per_wall", pk_median(busy, (size_t)runs));
    free(ratio);
    free(busy);
}

/* ===================================================================== */
/* The prethreaded pool: threads and wake-ups per connection              */
/* ===================================================================== */

#define POOL_THREADS 8 /* workers: more than the cores, as a server has */
#define POOL_QUEUE 16  /* queue slots */
#define POOL_CONNS 1000

/* Counted in a traced child: a pool's whole life, POOL_CONNS clients. */
static int
count_pool(void *arg)
{
    struct nb_pool *pool = NULL;
    unsigned short port;
    int bad = 0;

    (void)arg;
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_loopback(&port);
    pk_region_begin();
    if (nb_pool_start(&pool, lfd, POOL_THREADS, POOL_QUEUE, nb_echo_conn,
                      NULL) != 0)
        return 1;
    for (int i = 0; i < POOL_CONNS; i++)
        bad |= round_trip(port);
    nb_pool_stop(pool);
    pk_region_end();
    close(lfd);
    return bad ? 1 : 0;
}

/* The baseline: a new thread for every connection, detached. */
static void *
conn_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;

    nb_echo_conn(fd, NULL);
    close(fd);
    return NULL;
}

static void *
thread_per_conn_acceptor(void *arg)
{
    int lfd = *(int *)arg;
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < POOL_CONNS; i++) {
        pthread_t t;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1)
            die_errno("accept", "127.0.0.1");
        if (pthread_create(&t, &attr, conn_thread, (void *)(intptr_t)fd))
            die("pthread_create failed");
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* Counted in a traced child: the same clients, a thread for each. */
static int
count_thread_per_conn(void *arg)
{
    unsigned short port;
    pthread_t acceptor;
    int bad = 0;

    (void)arg;
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_loopback(&port);
    pk_region_begin();
    pthread_create(&acceptor, NULL, thread_per_conn_acceptor, &lfd);
    for (int i = 0; i < POOL_CONNS; i++)
        bad |= round_trip(port);
    pthread_join(acceptor, NULL);
    pk_region_end();
    return bad ? 1 : 0;
}

static unsigned long
thread_creations(const struct pk_syscalls *sc)
{
    unsigned long n = sc->by_nr[SYS_clone];
#ifdef SYS_clone3
    n += sc->by_nr[SYS_clone3];
#endif
    return n;
}

static void
bench_pool(void)
{
    struct pk_syscalls sc;

    printf("%d clients one after another: a pool of %d workers, then a "
           "thread per connection\n",
           POOL_CONNS, POOL_THREADS);
    int err = pk_count_syscalls(count_pool, NULL, &sc);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD ? "the pool did not echo every client"
                              : strerror(-err));
        return;
    }
    double per = 1000.0 / POOL_CONNS;
    printf("  pool: %lu threads created, %lu futex calls\n",
           thread_creations(&sc), sc.by_nr[SYS_futex]);
    pk_metric("pool_threads_per_1000_conns", thread_creations(&sc) * per);
    pk_metric("pool_futex_per_conn", (double)sc.by_nr[SYS_futex] / POOL_CONNS);

    err = pk_count_syscalls(count_thread_per_conn, NULL, &sc);
    if (err != 0) {
        printf("  baseline not measured: %s\n", strerror(-err));
        return;
    }
    printf("  thread per connection: %lu threads created\n",
           thread_creations(&sc));
    pk_metric("thread_per_conn_threads_per_1000_conns",
              thread_creations(&sc) * per);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    bench_syscalls();
    /*
     * The pool first: its counts need none of nb_serve, so a server that
     * crashes the bench cannot take the pool's metrics with it.
     */
    bench_pool();
    bench_serve(runs);
    return 0;
}
