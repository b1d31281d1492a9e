/*
 * pool.h - the contract of chapter 06: a connection pool for kvd.
 *
 * A pool keeps a few open connections to one server (kvd, spoken to with
 * the course's RESP client, resp.h) and lends them to threads: a thread
 * borrows one with pool_acquire, makes its round trips, and gives it back
 * with pool_release. Opening a connection costs a handshake and the
 * server's per-connection setup (kvd's accept delay models it); borrowing
 * an idle one costs a lock.
 *
 *  - Exercise 1 (core): the bound, the queue, the deadline, the close.
 *  - Exercise 2 (health): never lend a dead connection; retire old and
 *    surplus idle ones; recover when the server comes back; report loans
 *    held too long (leaks).
 *
 * This header is the specification. The skeleton in src/ and the reference
 * solution implement exactly these functions, and the tests in tests/ use
 * nothing else. Every sentence tagged [POOL-n] is checked by a test whose
 * description names the same tag.
 *
 * Conventions (shared by every chapter): functions that act return 0 or a
 * negative errno value; nothing here installs signal handlers (resp.h
 * writes with MSG_NOSIGNAL).
 */
#ifndef IOLAB_POOL_H
#define IOLAB_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "iolab/resp.h"

/* The largest pool_config.max_size: a pool is a few connections, not many. */
#ifndef POOL_MAX_SIZE
#define POOL_MAX_SIZE 256 /* far above what Little's law asks for here */
#endif

/* The longest wait pool_acquire accepts, in ms. */
#ifndef POOL_MAX_TIMEOUT_MS
#define POOL_MAX_TIMEOUT_MS 600000 /* ten minutes: longer is a mistake */
#endif

/*
 * How long a thread whose connect failed waits before it tries again, in
 * ms, so a server that refuses every connection is not hammered.
 */
#ifndef POOL_RETRY_MS
#define POOL_RETRY_MS 10 /* a few attempts per 100 ms of deadline */
#endif

/*
 * A loan held past pool_config.leak_ms, as the pool reports it [POOL-16].
 */
struct pool_leak {
    struct resp_conn *conn; /* the connection still lent */
    const char *site;       /* what pool_acquire_at was given (NULL from
                               pool_acquire) */
    uint64_t held_ms;       /* how long it has been lent so far */
};

/*
 * A leak report. It is called with the pool's lock held, on whichever
 * thread entered the pool: it must return quickly and must not call the
 * pool (log the site, count it, and return).
 */
typedef void pool_leak_fn(void *arg, const struct pool_leak *leak);

/*
 * The configuration. Zero-initialise it, then set the fields; a zero
 * means the default given beside each field.
 */
struct pool_config {
    const char *host;      /* server address; NULL: 127.0.0.1 */
    unsigned short port;   /* server port; required */
    unsigned max_size;     /* hard maximum of connections, 1..POOL_MAX_SIZE */
    unsigned min_idle;     /* ex. 2: idle ones the idle timeout spares */
    int validate_idle_ms;  /* ex. 2: idle at least this long: checked
                              before it is lent; 0: checked every time;
                              negative: never checked */
    int idle_timeout_ms;   /* ex. 2: idle longer is closed; 0: never */
    int max_lifetime_ms;   /* ex. 2: older is closed; 0: never */
    int leak_ms;           /* ex. 2: a loan held longer is reported to
                              on_leak, once; 0 (or no on_leak): never */
    pool_leak_fn *on_leak; /* ex. 2: the report; NULL: none */
    void *leak_arg;        /* ex. 2: passed to on_leak */
};

/*
 * A snapshot of the pool. Gauges describe now; counters only grow.
 * Invariant: open + pending <= max_size, always [POOL-2].
 */
struct pool_stats {
    unsigned open;             /* gauge: connections open, idle + in use */
    unsigned idle;             /* gauge: open and not lent */
    unsigned in_use;           /* gauge: lent to callers */
    unsigned pending;          /* gauge: connects under way */
    unsigned waiting;          /* gauge: threads queued in pool_acquire */
    uint64_t connects;         /* connections opened, ever */
    uint64_t connect_failures; /* connect attempts that failed */
    uint64_t timeouts;         /* pool_acquire calls that timed out */
    uint64_t destroyed;        /* connections closed by the pool: returned
                                  broken, found dead, too old, idle too long
                                  (not those closed by pool_close) */
    uint64_t leaks;            /* loans reported to on_leak */
};

struct pool; /* opaque: yours to design, in src/pool.c */

/*
 * pool_open - make a pool for the server at cfg->host:cfg->port.
 *
 * cfg: copied (host too), so the caller may free it at once.
 * out: receives the pool; release it with pool_close.
 *
 * Returns 0, or -EINVAL (cfg or out NULL, port 0, max_size 0 or over
 * POOL_MAX_SIZE, min_idle over max_size), or -ENOMEM [POOL-1]. It opens no
 * connection: the first pool_acquire does. *out is written only on
 * success.
 */
int pool_open(const struct pool_config *cfg, struct pool **out);

/*
 * pool_acquire - borrow a connection, waiting at most timeout_ms.
 *
 * timeout_ms: 0 to POOL_MAX_TIMEOUT_MS. There is no "wait forever": a
 *             caller that waits without a deadline for a connection its
 *             own thread holds waits forever [POOL-9].
 * out:        receives the connection, ready for round trips.
 *
 * Returns:
 *  - 0 and *out. The connection is the caller's alone until pool_release.
 *    [POOL-14] It is an idle one if there is any (a connection is reused,
 *    not reopened), else a new one if the maximum allows, else one another
 *    thread releases.
 *  - -ETIMEDOUT when the deadline passed first [POOL-5]. That holds under
 *    contention, while the server delays new connections, and while it
 *    refuses them: the call returns close to its deadline, never much
 *    later [POOL-6]. Connect failures never reach the caller: a new
 *    connection counts as made only once it answered a PING, and a failed
 *    attempt is retried (after POOL_RETRY_MS) until the deadline; they
 *    show in pool_stats (connect_failures).
 *  - -ESHUTDOWN when pool_close is called while the caller waits [POOL-8].
 *  - -EINVAL for a NULL argument or a timeout out of range.
 *
 * [POOL-2] The maximum is hard: at no moment are more than max_size
 * connections open or being opened, even when many threads arrive at
 * once on an empty pool. A connect takes a long time, so it is made
 * without holding the pool's lock, and counts toward the maximum while it
 * is under way.
 *
 * [POOL-3] Waiters are served first come, first served: a connection
 * released while threads wait goes to the one that has waited longest,
 * and a thread arriving later cannot take it first.
 *
 * [POOL-4] Each release wakes at most the one waiter it serves: a pool
 * whose release wakes every waiter (a broadcast) makes N waiters cost
 * O(N^2) wake-ups, a thundering herd.
 *
 * [POOL-5] A waiter that timed out leaves no trace: nothing is handed to
 * it later, and the next waiter is served as if it had never queued. A
 * connection released at the same instant as the deadline is either
 * returned (0) or passed on, never lost.
 *
 * [POOL-7] No lost wake-up: a connection released at any moment while a
 * thread is deciding to wait reaches that thread (or an earlier waiter)
 * at once, not at its deadline.
 *
 * Thread safety: any number of threads may call pool_acquire,
 * pool_release and pool_stats at once. Not after pool_close returned.
 */
int pool_acquire(struct pool *p, int timeout_ms, struct resp_conn **out);

/*
 * pool_acquire_at - pool_acquire, naming the caller's site for leak
 * reports (exercise 2) [POOL-16].
 *
 * site: a string that outlives the loan, usually POOL_HERE ("file:line"
 *       of the call); the pool keeps the pointer, not a copy. NULL is
 *       allowed (pool_acquire passes NULL).
 */
int pool_acquire_at(struct pool *p, int timeout_ms, struct resp_conn **out,
                    const char *site);

/* "file:line" of the place it is written, for pool_acquire_at. */
#define POOL_STR2(x) #x
#define POOL_STR(x) POOL_STR2(x)
#define POOL_HERE __FILE__ ":" POOL_STR(__LINE__)

/*
 * pool_release - give back a connection pool_acquire lent.
 *
 * healthy: false when the caller saw it fail (a timeout, a reset, a
 *          protocol error, replies left unread): it is closed, not lent
 *          again, and its place may be taken by a new connection [POOL-10].
 *
 * A healthy connection goes to the longest waiter, or becomes idle. After
 * pool_close, every connection that comes back is closed [POOL-8].
 * Releasing a connection this pool did not lend is a bug in the caller
 * (undefined). Thread safety: as pool_acquire.
 */
void pool_release(struct pool *p, struct resp_conn *c, bool healthy);

/*
 * pool_close - shut the pool down. Every thread waiting in pool_acquire
 * returns -ESHUTDOWN at once; idle connections are closed now; lent ones
 * are closed when they are released, and the last of them frees the pool
 * [POOL-8]. Nothing leaks, whatever is out at the time. After pool_close
 * only pool_release of connections lent before it may be called. p may be
 * NULL.
 */
void pool_close(struct pool *p);

/*
 * pool_stats - a consistent snapshot into *out [POOL-1]. In exercise 2 it
 * also retires connections due to go (below), as pool_acquire and
 * pool_release do.
 */
void pool_stats(struct pool *p, struct pool_stats *out);

/*
 * Exercise 2: health. A connection is retired (closed, counted in
 * destroyed) when the pool finds it:
 *
 * [POOL-11] dead: the server closed or reset it while it was idle. Before
 * lending an idle connection unused for at least validate_idle_ms, the
 * pool checks it without a round trip (a non-blocking peek sees end of
 * file, a reset, or stray bytes); a dead one is closed and another is
 * taken or made, so the caller never sees the failure.
 *
 * [POOL-12] too old: each connection's lifetime is max_lifetime_ms less a
 * random part of up to a quarter of it (the jitter), drawn when it is
 * made, so connections made together do not all expire together. An idle
 * connection past its lifetime is closed when the pool is next entered;
 * a lent one when it comes back.
 *
 * [POOL-13] idle too long: idle connections unused for idle_timeout_ms are
 * closed when the pool is next entered (pool_acquire, pool_release,
 * pool_stats), the least recently used first, as long as more than
 * min_idle remain idle.
 *
 * [POOL-15] The pool recovers by itself when the server goes away and
 * comes back at the same address (a restart). While it is away,
 * pool_acquire returns -ETIMEDOUT at its deadline (POOL-6), never a
 * connect error. Callers see errors only on connections they held when
 * it went away (at most max_size; they release them as unhealthy) and,
 * when validate_idle_ms > 0, on idle ones used less than validate_idle_ms
 * before: with validate_idle_ms 0, once the server is back every
 * connection lent works on its first round trip, and the pool opens no
 * more connections to it than it needs.
 *
 * [POOL-16] Leak detection: when leak_ms > 0 and on_leak is set, a
 * connection lent for longer than leak_ms is reported to on_leak exactly
 * once per loan, with the site its borrower gave pool_acquire_at, when
 * the pool is next entered (pool_acquire, pool_release, pool_stats); a
 * loan returned in time is never reported, and the next loan of the same
 * connection is a new loan with its own site and its own report. The
 * report is a warning: the loan stays the caller's.
 */

#endif /* IOLAB_POOL_H */
