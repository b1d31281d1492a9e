/*
 * aside.c - chapter 10, exercise 2: cache-aside with single flight,
 * negative caching and an invalidation that no earlier load can undo.
 *
 * The contract is in include/cache.h; the cache underneath is yours from
 * exercise 1 (src/cache.c). Each TODO's stub fails safely.
 *
 * Organisation: the state (the cache, its lock, the loads under way);
 * finding and finishing a load; then the functions of the contract.
 */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * How a value is kept in the cache underneath: one tag byte, then the
 * value. 'V' is a value; 'N' says the store has no such key (negative
 * caching), with nothing after it.
 */
#define TAG_VALUE 'V'
#define TAG_ABSENT 'N'

#define DEFAULT_NEG_TTL_MS 1000 /* cache_aside_config.neg_ttl_ms 0 */

/*
 * TODO(aside.1): design the state. Besides the cache and a lock, it needs
 * the loads under way ("flights"): per key, whether one is running, a way
 * for other threads to wait for its result, and what an invalidation
 * needs to tell a load that its result must not be stored.
 */
struct cache_aside {
    struct cache_aside_config cfg;
};

/* Copies min(len, cap) bytes of a value out; returns len (as cache_get). */
static inline ssize_t
copy_out(void *buf, size_t cap, const char *val, size_t len)
{
    if (cap > 0 && len > 0)
        memcpy(buf, val, len < cap ? len : cap);
    return (ssize_t)len;
}


/* ---- the contract ------------------------------------------------------ */

int
cache_aside_open(const struct cache_aside_config *cfg, struct cache_aside **out)
{
    if (cfg == NULL || out == NULL || cfg->load == NULL)
        return -EINVAL;
    return -ENOSYS;
}

void
cache_aside_close(struct cache_aside *a)
{
    (void)a;
}

ssize_t
cache_aside_get(struct cache_aside *a, const char *key, size_t klen, void *buf,
                size_t cap)
{
    if (a == NULL || key == NULL || klen == 0 || klen > CACHE_MAX_KEY)
        return -EINVAL;
    (void)buf;
    (void)cap;
    return -ENOSYS;
}

int
cache_aside_invalidate(struct cache_aside *a, const char *key, size_t klen)
{
    if (a == NULL || key == NULL || klen == 0 || klen > CACHE_MAX_KEY)
        return -EINVAL;
    return -ENOSYS;
}

void
cache_aside_stats(struct cache_aside *a, struct cache_aside_stats *out)
{
    (void)a;
    memset(out, 0, sizeof(*out));
}
