/*
 * pool.c - chapter 06's exercises: a connection pool for kvd.
 *
 * The contract is in include/pool.h; the design is yours. Each TODO's stub
 * fails safely (-ENOSYS, or nothing), so the tests of the other TODOs run.
 *
 * Organisation: the pool's state and its invariants; small helpers (clock,
 * slots, the waiter queue); making and checking a connection; retiring
 * connections (exercise 2); then the five functions of the contract.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/*
 * TODO(core.1): design the pool. It needs a lock, the connections (which
 * are lent, which are idle, and for exercise 2 when each was made and last
 * used), a count of connects under way, a queue of waiting threads in
 * arrival order with a way to wake exactly one of them, and what
 * pool_close needs to free the pool only once nothing uses it.
 */
// SOLUTION-BEGIN
/*
 * One place for a connection. A slot with c == NULL is free; otherwise it
 * is lent (busy) or idle.
 */
struct slot {
    struct resp_conn *c; /* the connection, or NULL: a free slot */
    bool busy;           /* lent to a caller */
    uint64_t expires_ns; /* retire once past this; UINT64_MAX: never */
    uint64_t used_ns;    /* when it last became idle (or was made) */
};

/*
 * A thread waiting in pool_acquire. It lives on that thread's stack, so
 * nothing may point to it after the thread leaves the queue: whoever
 * serves it unlinks it first, and a waiter that times out unlinks itself.
 * Each waiter has its own condition variable, so a release wakes the one
 * thread it serves and nobody else.
 */
struct waiter {
    pthread_cond_t cv;   /* signalled once, by whoever serves it */
    struct waiter *next; /* the one that came after it */
    struct slot *got;    /* served: a connection, already marked busy */
    bool may_connect;    /* served: a place to connect in (pending++ done) */
    bool shut;           /* served: the pool closed */
};

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
// SOLUTION-STUB
// struct pool {
//     int todo; /* replace with your design */
// };
// SOLUTION-END

// SOLUTION-BEGIN
/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* The monotonic clock in nanoseconds (a vDSO call, no syscall). */
static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
ms_to_ns(int ms)
{
    return (uint64_t)ms * 1000000u;
}

static struct timespec
to_timespec(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
                             .tv_nsec = (long)(ns % 1000000000u)};
}

/* Appends w to the queue. */
static void
enqueue(struct pool *p, struct waiter *w)
{
    w->next = NULL;
    if (p->tail != NULL)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    p->waiting++;
}

/* Removes and returns the longest waiter. The queue is not empty. */
static struct waiter *
dequeue(struct pool *p)
{
    struct waiter *w = p->head;

    p->head = w->next;
    if (p->head == NULL)
        p->tail = NULL;
    p->waiting--;
    return w;
}

/* Removes w from anywhere in the queue (a waiter that timed out). */
static void
unlink_waiter(struct pool *p, struct waiter *w)
{
    struct waiter *prev = NULL;

    for (struct waiter *it = p->head; it != NULL; prev = it, it = it->next) {
        if (it != w)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            p->head = w->next;
        if (p->tail == w)
            p->tail = prev;
        p->waiting--;
        return;
    }
}

/* Closes the connection in s and frees the slot; idle or lent. */
static void
drop(struct pool *p, struct slot *s)
{
    if (!s->busy)
        p->idle--;
    resp_close(s->c);
    *s = (struct slot){.c = NULL};
    p->open--;
}

/* drop, for a connection the pool retires (counted). */
static void
retire(struct pool *p, struct slot *s)
{
    drop(p, s);
    p->counted.destroyed++;
}

/*
 * The idle connection used most recently, marked busy; NULL if none.
 * Most recent first keeps the hot ones busy and lets the surplus age
 * out through the idle timeout.
 */
static struct slot *
take_idle(struct pool *p)
{
    struct slot *best = NULL;

    if (p->idle == 0)
        return NULL;
    for (unsigned i = 0; i < p->cfg.max_size; i++) {
        struct slot *s = &p->slots[i];
        if (s->c != NULL && !s->busy &&
            (best == NULL || s->used_ns > best->used_ns))
            best = s;
    }
    best->busy = true;
    p->idle--;
    return best;
}

/*
 * Serves waiters while it can: an idle connection, or else a place to
 * connect in. Each served waiter is unlinked, then signalled alone.
 */
static void
dispatch(struct pool *p)
{
    while (p->head != NULL) {
        struct slot *s = take_idle(p);
        if (s == NULL && p->open + p->pending >= p->cfg.max_size)
            return;
        struct waiter *w = dequeue(p);
        if (s != NULL) {
            w->got = s;
        } else {
            w->may_connect = true;
            p->pending++;
        }
        pthread_cond_signal(&w->cv);
    }
}

/* ===================================================================== */
/* Exercise 2: retiring connections                                      */
/* ===================================================================== */

/* When a connection made now must go: its lifetime less up to 1/4. */
static uint64_t
expiry(struct pool *p, uint64_t now)
{
    if (p->cfg.max_lifetime_ms <= 0)
        return UINT64_MAX;
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    uint64_t life = ms_to_ns(p->cfg.max_lifetime_ms);
    return now + life - p->rng % (life / 4 + 1);
}

/*
 * Closes idle connections past their lifetime, then the least recently
 * used idle ones past the idle timeout while more than min_idle are idle.
 */
static void
reap(struct pool *p, uint64_t now)
{
    for (unsigned i = 0; i < p->cfg.max_size && p->idle > 0; i++) {
        struct slot *s = &p->slots[i];
        if (s->c != NULL && !s->busy && s->expires_ns <= now)
            retire(p, s);
    }
    if (p->cfg.idle_timeout_ms <= 0)
        return;
    uint64_t limit = ms_to_ns(p->cfg.idle_timeout_ms);
    while (p->idle > p->cfg.min_idle) {
        struct slot *lru = NULL;
        for (unsigned i = 0; i < p->cfg.max_size; i++) {
            struct slot *s = &p->slots[i];
            if (s->c != NULL && !s->busy &&
                (lru == NULL || s->used_ns < lru->used_ns))
                lru = s;
        }
        if (now - lru->used_ns < limit)
            return;
        retire(p, lru);
    }
}

/* Whether an idle connection must be checked before it is lent. */
static bool
needs_check(const struct pool *p, const struct slot *s, uint64_t now)
{
    int after = p->cfg.validate_idle_ms;
    return after >= 0 && now - s->used_ns >= ms_to_ns(after);
}

/*
 * Whether an idle connection still looks alive, without a round trip: a
 * peek that would block means nothing arrived, which on an idle
 * connection is the only healthy answer. End of file (0), a reset, or
 * bytes nobody asked for (a stale reply) all mean "do not lend it".
 */
static bool
alive(struct resp_conn *c)
{
    char b;
    ssize_t n;

    if (resp_conn_buffered(c) > 0)
        return false;
    do
        n = recv(resp_conn_fd(c), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    while (n == -1 && errno == EINTR);
    return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ===================================================================== */
/* Making a connection                                                   */
/* ===================================================================== */

/*
 * Opens a connection and proves the server serves it with a PING, all
 * before the deadline. A server that accepts and then closes (a refusal)
 * fails here, not in the caller's first command. Called without the lock.
 */
static int
open_conn(const struct pool *p, uint64_t deadline, struct resp_conn **out)
{
    struct resp_conn *c = NULL;
    struct resp_reply r = {0};
    uint64_t now = now_ns();

    if (now >= deadline)
        return -ETIMEDOUT;
    int err = resp_connect(p->cfg.host, p->cfg.port,
                           (int)((deadline - now + 999999) / 1000000), &c);
    if (err < 0)
        return err;
    now = now_ns();
    if (now >= deadline) {
        err = -ETIMEDOUT;
        goto out_close;
    }
    err = resp_call(c, &r, (int)((deadline - now + 999999) / 1000000), "PING",
                    NULL);
    if (err == 0 && (r.type != RESP_SIMPLE || strcmp(r.str, "PONG") != 0))
        err = -EPROTO;
    resp_reply_free(&r);
    if (err < 0)
        goto out_close;
    *out = c;
    return 0;

out_close:
    resp_close(c);
    return err;
}

/* Frees everything; no thread and no lent connection uses the pool. */
static void
destroy(struct pool *p)
{
    for (unsigned i = 0; i < p->cfg.max_size; i++)
        resp_close(p->slots[i].c);
    free(p->slots);
    free(p->host);
    pthread_condattr_destroy(&p->cattr);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
// SOLUTION-STUB
// /* Your helpers go here. */
// SOLUTION-END

/* ===================================================================== */
/* The contract                                                          */
/* ===================================================================== */

/*
 * TODO(core.2): check the configuration [POOL-1], copy it (the host
 * string too) and set up an empty pool: no connection is opened here.
 */
int
pool_open(const struct pool_config *cfg, struct pool **out)
{
    // SOLUTION-BEGIN
    if (cfg == NULL || out == NULL || cfg->port == 0 || cfg->max_size == 0 ||
        cfg->max_size > POOL_MAX_SIZE || cfg->min_idle > cfg->max_size)
        return -EINVAL;
    struct pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->cfg = *cfg;
    p->slots = calloc(cfg->max_size, sizeof(*p->slots));
    if (p->slots == NULL)
        goto out_free;
    if (cfg->host != NULL) {
        p->host = strdup(cfg->host);
        if (p->host == NULL)
            goto out_free_slots;
    }
    p->cfg.host = p->host;
    if (pthread_condattr_init(&p->cattr) != 0)
        goto out_free_host;
    pthread_condattr_setclock(&p->cattr, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        goto out_attr;
    p->rng = now_ns() | 1;
    *out = p;
    return 0;

out_attr:
    pthread_condattr_destroy(&p->cattr);
out_free_host:
    free(p->host);
out_free_slots:
    free(p->slots);
out_free:
    free(p);
    return -ENOMEM;
    // SOLUTION-STUB
    // (void)cfg;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(core.3): lend an idle connection, or connect a new one if the
 * maximum allows (without holding the lock while connecting, and counting
 * the connect toward the maximum [POOL-2]), or queue and wait, woken
 * alone and in arrival order [POOL-3][POOL-4], until the deadline
 * [POOL-5][POOL-6]. A waiter that gives up must leave the queue
 * [POOL-5]; a release between "I must wait" and the wait must not be
 * missed [POOL-7]; pool_close ends every wait [POOL-8]. Exercise 2: do
 * not lend a dead connection [POOL-11].
 */
int
pool_acquire(struct pool *p, int timeout_ms, struct resp_conn **out)
{
    // SOLUTION-BEGIN
    if (p == NULL || out == NULL || timeout_ms < 0 ||
        timeout_ms > POOL_MAX_TIMEOUT_MS)
        return -EINVAL;
    uint64_t deadline = now_ns() + ms_to_ns(timeout_ms);
    struct timespec until = to_timespec(deadline);
    int err;

    pthread_mutex_lock(&p->lock);
    p->users++;
    reap(p, now_ns());
    for (;;) {
        struct slot *s = NULL;
        bool connect = false;

        if (p->closed) {
            err = -ESHUTDOWN;
            break;
        }
        /* Nobody waits: take what is there. Otherwise queue behind them. */
        if (p->head == NULL && (s = take_idle(p)) != NULL) {
            /* an idle connection */
        } else if (p->head == NULL && p->open + p->pending < p->cfg.max_size) {
            p->pending++; /* counts toward the maximum from now on */
            connect = true;
        } else {
            struct waiter w = {.got = NULL};
            int rc = 0;

            pthread_cond_init(&w.cv, &p->cattr);
            enqueue(p, &w);
            /* Whoever serves w sets a field before signalling, under the
             * lock we hold until the wait begins: no wake-up is lost. */
            while (w.got == NULL && !w.may_connect && !w.shut &&
                   rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&w.cv, &p->lock, &until);
            if (w.got == NULL && !w.may_connect && !w.shut)
                unlink_waiter(p, &w); /* timed out: leave no trace */
            pthread_cond_destroy(&w.cv);
            s = w.got;
            connect = w.may_connect;
            if (p->closed) {
                /* Served and then closed, or woken by the close. */
                if (s != NULL)
                    drop(p, s);
                if (connect)
                    p->pending--;
                err = -ESHUTDOWN;
                break;
            }
            if (s == NULL && !connect) {
                p->counted.timeouts++;
                err = -ETIMEDOUT;
                break;
            }
        }
        if (s != NULL) {
            if (needs_check(p, s, now_ns())) {
                /* The peek is a system call: made without the lock. */
                pthread_mutex_unlock(&p->lock);
                bool ok = alive(s->c);
                pthread_mutex_lock(&p->lock);
                if (!ok) {
                    retire(p, s);
                    dispatch(p);
                    continue;
                }
            }
            *out = s->c; /* users stays counted: the loan holds it */
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        /* connect: the slot is reserved (pending); the lock is dropped. */
        pthread_mutex_unlock(&p->lock);
        struct resp_conn *c = NULL;
        int cerr = open_conn(p, deadline, &c);
        pthread_mutex_lock(&p->lock);
        p->pending--;
        if (cerr == 0 && !p->closed) {
            for (unsigned i = 0; i < p->cfg.max_size; i++) {
                if (p->slots[i].c == NULL) {
                    s = &p->slots[i];
                    break;
                }
            }
            uint64_t now = now_ns();
            *s = (struct slot){.c = c,
                               .busy = true,
                               .expires_ns = expiry(p, now),
                               .used_ns = now};
            p->open++;
            p->counted.connects++;
            *out = c;
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        if (cerr == 0) { /* made it, but the pool closed meanwhile */
            resp_close(c);
            err = -ESHUTDOWN;
            break;
        }
        p->counted.connect_failures++;
        dispatch(p); /* the place is free again: a waiter may try */
        uint64_t now = now_ns();
        if (now >= deadline) {
            p->counted.timeouts++;
            err = -ETIMEDOUT;
            break;
        }
        /* Back off before the next attempt, without the lock. */
        uint64_t pause = ms_to_ns(POOL_RETRY_MS);
        if (deadline - now < pause)
            pause = deadline - now;
        pthread_mutex_unlock(&p->lock);
        struct timespec ts = to_timespec(pause);
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
        pthread_mutex_lock(&p->lock);
    }
    p->users--;
    bool last = p->closed && p->users == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        destroy(p);
    return err;
    // SOLUTION-STUB
    // (void)p;
    // (void)timeout_ms;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(core.4): take the connection back. A healthy one goes to the
 * longest waiter, waking that one alone, or becomes idle; a broken one is
 * closed and its place offered to a waiter [POOL-10]. After pool_close,
 * close it, and free the pool if it was the last thing out [POOL-8].
 * Exercise 2: one past its lifetime is closed too [POOL-12].
 */
void
pool_release(struct pool *p, struct resp_conn *c, bool healthy)
{
    // SOLUTION-BEGIN
    struct slot *s = NULL;

    if (p == NULL || c == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->cfg.max_size; i++) {
        if (p->slots[i].c == c && p->slots[i].busy) {
            s = &p->slots[i];
            break;
        }
    }
    if (s == NULL) { /* not ours: a caller's bug; touch nothing */
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->users--;
    if (p->closed) {
        drop(p, s);
        bool last = p->users == 0;
        pthread_mutex_unlock(&p->lock);
        if (last)
            destroy(p);
        return;
    }
    uint64_t now = now_ns();
    if (!healthy || s->expires_ns <= now || resp_conn_buffered(c) > 0) {
        retire(p, s);
    } else {
        s->busy = false;
        s->used_ns = now;
        p->idle++;
    }
    reap(p, now);
    dispatch(p);
    pthread_mutex_unlock(&p->lock);
    // SOLUTION-STUB
    // (void)p;
    // (void)c;
    // (void)healthy;
    // SOLUTION-END
}

/*
 * TODO(core.5): close the pool: wake every waiter with -ESHUTDOWN, close
 * the idle connections, and leave the lent ones to pool_release; free the
 * pool when nothing uses it any more [POOL-8].
 */
void
pool_close(struct pool *p)
{
    // SOLUTION-BEGIN
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->closed = true;
    while (p->head != NULL) {
        struct waiter *w = dequeue(p);
        w->shut = true;
        pthread_cond_signal(&w->cv);
    }
    for (unsigned i = 0; i < p->cfg.max_size; i++)
        if (p->slots[i].c != NULL && !p->slots[i].busy)
            drop(p, &p->slots[i]);
    bool last = p->users == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        destroy(p);
    // SOLUTION-STUB
    // (void)p;
    // SOLUTION-END
}

/*
 * TODO(core.6): fill *out from the pool's state, under its lock [POOL-1].
 * Exercise 2: retire what is due first [POOL-12][POOL-13].
 */
void
pool_stats(struct pool *p, struct pool_stats *out)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    reap(p, now_ns());
    *out = p->counted;
    out->open = p->open;
    out->idle = p->idle;
    out->in_use = p->open - p->idle;
    out->pending = p->pending;
    out->waiting = p->waiting;
    pthread_mutex_unlock(&p->lock);
    // SOLUTION-STUB
    // (void)p;
    // *out = (struct pool_stats){.open = 0};
    // SOLUTION-END
}
