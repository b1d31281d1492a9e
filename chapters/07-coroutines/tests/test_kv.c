/*
 * test_kv.c - exercise 4 of chapter 07: many coroutines sharing a small
 * pool of connections to kvd.
 *
 * kvd runs in a thread of the test (kvd_start); the pool and every
 * coroutine run on the test's own thread, in one co_sched_run. What the
 * server saw (connections accepted, commands) comes from kvd's counters,
 * never from timing; the order in which waiters are served comes from a
 * counter each one bumps when it gets its connection. A waiter that is
 * never woken ends the run with -EDEADLK (nothing else could wake it), so
 * a lost wake-up fails fast instead of hanging.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "iolab/kvd.h"
#include "iolab/resp.h"

#define LATE_MS 2500 /* slack for "returns close to its deadline" */

static struct kvd *
kv_server(void)
{
    struct kvd *kv = NULL;

    int err = kvd_start(NULL, &kv);
    cr_assert_eq(err, 0, "kvd_start: %s", strerror(-err));
    return kv;
}

static struct co_kv_pool *
kv_pool(struct kvd *kv, unsigned max)
{
    struct co_kv_config cfg = {.port = kvd_port(kv), .max_conns = max};
    struct co_kv_pool *p = NULL;

    int err = co_kv_open(&cfg, &p);
    cr_assert_eq(err, 0, "co_kv_open returned %d (%s), expected 0", err,
                 strerror(-err));
    return p;
}

static struct kvd_stats
kv_kstats(struct kvd *kv)
{
    struct kvd_stats st;

    kvd_stats(kv, &st);
    return st;
}

static struct co_kv_stats
kv_pstats(struct co_kv_pool *p)
{
    struct co_kv_stats st;

    co_kv_stats(p, &st);
    return st;
}

/* A command of NUL-terminated strings, ending with NULL: its argv. */
#define KV_MAXARGS 4
static int
kv_args(const char **argv, va_list ap)
{
    int n = 0;
    const char *s;

    while (n < KV_MAXARGS && (s = va_arg(ap, const char *)) != NULL)
        argv[n++] = s;
    return n;
}

/* co_kv_request(p, timeout, &r, args...); returns its result. */
static int
kv_req(struct co_kv_pool *p, int timeout_ms, struct resp_reply *r, ...)
{
    const char *argv[KV_MAXARGS];
    va_list ap;

    va_start(ap, r);
    int n = kv_args(argv, ap);
    va_end(ap);
    return co_kv_request(p, timeout_ms, r, n, argv, NULL);
}

/* A PING on c that must come back PONG. */
static void
kv_ping(struct co_kv_conn *c, const char *who)
{
    const char *argv[] = {"PING"};
    struct resp_reply r = {0};

    int err = co_kv_call(c, &r, 1, argv, NULL);
    cr_assert_eq(err, 0,
                 "%s: a PING on the connection it was lent failed: "
                 "%d (%s)",
                 who, err, strerror(-err));
    bool pong = r.type == RESP_SIMPLE && strcmp(r.str, "PONG") == 0;
    resp_reply_free(&r);
    cr_assert(pong, "%s: a PING was not answered PONG", who);
}

/* co_kv_acquire that must succeed. */
static struct co_kv_conn *
kv_acquire(struct co_kv_pool *p, const char *who)
{
    struct co_kv_conn *c = NULL;

    int err = co_kv_acquire(p, -1, &c);
    cr_assert_eq(err, 0, "%s: co_kv_acquire returned %d (%s), expected 0", who,
                 err, strerror(-err));
    cr_assert_not_null(c, "%s: co_kv_acquire returned 0 and no connection",
                       who);
    return c;
}

/* ---- many coroutines, distinct keys ----------------------------------- */

/*
 * The workers' finish line: the last worker to finish wakes the test's
 * coroutine. Workers are detached and waited for this way rather than
 * joined, so that these tests rest on exercise 4's co_wake alone, whatever
 * the order in which the workers finish.
 */
struct kv_finish {
    struct co *waiter; /* parked until left is 0 */
    int left;          /* workers still running */
};

/* One worker: K rounds of SET k:i:j v, GET k:i:j, each value its own. */
struct kv_worker {
    struct co_kv_pool *p;
    struct kv_finish *fin;
    int id, rounds;
    int done; /* rounds whose GET returned the worker's own value */
};

static void
kv_work(void *arg)
{
    struct kv_worker *w = arg;
    char key[48], val[64];
    struct resp_reply r = {0};

    for (int j = 0; j < w->rounds; j++) {
        snprintf(key, sizeof(key), "k:%d:%d", w->id, j);
        snprintf(val, sizeof(val), "value of coroutine %d, round %d", w->id, j);
        int err = kv_req(w->p, -1, &r, "SET", key, val, NULL);
        cr_assert_eq(err, 0, "coroutine %d: SET %s returned %d (%s)", w->id,
                     key, err, strerror(-err));
        cr_assert(r.type == RESP_SIMPLE && strcmp(r.str, "OK") == 0,
                  "coroutine %d: SET %s was not answered OK (type %d): a "
                  "reply meant for another coroutine?",
                  w->id, key, (int)r.type);
        resp_reply_free(&r);
        err = kv_req(w->p, -1, &r, "GET", key, NULL);
        cr_assert_eq(err, 0, "coroutine %d: GET %s returned %d (%s)", w->id,
                     key, err, strerror(-err));
        cr_assert(r.type == RESP_BULK && strcmp(r.str, val) == 0,
                  "coroutine %d: GET %s returned \"%s\", expected \"%s\": "
                  "a reply meant for another coroutine?",
                  w->id, key, r.type == RESP_BULK ? r.str : "(not a string)",
                  val);
        resp_reply_free(&r);
        w->done++;
    }
    if (--w->fin->left == 0)
        cr_assert_eq(co_wake(w->fin->waiter), 0,
                     "co_wake of the coroutine waiting for the workers "
                     "failed");
}

/* Spawns n workers of `rounds` rounds on p and waits until all finished. */
static void
kv_run_workers(struct co_kv_pool *p, struct kv_worker *w, int n, int rounds,
               int first_id)
{
    struct kv_finish fin = {.waiter = co_current(), .left = n};

    for (int i = 0; i < n; i++) {
        w[i] = (struct kv_worker){
            .p = p, .fin = &fin, .id = first_id + i, .rounds = rounds};
        cr_assert_eq(co_detach(ct_spawn_ok(kv_work, &w[i])), 0,
                     "co_detach failed");
    }
    while (fin.left > 0) {
        int err = co_wait(-1, 0, -1);
        cr_assert_eq(err, 0, "co_wait for the workers returned %d", err);
    }
    for (int i = 0; i < n; i++)
        cr_assert_eq(w[i].done, rounds, "worker %d finished %d rounds of %d", i,
                     w[i].done, rounds);
}

#define WORKERS 1000
#define ROUNDS 3
#define POOL 4

struct kv_many {
    struct kvd *kv;
    struct kv_worker *w;
};

static void
many_main(void *arg)
{
    struct kv_many *m = arg;
    struct co_kv_pool *p = kv_pool(m->kv, POOL);

    kv_run_workers(p, m->w, WORKERS, ROUNDS, 0);
    struct co_kv_stats ps = kv_pstats(p);
    struct kvd_stats ks = kv_kstats(m->kv);
    cr_assert_eq(ks.accepted, POOL,
                 "kvd accepted %llu connections for %d requests; expected "
                 "exactly %d, the pool's size (never more at once, each "
                 "reused)",
                 (unsigned long long)ks.accepted, WORKERS * ROUNDS * 2, POOL);
    cr_assert_eq(ks.commands, (uint64_t)WORKERS * ROUNDS * 2,
                 "kvd ran %llu commands, expected %d",
                 (unsigned long long)ks.commands, WORKERS * ROUNDS * 2);
    cr_assert_eq(ps.opened, POOL, "stats.opened is %lu, expected %d", ps.opened,
                 POOL);
    cr_assert(ps.parked > 0, "stats.parked is 0: with 1,000 coroutines on 4 "
                             "connections, some must have waited");
    cr_assert(ps.open == POOL && ps.idle == POOL && ps.waiting == 0,
              "at the end: open %u, idle %u, waiting %u; expected %d, %d, 0",
              ps.open, ps.idle, ps.waiting, POOL, POOL);
    co_kv_close(p);
}

TK_TEST(kv, thousand_coroutines_four_conns,
        .description = "[CO-32] 1,000 coroutines x 3 SET/GET pairs over a "
                       "pool of 4: every reply is its requester's, kvd "
                       "accepts exactly 4 connections")
{
    struct kv_many m = {.kv = kv_server(),
                        .w = tk_xmalloc(WORKERS * sizeof(struct kv_worker))};

    ct_run(many_main, &m);
    free(m.w);
    kvd_stop(m.kv);
}

/* ---- broken connections ------------------------------------------------- */

static void
killed_main(void *arg)
{
    struct kvd *kv = arg;
    struct co_kv_pool *p = kv_pool(kv, POOL);
    struct kv_worker w[100];

    kv_run_workers(p, w, 100, 2, 0);
    cr_assert_eq(kv_pstats(p).idle, POOL,
                 "after 100 workers, %u idle, "
                 "expected %d",
                 kv_pstats(p).idle, POOL);
    cr_assert_eq(kvd_drop_all(kv), 0, "kvd_drop_all failed");

    /* Every idle connection is dead now: each request that finds one must
     * be sent again on a fresh connection, and succeed. */
    kv_run_workers(p, w, 100, 2, 100);
    struct co_kv_stats ps = kv_pstats(p);
    struct kvd_stats ks = kv_kstats(kv);
    cr_assert_eq(ps.discarded, POOL,
                 "stats.discarded is %lu after kvd closed the %d idle "
                 "connections; expected %d",
                 ps.discarded, POOL, POOL);
    cr_assert_eq(ps.retries, POOL,
                 "stats.retries is %lu, expected %d (one "
                 "per dead connection)",
                 ps.retries, POOL);
    cr_assert_eq(ks.accepted, 2 * POOL,
                 "kvd accepted %llu connections in all, expected %d: %d, "
                 "then %d to replace the killed ones",
                 (unsigned long long)ks.accepted, 2 * POOL, POOL, POOL);
    cr_assert(ps.open == POOL && ps.idle == POOL,
              "at the end: open %u, idle %u; expected %d, %d", ps.open, ps.idle,
              POOL, POOL);
    co_kv_close(p);
}

TK_TEST(kv, killed_connections_replaced,
        .description = "[CO-36] [CO-37] kvd drops every idle connection: "
                       "each is found dead once, discarded, and the request "
                       "goes through on a fresh connection")
{
    struct kvd *kv = kv_server();

    ct_run(killed_main, kv);
    kvd_stop(kv);
}

/* A coroutine that acquires and records what happened; keeps or releases. */
struct kv_waiter {
    struct co_kv_pool *p;
    int timeout_ms;
    int *counter; /* order of service, shared */
    int err;      /* co_kv_acquire's result */
    int order;    /* its rank in *counter, when served */
    long long took_ms;
    const char *name;
};

static void
kv_wait_one(void *arg)
{
    struct kv_waiter *w = arg;
    struct co_kv_conn *c = NULL;
    long long t0 = tk_now_ms();

    w->err = co_kv_acquire(w->p, w->timeout_ms, &c);
    w->took_ms = tk_now_ms() - t0;
    if (w->err != 0)
        return;
    if (w->counter != NULL)
        w->order = (*w->counter)++;
    kv_ping(c, w->name);
    co_yield(); /* hold it a little: the others contend */
    co_kv_release(w->p, c, false);
}

static void
broken_main(void *arg)
{
    struct kvd *kv = arg;
    struct co_kv_pool *p = kv_pool(kv, 1);
    struct co_kv_conn *c = kv_acquire(p, "the first coroutine");
    struct kv_waiter b = {.p = p, .timeout_ms = -1, .name = "the waiter"};

    kv_ping(c, "the first coroutine");
    struct co *co = ct_spawn_ok(kv_wait_one, &b);
    co_yield(); /* b parks: the pool's one connection is lent */
    cr_assert_eq(kv_pstats(p).waiting, 1, "stats.waiting is %u, expected 1",
                 kv_pstats(p).waiting);

    cr_assert_eq(kvd_drop_all(kv), 0, "kvd_drop_all failed");
    const char *argv[] = {"PING"};
    struct resp_reply r = {0};
    int err = co_kv_call(c, &r, 1, argv, NULL);
    cr_assert_eq(err, -ECONNRESET,
                 "co_kv_call on a connection kvd closed returned %d (%s), "
                 "expected -ECONNRESET (-104)",
                 err, strerror(-err));
    co_kv_release(p, c, false); /* the call marked it broken */

    cr_assert_eq(co_join(co), 0, "co_join failed");
    cr_assert_eq(b.err, 0, "the waiter's co_kv_acquire returned %d (%s)", b.err,
                 strerror(-b.err));
    struct co_kv_stats ps = kv_pstats(p);
    cr_assert_eq(ps.discarded, 1, "stats.discarded is %lu, expected 1",
                 ps.discarded);
    cr_assert_eq(ps.opened, 2,
                 "stats.opened is %lu, expected 2: the waiter "
                 "needed a fresh connection",
                 ps.opened);
    cr_assert_eq(kv_kstats(kv).accepted, 2,
                 "kvd accepted %llu connections, "
                 "expected 2",
                 (unsigned long long)kv_kstats(kv).accepted);
    co_kv_close(p);
}

TK_TEST(kv, broken_release_gives_waiter_fresh,
        .description = "[CO-36] a connection whose call failed is released: "
                       "it is closed, and the waiter gets a fresh one")
{
    struct kvd *kv = kv_server();

    ct_run(broken_main, kv);
    kvd_stop(kv);
}

/* ---- deadline, cancellation, order -------------------------------------- */

#define DEADLINE_MS 200

static void
deadline_main(void *arg)
{
    struct kvd *kv = arg;
    struct co_kv_pool *p = kv_pool(kv, 1);
    struct co_kv_conn *c = kv_acquire(p, "the holder");
    struct kv_waiter b = {.p = p, .timeout_ms = DEADLINE_MS, .name = "b"};

    struct co *co = ct_spawn_ok(kv_wait_one, &b);
    cr_assert_eq(co_join(co), 0, "co_join failed");
    cr_assert_eq(b.err, -ETIMEDOUT,
                 "co_kv_acquire(%d ms) with the only connection lent "
                 "returned %d (%s), expected -ETIMEDOUT (-110)",
                 DEADLINE_MS, b.err, strerror(-b.err));
    cr_assert(b.took_ms >= DEADLINE_MS && b.took_ms <= DEADLINE_MS + LATE_MS,
              "co_kv_acquire(%d ms) returned after %lld ms", DEADLINE_MS,
              b.took_ms);
    struct co_kv_stats ps = kv_pstats(p);
    cr_assert(ps.waiting == 0 && ps.timeouts == 1,
              "after the timeout: waiting %u, timeouts %lu; expected 0, 1 "
              "(a waiter that timed out must leave the line)",
              ps.waiting, ps.timeouts);

    co_kv_release(p, c, false);
    ps = kv_pstats(p);
    cr_assert(ps.idle == 1 && ps.open == 1,
              "released with nobody waiting: idle %u, open %u; expected 1, 1",
              ps.idle, ps.open);
    c = NULL;
    int err = co_kv_acquire(p, 0, &c);
    cr_assert_eq(err, 0,
                 "co_kv_acquire(0 ms) of the idle connection "
                 "returned %d (%s)",
                 err, strerror(-err));
    kv_ping(c, "the last acquire");
    co_kv_release(p, c, false);
    co_kv_close(p);
}

TK_TEST(kv, acquire_deadline,
        .description = "[CO-34] co_kv_acquire with every connection lent "
                       "returns -ETIMEDOUT at its deadline, not before, and "
                       "leaves the line")
{
    struct kvd *kv = kv_server();

    ct_run(deadline_main, kv);
    kvd_stop(kv);
}

static void
cancel_main(void *arg)
{
    struct kvd *kv = arg;
    struct co_kv_pool *p = kv_pool(kv, 1);
    struct co_kv_conn *c = kv_acquire(p, "the holder");
    struct kv_waiter w[3];
    struct co *co[3];
    const char *names[] = {"b", "c", "d"};

    for (int i = 0; i < 3; i++) {
        w[i] = (struct kv_waiter){.p = p, .timeout_ms = -1, .name = names[i]};
        co[i] = ct_spawn_ok(kv_wait_one, &w[i]);
    }
    co_yield(); /* b, c, d park, in that order */
    cr_assert_eq(kv_pstats(p).waiting, 3, "stats.waiting is %u, expected 3",
                 kv_pstats(p).waiting);

    /* b is cancelled while it waits. */
    cr_assert_eq(co_cancel(co[0]), 0, "co_cancel(b) failed");
    cr_assert_eq(co_join(co[0]), 0, "co_join(b) failed");
    cr_assert_eq(w[0].err, -ECANCELED,
                 "a waiter cancelled in co_kv_acquire got %d, expected "
                 "-ECANCELED (-125)",
                 w[0].err);
    cr_assert_eq(kv_pstats(p).waiting, 2,
                 "after b's cancellation, "
                 "stats.waiting is %u, expected 2",
                 kv_pstats(p).waiting);

    /* c is handed the connection, and cancelled before it runs: it must
     * pass the connection on to d. */
    co_kv_release(p, c, false);
    cr_assert_eq(co_cancel(co[1]), 0, "co_cancel(c) failed");
    cr_assert_eq(co_join(co[1]), 0, "co_join(c) failed");
    cr_assert_eq(w[1].err, -ECANCELED,
                 "a waiter handed a connection, then cancelled before it "
                 "ran, got %d, expected -ECANCELED (-125)",
                 w[1].err);
    cr_assert_eq(co_join(co[2]), 0, "co_join(d) failed");
    cr_assert_eq(w[2].err, 0, "d, behind the cancelled ones, got %d (%s)",
                 w[2].err, strerror(-w[2].err));

    struct co_kv_stats ps = kv_pstats(p);
    cr_assert(ps.open == 1 && ps.idle == 1 && ps.waiting == 0 && ps.opened == 1,
              "at the end: open %u, idle %u, waiting %u, opened %lu; "
              "expected 1, 1, 0, 1 (no slot lost, none added)",
              ps.open, ps.idle, ps.waiting, ps.opened);
    co_kv_close(p);
}

TK_TEST(kv, cancel_while_waiting,
        .description = "[CO-35] [CO-31] waiters cancelled in co_kv_acquire, "
                       "one of them after a connection was handed to it: "
                       "-ECANCELED, and no slot is lost")
{
    struct kvd *kv = kv_server();

    ct_run(cancel_main, kv);
    kvd_stop(kv);
}

#define WAITERS 8

static void
fifo_main(void *arg)
{
    struct kvd *kv = arg;
    struct co_kv_pool *p = kv_pool(kv, 1);
    struct co_kv_conn *c = kv_acquire(p, "the holder");
    struct kv_waiter w[WAITERS];
    struct co *co[WAITERS];
    char names[WAITERS][16];
    int counter = 0;

    for (int i = 0; i < WAITERS; i++) {
        snprintf(names[i], sizeof(names[i]), "waiter %d", i);
        w[i] = (struct kv_waiter){
            .p = p, .timeout_ms = -1, .counter = &counter, .name = names[i]};
        co[i] = ct_spawn_ok(kv_wait_one, &w[i]);
        co_yield(); /* it parks before the next one comes */
    }
    cr_assert_eq(kv_pstats(p).waiting, WAITERS,
                 "stats.waiting is %u, expected %d", kv_pstats(p).waiting,
                 WAITERS);

    /* Released, the connection belongs to waiter 0 at once: the releaser
     * itself, asking again before waiter 0 has run, must not get it. */
    co_kv_release(p, c, false);
    c = NULL;
    int err = co_kv_acquire(p, 0, &c);
    cr_assert_eq(err, -ETIMEDOUT,
                 "co_kv_acquire right after a release, with %d waiting, "
                 "returned %d; expected -ETIMEDOUT (-110): the connection "
                 "was the longest waiter's",
                 WAITERS, err);
    for (int i = 0; i < WAITERS; i++) {
        cr_assert_eq(co_join(co[i]), 0, "co_join failed");
        cr_assert_eq(w[i].err, 0, "waiter %d got %d (%s)", i, w[i].err,
                     strerror(-w[i].err));
        cr_assert_eq(w[i].order, i,
                     "waiter %d (queued in place %d) was served in place "
                     "%d: waiters must be served first come, first served",
                     i, i, w[i].order);
    }
    co_kv_close(p);
}

TK_TEST(kv, waiters_fifo,
        .description = "[CO-33] [CO-31] 8 coroutines wait for the only "
                       "connection: they get it in the order they came, and "
                       "a later one cannot take it first")
{
    struct kvd *kv = kv_server();

    ct_run(fifo_main, kv);
    kvd_stop(kv);
}
