/*
 * pool.c - chapter 06's exercises: a connection pool for kvd.
 *
 * The contract is in include/pool.h; the design is yours. Each TODO's stub
 * fails safely (-ENOSYS, or nothing), so the tests of the other TODOs run.
 *
 * Exercise 2 (health: lifetime, validation, the idle timeout) and
 * pool_stats are in pool_health.c; both files are yours.
 *
 * Organisation: the pool's state; small helpers (slots, the waiter
 * queue); making a connection; then four functions of the contract.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * TODO(core.1): design the pool. It needs a lock, the connections (which
 * are lent, which are idle, and for exercise 2 when each was made and last
 * used), a count of connects under way, a queue of waiting threads in
 * arrival order with a way to wake exactly one of them, and what
 * pool_close needs to free the pool only once nothing uses it. Both of
 * your files need it: declare it in a header of your own in src/ (the
 * grader takes the .h files there with your code).
 */
struct pool {
    int todo; /* replace with your design */
};

/* Your helpers go here. */

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
    (void)cfg;
    (void)out;
    return -ENOSYS;
}

/*
 * TODO(core.3): lend an idle connection, or connect a new one if the
 * maximum allows (without holding the lock while connecting, and counting
 * the connect toward the maximum [POOL-2]), or queue and wait, woken
 * alone and in arrival order [POOL-3][POOL-4], until the deadline
 * [POOL-5][POOL-6]. A waiter that gives up must leave the queue
 * [POOL-5]; a release between "I must wait" and the wait must not be
 * missed [POOL-7]; pool_close ends every wait [POOL-8]. Exercise 2: do
 * not lend a dead connection [POOL-11]; remember when each loan began and
 * its site, for leak reports [POOL-16].
 */
int
pool_acquire_at(struct pool *p, int timeout_ms, struct resp_conn **out,
                const char *site)
{
    (void)p;
    (void)timeout_ms;
    (void)out;
    (void)site;
    return -ENOSYS;
}

/* pool_acquire is pool_acquire_at without a site: given, nothing to do. */
int
pool_acquire(struct pool *p, int timeout_ms, struct resp_conn **out)
{
    return pool_acquire_at(p, timeout_ms, out, NULL);
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
    (void)p;
    (void)c;
    (void)healthy;
}

/*
 * TODO(core.5): close the pool: wake every waiter with -ESHUTDOWN, close
 * the idle connections, and leave the lent ones to pool_release; free the
 * pool when nothing uses it any more [POOL-8].
 */
void
pool_close(struct pool *p)
{
    (void)p;
}
