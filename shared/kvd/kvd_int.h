/*
 * kvd_int.h - kvd's internal interfaces, shared by its three sources:
 *   kvd.c       the server: event loop, connections, timers, control
 *   kvd_cmd.c   the commands: one function each, writing RESP replies
 *   kvd_store.c the key space: a chained hash table with expiry
 * Nothing here is part of the course's API (that is iolab/kvd.h).
 */
#ifndef KVD_INT_H
#define KVD_INT_H

#include "iolab/kvd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the key space (kvd_store.c) ---------------------------------------- */

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

/* ---- replies (kvd.c): appended to the connection's output ---------------- */

struct kconn; /* one client connection (kvd.c) */
struct kvd;

void out_simple(struct kconn *c, const char *s);      /* +s */
void out_error(struct kconn *c, const char *fmt, ...) /* -fmt */
    __attribute__((format(printf, 2, 3)));
void out_int(struct kconn *c, long long n);                /* :n */
void out_bulk(struct kconn *c, const char *p, size_t len); /* $len p */
void out_nil(struct kconn *c);                             /* $-1 */
void out_array(struct kconn *c, size_t n);                 /* *n */
void out_raw(struct kconn *c, const char *p, size_t len);  /* as is */

/* ---- commands (kvd_cmd.c) ---------------------------------------------------
 */

/* One argument of a command: bytes in the connection's input buffer. */
struct karg {
    const char *p; /* not NUL-terminated */
    size_t len;
};

/*
 * Executes one command and appends exactly one reply to c's output.
 * argc >= 1. now is the current CLOCK_MONOTONIC time in ms.
 */
void kvd_exec(struct kvd *kv, struct kconn *c, int argc,
              const struct karg *argv, int64_t now);

/* ---- what commands ask of the server (kvd.c) -------------------------- */

struct kstore *kvd_store(struct kvd *kv);
void kvd_conn_quit(struct kconn *c); /* close after this reply */
/* INFO's text for the counters, appended as one bulk string. */
void kvd_info(struct kvd *kv, struct kconn *c, const char *section,
              size_t slen);
/* The run-time controls, as the KVD command reaches them. */
void kvd_apply_delays(struct kvd *kv, unsigned rtt_us, unsigned accept_us);
void kvd_apply_drop_all(struct kvd *kv);
void kvd_apply_refuse(struct kvd *kv, unsigned ms);
void kvd_apply_close_after(struct kvd *kv, unsigned ncommands,
                           struct kconn *self);

#endif /* KVD_INT_H */
