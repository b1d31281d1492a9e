/*
 * helpers.c - the helpers of helpers.h: clock, caches, the database, the
 * loader with its gate, and getter threads.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "iolab/testkit.h"

uint64_t
cachet_clock(void *arg)
{
    return __atomic_load_n((uint64_t *)arg, __ATOMIC_SEQ_CST);
}

struct cache *
cachet_open(struct cache_config cfg)
{
    struct cache *c = NULL;

    int err = cache_open(&cfg, &c);
    cr_assert_eq(err, 0, "cache_open returned %d (%s), expected 0", err,
                 strerror(-err));
    cr_assert_not_null(c, "cache_open returned 0 but no cache");
    return c;
}

void
cachet_put(struct cache *c, const char *key, const char *val)
{
    int err = cache_put(c, key, strlen(key), val, strlen(val), 0);
    cr_assert_eq(err, 0, "cache_put(\"%s\") returned %d (%s), expected 0", key,
                 err, strerror(-err));
}

bool
cachet_has(struct cache *c, const char *key)
{
    char buf[64];
    ssize_t n = cache_get(c, key, strlen(key), buf, sizeof(buf));

    cr_assert(n >= 0 || n == -ENOENT,
              "cache_get(\"%s\") returned %zd, expected a length or -ENOENT",
              key, n);
    return n >= 0;
}

struct cache_stats
cachet_stats(const struct cache *c)
{
    struct cache_stats st;

    memset(&st, 0xff, sizeof(st));
    cache_stats(c, &st);
    return st;
}

double
cachet_ms(void)
{
    return (double)tk_now_ns() / 1e6;
}

/* ---- the database ------------------------------------------------------ */

void
cachet_db_start(struct cachet_db *db)
{
    *db = (struct cachet_db){0};
    int err = kvd_start(NULL, &db->kv);
    cr_assert_eq(err, 0, "kvd_start: %s", strerror(-err));
    err = resp_connect(NULL, kvd_port(db->kv), LONG_MS, &db->conn);
    cr_assert_eq(err, 0, "resp_connect: %s", strerror(-err));
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
}

void
cachet_db_stop(struct cachet_db *db)
{
    resp_close(db->conn);
    kvd_stop(db->kv);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->mu);
}

void
cachet_db_set(struct cachet_db *db, const char *key, const char *val)
{
    struct resp_reply r = {0};

    pthread_mutex_lock(&db->mu);
    int err = resp_call(db->conn, &r, LONG_MS, "SET", key, val, NULL);
    pthread_mutex_unlock(&db->mu);
    cr_assert_eq(err, 0, "SET in the database: %s", strerror(-err));
    resp_reply_free(&r);
}

uint64_t
cachet_db_commands(struct cachet_db *db)
{
    struct kvd_stats st;

    kvd_stats(db->kv, &st);
    return st.commands;
}

void
cachet_gate_arm(struct cachet_db *db, unsigned n)
{
    pthread_mutex_lock(&db->mu);
    db->arm = n;
    db->open = false;
    pthread_mutex_unlock(&db->mu);
}

void
cachet_gate_wait_held(struct cachet_db *db, unsigned n)
{
    double end = cachet_ms() + LONG_MS;

    pthread_mutex_lock(&db->mu);
    while (db->held < n && cachet_ms() < end) {
        pthread_mutex_unlock(&db->mu);
        sched_yield();
        pthread_mutex_lock(&db->mu);
    }
    unsigned held = db->held;
    pthread_mutex_unlock(&db->mu);
    cr_assert_eq(held, n, "%u loads reached the loader's gate, expected %u",
                 held, n);
}

void
cachet_gate_open(struct cachet_db *db)
{
    pthread_mutex_lock(&db->mu);
    db->open = true;
    pthread_cond_broadcast(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

ssize_t
cachet_load(void *arg, const char *key, size_t klen, char *buf, size_t cap)
{
    struct cachet_db *db = arg;
    struct resp_reply r = {0};
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, klen};
    ssize_t n;

    __atomic_fetch_add(&db->loads, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&db->mu);
    int err = resp_command(db->conn, &r, LONG_MS, 2, argv, lens);
    if (err < 0)
        n = err;
    else if (r.type == RESP_NIL)
        n = -ENOENT;
    else if (r.type != RESP_BULK || r.len > cap)
        n = -EPROTO;
    else
        n = (ssize_t)r.len;
    if (n >= 0)
        memcpy(buf, r.str, r.len);
    resp_reply_free(&r);

    /* The value is read; now the test may hold it back (the race). */
    if (db->arm > 0) {
        db->arm--;
        db->held++;
        while (!db->open)
            pthread_cond_wait(&db->cv, &db->mu);
        db->held--;
    }
    if (db->fail != 0)
        n = db->fail;
    pthread_mutex_unlock(&db->mu);
    return n;
}

struct cache_aside *
cachet_aside(struct cachet_db *db, uint64_t *now, unsigned ttl_ms,
             unsigned neg_ttl_ms)
{
    struct cache_aside_config cfg = {
        .cache = {.max_bytes = 1 << 20,
                  .ttl_ms = ttl_ms,
                  .seed = 42,
                  .clock = now != NULL ? cachet_clock : NULL,
                  .clock_arg = now},
        .load = cachet_load,
        .load_arg = db,
        .neg_ttl_ms = neg_ttl_ms,
    };
    struct cache_aside *a = NULL;

    int err = cache_aside_open(&cfg, &a);
    cr_assert_eq(err, 0, "cache_aside_open returned %d (%s), expected 0", err,
                 strerror(-err));
    cr_assert_not_null(a, "cache_aside_open returned 0 but nothing");
    return a;
}

struct cache_aside_stats
cachet_astats(struct cache_aside *a)
{
    struct cache_aside_stats st;

    memset(&st, 0xff, sizeof(st));
    cache_aside_stats(a, &st);
    return st;
}

/* ---- getter threads ----------------------------------------------------- */

static void *
getter(void *arg)
{
    struct cachet_getter *g = arg;

    g->n = cache_aside_get(g->a, g->key, strlen(g->key), g->val,
                           sizeof(g->val) - 1);
    if (g->n >= 0)
        g->val[(size_t)g->n < sizeof(g->val) ? g->n : 0] = '\0';
    __atomic_store_n(&g->finished, true, __ATOMIC_SEQ_CST);
    return NULL;
}

void
cachet_get_start(struct cachet_getter *g)
{
    g->finished = false;
    g->n = 1;
    memset(g->val, 0, sizeof(g->val));
    int err = pthread_create(&g->thread, NULL, getter, g);
    cr_assert_eq(err, 0, "pthread_create: %s", strerror(err));
}

void
cachet_get_join(struct cachet_getter *g)
{
    pthread_join(g->thread, NULL);
}
