/*
 * cache.c - chapter 10, exercise 1: an in-process cache with a memory
 * bound, LRU eviction (exact or sampled) and TTLs with jitter.
 *
 * The contract is in include/cache.h; the design is yours. Each TODO's
 * stub fails safely (-ENOSYS, or nothing), so the other tests still run.
 *
 * Organisation: the cache's state and its invariants; the clock and the
 * random draws; the hash table; the recency list and the victim choice;
 * then the functions of the contract.
 */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * TODO(lru.1): design the cache. A get must find a key in O(1) (a hash
 * table), a hit must move the entry to the front of a recency order in
 * O(1) (an intrusive doubly linked list), the sampled variant must draw a
 * random entry in O(1) (what structure gives that?), and each entry needs
 * its expiry and the stamp of its last use.
 */
// SOLUTION-BEGIN
/*
 * One entry, allocated with its key and value behind it (one malloc per
 * put, none per get). Invariants: it is in exactly one hash chain, in the
 * recency list, and at index slot of the dense array.
 */
struct entry {
    struct entry *hnext; /* next in its hash chain */
    struct entry *prev;  /* towards the most recently used */
    struct entry *next;  /* towards the least recently used */
    uint64_t hash;       /* of the key, kept for rehashing */
    uint64_t expires;    /* clock ms; UINT64_MAX: never */
    uint64_t used;       /* access stamp: larger is more recent */
    size_t slot;         /* index in cache.dense */
    unsigned klen, vlen; /* sizes of the bytes below */
    char data[];         /* the key, then the value */
};

/*
 * Invariants: bytes == sum of charge(e) <= cfg.max_bytes; entries ==
 * the length of the list == the count of dense; head is the most
 * recently used, tail the least; nbuckets is a power of two.
 */
struct cache {
    struct cache_config cfg; /* a copy */
    struct entry **buckets;  /* hash chains */
    size_t nbuckets;         /* a power of two */
    struct entry **dense;    /* every entry, for sampling in O(1) */
    size_t dense_cap;        /* room in dense */
    struct entry *head, *tail;
    uint64_t stamp;        /* the last access stamp handed out */
    uint64_t rng;          /* xorshift64 state, never 0 */
    struct cache_stats st; /* counters and gauges */
};
// SOLUTION-STUB
// struct cache {
//     struct cache_config cfg;
// };
// SOLUTION-END

/* ---- clock and random draws ------------------------------------------ */

/* Inline: the skeleton does not call it yet, and must compile cleanly. */
static inline uint64_t
now_ms(const struct cache *c)
{
    if (c->cfg.clock != NULL)
        return c->cfg.clock(c->cfg.clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
bad_key(const char *key, size_t klen)
{
    return key == NULL || klen == 0 || klen > CACHE_MAX_KEY;
}

// SOLUTION-BEGIN
static uint64_t
draw(struct cache *c)
{
    uint64_t x = c->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

/* The moment an entry put now with this ttl expires [CACHE-6]. */
static uint64_t
expiry(struct cache *c, unsigned ttl_ms)
{
    if (ttl_ms == 0)
        ttl_ms = c->cfg.ttl_ms;
    if (ttl_ms == 0)
        return UINT64_MAX;
    uint64_t spread = (uint64_t)ttl_ms * c->cfg.jitter_pct / 100;
    uint64_t r = spread == 0 ? 0 : draw(c) % (spread + 1);
    return now_ms(c) + ttl_ms - r;
}

/* ---- the hash table --------------------------------------------------- */

static uint64_t
hash_key(const char *key, size_t klen)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (size_t i = 0; i < klen; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

static struct entry **
chain_of(struct cache *c, const char *key, size_t klen, uint64_t h)
{
    struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];

    while (*pp != NULL && !((*pp)->hash == h && (*pp)->klen == klen &&
                            memcmp((*pp)->data, key, klen) == 0))
        pp = &(*pp)->hnext;
    return pp;
}

/* Doubles the table when it holds more entries than buckets. */
static int
maybe_grow(struct cache *c)
{
    if (c->st.entries < c->nbuckets)
        return 0;
    size_t n = c->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e != NULL) {
            struct entry *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    return 0;
}

/* ---- the recency list and the victims ---------------------------------- */

static size_t
charge(const struct entry *e)
{
    return (size_t)e->klen + e->vlen + CACHE_ENTRY_OVERHEAD;
}

static void
list_unlink(struct cache *c, struct entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
list_push_front(struct cache *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head != NULL)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

/* Marks e as used now [CACHE-4]. */
static void
touch(struct cache *c, struct entry *e)
{
    e->used = ++c->stamp;
    if (c->cfg.sample == 0 && c->head != e) {
        list_unlink(c, e);
        list_push_front(c, e);
    }
}

/* Unlinks e from everything and frees it. */
static void
remove_entry(struct cache *c, struct entry **pp)
{
    struct entry *e = *pp;

    *pp = e->hnext;
    if (c->cfg.sample == 0)
        list_unlink(c, e);
    struct entry *last = c->dense[c->st.entries - 1];
    c->dense[e->slot] = last;
    last->slot = e->slot;
    c->st.entries--;
    c->st.bytes -= charge(e);
    free(e);
}

/* The entry to evict: the list's tail, or the oldest of a sample [CACHE-8]. */
static struct entry *
victim(struct cache *c)
{
    if (c->cfg.sample == 0) {
        c->st.examined++;
        return c->tail;
    }
    struct entry *best = NULL;
    for (unsigned i = 0; i < c->cfg.sample; i++) {
        struct entry *e = c->dense[draw(c) % c->st.entries];
        c->st.examined++;
        if (best == NULL || e->used < best->used)
            best = e;
    }
    return best;
}

static void
evict_one(struct cache *c)
{
    struct entry *e = victim(c);
    remove_entry(c, chain_of(c, e->data, e->klen, e->hash));
    c->st.evictions++;
}
// SOLUTION-STUB
// SOLUTION-END

/* ---- the contract ------------------------------------------------------ */

int
cache_open(const struct cache_config *cfg, struct cache **out)
{
    // SOLUTION-BEGIN
    if (cfg == NULL || out == NULL || cfg->max_bytes == 0 ||
        cfg->jitter_pct > 100 || cfg->sample > CACHE_MAX_SAMPLE)
        return -EINVAL;
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->cfg = *cfg;
    c->rng = cfg->seed != 0 ? cfg->seed : 1;
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    c->dense_cap = 64;
    c->dense = malloc(c->dense_cap * sizeof(*c->dense));
    if (c->buckets == NULL || c->dense == NULL) {
        cache_close(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
    // SOLUTION-STUB
    // (void)cfg;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

void
cache_close(struct cache *c)
{
    // SOLUTION-BEGIN
    if (c == NULL)
        return;
    for (size_t i = 0; c->dense != NULL && i < c->st.entries; i++)
        free(c->dense[i]);
    free(c->dense);
    free(c->buckets);
    free(c);
    // SOLUTION-STUB
    // (void)c;
    // SOLUTION-END
}

int
cache_put(struct cache *c, const char *key, size_t klen, const void *val,
          size_t vlen, unsigned ttl_ms)
{
    if (c == NULL || bad_key(key, klen) || (val == NULL && vlen > 0))
        return -EINVAL;
    // SOLUTION-BEGIN
    uint64_t h = hash_key(key, klen);
    size_t need = klen + vlen + CACHE_ENTRY_OVERHEAD;
    if (vlen > c->cfg.max_bytes || need > c->cfg.max_bytes) {
        struct entry **pp = chain_of(c, key, klen, h);
        if (*pp != NULL)
            remove_entry(c, pp);
        return -E2BIG;
    }
    if (c->st.entries == c->dense_cap) {
        struct entry **d =
            realloc(c->dense, 2 * c->dense_cap * sizeof(*c->dense));
        if (d == NULL)
            return -ENOMEM;
        c->dense = d;
        c->dense_cap *= 2;
    }
    if (maybe_grow(c) < 0)
        return -ENOMEM;
    struct entry *e = malloc(sizeof(*e) + klen + vlen);
    if (e == NULL)
        return -ENOMEM;
    *e = (struct entry){.hash = h, .klen = klen, .vlen = vlen};
    memcpy(e->data, key, klen);
    if (vlen > 0)
        memcpy(e->data + klen, val, vlen);
    e->expires = expiry(c, ttl_ms);

    /* Replace the old entry first: its room counts toward the new one. */
    struct entry **pp = chain_of(c, key, klen, h);
    if (*pp != NULL)
        remove_entry(c, pp);
    while (c->st.bytes + need > c->cfg.max_bytes)
        evict_one(c);

    pp = &c->buckets[h & (c->nbuckets - 1)];
    e->hnext = *pp;
    *pp = e;
    e->slot = c->st.entries;
    c->dense[c->st.entries++] = e;
    c->st.bytes += need;
    e->used = ++c->stamp;
    if (c->cfg.sample == 0)
        list_push_front(c, e);
    return 0;
    // SOLUTION-STUB
    // (void)val;
    // (void)vlen;
    // (void)ttl_ms;
    // return -ENOSYS;
    // SOLUTION-END
}

ssize_t
cache_get(struct cache *c, const char *key, size_t klen, void *buf, size_t cap)
{
    if (c == NULL || bad_key(key, klen))
        return -EINVAL;
    // SOLUTION-BEGIN
    struct entry **pp = chain_of(c, key, klen, hash_key(key, klen));
    struct entry *e = *pp;
    if (e != NULL && e->expires != UINT64_MAX && now_ms(c) >= e->expires) {
        remove_entry(c, pp);
        c->st.expired++;
        e = NULL;
    }
    if (e == NULL) {
        c->st.misses++;
        return -ENOENT;
    }
    c->st.hits++;
    touch(c, e);
    if (cap > 0)
        memcpy(buf, e->data + e->klen, e->vlen < cap ? e->vlen : cap);
    return e->vlen;
    // SOLUTION-STUB
    // (void)buf;
    // (void)cap;
    // return -ENOENT;
    // SOLUTION-END
}

int
cache_del(struct cache *c, const char *key, size_t klen)
{
    if (c == NULL || bad_key(key, klen))
        return -EINVAL;
    // SOLUTION-BEGIN
    struct entry **pp = chain_of(c, key, klen, hash_key(key, klen));
    if (*pp == NULL)
        return -ENOENT;
    remove_entry(c, pp);
    return 0;
    // SOLUTION-STUB
    // return -ENOSYS;
    // SOLUTION-END
}

void
cache_stats(const struct cache *c, struct cache_stats *out)
{
    // SOLUTION-BEGIN
    *out = c->st;
    // SOLUTION-STUB
    // (void)c;
    // memset(out, 0, sizeof(*out));
    // SOLUTION-END
}
