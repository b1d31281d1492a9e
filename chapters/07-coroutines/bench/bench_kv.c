/*
 * bench_kv.c - exercise 4's part of chapter 07's benchmark: many
 * coroutines sharing a pool of connections to kvd (co_kv_*).
 *
 * Metrics (the manifest sets their thresholds):
 *  - kv_connections_per_10k (counted): connections kvd accepted while
 *    1,000 coroutines made 10 requests each (10,000) over a pool of 4:
 *    the pool's size when connections are reused and bounded.
 *  - kv_syscalls_per_request (counted): system calls of the client
 *    process per request over the same run, counted with ptrace at the
 *    kernel's syscall entry (kvd runs in the bench's own process, not
 *    counted): a write, a read that finds the reply, and a share of the
 *    reads that found nothing yet and of the epoll_waits.
 *  - kv_throughput_over_threads (shown): the time 4 threads take for the
 *    same 10,000 requests, each thread with a blocking connection of its
 *    own (a thread pool the size of the pool), over the coroutines' time;
 *    alternating, median of the runs: above 1 when the coroutines are
 *    faster.
 */
#include "bench_kv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "co.h"
#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/perfkit.h"
#include "iolab/resp.h"

#define KV_COROS 1000 /* coroutines */
#define KV_EACH 10    /* requests each: SET, GET, SET, GET, ... */
#define KV_POOL 4     /* connections in the pool; threads of the baseline */
#define KV_REQUESTS (KV_COROS * KV_EACH)

/* One run's shared state: the port, and requests whose reply was wrong. */
struct kv_run {
    unsigned short port;
    int bad;
};

/* The requests of client `id` (a coroutine or a thread), checked. */
struct kv_client {
    struct kv_run *run;
    int id, n;
    struct co_kv_pool *pool; /* coroutines */
    struct resp_conn *conn;  /* threads */
};

/* The command for request j of client id into argv (SET k v or GET k). */
static int
kv_command(int id, int j, char *key, char *val, const char *argv[3])
{
    snprintf(key, 32, "b:%d:%d", id, j / 2);
    snprintf(val, 32, "v:%d:%d", id, j / 2);
    argv[0] = j % 2 == 0 ? "SET" : "GET";
    argv[1] = key;
    argv[2] = val;
    return j % 2 == 0 ? 3 : 2;
}

/* Is r the right reply to request j? */
static bool
kv_reply_ok(int j, const struct resp_reply *r, const char *val)
{
    if (j % 2 == 0)
        return r->type == RESP_SIMPLE && strcmp(r->str, "OK") == 0;
    return r->type == RESP_BULK && strcmp(r->str, val) == 0;
}

static void
co_client(void *arg)
{
    struct kv_client *c = arg;
    char key[32], val[32];
    const char *argv[3];

    for (int j = 0; j < c->n; j++) {
        struct resp_reply r = {0};
        int argc = kv_command(c->id, j, key, val, argv);
        if (co_kv_request(c->pool, -1, &r, argc, argv, NULL) != 0 ||
            !kv_reply_ok(j, &r, val))
            c->run->bad++;
        resp_reply_free(&r);
    }
}

static void
co_main(void *arg)
{
    struct kv_run *run = arg;
    struct co_kv_config cfg = {.port = run->port, .max_conns = KV_POOL};
    struct co_kv_pool *p = NULL;
    struct kv_client *cl = calloc(KV_COROS, sizeof(*cl));
    struct co **co = calloc(KV_COROS, sizeof(*co));

    if (cl == NULL || co == NULL || co_kv_open(&cfg, &p) != 0) {
        run->bad = -1;
        free(cl);
        free(co);
        return;
    }
    for (int i = 0; i < KV_COROS; i++) {
        cl[i] =
            (struct kv_client){.run = run, .id = i, .n = KV_EACH, .pool = p};
        co[i] = co_spawn(co_client, &cl[i], 0);
        if (co[i] == NULL)
            run->bad++;
    }
    for (int i = 0; i < KV_COROS; i++)
        if (co[i] != NULL)
            co_join(co[i]);
    co_kv_close(p);
    free(cl);
    free(co);
}

/* The coroutines' run; 0 when every reply was right. */
static int
run_coroutines(void *arg)
{
    struct kv_run *run = arg;

    run->bad = 0;
    pk_region_begin();
    int r = co_sched_run(co_main, run);
    pk_region_end();
    return r == 0 && run->bad == 0 ? 0 : 1;
}

static void *
thread_client(void *arg)
{
    struct kv_client *c = arg;
    char key[32], val[32];
    const char *argv[3];

    for (int j = 0; j < c->n; j++) {
        struct resp_reply r = {0};
        int argc = kv_command(c->id, j, key, val, argv);
        if (resp_command(c->conn, &r, -1, argc, argv, NULL) != 0 ||
            !kv_reply_ok(j, &r, val))
            __atomic_fetch_add(&c->run->bad, 1, __ATOMIC_RELAXED);
        resp_reply_free(&r);
    }
    return NULL;
}

/* The baseline's run: KV_POOL threads, a blocking connection each. */
static int
run_threads(struct kv_run *run)
{
    struct kv_client cl[KV_POOL];
    pthread_t t[KV_POOL];

    run->bad = 0;
    for (int i = 0; i < KV_POOL; i++) {
        cl[i] =
            (struct kv_client){.run = run, .id = i, .n = KV_REQUESTS / KV_POOL};
        if (resp_connect(NULL, run->port, 5000, &cl[i].conn) != 0)
            die("resp_connect to kvd failed");
        if (pthread_create(&t[i], NULL, thread_client, &cl[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < KV_POOL; i++) {
        pthread_join(t[i], NULL);
        resp_close(cl[i].conn);
    }
    return run->bad == 0 ? 0 : 1;
}

/* Seconds one run takes (coroutines or threads); -1 when it failed. */
static double
time_run(struct kv_run *run, bool threads)
{
    uint64_t t0 = pk_now_ns();
    int err = threads ? run_threads(run) : run_coroutines(run);
    return err == 0 ? (double)(pk_now_ns() - t0) / 1e9 : -1;
}

void
bench_kv(int runs)
{
    struct kvd *kv = NULL;
    struct kvd_stats st;
    struct pk_syscalls sc;

    if (kvd_start(NULL, &kv) != 0)
        die("kvd_start failed");
    struct kv_run run = {.port = kvd_port(kv)};
    printf("kv: %d coroutines x %d requests over a pool of %d connections\n",
           KV_COROS, KV_EACH, KV_POOL);
    int err = pk_count_syscalls(run_coroutines, &run, &sc);
    kvd_stats(kv, &st);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD ? "a request failed or got a wrong reply"
                              : strerror(-err));
        kvd_stop(kv);
        return;
    }
    printf("  kvd accepted %llu connections, ran %llu commands; %lu system "
           "calls\n",
           (unsigned long long)st.accepted, (unsigned long long)st.commands,
           sc.total);
    pk_metric("kv_connections_per_10k",
              (double)st.accepted * 10000.0 / KV_REQUESTS);
    pk_metric("kv_syscalls_per_request", (double)sc.total / KV_REQUESTS);

    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die_errno("calloc", "ratios");
    for (int r = 0; r < runs; r++) {
        double tc = time_run(&run, false), tt = time_run(&run, true);
        if (tc <= 0 || tt <= 0) {
            printf("  throughput not measured: a run failed\n");
            free(ratio);
            kvd_stop(kv);
            return;
        }
        printf("  run %d: coroutines %.0f ms, threads %.0f ms\n", r + 1,
               tc * 1e3, tt * 1e3);
        ratio[r] = tt / tc;
    }
    pk_metric("kv_throughput_over_threads", pk_median(ratio, (size_t)runs));
    free(ratio);
    kvd_stop(kv);
}
