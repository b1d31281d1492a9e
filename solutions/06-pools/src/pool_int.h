/*
 * pool_int.h - what the two files of the reference pool share: the pool's
 * state, its invariants, and the few functions one file calls in the
 * other. pool.c is the core (the queue, connecting, the contract's
 * open/acquire/release/close); pool_health.c is exercise 2 (lifetime,
 * validation, the idle timeout) and pool_stats.
 *
 * Not part of the contract: the tests never see it.
 */
#ifndef POOL_INT_H
#define POOL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pool.h"

/*
 * One place for a connection. A slot with c == NULL is free; otherwise it
 * is lent (busy) or idle.
 */
struct slot {
    struct resp_conn *c; /* the connection, or NULL: a free slot */
    bool busy;           /* lent to a caller */
    uint64_t expires_ns; /* retire once past this; UINT64_MAX: never */
    uint64_t used_ns;    /* when it last became idle (or was made) */
    uint64_t lent_ns;    /* lent: when this loan began */
    const char *site;    /* lent: the borrower's site, for leak reports */
    bool leak_told;      /* lent: this loan was reported as a leak */
};

struct waiter; /* a thread queued in pool_acquire: see pool.c */

/*
 * Invariants, all under lock:
 *  - open + pending <= cfg.max_size (the hard maximum);
 *  - idle == the number of slots with c != NULL && !busy;
 *  - while the queue is not empty, no slot is idle and
 *    open + pending == max_size (otherwise someone would have been
 *    served): a connection is handed to a waiter, never left idle
 *    beside one;
 *  - users counts threads inside pool_acquire plus connections lent; the
 *    pool is freed when it is closed and users reaches 0.
 */
struct pool {
    pthread_mutex_t lock;
    pthread_condattr_t cattr;  /* CLOCK_MONOTONIC, for the waiters' cv */
    struct pool_config cfg;    /* a copy; cfg.host points to host */
    char *host;                /* owned copy of the address, or NULL */
    struct slot *slots;        /* cfg.max_size of them */
    unsigned open;             /* slots with a connection */
    unsigned idle;             /* of those, not lent */
    unsigned pending;          /* connects under way (not in a slot yet) */
    unsigned waiting;          /* waiters in the queue */
    struct waiter *head;       /* longest waiting; NULL: queue empty */
    struct waiter *tail;       /* most recent */
    unsigned users;            /* threads in pool_acquire + lent conns */
    bool closed;               /* pool_close was called */
    uint64_t rng;              /* xorshift64 state, for the jitter */
    struct pool_stats counted; /* the counters (the gauges are above) */
};

/* The monotonic clock in nanoseconds (a vDSO call, no syscall). */
static inline uint64_t
pool_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
pool_ms_to_ns(int ms)
{
    return (uint64_t)ms * 1000000u;
}

/* pool.c: closes the connection in s, frees the slot, counts it
 * destroyed. Under the lock. */
void pool_retire(struct pool *p, struct slot *s);

/* pool_health.c, all under the lock but pool_alive. */

/* When a connection made now must go: its lifetime less up to 1/4. */
uint64_t pool_expiry(struct pool *p, uint64_t now);

/* Retires idle connections that are too old, then surplus ones idle too
 * long; reports loans held too long. */
void pool_tidy(struct pool *p, uint64_t now);

/* Whether an idle connection must be checked before it is lent. */
bool pool_needs_check(const struct pool *p, const struct slot *s, uint64_t now);

/* Whether an idle connection still looks alive (a system call: called
 * without the lock). */
bool pool_alive(struct resp_conn *c);

#endif /* POOL_INT_H */
