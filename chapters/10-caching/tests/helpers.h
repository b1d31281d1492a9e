/*
 * helpers.h - what chapter 10's two test files share: a fake clock the
 * test moves by hand, caches opened on it, and a "database" (a kvd in a
 * thread of the test) behind a loader the test controls: it counts its
 * calls, can hold a load at a gate until the test opens it, and can fail.
 */
#ifndef CACHE_TEST_HELPERS_H
#define CACHE_TEST_HELPERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "iolab/kvd.h"
#include "iolab/resp.h"

#define LONG_MS 20000 /* a wait that must not end by its deadline */

/* A clock the test sets: cachet_clock reads *(uint64_t *)arg. */
uint64_t cachet_clock(void *arg);

/* cache_open that must succeed. */
struct cache *cachet_open(struct cache_config cfg);

/* cache_put that must succeed (ttl 0: the config's). */
void cachet_put(struct cache *c, const char *key, const char *val);

/* True when key is in c (a cache_get, so it counts and touches). */
bool cachet_has(struct cache *c, const char *key);

struct cache_stats cachet_stats(const struct cache *c);

/*
 * The database and its loader. Each load is a GET on one connection of
 * the test's (under a mutex), then the gate (if armed for it), then the
 * planned failure (if any).
 */
struct cachet_db {
    struct kvd *kv;         /* the database */
    struct resp_conn *conn; /* the loader's connection */
    pthread_mutex_t mu;     /* guards conn and the gate */
    pthread_cond_t cv;      /* the gate's changes */
    unsigned loads;         /* loader calls (atomic) */
    unsigned arm;           /* the next `arm` loads stop at the gate */
    unsigned held;          /* loads stopped at the gate now */
    bool open;              /* the gate is open */
    int fail;               /* 0, or the -errno every load returns */
};

/* Starts the database (kvd, no delay) and connects the loader. */
void cachet_db_start(struct cachet_db *db);
void cachet_db_stop(struct cachet_db *db);

/* SET key val in the database (the write path's first step). */
void cachet_db_set(struct cachet_db *db, const char *key, const char *val);

/* Commands kvd has processed (the loader's GETs and the test's SETs). */
uint64_t cachet_db_commands(struct cachet_db *db);

/* Arms the gate for the next n loads / waits until n are held / opens it. */
void cachet_gate_arm(struct cachet_db *db, unsigned n);
void cachet_gate_wait_held(struct cachet_db *db, unsigned n);
void cachet_gate_open(struct cachet_db *db);

/* The loader (cache_load_cb) over db. */
ssize_t cachet_load(void *arg, const char *key, size_t klen, char *buf,
                    size_t cap);

/* cache_aside_open over db, on the clock *now (NULL: the real clock). */
struct cache_aside *cachet_aside(struct cachet_db *db, uint64_t *now,
                                 unsigned ttl_ms, unsigned neg_ttl_ms);

struct cache_aside_stats cachet_astats(struct cache_aside *a);

/* One thread's cache_aside_get of key, its result and value. */
struct cachet_getter {
    struct cache_aside *a;
    const char *key;
    pthread_t thread;
    bool finished; /* atomic: the get returned */
    ssize_t n;     /* its result */
    char val[64];  /* the value, NUL-terminated */
};

void cachet_get_start(struct cachet_getter *g);
void cachet_get_join(struct cachet_getter *g);

/* Milliseconds since some fixed moment (CLOCK_MONOTONIC). */
double cachet_ms(void);

#endif /* CACHE_TEST_HELPERS_H */
