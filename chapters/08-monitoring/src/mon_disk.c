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


/*
 * TODO(disk.1): one line of /proc/diskstats [MON-1]: major, minor, name,
 * then 11, 15 or 17 unsigned decimal counters, blanks between them. Refuse
 * everything else with -EINVAL and leave *out untouched [MON-2]: a sign, a
 * letter glued to a number, a number past UINT64_MAX, a name too long.
 */
int
mon_disk_parse_line(const char *line, struct mon_disk *out)
{
    (void)line;
    (void)out;
    return -ENOSYS;
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
        (void)out;
        (void)max;
        return -ENOSYS;
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
    (void)prev;
    (void)cur;
    (void)out;
    return false;
}


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
    (void)prev;
    (void)cur;
    (void)interval_ms;
    (void)out;
    return -ENOSYS;
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
    (void)prev;
    (void)nprev;
    (void)cur;
    (void)ncur;
    (void)interval_ms;
    (void)out;
    (void)max;
    return -ENOSYS;
}
