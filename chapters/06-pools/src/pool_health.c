/*
 * pool_health.c - chapter 06, exercise 2: the pool's health, and
 * pool_stats, which reports it.
 *
 * A connection the pool holds can go bad while nobody looks: the server
 * closes it, it grows old, it sits idle beyond what the pool needs. This
 * file decides when each one must go; pool.c calls it whenever the pool
 * is entered. The pool's state both files need goes in a header of your
 * own in src/ (see TODO(core.1) in pool.c).
 *
 * Organisation: lifetime and jitter; leak reports; retiring what is due;
 * checking an idle connection; then pool_stats.
 */
#include "pool.h"

/* Your health helpers go here (exercise 2). */

/* ===================================================================== */
/* The contract                                                          */
/* ===================================================================== */

/*
 * TODO(core.6): fill *out from the pool's state, under its lock [POOL-1].
 * Exercise 2: retire what is due first [POOL-12][POOL-13], and report
 * loans held too long [POOL-16].
 */
void
pool_stats(struct pool *p, struct pool_stats *out)
{
    (void)p;
    *out = (struct pool_stats){.open = 0};
}
