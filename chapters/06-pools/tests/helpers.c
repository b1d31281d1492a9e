/*
 * helpers.c - the helpers of helpers.h: kvd, pools, borrowers, waits.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "iolab/testkit.h"

struct kvd *
pt_kvd(unsigned rtt_us, unsigned accept_us)
{
    struct kvd_config cfg = {.rtt_delay_us = rtt_us,
                             .accept_delay_us = accept_us};
    struct kvd *kv = NULL;

    int err = kvd_start(&cfg, &kv);
    cr_assert_eq(err, 0, "kvd_start: %s", strerror(-err));
    return kv;
}

struct pool *
pt_pool_cfg(struct kvd *kv, struct pool_config cfg)
{
    struct pool *p = NULL;

    cfg.port = kvd_port(kv);
    int err = pool_open(&cfg, &p);
    cr_assert_eq(err, 0, "pool_open returned %d (%s), expected 0", err,
                 strerror(-err));
    cr_assert_not_null(p, "pool_open returned 0 but no pool");
    return p;
}

struct pool *
pt_pool(struct kvd *kv, unsigned max_size)
{
    return pt_pool_cfg(kv, (struct pool_config){.max_size = max_size});
}

void
pt_done(struct pool *p, struct kvd *kv)
{
    pool_close(p);
    kvd_stop(kv);
}

void
pt_ping(struct resp_conn *c)
{
    struct resp_reply r = {0};

    int err = resp_call(c, &r, LONG_MS, "PING", NULL);
    cr_assert_eq(err, 0, "a PING on a connection the pool lent failed: %d (%s)",
                 err, strerror(-err));
    bool pong = r.type == RESP_SIMPLE && strcmp(r.str, "PONG") == 0;
    resp_reply_free(&r);
    cr_assert(pong, "a PING on a lent connection was not answered PONG "
                    "(a stale reply left on it?)");
}

struct resp_conn *
pt_acquire(struct pool *p)
{
    return pt_acquire_at(p, NULL);
}

struct resp_conn *
pt_acquire_at(struct pool *p, const char *site)
{
    struct resp_conn *c = NULL;

    int err = site != NULL ? pool_acquire_at(p, LONG_MS, &c, site)
                           : pool_acquire(p, LONG_MS, &c);
    cr_assert_eq(err, 0, "pool_acquire returned %d (%s), expected 0", err,
                 strerror(-err));
    cr_assert_not_null(c, "pool_acquire returned 0 but no connection");
    pt_ping(c);
    return c;
}

void
pt_fill(struct pool *p, struct resp_conn **c, int n)
{
    for (int i = 0; i < n; i++)
        c[i] = pt_acquire(p);
    for (int i = 0; i < n; i++)
        pool_release(p, c[i], true);
}

void
pt_expect_timeout(struct pool *p, int ms)
{
    struct resp_conn *c = NULL;

    double t0 = pt_ms();
    int err = pool_acquire(p, ms, &c);
    double took = pt_ms() - t0;
    cr_assert_eq(err, -ETIMEDOUT,
                 "pool_acquire(%d ms) returned %d (%s), expected -ETIMEDOUT "
                 "(-110)",
                 ms, err, strerror(-err));
    cr_assert(took >= ms - 1 && took <= ms + LATE_MS,
              "pool_acquire(%d ms) returned after %.0f ms", ms, took);
}

struct kvd_stats
pt_kstats(struct kvd *kv)
{
    struct kvd_stats st;

    kvd_stats(kv, &st);
    return st;
}

struct pool_stats
pt_pstats(struct pool *p)
{
    struct pool_stats st;

    memset(&st, 0xff, sizeof(st));
    pool_stats(p, &st);
    return st;
}

double
pt_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void
pt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) == -1)
        ;
}

void
pt_sleep_until(double t0, double ms)
{
    double left = t0 + ms - pt_ms();

    if (left > 0)
        pt_sleep_ms((int)left + 1);
}

void
pt_wait_connected(struct kvd *kv, uint64_t n)
{
    double end = pt_ms() + LONG_MS;
    uint64_t now = 0;

    while (pt_ms() < end) {
        now = pt_kstats(kv).connected;
        if (now == n)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("kvd still holds %llu connections, expected %llu",
                   (unsigned long long)now, (unsigned long long)n);
}

void
pt_wait_waiting(struct pool *p, unsigned n)
{
    double end = pt_ms() + LONG_MS;
    unsigned now = 0;

    while (pt_ms() < end) {
        now = pt_pstats(p).waiting;
        if (now == n)
            return;
        sched_yield();
    }
    cr_assert_fail("pool_stats says %u threads wait, expected %u", now, n);
}

static long
my_nvcsw(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

static void *
borrow(void *arg)
{
    struct pt_borrower *b = arg;
    struct resp_conn *c = NULL;

    __atomic_store_n(&b->tid, tk_gettid(), __ATOMIC_SEQ_CST);
    long v0 = my_nvcsw();
    double t0 = pt_ms();
    b->err = pool_acquire(b->p, b->timeout_ms, &c);
    b->elapsed_ms = pt_ms() - t0;
    b->nvcsw = my_nvcsw() - v0;
    if (b->err != 0)
        return NULL;
    if (b->counter != NULL)
        b->order = __atomic_fetch_add(b->counter, 1, __ATOMIC_SEQ_CST);
    if (b->ping) {
        struct resp_reply r = {0};
        if (resp_call(c, &r, LONG_MS, "PING", NULL) != 0 ||
            r.type != RESP_SIMPLE)
            b->err = -EPROTO;
        resp_reply_free(&r);
    }
    if (b->keep)
        b->c = c;
    else
        pool_release(b->p, c, true);
    return NULL;
}

void
pt_start(struct pt_borrower *b)
{
    b->tid = 0;
    b->err = 1;
    int err = pthread_create(&b->thread, NULL, borrow, b);
    cr_assert_eq(err, 0, "pthread_create: %s", strerror(err));
    while (__atomic_load_n(&b->tid, __ATOMIC_SEQ_CST) == 0)
        sched_yield();
}

void
pt_join(struct pt_borrower *b)
{
    pthread_join(b->thread, NULL);
}

struct kvd *
pt_kvd_on(unsigned short port)
{
    struct kvd_config cfg = {.port = port};
    struct kvd *kv = NULL;
    double end = pt_ms() + LONG_MS;
    int err;

    /* The port may be held for a moment by a socket of the pool's (a
     * connect whose ephemeral port happened to be this one): retry. */
    while ((err = kvd_start(&cfg, &kv)) == -EADDRINUSE && pt_ms() < end)
        pt_sleep_ms(1);
    cr_assert_eq(err, 0, "kvd_start again on port %u: %s", port,
                 strerror(-err));
    return kv;
}

void
pt_queue(struct pool *p, struct pt_borrower *b, int n, int *counter, bool keep)
{
    for (int i = 0; i < n; i++) {
        b[i] = (struct pt_borrower){
            .p = p, .timeout_ms = LONG_MS, .keep = keep, .counter = counter};
        pt_start(&b[i]);
        pt_wait_waiting(p, (unsigned)i + 1);
        tk_wait_sleeping(b[i].tid, LONG_MS);
    }
}
