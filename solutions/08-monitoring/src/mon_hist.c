/*
 * mon_hist.c - exercise 2 of chapter 08: a latency histogram.
 *
 * The contract is in include/mon.h. The idea: a value is kept to a fixed
 * number of significant digits, so the buckets are linear within each
 * power of two and there are as many per power of two as the digits ask
 * for (log-linear). 1 us to 1 hour at 3 digits is about 23,500 buckets:
 * a few hundred kilobytes, allocated once, and recording is an index
 * computation and an increment, with no allocation and no system call.
 *
 * Organisation: making and freeing, the bucket arithmetic, recording,
 * reading back, the Prometheus text format.
 */
#include "mon.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Invariants: count is the sum of counts[0..nbuckets); min and max are the
 * exact extremes of what was counted (both 0 while count is 0).
 */
struct mon_hist {
    uint64_t max_value; /* the largest value accepted */
    int digits;         /* significant decimal digits kept */
    unsigned sub_bits;  /* log2 of the first power of two >= 2 * 10^digits */
    size_t nbuckets;    /* entries in counts */
    uint64_t count;     /* values counted */
    uint64_t min, max;  /* exact extremes */
    uint64_t sum;       /* exact sum */
    uint64_t counts[];  /* per bucket; allocated with the struct */
};

/* ---- making and freeing ------------------------------------------------- */

/*
 * TODO(hist.1): choose the buckets for max_value at `digits` significant
 * digits and allocate everything in one piece [MON-10]. The footprint must
 * not depend on what is recorded [MON-11]. Reject bad arguments first.
 */
int
mon_hist_new(uint64_t max_value, int digits, struct mon_hist **out)
{
    // SOLUTION-BEGIN
    if (max_value < 2 || max_value > (UINT64_C(1) << 62) || digits < 1 ||
        digits > 5)
        return -EINVAL;

    /* sub = the smallest power of two at or above 2 * 10^digits: values
     * below it are exact, and above it each power of two [2^k, 2^(k+1))
     * is cut into sub / 2 equal buckets, a relative width of at most
     * 2 / sub <= 10^-digits. */
    uint64_t want = 2;
    for (int i = 0; i < digits; i++)
        want *= 10;
    unsigned sub_bits = 1;
    while ((UINT64_C(1) << sub_bits) < want)
        sub_bits++;

    unsigned top = 63 - (unsigned)__builtin_clzll(max_value);
    unsigned shifts = top >= sub_bits ? top - sub_bits + 1 : 0;
    size_t nbuckets = ((size_t)1 << sub_bits) +
                      (size_t)shifts * ((size_t)1 << (sub_bits - 1));

    struct mon_hist *h =
        calloc(1, sizeof(*h) + nbuckets * sizeof(h->counts[0]));
    if (h == NULL)
        return -ENOMEM;
    h->max_value = max_value;
    h->digits = digits;
    h->sub_bits = sub_bits;
    h->nbuckets = nbuckets;
    *out = h;
    return 0;
    // SOLUTION-STUB
    // (void)max_value;
    // (void)digits;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

void
mon_hist_free(struct mon_hist *h)
{
    free(h);
}

size_t
mon_hist_footprint(const struct mon_hist *h)
{
    return sizeof(*h) + h->nbuckets * sizeof(h->counts[0]);
}

/* ---- the bucket arithmetic ---------------------------------------------- */

/*
 * The bucket of a value: values below sub = 2^sub_bits have one each;
 * above, the power of two [2^k, 2^(k+1)) is cut into sub / 2 buckets of
 * width 2^shift, shift = k - sub_bits + 1.
 */
// SOLUTION-BEGIN
static size_t
bucket_of(const struct mon_hist *h, uint64_t value)
{
    uint64_t sub = UINT64_C(1) << h->sub_bits;
    if (value < sub)
        return (size_t)value;
    /* shift >= 1: value >> shift lands in [sub / 2, sub). */
    unsigned shift = 63 - (unsigned)__builtin_clzll(value) - h->sub_bits + 1;
    uint64_t half = sub >> 1;
    return (size_t)(sub + (shift - 1) * half + ((value >> shift) - half));
}

static uint64_t
bucket_top(const struct mon_hist *h, size_t index)
{
    uint64_t sub = UINT64_C(1) << h->sub_bits;
    if (index < sub)
        return index;
    uint64_t half = sub >> 1;
    uint64_t above = index - sub;
    unsigned shift = (unsigned)(above / half) + 1;
    uint64_t low = (half + above % half) << shift;
    return low + (UINT64_C(1) << shift) - 1;
}
// SOLUTION-STUB
// SOLUTION-END

/* ---- recording ---------------------------------------------------------- */

/*
 * TODO(hist.2): count one value [MON-12]: no allocation, no system call,
 * and the exact count, min, max and sum kept for mon_hist_stats [MON-14].
 * Its bucket: values below 2 * 10^digits get a bucket each [MON-15];
 * above, a bucket's width is at most a 10^-digits fraction of its values.
 */
int
mon_hist_record(struct mon_hist *h, uint64_t value)
{
    // SOLUTION-BEGIN
    if (value > h->max_value)
        return -ERANGE;
    h->counts[bucket_of(h, value)]++;
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
    h->sum += value;
    return 0;
    // SOLUTION-STUB
    // (void)h;
    // (void)value;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(hist.3): the coordinated-omission correction [MON-13]: the value,
 * then the waits the operations it held up would have seen.
 */
int
mon_hist_record_corrected(struct mon_hist *h, uint64_t value, uint64_t interval)
{
    // SOLUTION-BEGIN
    int err = mon_hist_record(h, value);
    if (err < 0 || interval == 0)
        return err;
    if (value < interval)
        return 0;
    /* Each of these is below value, so none can be out of range. */
    for (uint64_t v = value - interval; v >= interval; v -= interval)
        mon_hist_record(h, v);
    return 0;
    // SOLUTION-STUB
    // (void)h;
    // (void)value;
    // (void)interval;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ---- reading back ------------------------------------------------------- */

void
mon_hist_stats(const struct mon_hist *h, struct mon_hist_stats *out)
{
    *out = (struct mon_hist_stats){
        .count = h->count,
        .min = h->min,
        .max = h->max,
        .sum = h->sum,
    };
}

/*
 * TODO(hist.4): the nearest-rank percentile [MON-15] [MON-16]: find the
 * rank, then the bucket where the running count first reaches it.
 */
int
mon_hist_percentile(const struct mon_hist *h, double p, uint64_t *out)
{
    // SOLUTION-BEGIN
    if (!(p >= 0.0 && p <= 100.0)) /* also false for NaN */
        return -EINVAL;
    if (h->count == 0)
        return -ENODATA;

    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count; /* rounding of p / 100 * n near the top */

    uint64_t seen = 0;
    for (size_t i = 0; i < h->nbuckets; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            *out = bucket_top(h, i);
            return 0;
        }
    }
    return -ENODATA; /* unreachable while count is the sum of counts */
    // SOLUTION-STUB
    // (void)h;
    // (void)p;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(hist.5): merge per-thread histograms [MON-17]. */
int
mon_hist_merge(struct mon_hist *dst, const struct mon_hist *src)
{
    // SOLUTION-BEGIN
    if (dst->max_value != src->max_value || dst->digits != src->digits)
        return -EINVAL;
    for (size_t i = 0; i < dst->nbuckets; i++)
        dst->counts[i] += src->counts[i];
    if (src->count != 0) {
        if (dst->count == 0 || src->min < dst->min)
            dst->min = src->min;
        if (src->max > dst->max)
            dst->max = src->max;
    }
    dst->count += src->count;
    dst->sum += src->sum;
    return 0;
    // SOLUTION-STUB
    // (void)dst;
    // (void)src;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ---- the Prometheus text format ----------------------------------------- */

/*
 * Given: appends formatted text at *off in buf[0..len), keeping room for
 * the NUL. False when it does not fit; *off then stops moving.
 */
__attribute__((format(printf, 4, 5))) static bool
append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;

    if (*off >= len)
        return false;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *off)
        return false;
    *off += (size_t)n;
    return true;
}

/* Given: a Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool
metric_name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || isdigit((unsigned char)*name))
        return false;
    for (const char *c = name; *c != '\0'; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != ':')
            return false;
    return true;
}

/*
 * TODO(hist.6): the text format [MON-18] [MON-19]: one cumulative
 * _bucket line per bound, +Inf, _sum and _count. A bucket is counted
 * under a bound when its largest value is at most the bound.
 */
ssize_t
mon_hist_prometheus(const struct mon_hist *h, const char *name,
                    const uint64_t *le, size_t nle, double unit, char *buf,
                    size_t len)
{
    if (!metric_name_ok(name))
        return -EINVAL;
    // SOLUTION-BEGIN
    for (size_t i = 1; i < nle; i++)
        if (le[i] <= le[i - 1])
            return -EINVAL;

    size_t off = 0;
    if (!append(buf, len, &off, "# TYPE %s histogram\n", name))
        return -ENOSPC;

    /* One walk over the buckets serves every bound, as both ascend. */
    uint64_t below = 0;
    size_t b = 0;
    for (size_t i = 0; i < nle; i++) {
        while (b < h->nbuckets && bucket_top(h, b) <= le[i])
            below += h->counts[b++];
        if (!append(buf, len, &off, "%s_bucket{le=\"%.17g\"} %" PRIu64 "\n",
                    name, (double)le[i] * unit, below))
            return -ENOSPC;
    }
    if (!append(buf, len, &off,
                "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                "%s_sum %.17g\n"
                "%s_count %" PRIu64 "\n",
                name, h->count, name, (double)h->sum * unit, name, h->count))
        return -ENOSPC;
    return (ssize_t)off;
    // SOLUTION-STUB
    // (void)h;
    // (void)le;
    // (void)nle;
    // (void)unit;
    // (void)buf;
    // (void)len;
    // (void)append;
    // return -ENOSYS;
    // SOLUTION-END
}
