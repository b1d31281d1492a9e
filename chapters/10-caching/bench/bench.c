/*
 * bench.c - chapter 10's benchmark. Prints what it does and reports:
 *
 *  lru_miss_vs_belady      (counted) misses of exact LRU over misses of
 *                          Belady's offline optimum, on the same Zipf
 *                          trace (10,000 keys, exponent 0.9, 200,000
 *                          requests, room for 500 entries). Belady evicts
 *                          the entry whose next use is furthest away: no
 *                          online policy can miss less.
 *  sampled_miss_vs_belady  (counted) the same for sampled LRU, 5 samples.
 *  lru_hit_ratio, belady_hit_ratio (info) the two hit ratios.
 *  examined_per_eviction   (counted) entries examined per eviction by
 *                          exact LRU in that run (its stats): 1 for a list.
 *  evict_steps_growth      (counted) user-space instructions of an
 *                          evicting put in a full cache of 16,384
 *                          entries over the same in one of 256,
 *                          counted by single-stepping the puts with
 *                          ptrace: about 1 when a put is O(1), about 64
 *                          when eviction scans, about 5 when the hash
 *                          table never grows (the count stops at 5 times
 *                          the small one). The cache's own `examined`
 *                          counter is its word; this is the machine's.
 *  allocs_per_hit          (counted) calls of malloc, calloc and realloc
 *                          (interposed by this program) per cache_get hit.
 *  loads_per_hot_miss      (counted) commands the database kvd processed
 *                          per key when 64 threads miss that key at once
 *                          (kvd delays each round trip 20 ms, as a slow
 *                          database would); 1 with single flight.
 *  expiry_peak_vs_no_jitter (counted) 2,000 keys loaded at once with a
 *                          10 s TTL, then every key read every 10 ms of a
 *                          simulated clock: the most loads in any 100 ms
 *                          with 20% jitter, over the same without jitter
 *                          (where every key expires in the same instant).
 *
 * Run by hand: build/grade/chapters/10-caching/bench [--runs N]
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/perfkit.h"
#include "iolab/resp.h"

#define TIMEOUT_MS 20000 /* any wait in the bench: a lost reply ends it */

/* ---- counting allocations ------------------------------------------------ */

/*
 * The program's own malloc family, in front of glibc's: every call by
 * the code under test is counted, wherever it comes from. glibc exports
 * its implementations under these names for exactly this use.
 */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long nallocs; /* atomic */

void *
malloc(size_t n)
{
    __atomic_fetch_add(&nallocs, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
    __atomic_fetch_add(&nallocs, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
    __atomic_fetch_add(&nallocs, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}

void
free(void *p)
{
    __libc_free(p);
}

/* ---- a Zipf trace and Belady's optimum --------------------------------- */

#define NKEYS 10000
#define NREQ 200000
#define ZIPF_S 0.9
#define ROOM 500 /* entries the caches hold */
#define VLEN 32  /* every value */
#define KEYLEN 6 /* "z%05u" */
#define CHARGE (KEYLEN + VLEN + CACHE_ENTRY_OVERHEAD)

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* NREQ key numbers, rank r drawn with probability proportional to r^-s. */
static unsigned *
zipf_trace(void)
{
    double *cdf = malloc(NKEYS * sizeof(*cdf));
    unsigned *trace = malloc(NREQ * sizeof(*trace));
    if (cdf == NULL || trace == NULL)
        die("out of memory");
    double sum = 0;
    for (unsigned r = 0; r < NKEYS; r++)
        cdf[r] = sum += pow(r + 1, -ZIPF_S);
    uint64_t s = 12345;
    for (unsigned i = 0; i < NREQ; i++) {
        double u = (double)(rng_next(&s) >> 11) / 9007199254740992.0 * sum;
        unsigned lo = 0, hi = NKEYS - 1;
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* Scatter the ranks so hot keys are not neighbours in any table. */
        trace[i] = (unsigned)((lo * 7919ull) % NKEYS);
    }
    free(cdf);
    return trace;
}

/* A max-heap of (next use, key), stale pairs skipped when popped. */
struct pair {
    unsigned next, key;
};

static void
heap_push(struct pair *h, size_t *n, struct pair p)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].next < p.next) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = p;
}

static struct pair
heap_pop(struct pair *h, size_t *n)
{
    struct pair top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].next > h[c].next)
            c++;
        if (h[c].next <= last.next)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

/* Hits of Belady's MIN with room for ROOM entries. */
static unsigned
belady_hits(const unsigned *trace)
{
    unsigned *next = malloc(NREQ * sizeof(*next));
    unsigned *seen = malloc(NKEYS * sizeof(*seen));
    unsigned *cur = calloc(NKEYS, sizeof(*cur)); /* key's next use if held */
    bool *held = calloc(NKEYS, sizeof(*held));
    struct pair *heap = malloc((NREQ + 1) * sizeof(*heap));
    if (!next || !seen || !cur || !held || !heap)
        die("out of memory");
    for (unsigned k = 0; k < NKEYS; k++)
        seen[k] = NREQ; /* "never again" */
    for (unsigned i = NREQ; i-- > 0;) {
        next[i] = seen[trace[i]];
        seen[trace[i]] = i;
    }
    size_t n = 0, nheld = 0;
    unsigned hits = 0;
    for (unsigned i = 0; i < NREQ; i++) {
        unsigned k = trace[i];
        if (held[k]) {
            hits++;
        } else {
            while (nheld == ROOM) {
                struct pair p = heap_pop(heap, &n);
                if (held[p.key] && cur[p.key] == p.next) {
                    held[p.key] = false;
                    nheld--;
                }
            }
            held[k] = true;
            nheld++;
        }
        cur[k] = next[i];
        heap_push(heap, &n, (struct pair){next[i], k});
    }
    free(next);
    free(seen);
    free(cur);
    free(held);
    free(heap);
    return hits;
}

/* Hits of the cache under test on the trace; its stats into *st. */
static unsigned
cache_hits(const unsigned *trace, unsigned sample, struct cache_stats *st)
{
    struct cache_config cfg = {
        .max_bytes = ROOM * CHARGE, .sample = sample, .seed = 99};
    struct cache *c = NULL;
    char key[16], val[VLEN];
    unsigned hits = 0;

    int err = cache_open(&cfg, &c);
    if (err < 0)
        die("cache_open: %s", strerror(-err));
    memset(val, 'v', sizeof(val));
    for (unsigned i = 0; i < NREQ; i++) {
        snprintf(key, sizeof(key), "z%05u", trace[i]);
        ssize_t n = cache_get(c, key, KEYLEN, val, sizeof(val));
        if (n >= 0) {
            hits++;
            continue;
        }
        err = cache_put(c, key, KEYLEN, val, VLEN, 0);
        if (err < 0)
            die("cache_put: %s", strerror(-err));
    }
    cache_stats(c, st);
    cache_close(c);
    return hits;
}

static void
bench_hit_ratio(void)
{
    unsigned *trace = zipf_trace();
    struct cache_stats st, sst;
    double best = belady_hits(trace);
    double lru = cache_hits(trace, 0, &st);
    double sampled = cache_hits(trace, 5, &sst);

    printf("zipf %.1f, %u keys, %u requests, room for %u: hit ratio "
           "belady %.3f, lru %.3f, sampled(5) %.3f\n",
           ZIPF_S, NKEYS, NREQ, ROOM, best / NREQ, lru / NREQ, sampled / NREQ);
    pk_metric("belady_hit_ratio", best / NREQ);
    pk_metric("lru_hit_ratio", lru / NREQ);
    pk_metric("lru_miss_vs_belady", (NREQ - lru) / (NREQ - best));
    pk_metric("sampled_miss_vs_belady", (NREQ - sampled) / (NREQ - best));
    if (st.evictions > 0)
        pk_metric("examined_per_eviction",
                  (double)st.examined / (double)st.evictions);
    free(trace);
}

/* ---- O(1) eviction, counted in instructions ---------------------------- */

#define SMALL_N 256
#define LARGE_N 16384  /* 64 times as many */
#define WARM_PUTS 64   /* evicting puts before the count: a steady heap */
#define STEPPED_PUTS 8 /* evicting puts counted */
#define STEP_CAP 5     /* stop the large count at 5 times the small one */

/* Fills a cache of room for exactly n entries, then evicts WARM_PUTS. */
static struct cache *
full_cache(unsigned n)
{
    struct cache_config cfg = {.max_bytes = (size_t)n * CHARGE};
    struct cache *c = NULL;
    char key[16], val[VLEN];

    if (cache_open(&cfg, &c) < 0)
        _exit(3);
    memset(val, 'v', sizeof(val));
    for (unsigned i = 0; i < n + WARM_PUTS; i++) {
        snprintf(key, sizeof(key), "e%05u", i);
        if (cache_put(c, key, KEYLEN, val, VLEN, 0) < 0)
            _exit(3);
    }
    return c;
}

/*
 * Instructions the child executes in user space between its two
 * SIGSTOPs: STEPPED_PUTS evicting puts into a full cache of n entries,
 * plus a constant for the stops themselves; counting stops past cap (a
 * single step costs microseconds, so a scan of thousands of entries per
 * put would take minutes). 0 if tracing fails.
 */
static unsigned long
put_steps(unsigned n, unsigned long cap)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        char keys[STEPPED_PUTS][16], val[VLEN];
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
            _exit(2);
        struct cache *c = full_cache(n);
        memset(val, 'v', sizeof(val));
        for (unsigned i = 0; i < STEPPED_PUTS; i++)
            snprintf(keys[i], sizeof(keys[i]), "f%05u", i);
        raise(SIGSTOP); /* the parent steps from here */
        for (unsigned i = 0; i < STEPPED_PUTS; i++)
            cache_put(c, keys[i], KEYLEN, val, VLEN, 0);
        raise(SIGSTOP); /* to here */
        _exit(0);
    }

    unsigned long steps = 0;
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
        goto out_fail;
    for (;;) {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
            goto out_fail;
        if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
            goto out_fail;
        if (WSTOPSIG(st) == SIGSTOP || steps > cap)
            break;
        steps++;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return steps;

out_fail:
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return 0;
}

static void
bench_evict_steps(void)
{
    unsigned long small = put_steps(SMALL_N, 10000000);
    unsigned long large = put_steps(LARGE_N, STEP_CAP * small);

    printf("instructions for %u evicting puts: %lu with %u entries, %lu "
           "with %u\n",
           STEPPED_PUTS, small, SMALL_N, large, LARGE_N);
    if (small > 0 && large > 0)
        pk_metric("evict_steps_growth", (double)large / (double)small);
}

/* ---- allocations per hit ------------------------------------------------- */

#define HIT_KEYS 1000
#define HIT_GETS 100000

static void
bench_allocs(void)
{
    struct cache_config cfg = {.max_bytes = 1 << 20, .ttl_ms = 60000};
    struct cache *c = NULL;
    char key[16], val[VLEN];

    int err = cache_open(&cfg, &c);
    if (err < 0)
        die("cache_open: %s", strerror(-err));
    memset(val, 'v', sizeof(val));
    for (unsigned i = 0; i < HIT_KEYS; i++) {
        snprintf(key, sizeof(key), "h%05u", i);
        if ((err = cache_put(c, key, KEYLEN, val, VLEN, 0)) < 0)
            die("cache_put: %s", strerror(-err));
    }
    unsigned long before = __atomic_load_n(&nallocs, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < HIT_GETS; i++) {
        snprintf(key, sizeof(key), "h%05u", (i * 7u) % HIT_KEYS);
        if (cache_get(c, key, KEYLEN, val, sizeof(val)) != VLEN)
            die("cache_get missed a key it holds");
    }
    unsigned long n = __atomic_load_n(&nallocs, __ATOMIC_RELAXED) - before;
    printf("allocations in %u hits: %lu\n", HIT_GETS, n);
    pk_metric("allocs_per_hit", (double)n / HIT_GETS);
    cache_close(c);
}

/* ---- single flight against the database --------------------------------- */

#define HERD 64
#define HOT_ROUNDS 5
#define DB_DELAY_US 20000 /* a slow query */

struct db {
    pthread_mutex_t mu;
    struct resp_conn *conn;
};

static ssize_t
db_load(void *arg, const char *key, size_t klen, char *buf, size_t cap)
{
    struct db *db = arg;
    struct resp_reply r = {0};
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, klen};

    pthread_mutex_lock(&db->mu);
    int err = resp_command(db->conn, &r, TIMEOUT_MS, 2, argv, lens);
    pthread_mutex_unlock(&db->mu);
    ssize_t n = err < 0               ? err
                : r.type == RESP_NIL  ? -ENOENT
                : r.type != RESP_BULK ? -EPROTO
                : r.len > cap         ? -EMSGSIZE
                                      : (ssize_t)r.len;
    if (n >= 0)
        memcpy(buf, r.str, r.len);
    resp_reply_free(&r);
    return n;
}

struct herd {
    struct cache_aside *a;
    pthread_barrier_t *start;
    char key[16];
    int bad; /* threads whose get failed */
};

static void *
herd_member(void *arg)
{
    struct herd *h = arg;
    char val[64];

    pthread_barrier_wait(h->start);
    if (cache_aside_get(h->a, h->key, strlen(h->key), val, sizeof(val)) != 5)
        __atomic_fetch_add(&h->bad, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void
bench_single_flight(void)
{
    struct kvd_config kc = {.rtt_delay_us = DB_DELAY_US};
    struct kvd *kv = NULL;
    struct db db = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int err;

    if ((err = kvd_start(&kc, &kv)) < 0)
        die("kvd_start: %s", strerror(-err));
    if ((err = resp_connect(NULL, kvd_port(kv), TIMEOUT_MS, &db.conn)) < 0)
        die("resp_connect: %s", strerror(-err));
    struct cache_aside_config cfg = {
        .cache = {.max_bytes = 1 << 20, .ttl_ms = 60000},
        .load = db_load,
        .load_arg = &db,
    };
    struct cache_aside *a = NULL;
    if ((err = cache_aside_open(&cfg, &a)) < 0)
        die("cache_aside_open: %s", strerror(-err));

    struct kvd_stats k0, k1;
    uint64_t loads = 0;
    for (int round = 0; round < HOT_ROUNDS; round++) {
        struct herd h = {.a = a};
        pthread_barrier_t start;
        pthread_t t[HERD];
        struct resp_reply r = {0};

        snprintf(h.key, sizeof(h.key), "hot%d", round);
        if (resp_call(db.conn, &r, TIMEOUT_MS, "SET", h.key, "value", NULL))
            die("SET in the database failed");
        resp_reply_free(&r);
        pthread_barrier_init(&start, NULL, HERD);
        h.start = &start;
        kvd_stats(kv, &k0);
        for (int i = 0; i < HERD; i++)
            if (pthread_create(&t[i], NULL, herd_member, &h) != 0)
                die("pthread_create failed");
        for (int i = 0; i < HERD; i++)
            pthread_join(t[i], NULL);
        kvd_stats(kv, &k1);
        pthread_barrier_destroy(&start);
        if (h.bad > 0)
            die("%d of %d gets of a hot key failed", h.bad, HERD);
        loads += k1.commands - k0.commands;
    }
    printf("64 threads missing one key at once, %d times: %llu loads\n",
           HOT_ROUNDS, (unsigned long long)loads);
    pk_metric("loads_per_hot_miss", (double)loads / HOT_ROUNDS);
    cache_aside_close(a);
    resp_close(db.conn);
    kvd_stop(kv);
}

/* ---- the avalanche after a mass expiry ------------------------------------
 */

#define WARM_KEYS 2000
#define WARM_TTL_MS 10000
#define STEP_MS 10
#define BUCKET_MS 100

static uint64_t sim_now; /* the simulated clock, ms */
static unsigned long sim_loads;

static uint64_t
sim_clock(void *arg)
{
    (void)arg;
    return sim_now;
}

static ssize_t
sim_load(void *arg, const char *key, size_t klen, char *buf, size_t cap)
{
    (void)arg;
    (void)key;
    (void)klen;
    sim_loads++;
    memset(buf, 'v', cap < VLEN ? cap : VLEN);
    return VLEN;
}

/* The most loads in one BUCKET_MS after the warm-up, with this jitter. */
static unsigned long
expiry_peak(unsigned jitter)
{
    struct cache_aside_config cfg = {
        .cache = {.max_bytes = 4 << 20,
                  .ttl_ms = WARM_TTL_MS,
                  .jitter_pct = jitter,
                  .seed = 5,
                  .clock = sim_clock},
        .load = sim_load,
    };
    struct cache_aside *a = NULL;
    char key[16], val[VLEN];
    unsigned long peak = 0;

    int err = cache_aside_open(&cfg, &a);
    if (err < 0)
        die("cache_aside_open: %s", strerror(-err));
    sim_now = 0;
    for (uint64_t t = 0; t <= WARM_TTL_MS + 1000; t += BUCKET_MS) {
        unsigned long before = sim_loads;
        for (sim_now = t; sim_now < t + BUCKET_MS; sim_now += STEP_MS)
            for (unsigned i = 0; i < WARM_KEYS; i++) {
                snprintf(key, sizeof(key), "w%05u", i);
                if (cache_aside_get(a, key, 6, val, sizeof(val)) != VLEN)
                    die("cache_aside_get failed");
            }
        unsigned long n = sim_loads - before;
        if (t > 0 && n > peak) /* t = 0 is the warm-up itself */
            peak = n;
    }
    cache_aside_close(a);
    return peak;
}

static void
bench_avalanche(void)
{
    unsigned long flat = expiry_peak(0), spread = expiry_peak(20);

    printf("%u keys, ttl %u ms: most loads in %u ms after warm-up: %lu "
           "without jitter, %lu with 20%%\n",
           WARM_KEYS, WARM_TTL_MS, BUCKET_MS, flat, spread);
    if (flat > 0)
        pk_metric("expiry_peak_vs_no_jitter", (double)spread / (double)flat);
}

int
main(int argc, char **argv)
{
    pk_init(argc, argv, 1);
    bench_hit_ratio();
    bench_evict_steps(); /* forks: before any thread starts */
    bench_allocs();
    bench_single_flight();
    bench_avalanche();
    return 0;
}
