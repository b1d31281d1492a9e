/*
 * bench.c - chapter 06's benchmark. Prints what it does and reports:
 *
 *  connects_per_10k      (counted) connections kvd accepted while 16
 *                        threads made 10,000 requests (acquire, PING,
 *                        release) through one pool of 4: 4 when nothing
 *                        breaks, 10,000 without a pool.
 *  syscalls_per_borrow   (counted) system calls per uncontended
 *                        pool_acquire + pool_release of a warm pool,
 *                        counted in the kernel with ptrace (a lock that
 *                        nobody contends costs none; validation is skipped
 *                        for a connection used in the last 500 ms).
 *  sleeps_per_acquire    (counted) voluntary context switches (the
 *                        kernel's count, getrusage RUSAGE_THREAD) inside
 *                        pool_acquire per call, 16 threads on a pool of 4:
 *                        about one per call that had to wait when each
 *                        release wakes the one waiter it serves; a pool
 *                        that wakes every waiter on each release pays
 *                        about one per waiter per release.
 *  pooled_speedup        (timed ratio) 100 requests each on a fresh
 *                        connection (connect, PING, close) over the same
 *                        100 requests through a fresh pool, with kvd
 *                        delaying every new connection 2 ms (its accept
 *                        delay: the handshake and setup a real server
 *                        costs), median over --runs pairs.
 *  time_wait_per_request (info) sockets left in TIME_WAIT per request by
 *                        connect-per-request, from the kernel's table
 *                        (/proc/net/tcp), against the pool's.
 *
 * Run by hand: build/grade/chapters/06-pools/bench [--runs N]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/perfkit.h"
#include "iolab/resp.h"
#include "pool.h"

#define TIMEOUT_MS 20000 /* any wait in the bench: a lost reply ends it */

static struct kvd *
start_kvd(void)
{
    struct kvd *kv = NULL;

    int err = kvd_start(NULL, &kv);
    if (err < 0)
        die("kvd_start: %s", strerror(-err));
    return kv;
}

static struct pool *
open_pool(struct kvd *kv, unsigned max)
{
    struct pool_config cfg = {
        .port = kvd_port(kv), .max_size = max, .validate_idle_ms = 500};
    struct pool *p = NULL;

    int err = pool_open(&cfg, &p);
    if (err < 0)
        die("pool_open: %s", strerror(-err));
    return p;
}

/* One request through the pool. Returns 0 or -errno. */
static int
request(struct pool *p)
{
    struct resp_conn *c = NULL;
    struct resp_reply r = {0};

    int err = pool_acquire(p, TIMEOUT_MS, &c);
    if (err < 0)
        return err;
    err = resp_call(c, &r, TIMEOUT_MS, "PING", NULL);
    if (err == 0 && r.type != RESP_SIMPLE)
        err = -EPROTO;
    resp_reply_free(&r);
    pool_release(p, c, err == 0);
    return err;
}

/* ===================================================================== */
/* 16 threads, a pool of 4                                               */
/* ===================================================================== */

#define THREADS 16
#define POOL_SIZE 4
#define REQUESTS 10000

struct worker {
    struct pool *p;
    int n;       /* requests to make */
    int err;     /* first failure */
    long sleeps; /* voluntary context switches inside pool_acquire */
    pthread_t th;
};

static long
nvcsw(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

static void *
work(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < w->n && w->err == 0; i++) {
        struct resp_conn *c = NULL;
        struct resp_reply r = {0};
        long v0 = nvcsw();
        int err = pool_acquire(w->p, TIMEOUT_MS, &c);
        w->sleeps += nvcsw() - v0;
        if (err < 0) {
            w->err = err;
            break;
        }
        err = resp_call(c, &r, TIMEOUT_MS, "PING", NULL);
        resp_reply_free(&r);
        pool_release(w->p, c, err == 0);
        if (err < 0)
            w->err = err;
    }
    return NULL;
}

static void
bench_contended(void)
{
    struct kvd *kv = start_kvd();
    struct pool *p = open_pool(kv, POOL_SIZE);
    struct worker w[THREADS];
    struct kvd_stats st;
    long sleeps = 0;

    printf("contended: %d threads, %d requests, a pool of %d\n", THREADS,
           REQUESTS, POOL_SIZE);
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.p = p, .n = REQUESTS / THREADS};
        if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].th, NULL);
        sleeps += w[i].sleeps;
        if (w[i].err != 0) {
            printf("  a request failed: %s; not measured\n",
                   strerror(-w[i].err));
            goto out;
        }
    }
    kvd_stats(kv, &st);
    printf("  %.0f ms; kvd accepted %llu connections, ran %llu commands\n",
           (pk_now_ns() - t0) / 1e6, (unsigned long long)st.accepted,
           (unsigned long long)st.commands);
    printf("  %ld sleeps in pool_acquire: %.3f per call\n", sleeps,
           (double)sleeps / REQUESTS);
    pk_metric("connects_per_10k", (double)st.accepted);
    pk_metric("sleeps_per_acquire", (double)sleeps / REQUESTS);
out:
    pool_close(p);
    kvd_stop(kv);
}

/* ===================================================================== */
/* System calls per uncontended borrow                                   */
/* ===================================================================== */

#define BORROWS 2000

static unsigned short count_port;

static int
count_borrows(void *arg)
{
    (void)arg;
    struct pool_config cfg = {
        .port = count_port, .max_size = 2, .validate_idle_ms = 500};
    struct pool *p = NULL;
    struct resp_conn *c = NULL;
    int bad = 0;

    if (pool_open(&cfg, &p) < 0 || pool_acquire(p, TIMEOUT_MS, &c) < 0)
        return 1;
    pool_release(p, c, true); /* warm: one idle connection */
    pk_region_begin();
    for (int i = 0; i < BORROWS; i++) {
        if (pool_acquire(p, TIMEOUT_MS, &c) < 0) {
            bad = 1;
            break;
        }
        pool_release(p, c, true);
    }
    pk_region_end();
    pool_close(p);
    return bad;
}

static void
bench_syscalls(void)
{
    struct kvd *kv = start_kvd();
    struct pk_syscalls sc;

    count_port = kvd_port(kv);
    printf("uncontended: %d acquire + release of a warm pool\n", BORROWS);
    int err = pk_count_syscalls(count_borrows, NULL, &sc);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD ? "pool_acquire failed" : strerror(-err));
    } else {
        printf("  %lu system calls: %.3f per borrow\n", sc.total,
               (double)sc.total / BORROWS);
        pk_metric("syscalls_per_borrow", (double)sc.total / BORROWS);
    }
    kvd_stop(kv);
}

/* ===================================================================== */
/* Pooled against connect-per-request                                    */
/* ===================================================================== */

#define SERIAL 100     /* requests per run */
#define ACCEPT_US 2000 /* kvd's cost of a new connection */

/* Sockets in TIME_WAIT whose remote port is port (client side). */
static int
time_wait(unsigned short port)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char line[512];
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned rport, st;
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x", &rport, &st) == 2 &&
            rport == port && st == 0x06)
            n++;
    }
    fclose(f);
    return n;
}

static int
connect_per_request(struct kvd *kv)
{
    for (int i = 0; i < SERIAL; i++) {
        struct resp_conn *c = NULL;
        struct resp_reply r = {0};
        int err = resp_connect(NULL, kvd_port(kv), TIMEOUT_MS, &c);
        if (err == 0)
            err = resp_call(c, &r, TIMEOUT_MS, "PING", NULL);
        resp_reply_free(&r);
        resp_close(c);
        if (err < 0)
            return err;
    }
    return 0;
}

static int
pooled(struct kvd *kv)
{
    struct pool *p = open_pool(kv, POOL_SIZE);
    int err = 0;

    for (int i = 0; i < SERIAL && err == 0; i++)
        err = request(p);
    pool_close(p);
    return err;
}

static void
bench_speedup(int runs)
{
    struct kvd *kv = start_kvd();
    double *ratio = calloc((size_t)runs, sizeof(double));
    unsigned short port = kvd_port(kv);
    int tw_base = -1, tw_pool = -1;

    if (ratio == NULL)
        die("out of memory");
    if (kvd_set_delays(kv, 0, ACCEPT_US) < 0)
        die("kvd_set_delays failed");
    printf("pooled against connect-per-request: %d requests, %d us per "
           "new connection\n",
           SERIAL, ACCEPT_US);
    for (int r = 0; r < runs; r++) {
        int tw0 = time_wait(port);
        uint64_t t0 = pk_now_ns();
        int err = connect_per_request(kv);
        uint64_t t1 = pk_now_ns();
        int tw1 = time_wait(port);
        int perr = err == 0 ? pooled(kv) : 0;
        uint64_t t2 = pk_now_ns();
        int tw2 = time_wait(port);
        if (err < 0 || perr < 0) {
            printf("  run %d failed: %s; not measured\n", r + 1,
                   strerror(-(err < 0 ? err : perr)));
            goto out;
        }
        ratio[r] = (double)(t1 - t0) / (double)(t2 - t1);
        printf("  run %d: connect each %.1f ms, pooled %.1f ms, ratio "
               "%.2f\n",
               r + 1, (t1 - t0) / 1e6, (t2 - t1) / 1e6, ratio[r]);
        if (r == 0 && tw0 >= 0) {
            tw_base = tw1 - tw0;
            tw_pool = tw2 - tw1;
        }
    }
    pk_metric("pooled_speedup", pk_median(ratio, (size_t)runs));
    if (tw_base >= 0) {
        printf("  TIME_WAIT sockets left: %d by connect-per-request, %d by "
               "the pool (its close)\n",
               tw_base, tw_pool);
        pk_metric("time_wait_per_request", (double)tw_base / SERIAL);
    }
out:
    free(ratio);
    kvd_stop(kv);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    bench_syscalls();
    bench_contended();
    bench_speedup(runs);
    return 0;
}
