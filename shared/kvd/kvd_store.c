/*
 * kvd_store.c - kvd's key space: a chained hash table with expiry.
 *
 * Each entry is one allocation (key and value together) chained from a
 * power-of-two bucket array that doubles when the table holds more
 * entries than buckets, so chains stay about one entry long. Keys and
 * values are binary-safe. An expired entry is removed when it is looked
 * up (lazy expiry) or when the periodic sweep (store_sweep, called by the
 * server's timer) passes its bucket.
 *
 * The hash is seeded from getrandom at start, so a client cannot choose
 * keys that all land in one chain and turn every lookup into a long walk.
 */
#include "kvd_store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* The first table: enough for a small test without any resize. */
#define STORE_INIT_BUCKETS 64

/* A 64-bit mixing step (the finaliser of a common 64-bit hash family). */
static inline uint64_t
mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Hashes 8 bytes at a time, then the tail, then mixes the length in. */
static uint64_t
hash_key(uint64_t seed, const char *p, size_t len)
{
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ mix64(w)) * 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, len - i);
    h ^= mix64(tail ^ (uint64_t)(len - i));
    return mix64(h);
}

void
store_init(struct kstore *st)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)st;
    }
    *st = (struct kstore){.seed = seed};
}

static void
free_chains(struct kstore *st)
{
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct kentry *e = st->buckets[i];
        while (e != NULL) {
            struct kentry *next = e->next;
            free(e);
            e = next;
        }
        st->buckets[i] = NULL;
    }
    st->count = st->nvolatile = 0;
}

void
store_free(struct kstore *st)
{
    free_chains(st);
    free(st->buckets);
    st->buckets = NULL;
    st->nbuckets = 0;
}

void
store_flush(struct kstore *st)
{
    /* Give back a big table too: a flushed store starts small again. */
    store_free(st);
    st->cursor = 0;
}

/* The link that points at key's entry (or the chain's NULL end). */
static struct kentry **
find_link(struct kstore *st, uint64_t h, const char *key, size_t klen)
{
    struct kentry **link = &st->buckets[h & (st->nbuckets - 1)];

    for (; *link != NULL; link = &(*link)->next) {
        struct kentry *e = *link;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
            break;
    }
    return link;
}

static void
unlink_entry(struct kstore *st, struct kentry **link)
{
    struct kentry *e = *link;

    *link = e->next;
    st->count--;
    if (e->expire_ms != 0)
        st->nvolatile--;
    free(e);
}

static bool
is_expired(const struct kentry *e, int64_t now)
{
    return e->expire_ms != 0 && e->expire_ms <= now;
}

/* Doubles the table (or makes the first one); false when out of memory. */
static bool
grow(struct kstore *st)
{
    size_t n = st->nbuckets ? st->nbuckets * 2 : STORE_INIT_BUCKETS;
    struct kentry **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return false;
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct kentry *e = st->buckets[i];
        while (e != NULL) {
            struct kentry *next = e->next;
            struct kentry **head = &b[e->hash & (n - 1)];
            e->next = *head;
            *head = e;
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->nbuckets = n;
    st->cursor = 0;
    return true;
}

struct kentry *
store_get(struct kstore *st, const char *key, size_t klen, int64_t now)
{
    if (st->count == 0)
        return NULL;
    struct kentry **link =
        find_link(st, hash_key(st->seed, key, klen), key, klen);
    if (*link == NULL)
        return NULL;
    if (is_expired(*link, now)) {
        unlink_entry(st, link);
        st->expired++;
        return NULL;
    }
    return *link;
}

void
store_set_expire(struct kstore *st, struct kentry *e, int64_t expire_ms)
{
    st->nvolatile += (expire_ms != 0) - (e->expire_ms != 0);
    e->expire_ms = expire_ms;
}

struct kentry *
store_set(struct kstore *st, const char *key, size_t klen, const char *val,
          size_t vlen, int64_t expire_ms, bool keep_ttl, int64_t now)
{
    if ((st->count >= st->nbuckets) && !grow(st) && st->nbuckets == 0)
        return NULL; /* a full table still works; an absent one does not */
    uint64_t h = hash_key(st->seed, key, klen);
    struct kentry **link = find_link(st, h, key, klen);
    struct kentry *old = *link;

    if (old != NULL && is_expired(old, now)) {
        unlink_entry(st, link); /* link now points at the next entry */
        st->expired++;
        link = find_link(st, h, key, klen);
        old = NULL;
    }
    if (old != NULL && keep_ttl)
        expire_ms = old->expire_ms;
    /* Reuse the allocation when the size is the same (INCR, overwrite). */
    struct kentry *e = old;
    if (old == NULL || old->vlen != vlen) {
        e = malloc(sizeof(*e) + klen + vlen);
        if (e == NULL)
            return NULL;
        *e = (struct kentry){
            .hash = h, .klen = (uint32_t)klen, .vlen = (uint32_t)vlen};
        memcpy(e->data, key, klen);
        if (old != NULL) {
            e->next = old->next;
            e->expire_ms = old->expire_ms;
            free(old);
        } else {
            e->next = NULL;
            st->count++;
        }
        *link = e;
    }
    memmove(kentry_val(e), val, vlen); /* val may be e's own value */
    store_set_expire(st, e, expire_ms);
    return e;
}

bool
store_del(struct kstore *st, const char *key, size_t klen, int64_t now)
{
    if (st->count == 0)
        return false;
    struct kentry **link =
        find_link(st, hash_key(st->seed, key, klen), key, klen);
    if (*link == NULL)
        return false;
    bool live = !is_expired(*link, now);
    if (!live)
        st->expired++;
    unlink_entry(st, link);
    return live;
}

size_t
store_sweep(struct kstore *st, int64_t now, size_t max_buckets)
{
    size_t removed = 0;

    if (st->nvolatile == 0 || st->nbuckets == 0)
        return 0;
    if (max_buckets > st->nbuckets)
        max_buckets = st->nbuckets;
    for (size_t i = 0; i < max_buckets; i++) {
        struct kentry **link = &st->buckets[st->cursor];
        while (*link != NULL) {
            if (is_expired(*link, now)) {
                unlink_entry(st, link);
                removed++;
            } else {
                link = &(*link)->next;
            }
        }
        st->cursor = (st->cursor + 1) & (st->nbuckets - 1);
    }
    st->expired += removed;
    return removed;
}
