/*
 * test_aside.c - exercise 2 of chapter 10: cache-aside.
 *
 * The store is a kvd in a thread of the test; the loader (helpers.c) does
 * a GET on the test's connection, counts itself, and can stop at a gate
 * the test opens: that is how concurrent misses and the write race are
 * made to happen in one exact order instead of by luck. kvd's command
 * counter is a second witness of the loads the loader counts.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "iolab/testkit.h"

static unsigned
loads(struct cachet_db *db)
{
    return __atomic_load_n(&db->loads, __ATOMIC_SEQ_CST);
}

/* cache_aside_get of key that must return the string want. */
static void
expect_value(struct cache_aside *a, const char *key, const char *want)
{
    char buf[64] = {0};
    ssize_t n = cache_aside_get(a, key, strlen(key), buf, sizeof(buf) - 1);

    cr_assert_eq(n, (ssize_t)strlen(want),
                 "get(\"%s\") returned %zd, expected %zu (\"%s\")", key, n,
                 strlen(want), want);
    cr_assert_str_eq(buf, want, "get(\"%s\") returned \"%s\", expected \"%s\"",
                     key, buf, want);
}

/* ---- [CACHE-10] [CACHE-11]
 * --------------------------------------------------- */

TK_TEST(aside, open_checks_config,
        .description = "[CACHE-10] cache_aside_open refuses a missing loader "
                       "or a bad cache config with -EINVAL; stats start at 0")
{
    struct cachet_db db;
    struct cache_aside *a = NULL;
    struct cache_aside_config cfg = {.cache = {.max_bytes = 4096},
                                     .load = cachet_load};
    struct cache_aside_config noload = {.cache = {.max_bytes = 4096}};
    struct cache_aside_config nobytes = {.load = cachet_load};

    cr_assert_eq(cache_aside_open(NULL, &a), -EINVAL, "NULL cfg");
    cr_assert_eq(cache_aside_open(&cfg, NULL), -EINVAL, "NULL out");
    cr_assert_eq(cache_aside_open(&noload, &a), -EINVAL, "no loader");
    cr_assert_eq(cache_aside_open(&nobytes, &a), -EINVAL, "max_bytes 0");
    cr_assert_null(a, "a failed cache_aside_open wrote *out");

    cachet_db_start(&db);
    a = cachet_aside(&db, NULL, 0, 0);
    struct cache_aside_stats st = cachet_astats(a);
    cr_assert(st.hits == 0 && st.neg_hits == 0 && st.loads == 0 &&
                  st.shared == 0 && st.refused == 0 && st.waiting == 0 &&
                  st.flights == 0,
              "the stats of a new cache-aside are not all zero");
    cache_aside_close(a);
    cache_aside_close(NULL);
    cachet_db_stop(&db);
}

TK_TEST(aside, miss_loads_once_then_hits,
        .description = "[CACHE-11] a miss loads from the store and fills the "
                       "cache: the next gets are hits, with no load")
{
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "user:1", "alice");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);
    uint64_t cmds = cachet_db_commands(&db);

    expect_value(a, "user:1", "alice");
    for (int i = 0; i < 10; i++)
        expect_value(a, "user:1", "alice");
    cr_assert_eq(loads(&db), 1, "%u loads for 11 gets of one key, expected 1",
                 loads(&db));
    cr_assert_eq(cachet_db_commands(&db) - cmds, 1,
                 "the store saw %llu commands for 11 gets, expected 1",
                 (unsigned long long)(cachet_db_commands(&db) - cmds));
    struct cache_aside_stats st = cachet_astats(a);
    cr_assert_eq(st.hits, 10, "hits: %llu, expected 10",
                 (unsigned long long)st.hits);
    cr_assert_eq(st.loads, 1, "stats.loads: %llu, expected 1",
                 (unsigned long long)st.loads);

    char buf[2];
    cr_assert_eq(cache_aside_get(a, "user:1", 6, buf, 2), 5,
                 "a get into a short buffer returns the full length");
    cr_assert_eq(cache_aside_get(a, "", 0, buf, 2), -EINVAL, "an empty key");
    cache_aside_close(a);
    cachet_db_stop(&db);
}

/* ---- [CACHE-12] [CACHE-13] ----------------------------------------------- */

#define HERD 64

TK_TEST(aside, one_load_for_64_concurrent_misses,
        .description = "[CACHE-12] 64 threads that miss one key at once "
                       "cause one load; the other 63 wait for it and all "
                       "get its value")
{
    static struct cachet_getter g[HERD];
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "hot", "value");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);
    uint64_t cmds = cachet_db_commands(&db);

    cachet_gate_arm(&db, 1);
    for (int i = 0; i < HERD; i++) {
        g[i] = (struct cachet_getter){.a = a, .key = "hot"};
        cachet_get_start(&g[i]);
    }
    cachet_gate_wait_held(&db, 1);
    /*
     * The first load is held. Wait until the other 63 wait for it, or
     * until a second load shows they do not (then fail below).
     */
    double end = cachet_ms() + LONG_MS;
    while (cachet_astats(a).waiting < HERD - 1 && loads(&db) == 1 &&
           cachet_ms() < end)
        sched_yield();
    cachet_gate_open(&db);
    for (int i = 0; i < HERD; i++)
        cachet_get_join(&g[i]);

    cr_assert_eq(loads(&db), 1,
                 "%u loads for 64 concurrent misses of one key, expected 1",
                 loads(&db));
    cr_assert_eq(cachet_db_commands(&db) - cmds, 1,
                 "the store saw %llu commands, expected 1",
                 (unsigned long long)(cachet_db_commands(&db) - cmds));
    for (int i = 0; i < HERD; i++)
        cr_assert(g[i].n == 5 && strcmp(g[i].val, "value") == 0,
                  "thread %d got %zd \"%s\", expected 5 \"value\"", i, g[i].n,
                  g[i].val);
    struct cache_aside_stats st = cachet_astats(a);
    /* A thread the scheduler held back past the load may hit instead. */
    cr_assert_eq(st.shared + st.hits, HERD - 1,
                 "stats.shared + stats.hits: %llu + %llu, expected %d",
                 (unsigned long long)st.shared, (unsigned long long)st.hits,
                 HERD - 1);
    cr_assert(st.waiting == 0 && st.flights == 0,
              "after every get returned: %u waiting, %u flights", st.waiting,
              st.flights);
    cache_aside_close(a);
    cachet_db_stop(&db);
}

/* Starts g and waits (up to LONG_MS) for it to finish; true if it did. */
static bool
finishes_meanwhile(struct cachet_getter *g)
{
    cachet_get_start(g);
    double end = cachet_ms() + LONG_MS;
    while (!__atomic_load_n(&g->finished, __ATOMIC_SEQ_CST) &&
           cachet_ms() < end)
        sched_yield();
    return __atomic_load_n(&g->finished, __ATOMIC_SEQ_CST);
}

TK_TEST(aside, slow_load_blocks_no_other_key,
        .description = "[CACHE-12] while one key's load is under way, a hit "
                       "and a miss of other keys complete: the loader runs "
                       "without the cache's lock held")
{
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "slow", "1");
    cachet_db_set(&db, "warm", "2");
    cachet_db_set(&db, "cold", "3");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);
    struct cachet_getter slow = {.a = a, .key = "slow"};
    struct cachet_getter hit = {.a = a, .key = "warm"};
    struct cachet_getter miss = {.a = a, .key = "cold"};

    expect_value(a, "warm", "2"); /* cached before the slow load */
    cachet_gate_arm(&db, 1);
    cachet_get_start(&slow);
    cachet_gate_wait_held(&db, 1);

    bool hit_done = finishes_meanwhile(&hit);
    bool miss_done = hit_done && finishes_meanwhile(&miss);
    cachet_gate_open(&db);
    cachet_get_join(&slow);
    cachet_get_join(&hit);
    if (hit_done)
        cachet_get_join(&miss);

    cr_assert(hit_done, "a hit of another key waited for a load in flight "
                        "(is the lock held while the loader runs?)");
    cr_assert(miss_done, "a miss of another key waited for a load in flight");
    cr_assert(hit.n == 1 && strcmp(hit.val, "2") == 0 && miss.n == 1 &&
                  strcmp(miss.val, "3") == 0 && slow.n == 1,
              "values: warm %zd \"%s\", cold %zd \"%s\", slow %zd", hit.n,
              hit.val, miss.n, miss.val, slow.n);
    cache_aside_close(a);
    cachet_db_stop(&db);
}

TK_TEST(aside, load_error_reaches_every_waiter,
        .description = "[CACHE-13] a failed load is returned to the loader "
                       "and to every thread waiting for it, and is not "
                       "cached: the next get loads again")
{
    enum { N = 8 };
    struct cachet_getter g[N];
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "k", "v");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);

    db.fail = -EIO;
    cachet_gate_arm(&db, 1);
    for (int i = 0; i < N; i++) {
        g[i] = (struct cachet_getter){.a = a, .key = "k"};
        cachet_get_start(&g[i]);
    }
    cachet_gate_wait_held(&db, 1);
    double end = cachet_ms() + LONG_MS;
    while (cachet_astats(a).waiting < N - 1 && loads(&db) == 1 &&
           cachet_ms() < end)
        sched_yield();
    cachet_gate_open(&db);
    for (int i = 0; i < N; i++)
        cachet_get_join(&g[i]);
    for (int i = 0; i < N; i++)
        cr_assert_eq(g[i].n, -EIO, "thread %d got %zd, expected -EIO (%d)", i,
                     g[i].n, -EIO);
    cr_assert_eq(loads(&db), 1, "%u loads, expected 1 shared by %d threads",
                 loads(&db), N);

    pthread_mutex_lock(&db.mu);
    db.fail = 0;
    pthread_mutex_unlock(&db.mu);
    expect_value(a, "k", "v");
    cr_assert_eq(loads(&db), 2,
                 "the get after a failed load made %u loads in all, "
                 "expected 2 (is the error cached?)",
                 loads(&db));
    cache_aside_close(a);
    cachet_db_stop(&db);
}

/* ---- [CACHE-14] ------------------------------------------------------------
 */

TK_TEST(aside, absent_key_cached_negatively,
        .description = "[CACHE-14] a key the store lacks is -ENOENT, cached "
                       "as absent for neg_ttl_ms: no load until then, one "
                       "after")
{
    uint64_t now = 1000;
    struct cachet_db db;
    cachet_db_start(&db);
    struct cache_aside *a = cachet_aside(&db, &now, 60000, 200);
    char buf[8];

    for (int i = 0; i < 100; i++)
        cr_assert_eq(cache_aside_get(a, "nope", 4, buf, sizeof(buf)), -ENOENT,
                     "get of a key the store lacks: expected -ENOENT");
    cr_assert_eq(loads(&db), 1,
                 "100 gets of an absent key made %u loads, expected 1 "
                 "(is the absence cached?)",
                 loads(&db));
    struct cache_aside_stats st = cachet_astats(a);
    cr_assert_eq(st.neg_hits, 99, "stats.neg_hits: %llu, expected 99",
                 (unsigned long long)st.neg_hits);

    now = 1000 + 200 - 1; /* just before neg_ttl_ms */
    cr_assert_eq(cache_aside_get(a, "nope", 4, buf, sizeof(buf)), -ENOENT,
                 "get just before neg_ttl_ms");
    now = 1000 + 200;
    cachet_db_set(&db, "nope", "now");
    cr_assert_eq(cache_aside_get(a, "nope", 4, buf, sizeof(buf)), 3,
                 "after neg_ttl_ms the store is asked again and has it");
    cr_assert_eq(loads(&db), 2, "%u loads in all, expected 2", loads(&db));
    cache_aside_close(a);
    cachet_db_stop(&db);
}

/* ---- [CACHE-15] [CACHE-16]
 * --------------------------------------------------- */

TK_TEST(aside, invalidate_drops_value,
        .description = "[CACHE-15] after the store is written and the key "
                       "invalidated, the next get loads the new value")
{
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "k", "old");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);

    expect_value(a, "k", "old");
    cachet_db_set(&db, "k", "new");
    expect_value(a, "k", "old"); /* the cache does not know yet */
    cr_assert_eq(cache_aside_invalidate(a, "k", 1), 0, "invalidate");
    expect_value(a, "k", "new");
    cr_assert_eq(loads(&db), 2, "%u loads, expected 2", loads(&db));
    cr_assert_eq(cache_aside_invalidate(a, "absent", 6), 0,
                 "invalidating a key not cached is 0");
    cr_assert_eq(cache_aside_invalidate(a, NULL, 1), -EINVAL, "NULL key");
    cache_aside_close(a);
    cachet_db_stop(&db);
}

TK_TEST(aside, invalidate_beats_an_earlier_load,
        .description = "[CACHE-16] a load that read the old value before an "
                       "update and its invalidation does not fill the cache "
                       "with it, and a get after the invalidation loads "
                       "afresh instead of waiting for it")
{
    struct cachet_db db;
    cachet_db_start(&db);
    cachet_db_set(&db, "k", "old");
    struct cache_aside *a = cachet_aside(&db, NULL, 0, 0);
    struct cachet_getter reader = {.a = a, .key = "k"};
    struct cachet_getter late = {.a = a, .key = "k"};

    /* 1. A reader misses; its load reads "old" and is held. */
    cachet_gate_arm(&db, 1);
    cachet_get_start(&reader);
    cachet_gate_wait_held(&db, 1);
    /* 2. The writer updates the store, then invalidates. */
    cachet_db_set(&db, "k", "new");
    cr_assert_eq(cache_aside_invalidate(a, "k", 1), 0, "invalidate");
    /* 3. A get after the invalidation must not wait for the old load. */
    cachet_get_start(&late);
    double end = cachet_ms() + LONG_MS;
    while (!__atomic_load_n(&late.finished, __ATOMIC_SEQ_CST) &&
           cachet_astats(a).waiting == 0 && cachet_ms() < end)
        sched_yield();
    bool late_waited = !__atomic_load_n(&late.finished, __ATOMIC_SEQ_CST);
    /* 4. The old load finishes last, with the old value. */
    cachet_gate_open(&db);
    cachet_get_join(&reader);
    cachet_get_join(&late);

    cr_assert(!late_waited && late.n == 3 && strcmp(late.val, "new") == 0,
              "a get after the invalidation returned %zd \"%s\"%s, expected "
              "3 \"new\"",
              late.n, late.val,
              late_waited ? " after waiting for the load that read the old "
                            "value"
                          : "");
    cr_assert_eq(reader.n, 3, "the reader's own get: %zd", reader.n);
    expect_value(a, "k", "new");
    struct cache_aside_stats st = cachet_astats(a);
    cr_assert_eq(st.refused, 1,
                 "stats.refused: %llu, expected 1 (the old load's value)",
                 (unsigned long long)st.refused);
    cache_aside_close(a);
    cachet_db_stop(&db);
}
