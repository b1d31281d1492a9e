/*
 * test_core.c - exercise 1 of chapter 06: the pool's core.
 *
 * kvd runs as a thread of each test (kvd_start, port 0). Its counters are
 * the witness the pool cannot argue with: `accepted` is every connection
 * ever opened to it, `connected` those open now. Its accept delay makes a
 * connect slow, which is when a herd of threads overshoots a maximum;
 * kvd_refuse_for makes every connect fail. Threads that must be queued
 * are started one at a time, and the next starts only once pool_stats
 * counts the previous one as waiting and the kernel shows it asleep, so
 * arrival order is known. Wake-ups are the kernel's count of each
 * thread's voluntary context switches (getrusage RUSAGE_THREAD): a
 * thread woken for nothing goes back to sleep and is counted again.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <valgrind/valgrind.h>

#include "iolab/testkit.h"
#include "helpers.h"

/* ---- [POOL-1] ------------------------------------------------------------ */

TK_TEST(core, open_checks_config,
        .description = "[POOL-1] pool_open refuses a bad configuration with "
                       "-EINVAL, opens no connection, and pool_stats starts "
                       "at zero")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = NULL;
    unsigned short port = kvd_port(kv);
    struct pool_config bad[] = {
        {.port = 0, .max_size = 4},
        {.port = port, .max_size = 0},
        {.port = port, .max_size = POOL_MAX_SIZE + 1},
        {.port = port, .max_size = 2, .min_idle = 3},
    };

    cr_assert_eq(pool_open(NULL, &p), -EINVAL, "pool_open(NULL cfg)");
    cr_assert_eq(pool_open(&bad[1], NULL), -EINVAL, "pool_open(NULL out)");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(pool_open(&bad[i], &p), -EINVAL,
                     "pool_open accepted bad config %zu (port %u, max_size "
                     "%u, min_idle %u)",
                     i, bad[i].port, bad[i].max_size, bad[i].min_idle);
    cr_assert_null(p, "a failed pool_open wrote *out");

    char host[] = "127.0.0.1";
    struct pool_config cfg = {.host = host, .port = port, .max_size = 3};
    int err = pool_open(&cfg, &p);
    cr_assert_eq(err, 0, "pool_open: %d (%s)", err, strerror(-err));
    host[0] = 'x'; /* the pool must have copied it */
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.open == 0 && st.idle == 0 && st.in_use == 0 &&
                  st.pending == 0 && st.waiting == 0 && st.connects == 0 &&
                  st.connect_failures == 0 && st.timeouts == 0 &&
                  st.destroyed == 0,
              "pool_stats of a new pool is not all zero (open %u, connects "
              "%llu)",
              st.open, (unsigned long long)st.connects);
    cr_assert_eq(pt_kstats(kv).accepted, 0,
                 "pool_open opened a connection: the first acquire should");
    struct resp_conn *c = pt_acquire(p); /* host copied, or this fails */
    pool_release(p, c, true);
    pt_done(p, kv);
}

TK_TEST(core, reuses_idle_connection,
        .description = "[POOL-14] a released connection is lent again: "
                       "many acquire/release rounds open one connection")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 4);

    struct resp_conn *first = pt_acquire(p);
    pool_release(p, first, true);
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.open == 1 && st.idle == 1 && st.in_use == 0,
              "after one acquire and release: open %u idle %u in_use %u, "
              "expected 1 1 0",
              st.open, st.idle, st.in_use);
    for (int i = 0; i < 100; i++) {
        struct resp_conn *c = pt_acquire(p);
        cr_assert_eq(c, first,
                     "round %d lent another connection although "
                     "one was idle",
                     i);
        st = pt_pstats(p);
        cr_assert(st.in_use == 1 && st.idle == 0,
                  "while lent: in_use %u idle %u, expected 1 0", st.in_use,
                  st.idle);
        pool_release(p, c, true);
    }
    cr_assert_eq(pt_kstats(kv).accepted, 1,
                 "kvd accepted %llu connections for 101 sequential "
                 "borrowings; expected 1",
                 (unsigned long long)pt_kstats(kv).accepted);
    cr_assert_eq(pt_pstats(p).connects, 1, "pool_stats.connects");
    pt_done(p, kv);
}

/* ---- [POOL-2] the hard maximum --------------------------------------------
 */

#define HERD 64

TK_TEST(core, herd_never_exceeds_max,
        .description = "[POOL-2] 64 threads arriving at once on an empty "
                       "pool of 4, while every connect takes 30 ms: kvd "
                       "never sees more than 4 connections, and all 64 are "
                       "served")
{
    struct kvd *kv = pt_kvd(0, 30000);
    struct pool *p = pt_pool(kv, 4);
    static struct pt_borrower b[HERD];

    for (int i = 0; i < HERD; i++) {
        b[i] =
            (struct pt_borrower){.p = p, .timeout_ms = LONG_MS, .ping = true};
        pt_start(&b[i]);
    }
    for (int i = 0; i < HERD; i++)
        pt_join(&b[i]);
    struct kvd_stats ks = pt_kstats(kv);
    cr_assert_leq(ks.accepted, 4,
                  "kvd accepted %llu connections from a pool of at most 4: "
                  "the maximum must count connects still under way",
                  (unsigned long long)ks.accepted);
    for (int i = 0; i < HERD; i++)
        cr_assert_eq(b[i].err, 0, "thread %d: pool_acquire returned %d (%s)", i,
                     b[i].err, strerror(-b[i].err));
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.open <= 4 && st.in_use == 0 && st.waiting == 0 &&
                  st.pending == 0,
              "after the herd: open %u in_use %u waiting %u pending %u",
              st.open, st.in_use, st.waiting, st.pending);
    pt_done(p, kv);
}

/* ---- [POOL-3] first come, first served ------------------------------------
 */

#define QUEUED 8

TK_TEST(core, waiters_served_in_arrival_order,
        .description = "[POOL-3] 8 threads queued one after another on a "
                       "pool of 1 get the connection in the order they "
                       "arrived")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    struct pt_borrower b[QUEUED];
    int counter = 0;

    struct resp_conn *c = pt_acquire(p);
    pt_queue(p, b, QUEUED, &counter, false);
    pool_release(p, c, true);
    for (int i = 0; i < QUEUED; i++)
        pt_join(&b[i]);
    for (int i = 0; i < QUEUED; i++) {
        cr_assert_eq(b[i].err, 0, "waiter %d: pool_acquire returned %d", i,
                     b[i].err);
        cr_assert_eq(b[i].order, i,
                     "the waiter that arrived %d%s was served %d%s "
                     "(expected first come, first served)",
                     i + 1, i == 0 ? "st" : "th", b[i].order + 1,
                     b[i].order == 0 ? "st" : "th");
    }
    pt_done(p, kv);
}

/* ---- [POOL-4] one wake-up per release -------------------------------------
 */

#define WAKERS 16

TK_TEST(core, release_wakes_one_waiter,
        .description = "[POOL-4] 16 threads queued on a pool of 1, served one "
                       "release at a time: the kernel counts about one sleep "
                       "per thread, not one per release (no broadcast herd)")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    struct pt_borrower b[WAKERS];
    int counter = 0;

    struct resp_conn *c = pt_acquire(p);
    pt_queue(p, b, WAKERS, &counter, true);
    for (int i = 0; i < WAKERS; i++) {
        pool_release(p, c, true);
        pt_join(&b[i]);
        cr_assert_eq(b[i].err, 0, "waiter %d: pool_acquire returned %d (%s)", i,
                     b[i].err, strerror(-b[i].err));
        c = b[i].c;
        /* Anyone woken for nothing is back asleep before the next round. */
        for (int k = i + 1; k < WAKERS; k++)
            tk_wait_sleeping(b[k].tid, LONG_MS);
    }
    pool_release(p, c, true);
    long total = 0;
    char each[WAKERS * 8] = "";
    for (int i = 0; i < WAKERS; i++) {
        total += b[i].nvcsw;
        snprintf(each + strlen(each), sizeof(each) - strlen(each), " %ld",
                 b[i].nvcsw);
    }
    /* A broadcast puts waiter i to sleep i + 1 times: 136 for 16. Each
     * waiter served alone sleeps once, and perhaps once more on the
     * mutex. Valgrind runs threads one at a time on a lock of its own and
     * multiplies the switches, so the count is only checked without it. */
    if (!RUNNING_ON_VALGRIND)
        cr_assert_leq(total, 3 * WAKERS,
                      "16 waiters slept %ld times in pool_acquire "
                      "(per waiter:%s); at most %d expected: each release "
                      "must wake only the waiter it serves",
                      total, each, 3 * WAKERS);
    pt_done(p, kv);
}

/* ---- [POOL-5] deadlines and timed-out waiters -----------------------------
 */

TK_TEST(core, deadline_under_contention,
        .description = "[POOL-5] 4 threads waiting 300 ms on a pool whose "
                       "only connection is held return -ETIMEDOUT, not "
                       "before 300 ms and not much after, and leave the "
                       "queue empty")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    struct pt_borrower b[4];

    struct resp_conn *c = pt_acquire(p);
    for (int i = 0; i < 4; i++) {
        b[i] = (struct pt_borrower){.p = p, .timeout_ms = 300};
        pt_start(&b[i]);
    }
    for (int i = 0; i < 4; i++) {
        pt_join(&b[i]);
        cr_assert_eq(b[i].err, -ETIMEDOUT,
                     "waiter %d: pool_acquire returned %d, expected "
                     "-ETIMEDOUT (-110)",
                     i, b[i].err);
        cr_assert(b[i].elapsed_ms >= 299 && b[i].elapsed_ms <= 300 + LATE_MS,
                  "waiter %d timed out after %.0f ms; its deadline was "
                  "300 ms",
                  i, b[i].elapsed_ms);
    }
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.waiting == 0 && st.timeouts == 4,
              "after 4 timeouts: waiting %u timeouts %llu, expected 0 4",
              st.waiting, (unsigned long long)st.timeouts);
    struct resp_conn *none = NULL;
    double t0 = pt_ms();
    cr_assert_eq(pool_acquire(p, 0, &none), -ETIMEDOUT,
                 "pool_acquire with timeout 0 on a full pool");
    cr_assert_leq(pt_ms() - t0, LATE_MS, "timeout 0 waited");
    cr_assert_eq(pool_acquire(p, -1, &none), -EINVAL, "timeout -1");
    cr_assert_eq(pool_acquire(p, POOL_MAX_TIMEOUT_MS + 1, &none), -EINVAL,
                 "timeout over POOL_MAX_TIMEOUT_MS");
    pool_release(p, c, true);
    pt_done(p, kv);
}

TK_TEST(core, timed_out_waiter_leaves_no_trace,
        .description = "[POOL-5] a waiter that timed out between two others "
                       "is forgotten: the next releases serve the others at "
                       "once, and nothing is handed to the one that left")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    struct pt_borrower first, quitter, last;
    int counter = 0;

    struct resp_conn *c = pt_acquire(p);
    first = (struct pt_borrower){
        .p = p, .timeout_ms = LONG_MS, .keep = true, .counter = &counter};
    pt_start(&first);
    pt_wait_waiting(p, 1);
    quitter = (struct pt_borrower){.p = p, .timeout_ms = 200};
    pt_start(&quitter);
    pt_wait_waiting(p, 2);
    last = (struct pt_borrower){
        .p = p, .timeout_ms = LONG_MS, .keep = true, .counter = &counter};
    pt_start(&last);
    pt_wait_waiting(p, 3);
    pt_join(&quitter);
    cr_assert_eq(quitter.err, -ETIMEDOUT, "the 200 ms waiter returned %d",
                 quitter.err);
    pt_wait_waiting(p, 2);

    pool_release(p, c, true);
    pt_join(&first);
    cr_assert_eq(first.err, 0, "the first waiter got %d", first.err);
    double t0 = pt_ms();
    pool_release(p, first.c, true);
    pt_join(&last);
    cr_assert_eq(last.err, 0, "the last waiter got %d", last.err);
    cr_assert_leq(pt_ms() - t0, LATE_MS,
                  "the last waiter was served %.0f ms after the release: "
                  "was the connection handed to the waiter that left?",
                  pt_ms() - t0);
    pool_release(p, last.c, true);
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.waiting == 0 && st.idle == 1 && st.open == 1,
              "at the end: waiting %u idle %u open %u, expected 0 1 1",
              st.waiting, st.idle, st.open);
    pt_done(p, kv);
}

/* ---- [POOL-6] deadlines while the server is slow or refuses -------------- */

TK_TEST(core, deadline_while_connect_is_slow,
        .description = "[POOL-6] when kvd takes 5 s to serve a new "
                       "connection, pool_acquire(250 ms) returns -ETIMEDOUT "
                       "close to 250 ms")
{
    struct kvd *kv = pt_kvd(0, 5000000);
    struct pool *p = pt_pool(kv, 2);

    pt_expect_timeout(p, 250);
    struct pool_stats st = pt_pstats(p);
    cr_assert(st.open == 0 && st.pending == 0,
              "after the timeout: open %u pending %u, expected 0 0", st.open,
              st.pending);
    pt_done(p, kv);
}

TK_TEST(core, deadline_while_refused,
        .description = "[POOL-6] while kvd refuses every connection, "
                       "pool_acquire(300 ms) returns -ETIMEDOUT close to "
                       "300 ms (never a connect error), paces its retries, "
                       "and succeeds once kvd serves again")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 2);
    struct resp_conn *c = NULL;

    cr_assert_eq(kvd_refuse_for(kv, 60000), 0, "kvd_refuse_for");
    pt_expect_timeout(p, 300);
    struct pool_stats st = pt_pstats(p);
    uint64_t tries = pt_kstats(kv).accepted;
    cr_assert(st.connect_failures >= 1 && tries >= 1,
              "no connect attempt was counted (connect_failures %llu, kvd "
              "accepted %llu)",
              (unsigned long long)st.connect_failures,
              (unsigned long long)tries);
    cr_assert_leq(tries, 300 / POOL_RETRY_MS + 2,
                  "%llu connect attempts in 300 ms: wait POOL_RETRY_MS "
                  "between attempts",
                  (unsigned long long)tries);
    cr_assert(st.open == 0 && st.pending == 0, "open %u pending %u", st.open,
              st.pending);
    cr_assert_eq(kvd_refuse_for(kv, 0), 0, "kvd_refuse_for(0)");
    c = pt_acquire(p);
    pool_release(p, c, true);
    pt_done(p, kv);
}

/* ---- [POOL-7] no lost wake-up ----------------------------------------------
 */

/*
 * The race, made to happen: a borrower thread calls pool_acquire while the
 * test holds the only connection, and the test releases it a varying
 * number of spins after the borrower announced the call, sweeping the
 * release across the whole of pool_acquire's decision to wait. A release
 * that lands between "I must wait" and the wait itself must not be lost.
 */
struct racer {
    struct pool *p;
    int round;    /* the round the test asks for (atomic) */
    int calling;  /* the round whose pool_acquire is starting (atomic) */
    int done;     /* the round finished (atomic) */
    int bad;      /* first failing pool_acquire result */
    double worst; /* slowest pool_acquire, ms */
};

static int
load(int *v)
{
    return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static void
store(int *v, int x)
{
    __atomic_store_n(v, x, __ATOMIC_SEQ_CST);
}

static void *
racer(void *arg)
{
    struct racer *r = arg;

    for (int round = 1;; round++) {
        int want;
        while ((want = load(&r->round)) >= 0 && want < round)
            sched_yield();
        if (want < 0)
            return NULL;
        struct resp_conn *c = NULL;
        store(&r->calling, round);
        double t0 = pt_ms();
        int err = pool_acquire(r->p, 2000, &c);
        double took = pt_ms() - t0;
        if (took > r->worst)
            r->worst = took;
        if (err == 0)
            pool_release(r->p, c, true);
        else if (r->bad == 0)
            r->bad = err;
        store(&r->done, round);
    }
}

TK_TEST(core, no_lost_wakeup,
        .description = "[POOL-7] a release swept across every instant of "
                       "another thread's pool_acquire, thousands of times: "
                       "it always reaches that thread at once, never at its "
                       "deadline")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    int rounds = RUNNING_ON_VALGRIND ? 1000 : 4000;
    struct racer r = {.p = p};
    pthread_t th;

    cr_assert_eq(pthread_create(&th, NULL, racer, &r), 0);
    for (int round = 1; round <= rounds && r.bad == 0; round++) {
        struct resp_conn *c = NULL;
        int err = pool_acquire(p, LONG_MS, &c);
        cr_assert_eq(err, 0, "round %d: the test's own pool_acquire: %d", round,
                     err);
        store(&r.round, round);
        while (load(&r.calling) < round)
            ;
        for (volatile int spin = 0; spin < round % 512; spin++)
            ;
        pool_release(p, c, true);
        while (load(&r.done) < round)
            sched_yield();
    }
    store(&r.round, -1);
    pthread_join(th, NULL);
    cr_assert_eq(r.bad, 0,
                 "pool_acquire returned %d (%s) although the connection was "
                 "released microseconds after it began: a lost wake-up",
                 r.bad, strerror(-r.bad));
    cr_assert_leq(r.worst, 1500,
                  "a pool_acquire waited %.0f ms for a connection released "
                  "microseconds after it began: a lost wake-up",
                  r.worst);
    pt_done(p, kv);
}

/* ---- [POOL-8] close ---------------------------------------------------------
 */

TK_TEST(core, close_wakes_every_waiter,
        .description = "[POOL-8] pool_close makes every thread waiting in "
                       "pool_acquire return -ESHUTDOWN at once; the "
                       "connection lent at the time is closed when it comes "
                       "back")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);
    struct pt_borrower b[3];

    struct resp_conn *c = pt_acquire(p);
    for (int i = 0; i < 3; i++) {
        b[i] = (struct pt_borrower){.p = p, .timeout_ms = LONG_MS};
        pt_start(&b[i]);
    }
    pt_wait_waiting(p, 3);
    double t0 = pt_ms();
    pool_close(p);
    for (int i = 0; i < 3; i++) {
        pt_join(&b[i]);
        cr_assert_eq(b[i].err, -ESHUTDOWN,
                     "waiter %d: pool_acquire returned %d after pool_close, "
                     "expected -ESHUTDOWN (-108)",
                     i, b[i].err);
    }
    cr_assert_leq(pt_ms() - t0, LATE_MS,
                  "the waiters left %.0f ms after pool_close", pt_ms() - t0);
    pt_ping(c); /* still the caller's until released */
    pool_release(p, c, true);
    pt_wait_connected(kv, 0);
    kvd_stop(kv);
}

TK_TEST(core, close_leaks_nothing,
        .description = "[POOL-8] pool_close closes idle connections at once "
                       "and lent ones as they are released: afterwards no "
                       "descriptor is left open and kvd holds none")
{
    struct kvd *kv = pt_kvd(0, 0);
    int fds = tk_count_open_fds();
    struct pool *p = pt_pool(kv, 3);

    struct resp_conn *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = pt_acquire(p);
    pool_release(p, c[0], true);
    pt_wait_connected(kv, 3);
    pool_close(p);
    pt_wait_connected(kv, 2); /* the idle one */
    pool_release(p, c[1], true);
    pt_wait_connected(kv, 1);
    pool_release(p, c[2], false);
    pt_wait_connected(kv, 0);
    cr_assert_eq(tk_count_open_fds(), fds,
                 "%d descriptors open after the pool closed and every "
                 "connection came back; %d before it opened",
                 tk_count_open_fds(), fds);
    kvd_stop(kv);
}

/* ---- [POOL-9] nested acquire ------------------------------------------------
 */

TK_TEST(core, nested_acquire_times_out,
        .description = "[POOL-9] a thread holding the only connection of a "
                       "pool of 1 that asks for another gets -ETIMEDOUT at "
                       "its deadline instead of waiting forever for itself")
{
    struct kvd *kv = pt_kvd(0, 0);
    struct pool *p = pt_pool(kv, 1);

    struct resp_conn *outer = pt_acquire(p);
    pt_expect_timeout(p, 200); /* nested: this thread holds the only one */
    pt_ping(outer);
    pool_release(p, outer, true);
    pt_done(p, kv);
}
