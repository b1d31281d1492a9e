/*
 * kvd_store.h - kvd's key space: a chained hash table with expiry
 * (kvd_store.c). It knows nothing of connections or the protocol: the
 * commands (kvd_cmd.c) call it, and the server's housekeeping sweeps it.
 *
 * Times are absolute CLOCK_MONOTONIC milliseconds, passed in by the
 * caller (now), so the store never reads a clock. Single-threaded: one
 * store belongs to one server loop. Nothing here is part of the course's
 * API (that is iolab/kvd.h).
 */
#ifndef KVD_STORE_H
#define KVD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One key and its value in a single allocation: key bytes, then value
 * bytes. expire_ms is an absolute CLOCK_MONOTONIC time in ms, 0 for none.
 */
struct kentry {
    struct kentry *next; /* bucket chain */
    uint64_t hash;       /* of the key, kept to skip compares and rehash */
    int64_t expire_ms;   /* 0: never */
    uint32_t klen;       /* key bytes */
    uint32_t vlen;       /* value bytes */
    char data[];         /* klen key bytes, then vlen value bytes */
};

static inline char *
kentry_val(struct kentry *e)
{
    return e->data + e->klen;
}

/*
 * Invariants: nbuckets is 0 or a power of two; count entries are chained
 * from buckets; nvolatile of them have an expire time.
 */
struct kstore {
    struct kentry **buckets; /* nbuckets chains */
    size_t nbuckets;         /* 0 until the first insert */
    size_t count;            /* entries stored, expired or not */
    size_t nvolatile;        /* entries with expire_ms != 0 */
    size_t cursor;           /* next bucket the expiry sweep looks at */
    uint64_t seed;           /* hash seed, random per store */
    uint64_t expired;        /* entries removed because they expired */
};

void store_init(struct kstore *st);
void store_free(struct kstore *st); /* frees every entry and the table */

/* The live entry for key, or NULL; an expired one is removed first. */
struct kentry *store_get(struct kstore *st, const char *key, size_t klen,
                         int64_t now);

/*
 * Sets key to val. expire_ms as in kentry; keep_ttl keeps the old one.
 * Returns the entry or NULL (-ENOMEM: the old value is left in place).
 */
struct kentry *store_set(struct kstore *st, const char *key, size_t klen,
                         const char *val, size_t vlen, int64_t expire_ms,
                         bool keep_ttl, int64_t now);

/* Removes key; true if a live entry was there. */
bool store_del(struct kstore *st, const char *key, size_t klen, int64_t now);

/* Changes e's expire time (0: none), keeping nvolatile right. */
void store_set_expire(struct kstore *st, struct kentry *e, int64_t expire_ms);

/* Removes every entry. */
void store_flush(struct kstore *st);

/*
 * Looks at up to max_buckets buckets from the sweep cursor and removes the
 * expired entries found. Returns how many it removed.
 */
size_t store_sweep(struct kstore *st, int64_t now, size_t max_buckets);

#endif /* KVD_STORE_H */
