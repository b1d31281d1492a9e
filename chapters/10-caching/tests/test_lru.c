/*
 * test_lru.c - exercise 1 of chapter 10: the in-process cache.
 *
 * Every cache here runs on a clock the test sets (cachet_clock), and a
 * fixed seed, so expiries and sampled victims are the same on every run.
 * Sizes are exact: an entry is charged klen + vlen + CACHE_ENTRY_OVERHEAD.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "iolab/testkit.h"

/* The charge of an entry with a key like "k0042" and a value "v0042". */
#define KV_LEN 5
#define CHARGE (2 * KV_LEN + CACHE_ENTRY_OVERHEAD)

static void
key_of(char out[8], const char *prefix, unsigned i)
{
    snprintf(out, 8, "%s%04u", prefix, i % 10000);
}

/* Puts "k%04u" -> "v%04u" for i in [from, to). */
static void
put_range(struct cache *c, unsigned from, unsigned to)
{
    char k[8], v[8];

    for (unsigned i = from; i < to; i++) {
        key_of(k, "k", i);
        key_of(v, "v", i);
        cachet_put(c, k, v);
    }
}

static bool
has_nr(struct cache *c, unsigned i)
{
    char k[8];

    key_of(k, "k", i);
    return cachet_has(c, k);
}

/* ---- [CACHE-1] [CACHE-2] ---------------------------------------------------
 */

TK_TEST(lru, open_checks_config,
        .description = "[CACHE-1] cache_open refuses a bad configuration "
                       "with -EINVAL and leaves *out alone; the stats of a "
                       "new cache are zero")
{
    struct cache *c = NULL;
    struct cache_config bad[] = {
        {.max_bytes = 0},
        {.max_bytes = 4096, .jitter_pct = 101},
        {.max_bytes = 4096, .sample = CACHE_MAX_SAMPLE + 1},
    };
    struct cache_config good = {.max_bytes = 4096};

    cr_assert_eq(cache_open(NULL, &c), -EINVAL, "cache_open(NULL cfg)");
    cr_assert_eq(cache_open(&good, NULL), -EINVAL, "cache_open(NULL out)");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(cache_open(&bad[i], &c), -EINVAL,
                     "cache_open accepted bad config %zu", i);
    cr_assert_null(c, "a failed cache_open wrote *out");

    c = cachet_open(good);
    struct cache_stats st = cachet_stats(c);
    cr_assert(st.entries == 0 && st.bytes == 0 && st.hits == 0 &&
                  st.misses == 0 && st.evictions == 0 && st.expired == 0 &&
                  st.examined == 0,
              "the stats of a new cache are not all zero");
    cache_close(c);
    cache_close(NULL);
}

TK_TEST(lru, put_get_replace_del,
        .description = "[CACHE-2] get returns the full length and copies at "
                       "most cap bytes; put replaces; del removes; a miss is "
                       "-ENOENT; bad arguments are -EINVAL")
{
    struct cache *c = cachet_open((struct cache_config){.max_bytes = 4096});
    char buf[16];

    cr_assert_eq(cache_get(c, "a", 1, buf, sizeof(buf)), -ENOENT,
                 "a get on an empty cache is not -ENOENT");
    cachet_put(c, "a", "hello");
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(cache_get(c, "a", 1, buf, sizeof(buf)), 5, "get(a) length");
    cr_assert_str_eq(buf, "hello", "get(a) value");

    memset(buf, 0, sizeof(buf));
    cr_assert_eq(cache_get(c, "a", 1, buf, 2), 5,
                 "a get into a short buffer must still return the full length");
    cr_assert_eq(memcmp(buf, "he\0", 3), 0,
                 "a get into a 2-byte buffer copied more than 2 bytes");
    cr_assert_eq(cache_get(c, "a", 1, NULL, 0), 5, "get with cap 0");

    cachet_put(c, "a", "xy");
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(cache_get(c, "a", 1, buf, sizeof(buf)), 2,
                 "get after a replacing put: length");
    cr_assert_str_eq(buf, "xy", "get after a replacing put: value");
    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.entries, 1, "a replacing put must not add an entry");
    cr_assert_eq(st.bytes, 1 + 2 + CACHE_ENTRY_OVERHEAD,
                 "bytes after a replacing put: %llu",
                 (unsigned long long)st.bytes);

    cr_assert_eq(cache_put(c, "e", 1, NULL, 0, 0), 0, "an empty value");
    cr_assert_eq(cache_get(c, "e", 1, buf, sizeof(buf)), 0,
                 "an empty value's length");
    cr_assert_eq(cache_del(c, "a", 1), 0, "del(a)");
    cr_assert_eq(cache_del(c, "a", 1), -ENOENT, "del(a) twice");
    cr_assert_eq(cache_get(c, "a", 1, buf, sizeof(buf)), -ENOENT,
                 "get after del");

    char longkey[CACHE_MAX_KEY + 1];
    memset(longkey, 'k', sizeof(longkey));
    cr_assert_eq(cache_put(c, longkey, sizeof(longkey), "v", 1, 0), -EINVAL,
                 "a key over CACHE_MAX_KEY");
    cr_assert_eq(cache_put(c, longkey, CACHE_MAX_KEY, "v", 1, 0), 0,
                 "a key of exactly CACHE_MAX_KEY");
    cr_assert_eq(cache_put(c, "a", 0, "v", 1, 0), -EINVAL, "an empty key");
    cr_assert_eq(cache_put(c, "a", 1, NULL, 1, 0), -EINVAL, "NULL value");
    cr_assert_eq(cache_get(c, NULL, 1, buf, 1), -EINVAL, "get(NULL key)");
    cr_assert_eq(cache_del(c, "a", 0), -EINVAL, "del of an empty key");
    st = cachet_stats(c);
    cr_assert_eq(st.hits, 5, "hits: %llu, expected 5",
                 (unsigned long long)st.hits);
    cr_assert_eq(st.misses, 2, "misses: %llu, expected 2",
                 (unsigned long long)st.misses);
    cache_close(c);
}

/* ---- [CACHE-3] ------------------------------------------------------------
 */

TK_TEST(lru, bound_counts_entry_overhead,
        .description = "[CACHE-3] exactly max_bytes / (klen + vlen + "
                       "CACHE_ENTRY_OVERHEAD) entries fit; one more evicts "
                       "exactly one, the least recently used")
{
    const unsigned fit = 10;
    struct cache *c =
        cachet_open((struct cache_config){.max_bytes = fit * CHARGE});

    put_range(c, 0, fit);
    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.entries, fit, "%llu entries after %u puts that fit",
                 (unsigned long long)st.entries, fit);
    cr_assert_eq(st.bytes, fit * CHARGE, "bytes: %llu, expected %u",
                 (unsigned long long)st.bytes, fit * CHARGE);
    cr_assert_eq(st.evictions, 0, "evicted while everything fit");

    put_range(c, fit, fit + 1);
    st = cachet_stats(c);
    cr_assert_eq(st.evictions, 1,
                 "one put past the bound evicted %llu entries, expected 1 "
                 "(is each entry charged CACHE_ENTRY_OVERHEAD?)",
                 (unsigned long long)st.evictions);
    cr_assert_eq(st.entries, fit, "entries after one eviction");
    cr_assert(st.bytes <= fit * CHARGE, "the bound was exceeded: %llu bytes",
              (unsigned long long)st.bytes);
    cr_assert(!has_nr(c, 0), "the oldest entry (k0000) was not the one "
                             "evicted");
    for (unsigned i = 1; i <= fit; i++)
        cr_assert(has_nr(c, i), "k%04u was evicted, but only k0000 had to go",
                  i);
    cache_close(c);
}

TK_TEST(lru, too_big_is_refused,
        .description = "[CACHE-3] a value whose charge exceeds max_bytes is "
                       "-E2BIG, stores nothing, and removes the key's older "
                       "value; one that fits exactly is stored")
{
    size_t max = 256;
    struct cache *c = cachet_open((struct cache_config){.max_bytes = max});
    char big[256];
    memset(big, 'x', sizeof(big));

    cachet_put(c, "k", "old");
    size_t exact = max - 1 - CACHE_ENTRY_OVERHEAD;
    cr_assert_eq(cache_put(c, "k", 1, big, exact + 1, 0), -E2BIG,
                 "a value one byte over the bound was not refused with "
                 "-E2BIG");
    cr_assert(!cachet_has(c, "k"),
              "after a refused put, the key's old value is still served");
    cr_assert_eq(cache_put(c, "k", 1, big, exact, 0), 0,
                 "a value whose charge is exactly max_bytes was refused");
    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.bytes, max, "bytes: %llu, expected %zu",
                 (unsigned long long)st.bytes, max);
    cache_close(c);
}

/* ---- [CACHE-4] [CACHE-5]
 * ----------------------------------------------------- */

TK_TEST(lru, hit_moves_entry_to_front,
        .description = "[CACHE-4] a hit makes the entry the most recently "
                       "used: the next eviction takes the least recently "
                       "used other entry")
{
    const unsigned fit = 8;
    struct cache *c =
        cachet_open((struct cache_config){.max_bytes = fit * CHARGE});

    put_range(c, 0, fit);
    /* Use the older half: now k0004..k0007 are the least recently used. */
    for (unsigned i = 0; i < fit / 2; i++)
        cr_assert(has_nr(c, i), "k%04u missing before any eviction", i);
    put_range(c, fit, fit + fit / 2);
    for (unsigned i = 0; i < fit / 2; i++)
        cr_assert(has_nr(c, i),
                  "k%04u was hit just before, yet it was evicted (does a hit "
                  "move the entry to the front?)",
                  i);
    for (unsigned i = fit / 2; i < fit; i++)
        cr_assert(!has_nr(c, i),
                  "k%04u was the least recently used, yet it "
                  "survived",
                  i);
    cache_close(c);
}

TK_TEST(lru, eviction_looks_at_one_entry,
        .description = "[CACHE-5] exact LRU examines one entry per "
                       "eviction, however many entries the cache holds")
{
    const unsigned fit = 9000; /* keys k0000..k9499 stay distinct */
    struct cache *c =
        cachet_open((struct cache_config){.max_bytes = fit * CHARGE});

    put_range(c, 0, fit);
    put_range(c, fit, fit + 500);
    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.evictions, 500, "evictions: %llu, expected 500",
                 (unsigned long long)st.evictions);
    cr_assert_eq(st.examined, st.evictions,
                 "%llu entries examined for %llu evictions: choosing a "
                 "victim must not scan the cache",
                 (unsigned long long)st.examined,
                 (unsigned long long)st.evictions);
    cache_close(c);
}

/* ---- [CACHE-6] [CACHE-7]
 * ----------------------------------------------------- */

TK_TEST(lru, ttl_expires_on_the_clock,
        .description = "[CACHE-6] without jitter an entry lives exactly "
                       "ttl ms: a hit at ttl - 1, a miss at ttl that removes "
                       "it; a put's own ttl overrides the default")
{
    uint64_t now = 5000;
    struct cache *c = cachet_open((struct cache_config){
        .max_bytes = 4096,
        .ttl_ms = 1000,
        .clock = cachet_clock,
        .clock_arg = &now,
    });

    cachet_put(c, "a", "1");
    cr_assert_eq(cache_put(c, "b", 1, "2", 1, 300), 0, "put with ttl 300");
    now = 5299;
    cr_assert(cachet_has(c, "b"), "b (ttl 300) expired before 300 ms");
    now = 5300;
    cr_assert(!cachet_has(c, "b"), "b (ttl 300) still served at 300 ms");
    now = 5999;
    cr_assert(cachet_has(c, "a"), "a (ttl 1000) expired before 1000 ms");
    now = 6000;
    cr_assert(!cachet_has(c, "a"), "a (ttl 1000) still served at 1000 ms");
    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.expired, 2, "expired: %llu, expected 2",
                 (unsigned long long)st.expired);
    cr_assert_eq(st.entries, 0, "expired entries are still held");
    cache_close(c);
}

/*
 * Puts n keys at t = 0 with ttl 1000 ms and the given jitter, then reads
 * every live key at each ms and counts, per ms, the keys that expired
 * there: expired_at[t] for t in 0..1000.
 */
static void
expiry_histogram(unsigned jitter, uint64_t seed, unsigned n,
                 unsigned expired_at[1001])
{
    uint64_t now = 0;
    struct cache *c = cachet_open((struct cache_config){
        .max_bytes = (size_t)n * CHARGE,
        .ttl_ms = 1000,
        .jitter_pct = jitter,
        .seed = seed,
        .clock = cachet_clock,
        .clock_arg = &now,
    });
    bool gone[1000] = {false};

    put_range(c, 0, n);
    memset(expired_at, 0, 1001 * sizeof(expired_at[0]));
    /* Every ms where expiries may fall, every 100 ms before. */
    for (now = 0; now <= 1000; now += now < 780 ? 100 : 1)
        for (unsigned i = 0; i < n; i++)
            if (!gone[i] && !has_nr(c, i)) {
                gone[i] = true;
                expired_at[now]++;
            }
    cache_close(c);
}

TK_TEST(lru, jitter_spreads_expiries,
        .description = "[CACHE-7] entries put together expire spread over "
                       "ttl - ttl*jitter/100 .. ttl, not at one instant, the "
                       "same way for the same seed")
{
    static unsigned at[1001], again[1001], other[1001];

    expiry_histogram(20, 7, 1000, at);
    unsigned before = 0, late = 0, peak = 0;
    for (unsigned t = 0; t < 800; t++)
        before += at[t];
    for (unsigned t = 900; t <= 1000; t++)
        late += at[t];
    for (unsigned t = 0; t <= 1000; t++)
        peak = at[t] > peak ? at[t] : peak;
    cr_assert_eq(before, 0, "%u entries expired before ttl - 20%%", before);
    cr_assert(peak <= 50,
              "%u of 1000 entries expired in the same ms: the expiries are "
              "not spread (is the jitter drawn for each entry?)",
              peak);
    cr_assert(late >= 250 && late <= 750,
              "%u of 1000 entries expired in the last half of the jitter "
              "range, expected about 500 (a uniform draw)",
              late);

    expiry_histogram(20, 7, 1000, again);
    cr_assert_eq(memcmp(at, again, sizeof(at)), 0,
                 "the same seed and clock gave different expiries");
    expiry_histogram(20, 8, 1000, other);
    cr_assert_neq(memcmp(at, other, sizeof(at)), 0,
                  "another seed gave exactly the same expiries");
}

/* ---- [CACHE-8]
 * --------------------------------------------------------------- */

TK_TEST(lru, sampled_keeps_recent_entries,
        .description = "[CACHE-8] sampled LRU examines sample entries per "
                       "eviction and evicts old ones: entries used just "
                       "before almost all survive")
{
    const unsigned fit = 1000, hot = 100, fresh = 100;
    struct cache *c = cachet_open((struct cache_config){
        .max_bytes = fit * CHARGE, .sample = 5, .seed = 3});

    put_range(c, 0, fit);
    /* Make the first hundred, the oldest by insertion, the most recent. */
    for (unsigned i = 0; i < hot; i++)
        cr_assert(has_nr(c, i), "k%04u missing before any eviction", i);
    put_range(c, fit, fit + fresh);

    struct cache_stats st = cachet_stats(c);
    cr_assert_eq(st.evictions, fresh, "evictions: %llu, expected %u",
                 (unsigned long long)st.evictions, fresh);
    cr_assert(st.examined <= 5 * st.evictions && st.examined >= st.evictions,
              "%llu entries examined for %llu evictions with sample 5",
              (unsigned long long)st.examined,
              (unsigned long long)st.evictions);
    unsigned kept = 0;
    for (unsigned i = 0; i < hot; i++)
        kept += has_nr(c, i);
    cr_assert(kept >= 95,
              "only %u of the %u entries hit just before survived %u "
              "evictions: is the oldest of the sample evicted?",
              kept, hot, fresh);
    cache_close(c);
}
