/*
 * cache.h - the contract of chapter 10: a cache in front of a slow store.
 *
 *  - Exercise 1 (lru): an in-process cache. O(1) get and put, a memory
 *    bound in bytes, least-recently-used eviction (exact, or sampled as an
 *    approximation), and time-to-live with jitter.
 *  - Exercise 2 (aside): cache-aside on top of it. A miss calls a loader
 *    (the slow store: in the tests and the bench, a kvd playing the
 *    database); concurrent misses of one key share one load; absent keys
 *    are cached negatively; an invalidation after a write can never be
 *    undone by a load that started before it.
 *
 * Conventions: shared/include/iolab/CONVENTIONS.md. Every sentence tagged
 * [CACHE-n] is checked by a test whose description names the same tag.
 *
 * Time comes from an injectable clock and randomness from a seed, so
 * tests are exact: the same seed and the same clock readings give the
 * same expiries and the same sampled victims.
 */
#ifndef IOLAB_CACHE_H
#define IOLAB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The bytes each entry is charged besides its key and value: the hash
 * link, the two list links, the sizes, the expiry and the access stamp,
 * rounded up to what an allocator hands out. The memory bound counts
 * klen + vlen + CACHE_ENTRY_OVERHEAD per entry (not the hash table's
 * bucket array, which is about 8 bytes per entry more).
 */
#ifndef CACHE_ENTRY_OVERHEAD
#define CACHE_ENTRY_OVERHEAD 64 /* 8 pointers or counters of 8 bytes */
#endif

/* The longest key, in bytes (memcached's limit, for the same reason). */
#ifndef CACHE_MAX_KEY
#define CACHE_MAX_KEY 250
#endif

/* The largest value cache-aside keeps (exercise 2), in bytes. */
#ifndef CACHE_MAX_VALUE
#define CACHE_MAX_VALUE 4096 /* a value fits on the stack of a hit */
#endif

/* The largest sample for approximate LRU. */
#ifndef CACHE_MAX_SAMPLE
#define CACHE_MAX_SAMPLE 64 /* Redis's maxmemory-samples is 5 by default */
#endif

/*
 * A clock: milliseconds since any fixed moment, never going back. NULL in
 * the config means CLOCK_MONOTONIC.
 */
typedef uint64_t (*cache_clock_cb)(void *arg);

/* The configuration. Zero-initialise, then set the fields. */
struct cache_config {
    size_t max_bytes;     /* the memory bound (above); required */
    unsigned ttl_ms;      /* default time to live; 0: entries never expire */
    unsigned jitter_pct;  /* 0..100: the spread of expiries (CACHE-7) */
    unsigned sample;      /* 0: exact LRU; 1..CACHE_MAX_SAMPLE: sampled */
    uint64_t seed;        /* seeds the random draws; 0 means 1 */
    cache_clock_cb clock; /* NULL: CLOCK_MONOTONIC in ms */
    void *clock_arg;      /* passed to clock */
};

/* Counters only grow; entries and bytes describe now. */
struct cache_stats {
    uint64_t entries;   /* gauge: entries held (expired ones not yet seen
                           included) */
    uint64_t bytes;     /* gauge: their charge: klen + vlen + overhead */
    uint64_t hits;      /* cache_get that found a live entry */
    uint64_t misses;    /* cache_get that found none (or an expired one) */
    uint64_t evictions; /* entries removed to make room */
    uint64_t expired;   /* entries removed because their time ran out */
    uint64_t examined;  /* entries looked at to choose eviction victims */
};

struct cache; /* opaque: yours to design, in src/cache.c */

/*
 * cache_open - make an empty cache.
 *
 * Returns 0 and *out; -EINVAL (cfg or out NULL, max_bytes 0, jitter_pct
 * over 100, sample over CACHE_MAX_SAMPLE); or -ENOMEM. *out is written
 * only on success [CACHE-1].
 */
int cache_open(const struct cache_config *cfg, struct cache **out);

/* Frees the cache and every entry. c may be NULL. */
void cache_close(struct cache *c);

/*
 * cache_put - store a copy of key and value, replacing the key's entry if
 * there is one; the entry becomes the most recently used.
 *
 * klen: 1..CACHE_MAX_KEY. vlen may be 0 (val may then be NULL).
 * ttl_ms: this entry's time to live; 0 means the config's ttl_ms.
 *
 * Returns 0; -EINVAL (NULL c or key, klen out of range, NULL val with
 * vlen > 0); -E2BIG when klen + vlen + CACHE_ENTRY_OVERHEAD exceeds
 * max_bytes (nothing is stored, and an older entry of the key is
 * removed, so no stale value outlives a refused update); -ENOMEM (the
 * cache is as before).
 *
 * [CACHE-3] The bound holds after every call: the sum of klen + vlen +
 * CACHE_ENTRY_OVERHEAD over the entries held never exceeds max_bytes.
 * Entries are evicted only as far as needed to make room, and exactly as
 * many entries fit as their charges allow.
 *
 * [CACHE-5] Choosing a victim is O(1): exact LRU looks at one entry (the
 * least recently used) per eviction, sampled LRU at `sample`; each entry
 * looked at is counted in stats.examined. Nothing in a put or a get
 * depends on how many entries the cache holds (hashing is O(1) expected;
 * growing the table is amortised).
 *
 * [CACHE-6] An entry put at time t with a time to live T (and jitter
 * j = jitter_pct) expires at t + T - r, where r is drawn uniformly from
 * 0..T*j/100 when the entry is put. From that moment a get misses and
 * removes it (counted in stats.expired). Expired entries may also be
 * dropped earlier, when eviction meets them.
 *
 * [CACHE-7] Jitter spreads the expiries of entries put together: a
 * thousand entries put at one instant do not expire at one instant, the
 * draws cover the whole range 0..T*j/100, and two caches with the same
 * seed, clock readings and calls draw the same expiries.
 *
 * Not thread-safe: one thread at a time (exercise 2 wraps it in a lock).
 */
int cache_put(struct cache *c, const char *key, size_t klen, const void *val,
              size_t vlen, unsigned ttl_ms);

/*
 * cache_get - look key up.
 *
 * buf, cap: where the value is copied; the first min(vlen, cap) bytes
 * are (buf may be NULL when cap is 0).
 *
 * Returns the value's full length (which may exceed cap) on a hit,
 * -ENOENT on a miss, -EINVAL for a NULL c or key or a bad klen
 * [CACHE-2].
 *
 * [CACHE-4] A hit makes the entry the most recently used, so under exact
 * LRU the entry evicted next is always the one whose last put or hit is
 * the oldest.
 *
 * [CACHE-8] With sample = K > 0, a victim is chosen by drawing K entries
 * at random (with replacement) and evicting the one whose last use is the
 * oldest among them: recently used entries almost always survive, at the
 * cost of K entries examined per eviction instead of 1, and no list to
 * maintain.
 *
 * A hit allocates nothing (the bench counts allocations per hit:
 * allocs_per_hit), so a hot read path never meets the allocator's locks.
 */
ssize_t cache_get(struct cache *c, const char *key, size_t klen, void *buf,
                  size_t cap);

/* cache_del - remove key. Returns 0, -ENOENT if absent, -EINVAL [CACHE-2]. */
int cache_del(struct cache *c, const char *key, size_t klen);

/* A snapshot of the counters into *out [CACHE-1]. */
void cache_stats(const struct cache *c, struct cache_stats *out);

/* ==== exercise 2: cache-aside ========================================= */

/*
 * A loader: fetches key from the store into buf (cap is CACHE_MAX_VALUE).
 * Returns the value's length (0..cap), -ENOENT when the store has no such
 * key, or another negative errno when the store failed. It is called
 * without any lock of the cache held, from the thread that missed, and
 * may be called by several threads at once for different keys.
 */
typedef ssize_t (*cache_load_cb)(void *arg, const char *key, size_t klen,
                                 char *buf, size_t cap);

struct cache_aside_config {
    struct cache_config cache; /* the cache underneath (its clock too) */
    cache_load_cb load;        /* required */
    void *load_arg;            /* passed to load */
    unsigned neg_ttl_ms;       /* how long "absent" is cached; 0: 1000 */
};

struct cache_aside_stats {
    uint64_t hits;     /* gets answered from the cache (negative too) */
    uint64_t neg_hits; /* of those, answered "absent" */
    uint64_t loads;    /* calls of the loader */
    uint64_t shared;   /* gets that waited for another thread's load */
    uint64_t refused;  /* loaded values not stored: invalidated meanwhile */
    unsigned waiting;  /* gauge: threads waiting for a load now */
    unsigned flights;  /* gauge: loads under way now */
};

struct cache_aside; /* opaque: yours to design, in src/aside.c */

/*
 * cache_aside_open - a cache-aside over a new cache made from cfg->cache.
 * Returns 0 and *out; -EINVAL (NULL cfg, out or load, or what cache_open
 * refuses); -ENOMEM. *out is written only on success [CACHE-10].
 */
int cache_aside_open(const struct cache_aside_config *cfg,
                     struct cache_aside **out);

/*
 * cache_aside_close - free everything. No thread may be inside a call.
 * a may be NULL.
 */
void cache_aside_close(struct cache_aside *a);

/*
 * cache_aside_get - the value of key, from the cache or else the store.
 *
 * Returns the value's length (copied as cache_get copies) [CACHE-11]: a
 * miss calls the loader and stores what it returns (with the cache's
 * ttl_ms and jitter), so the next get is a hit.
 * -ENOENT when the store has no such key; -EINVAL; or the loader's error.
 *
 * [CACHE-12] Single flight: however many threads miss the same key at
 * once, the loader is called once; the others wait for that load (not
 * holding any lock while the loader runs) and get its result.
 *
 * [CACHE-13] A loader error is handed to the thread that loaded and to
 * every thread waiting for that load, and is not cached: the next get
 * calls the loader again.
 *
 * [CACHE-14] Negative caching: when the loader says -ENOENT, the absence
 * is cached for neg_ttl_ms (less the cache's jitter, like any TTL), and
 * gets of the key return -ENOENT without calling the loader until it
 * expires. A flood of requests for keys that do not exist thus reaches
 * the store once per key per neg_ttl_ms, not once per request.
 *
 * Thread safety: any number of threads may call cache_aside_get,
 * cache_aside_invalidate and cache_aside_stats at once.
 */
ssize_t cache_aside_get(struct cache_aside *a, const char *key, size_t klen,
                        void *buf, size_t cap);

/*
 * cache_aside_invalidate - the write path. The caller has written key to
 * the store; this drops the cached value (or cached absence) of key.
 * Returns 0, or -EINVAL [CACHE-15].
 *
 * [CACHE-16] An invalidation wins over every load that started before
 * it: a load under way when the key is invalidated may have read the old
 * value, so its result is handed to the threads already waiting for it
 * but is never stored in the cache (counted in stats.refused), and a get
 * that arrives after the invalidation does not wait for that load: it
 * starts a new one. (This is the lease of Facebook's memcache: the
 * right to fill a key is revoked by a delete.)
 */
int cache_aside_invalidate(struct cache_aside *a, const char *key, size_t klen);

/* A snapshot of the counters into *out [CACHE-10]. */
void cache_aside_stats(struct cache_aside *a, struct cache_aside_stats *out);

#endif /* IOLAB_CACHE_H */
