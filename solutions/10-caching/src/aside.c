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
// SOLUTION-BEGIN
/*
 * One load under way. The thread that started it (the leader) calls the
 * loader without the lock; the others wait on cv. It is freed by the
 * last of them to leave (refs). Once invalidated (stale) it is no longer
 * in the list: later gets start a load of their own.
 */
struct flight {
    struct flight *next;           /* in cache_aside.flights, while joinable */
    pthread_cond_t cv;             /* broadcast once, when done */
    unsigned refs;                 /* the leader + its waiters */
    bool done;                     /* result and val are final */
    bool stale;                    /* invalidated: do not store the result */
    ssize_t result;                /* the loader's return value */
    size_t klen;                   /* the key */
    char key[CACHE_MAX_KEY];       /* its bytes */
    char val[1 + CACHE_MAX_VALUE]; /* a tag byte, then what the loader read */
};

struct cache_aside {
    pthread_mutex_t lock;          /* guards everything below */
    struct cache *c;               /* not thread-safe: used under lock */
    struct cache_aside_config cfg; /* a copy */
    struct flight *flights;        /* joinable loads under way */
    struct cache_aside_stats st;   /* counters and gauges */
};
// SOLUTION-STUB
// struct cache_aside {
//     struct cache_aside_config cfg;
// };
// SOLUTION-END

/* Copies min(len, cap) bytes of a value out; returns len (as cache_get). */
static inline ssize_t
copy_out(void *buf, size_t cap, const char *val, size_t len)
{
    if (cap > 0 && len > 0)
        memcpy(buf, val, len < cap ? len : cap);
    return (ssize_t)len;
}

// SOLUTION-BEGIN
static struct flight *
find_flight(struct cache_aside *a, const char *key, size_t klen)
{
    for (struct flight *f = a->flights; f != NULL; f = f->next)
        if (f->klen == klen && memcmp(f->key, key, klen) == 0)
            return f;
    return NULL;
}

/* Takes f out of the list of joinable loads, if it is there. */
static void
detach(struct cache_aside *a, struct flight *f)
{
    for (struct flight **pp = &a->flights; *pp != NULL; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            f->next = NULL;
            return;
        }
}

/* Under lock: hands f's result to the caller and drops its reference. */
static ssize_t
leave_flight(struct flight *f, void *buf, size_t cap)
{
    ssize_t n = f->result;

    if (n >= 0)
        copy_out(buf, cap, f->val + 1, (size_t)n);
    if (--f->refs == 0) {
        pthread_cond_destroy(&f->cv);
        free(f);
    }
    return n;
}

/*
 * Under lock: the leader's load returned n. Store it unless an
 * invalidation came meanwhile [CACHE-16]; an error is never stored
 * [CACHE-13]; wake every waiter.
 */
static void
finish_flight(struct cache_aside *a, struct flight *f, ssize_t n)
{
    f->result = n;
    f->done = true;
    a->st.flights--;
    detach(a, f);
    bool storable = n >= 0 || n == -ENOENT;
    if (storable && f->stale) {
        a->st.refused++;
    } else if (n >= 0) {
        f->val[0] = TAG_VALUE;
        cache_put(a->c, f->key, f->klen, f->val, 1 + (size_t)n, 0);
    } else if (n == -ENOENT) {
        char tag = TAG_ABSENT;
        cache_put(a->c, f->key, f->klen, &tag, 1, a->cfg.neg_ttl_ms);
    }
    pthread_cond_broadcast(&f->cv);
}
// SOLUTION-STUB
// SOLUTION-END

/* ---- the contract ------------------------------------------------------ */

int
cache_aside_open(const struct cache_aside_config *cfg, struct cache_aside **out)
{
    if (cfg == NULL || out == NULL || cfg->load == NULL)
        return -EINVAL;
    // SOLUTION-BEGIN
    struct cache_aside *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    int err = cache_open(&cfg->cache, &a->c);
    if (err < 0) {
        free(a);
        return err;
    }
    a->cfg = *cfg;
    if (a->cfg.neg_ttl_ms == 0)
        a->cfg.neg_ttl_ms = DEFAULT_NEG_TTL_MS;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;
    // SOLUTION-STUB
    // return -ENOSYS;
    // SOLUTION-END
}

void
cache_aside_close(struct cache_aside *a)
{
    // SOLUTION-BEGIN
    if (a == NULL)
        return;
    cache_close(a->c);
    pthread_mutex_destroy(&a->lock);
    free(a);
    // SOLUTION-STUB
    // (void)a;
    // SOLUTION-END
}

ssize_t
cache_aside_get(struct cache_aside *a, const char *key, size_t klen, void *buf,
                size_t cap)
{
    if (a == NULL || key == NULL || klen == 0 || klen > CACHE_MAX_KEY)
        return -EINVAL;
    // SOLUTION-BEGIN
    char val[1 + CACHE_MAX_VALUE]; /* on the stack: a hit allocates nothing */

    pthread_mutex_lock(&a->lock);
    ssize_t n = cache_get(a->c, key, klen, val, sizeof(val));
    if (n >= 1 && (size_t)n <= sizeof(val)) {
        a->st.hits++;
        if (val[0] == TAG_ABSENT) {
            a->st.neg_hits++;
            n = -ENOENT;
        } else {
            n = copy_out(buf, cap, val + 1, (size_t)n - 1);
        }
        pthread_mutex_unlock(&a->lock);
        return n;
    }

    struct flight *f = find_flight(a, key, klen);
    if (f != NULL) { /* someone is loading it: wait for that [CACHE-12] */
        f->refs++;
        a->st.shared++;
        a->st.waiting++;
        while (!f->done)
            pthread_cond_wait(&f->cv, &a->lock);
        a->st.waiting--;
        n = leave_flight(f, buf, cap);
        pthread_mutex_unlock(&a->lock);
        return n;
    }

    f = malloc(sizeof(*f));
    if (f == NULL) {
        pthread_mutex_unlock(&a->lock);
        return -ENOMEM;
    }
    *f = (struct flight){.refs = 1, .klen = klen, .next = a->flights};
    pthread_cond_init(&f->cv, NULL);
    memcpy(f->key, key, klen);
    a->flights = f;
    a->st.flights++;
    a->st.loads++;
    pthread_mutex_unlock(&a->lock);

    /* The slow part, without the lock: other keys go on meanwhile. */
    n = a->cfg.load(a->cfg.load_arg, key, klen, f->val + 1, CACHE_MAX_VALUE);
    if (n > CACHE_MAX_VALUE)
        n = -EMSGSIZE;

    pthread_mutex_lock(&a->lock);
    finish_flight(a, f, n);
    n = leave_flight(f, buf, cap);
    pthread_mutex_unlock(&a->lock);
    return n;
    // SOLUTION-STUB
    // (void)buf;
    // (void)cap;
    // return -ENOSYS;
    // SOLUTION-END
}

int
cache_aside_invalidate(struct cache_aside *a, const char *key, size_t klen)
{
    if (a == NULL || key == NULL || klen == 0 || klen > CACHE_MAX_KEY)
        return -EINVAL;
    // SOLUTION-BEGIN
    pthread_mutex_lock(&a->lock);
    cache_del(a->c, key, klen);
    struct flight *f = find_flight(a, key, klen);
    if (f != NULL) { /* revoke its right to fill the cache [CACHE-16] */
        f->stale = true;
        detach(a, f);
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
    // SOLUTION-STUB
    // return -ENOSYS;
    // SOLUTION-END
}

void
cache_aside_stats(struct cache_aside *a, struct cache_aside_stats *out)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&a->lock);
    *out = a->st;
    pthread_mutex_unlock(&a->lock);
    // SOLUTION-STUB
    // (void)a;
    // memset(out, 0, sizeof(*out));
    // SOLUTION-END
}
