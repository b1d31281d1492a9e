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
// SOLUTION-BEGIN
#include "pool_int.h"

#include <errno.h>
#include <sys/socket.h>
// SOLUTION-STUB
// #include "pool.h"
// SOLUTION-END

// SOLUTION-BEGIN
/* When a connection made now must go: its lifetime less up to 1/4. */
uint64_t
pool_expiry(struct pool *p, uint64_t now)
{
    if (p->cfg.max_lifetime_ms <= 0)
        return UINT64_MAX;
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    uint64_t life = pool_ms_to_ns(p->cfg.max_lifetime_ms);
    return now + life - p->rng % (life / 4 + 1);
}

/*
 * Reports each loan held longer than leak_ms, once per loan: leak_told
 * is cleared when the next loan of the slot begins (lend, in pool.c).
 */
static void
report_leaks(struct pool *p, uint64_t now)
{
    if (p->cfg.leak_ms <= 0 || p->cfg.on_leak == NULL)
        return;
    uint64_t limit = pool_ms_to_ns(p->cfg.leak_ms);
    for (unsigned i = 0; i < p->cfg.max_size; i++) {
        struct slot *s = &p->slots[i];
        if (s->c == NULL || !s->busy || s->leak_told ||
            now - s->lent_ns <= limit)
            continue;
        s->leak_told = true;
        p->counted.leaks++;
        struct pool_leak leak = {.conn = s->c,
                                 .site = s->site,
                                 .held_ms = (now - s->lent_ns) / 1000000u};
        p->cfg.on_leak(p->cfg.leak_arg, &leak);
    }
}

/*
 * Closes idle connections past their lifetime, then the least recently
 * used idle ones past the idle timeout while more than min_idle are idle.
 */
void
pool_tidy(struct pool *p, uint64_t now)
{
    report_leaks(p, now);
    for (unsigned i = 0; i < p->cfg.max_size && p->idle > 0; i++) {
        struct slot *s = &p->slots[i];
        if (s->c != NULL && !s->busy && s->expires_ns <= now)
            pool_retire(p, s);
    }
    if (p->cfg.idle_timeout_ms <= 0)
        return;
    uint64_t limit = pool_ms_to_ns(p->cfg.idle_timeout_ms);
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
        pool_retire(p, lru);
    }
}

/* Whether an idle connection must be checked before it is lent. */
bool
pool_needs_check(const struct pool *p, const struct slot *s, uint64_t now)
{
    int after = p->cfg.validate_idle_ms;
    return after >= 0 && now - s->used_ns >= pool_ms_to_ns(after);
}

/*
 * Whether an idle connection still looks alive, without a round trip: a
 * peek that would block means nothing arrived, which on an idle
 * connection is the only healthy answer. End of file (0), a reset, or
 * bytes nobody asked for (a stale reply) all mean "do not lend it".
 */
bool
pool_alive(struct resp_conn *c)
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
// SOLUTION-STUB
// /* Your health helpers go here (exercise 2). */
// SOLUTION-END

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
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    pool_tidy(p, pool_now_ns());
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
