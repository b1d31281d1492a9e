/*
 * mon_disk.c - exercise 1 of chapter 08: /proc/diskstats and iostat -x.
 *
 * The contract, with every edge case, is in include/mon.h. Everything here
 * is a pure function over text and numbers: no file is opened, so the
 * tests can feed recorded snapshots and check each formula exactly.
 *
 * Organisation: parsing one line, parsing a snapshot, then the formulas.
 */
#include "mon.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* ---- parsing ------------------------------------------------------------ */

// SOLUTION-BEGIN
static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* True at the end of a line: NUL, or a newline and then NUL. */
static bool
at_end(const char *p)
{
    return *p == '\0' || (*p == '\n' && p[1] == '\0');
}

/* The 17 counters in the order the line holds them. */
static uint64_t *
stat_slot(struct mon_disk *d, unsigned i)
{
    uint64_t *slots[17] = {
        &d->rd_ios,    &d->rd_merges,  &d->rd_sectors,    &d->rd_ticks,
        &d->wr_ios,    &d->wr_merges,  &d->wr_sectors,    &d->wr_ticks,
        &d->in_flight, &d->io_ticks,   &d->time_in_queue, &d->dc_ios,
        &d->dc_merges, &d->dc_sectors, &d->dc_ticks,      &d->fl_ios,
        &d->fl_ticks,
    };
    return slots[i];
}
// SOLUTION-STUB
// SOLUTION-END

/*
 * TODO(disk.1): one line of /proc/diskstats [MON-1]: major, minor, name,
 * then 11, 15 or 17 unsigned decimal counters, blanks between them. Refuse
 * everything else with -EINVAL and leave *out untouched [MON-2]: a sign, a
 * letter glued to a number, a number past UINT64_MAX, a name too long.
 */
int
mon_disk_parse_line(const char *line, struct mon_disk *out)
{
    // SOLUTION-BEGIN
    struct mon_disk d = {0};
    const char *p = line;
    uint64_t v;

    /* Major and minor, each a number that fits an unsigned int. */
    for (int i = 0; i < 2; i++) {
        while (is_blank(*p))
            p++;
        if (!mon_parse_u64(&p, &v) || v > UINT_MAX || !is_blank(*p))
            return -EINVAL;
        if (i == 0)
            d.major = (unsigned)v;
        else
            d.minor = (unsigned)v;
    }

    /* The name: everything up to the next blank. */
    while (is_blank(*p))
        p++;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '\n' && !is_blank(p[n]))
        n++;
    if (n == 0 || n >= MON_DISK_NAME_MAX)
        return -EINVAL;
    memcpy(d.name, p, n);
    p += n;

    /* The counters: as many as there are, but no more than 17. */
    unsigned count = 0;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (at_end(p))
            break;
        if (count == 17 || !mon_parse_u64(&p, &v))
            return -EINVAL;
        if (!is_blank(*p) && !at_end(p))
            return -EINVAL; /* "12x": a number glued to garbage */
        *stat_slot(&d, count++) = v;
    }
    if (count != 11 && count != 15 && count != 17)
        return -EINVAL;
    d.nstats = count;
    *out = d;
    return 0;
    // SOLUTION-STUB
    // (void)line;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * Given: splitting the snapshot into lines. Each line is copied into a
 * buffer of its own so mon_disk_parse_line sees a NUL where the line ends.
 *
 * TODO(disk.2): the per-line step of the snapshot parser [MON-3]: one bad
 * line rejects the snapshot; more devices than max is -ENOSPC.
 */
ssize_t
mon_disk_parse(const char *text, struct mon_disk *out, size_t max)
{
    char line[512]; /* a real line is under 250 characters */
    size_t n = 0;

    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof(line))
            return -EINVAL;
        memcpy(line, p, len);
        line[len] = '\0';
        // SOLUTION-BEGIN
        if (n == max)
            return -ENOSPC;
        int err = mon_disk_parse_line(line, &out[n]);
        if (err < 0)
            return err;
        n++;
        // SOLUTION-STUB
        // (void)out;
        // (void)max;
        // return -ENOSYS;
        // SOLUTION-END
        p += len;
        if (*p == '\n')
            p++;
    }
    return (ssize_t)n;
}

/* ---- the formulas ------------------------------------------------------- */

/*
 * TODO(disk.3): a counter's increase, and the rule for one that went down
 * [MON-4]: a 32-bit wrap when both values fit 32 bits, else a restart.
 */
bool
mon_disk_delta(uint64_t prev, uint64_t cur, uint64_t *out)
{
    // SOLUTION-BEGIN
    if (cur >= prev) {
        *out = cur - prev;
        return true;
    }
    if (prev <= UINT32_MAX) {
        /* A 32-bit counter passed 2^32 - 1 and started again at 0. */
        *out = cur + (UINT64_C(1) << 32) - prev;
        return true;
    }
    return false;
    // SOLUTION-STUB
    // (void)prev;
    // (void)cur;
    // (void)out;
    // return false;
    // SOLUTION-END
}

// SOLUTION-BEGIN
static bool
same_device(const struct mon_disk *a, const struct mon_disk *b)
{
    return a->major == b->major && a->minor == b->minor &&
           strcmp(a->name, b->name) == 0;
}
// SOLUTION-STUB
// SOLUTION-END

/*
 * TODO(disk.4): iostat -x for one device [MON-5] [MON-6] [MON-7]: each
 * rate per second of the interval, await per completed IO (0 with none),
 * aqu-sz from the weighted time, %util from the busy time. Refuse a zero
 * interval, two different devices, and restarted counters [MON-8].
 */
int
mon_disk_rates(const struct mon_disk *prev, const struct mon_disk *cur,
               uint64_t interval_ms, struct mon_disk_rates *out)
{
    // SOLUTION-BEGIN
    if (interval_ms == 0 || !same_device(prev, cur))
        return -EINVAL;

    uint64_t rd, wr, rsec, wsec, rtk, wtk, busy, queue;
    if (!mon_disk_delta(prev->rd_ios, cur->rd_ios, &rd) ||
        !mon_disk_delta(prev->wr_ios, cur->wr_ios, &wr) ||
        !mon_disk_delta(prev->rd_sectors, cur->rd_sectors, &rsec) ||
        !mon_disk_delta(prev->wr_sectors, cur->wr_sectors, &wsec) ||
        !mon_disk_delta(prev->rd_ticks, cur->rd_ticks, &rtk) ||
        !mon_disk_delta(prev->wr_ticks, cur->wr_ticks, &wtk) ||
        !mon_disk_delta(prev->io_ticks, cur->io_ticks, &busy) ||
        !mon_disk_delta(prev->time_in_queue, cur->time_in_queue, &queue))
        return -ERANGE;

    double ms = (double)interval_ms;
    double secs = ms / 1000.0;
    *out = (struct mon_disk_rates){
        .r_s = (double)rd / secs,
        .w_s = (double)wr / secs,
        .rkb_s = (double)rsec / 2.0 / secs, /* 512-byte sectors */
        .wkb_s = (double)wsec / 2.0 / secs,
        .r_await = rd != 0 ? (double)rtk / (double)rd : 0.0,
        .w_await = wr != 0 ? (double)wtk / (double)wr : 0.0,
        .aqu_sz = (double)queue / ms,
        .util = 100.0 * (double)busy / ms,
    };
    return 0;
    // SOLUTION-STUB
    // (void)prev;
    // (void)cur;
    // (void)interval_ms;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(disk.5): the report [MON-9]: a row for each device of cur that
 * prev also has (same major, minor and name), in cur's order; none for a
 * device that appeared, vanished or restarted.
 */
ssize_t
mon_disk_diff(const struct mon_disk *prev, size_t nprev,
              const struct mon_disk *cur, size_t ncur, uint64_t interval_ms,
              struct mon_disk_row *out, size_t max)
{
    // SOLUTION-BEGIN
    size_t n = 0;

    if (interval_ms == 0)
        return -EINVAL;
    for (size_t i = 0; i < ncur; i++) {
        /* Quadratic, and fine: a machine has tens of devices, not
         * thousands, and iostat itself searches the same way. */
        for (size_t j = 0; j < nprev; j++) {
            struct mon_disk_rates r;
            if (!same_device(&prev[j], &cur[i]))
                continue;
            if (mon_disk_rates(&prev[j], &cur[i], interval_ms, &r) < 0)
                break; /* restarted: no base to compute from */
            if (n == max)
                return -ENOSPC;
            out[n].rates = r;
            memcpy(out[n].name, cur[i].name, sizeof(out[n].name));
            n++;
            break;
        }
    }
    return (ssize_t)n;
    // SOLUTION-STUB
    // (void)prev;
    // (void)nprev;
    // (void)cur;
    // (void)ncur;
    // (void)interval_ms;
    // (void)out;
    // (void)max;
    // return -ENOSYS;
    // SOLUTION-END
}
