/*
 * helpers.h - what chapter 06's two test files share: a kvd per test,
 * pools opened on it, threads that borrow from a pool and record what
 * happened to them, and waits that poll a condition instead of sleeping
 * for it.
 */
#ifndef POOL_TEST_HELPERS_H
#define POOL_TEST_HELPERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iolab/kvd.h"
#include "iolab/resp.h"
#include "pool.h"

#define LONG_MS 20000 /* a wait that must not end by its deadline */

/* Slack for "returns close to its deadline" on a loaded 2-core machine. */
#define LATE_MS 2500

/* Starts kvd in a thread of the test, with these delays (us). */
struct kvd *pt_kvd(unsigned rtt_us, unsigned accept_us);

/* A pool on kv; the other fields of the config are left 0. */
struct pool *pt_pool(struct kvd *kv, unsigned max_size);

/* The same with a full config; its port is set to kv's. */
struct pool *pt_pool_cfg(struct kvd *kv, struct pool_config cfg);

/* pool_close(p), then kvd_stop(kv): the end of most tests. */
void pt_done(struct pool *p, struct kvd *kv);

/* Fails the test unless c answers a PING with PONG. */
void pt_ping(struct resp_conn *c);

/* pool_acquire that must succeed within LONG_MS; pings the connection. */
struct resp_conn *pt_acquire(struct pool *p);

/* The same through pool_acquire_at(site); site NULL: pool_acquire. */
struct resp_conn *pt_acquire_at(struct pool *p, const char *site);

/* Acquires n connections into c[], then releases them all (healthy):
 * the pool holds n idle ones (if its maximum allows n). */
void pt_fill(struct pool *p, struct resp_conn **c, int n);

/* pool_acquire(p, ms) must return -ETIMEDOUT, not before ms and at most
 * LATE_MS after. */
void pt_expect_timeout(struct pool *p, int ms);

/* kvd's snapshot. */
struct kvd_stats pt_kstats(struct kvd *kv);
struct pool_stats pt_pstats(struct pool *p);

/*
 * Starts kvd again on a port an earlier one used (kvd binds with
 * SO_REUSEADDR, so the old one's connections in TIME_WAIT do not stop it).
 */
struct kvd *pt_kvd_on(unsigned short port);

/* Waits (polling every ms) until kvd holds exactly n connections. */
void pt_wait_connected(struct kvd *kv, uint64_t n);

/* Waits until n threads are queued in p. */
void pt_wait_waiting(struct pool *p, unsigned n);

/* Milliseconds since some fixed moment (CLOCK_MONOTONIC). */
double pt_ms(void);

/* Sleeps ms; sleeps until t0 + ms on the pt_ms clock (no sleep if past). */
void pt_sleep_ms(int ms);
void pt_sleep_until(double t0, double ms);

/* One borrowing thread. The test fills the first block, reads the rest. */
struct pt_borrower {
    struct pool *p;
    int timeout_ms;
    bool ping;           /* do a round trip with the connection */
    bool keep;           /* keep it (the test releases it) */
    pthread_t thread;    /* set by pt_start */
    pid_t tid;           /* the thread's id, once it runs */
    int err;             /* pool_acquire's result */
    struct resp_conn *c; /* the connection, when kept */
    double elapsed_ms;   /* how long pool_acquire took */
    long nvcsw;          /* voluntary context switches in pool_acquire */
    int order;           /* rank among borrowers of a shared counter */
    int *counter;        /* optional: an atomic counter for order */
};

/* Starts b's thread and waits until it knows its tid. */
void pt_start(struct pt_borrower *b);

/* Joins it. */
void pt_join(struct pt_borrower *b);

/*
 * Queues n borrowers b[] on p (whose every connection the caller holds),
 * one at a time: each is counted as waiting and asleep before the next
 * starts, so their arrival order is known. keep: they keep what they get.
 */
void pt_queue(struct pool *p, struct pt_borrower *b, int n, int *counter,
              bool keep);

#endif /* POOL_TEST_HELPERS_H */
