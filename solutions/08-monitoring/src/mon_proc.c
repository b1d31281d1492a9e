/*
 * mon_proc.c - exercise 3 of chapter 08: per-process IO, as pidstat -d
 * computes it.
 *
 * The contract is in include/mon.h. Two parsers over text (the tests feed
 * them recorded files), one function that reads the real files of a
 * process, and the rates between two snapshots.
 */
#include "mon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ------------------------------------------------------------ */

/*
 * TODO(proc.1): /proc/PID/stat [MON-20]. The command name sits between
 * parentheses and may itself hold ") (": find its end from the right.
 * Count the fields after it; fill a local struct, and *out only at the end.
 */
int
mon_proc_parse_stat(const char *text, struct mon_proc *out)
{
    // SOLUTION-BEGIN
    struct mon_proc d = *out;
    const char *open = strchr(text, '(');
    const char *close = strrchr(text, ')');
    const char *p = text;
    uint64_t v;

    if (open == NULL || close == NULL || close < open ||
        (size_t)(close - open - 1) >= sizeof(d.comm))
        return -EINVAL;
    if (!mon_parse_u64(&p, &v) || p + 1 != open || *p != ' ' || v > INT32_MAX)
        return -EINVAL;
    d.pid = (int)v;
    memset(d.comm, 0, sizeof(d.comm));
    memcpy(d.comm, open + 1, (size_t)(close - open - 1));

    /* Field 3 is the state, one character; then numbers (some signed). */
    p = close + 1;
    if (p[0] != ' ' || p[1] == '\0' || p[1] == ' ' ||
        (p[2] != ' ' && p[2] != '\0'))
        return -EINVAL;
    d.state = p[1];
    p += 2;
    for (int field = 4; field <= 42; field++) {
        if (*p != ' ')
            return -EINVAL; /* the text ended before field 42 */
        p++;
        if (*p == '-')
            p++; /* signed fields (priority, nice) we skip anyway */
        if (!mon_parse_u64(&p, &v))
            return -EINVAL;
        if (field == 14)
            d.utime = v;
        else if (field == 15)
            d.stime = v;
        else if (field == 22)
            d.starttime = v;
        else if (field == 42)
            d.blkio_ticks = v;
    }
    *out = d;
    return 0;
    // SOLUTION-STUB
    // (void)text;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(proc.2): /proc/PID/io [MON-21]: seven "key: value" lines in any
 * order, all required, other keys ignored.
 */
int
mon_proc_parse_io(const char *text, struct mon_proc *out)
{
    // SOLUTION-BEGIN
    struct mon_proc d = *out;
    static const char *const keys[7] = {
        "rchar",
        "wchar",
        "syscr",
        "syscw",
        "read_bytes",
        "write_bytes",
        "cancelled_write_bytes",
    };
    uint64_t *slot[7] = {
        &d.rchar,
        &d.wchar,
        &d.syscr,
        &d.syscw,
        &d.read_bytes,
        &d.write_bytes,
        &d.cancelled_write_bytes,
    };
    unsigned seen = 0;

    for (const char *p = text; *p != '\0';) {
        const char *colon = strchr(p, ':');
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            nl = p + strlen(p);
        if (colon == NULL || colon > nl)
            return -EINVAL;
        for (int k = 0; k < 7; k++) {
            size_t len = strlen(keys[k]);
            if ((size_t)(colon - p) != len || strncmp(p, keys[k], len) != 0)
                continue;
            const char *q = colon + 1;
            while (*q == ' ')
                q++;
            if (!mon_parse_u64(&q, slot[k]) || q != nl)
                return -EINVAL;
            seen |= 1u << k;
        }
        p = *nl == '\n' ? nl + 1 : nl;
    }
    if (seen != 0x7f)
        return -EINVAL;
    d.has_io = true;
    *out = d;
    return 0;
    // SOLUTION-STUB
    // (void)text;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ---- the real files ------------------------------------------------------ */

/*
 * TODO(proc.3): both files of one process [MON-22]. A process that is
 * gone is -ESRCH, whichever file said so; an io file closed to us by
 * permission is not an error.
 */
int
mon_proc_read(int pid, struct mon_proc *out)
{
    char path[64], buf[1024];
    struct mon_proc d = {0};

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int err = mon_read_text(path, buf, sizeof(buf));
    // SOLUTION-BEGIN
    if (err == -ENOENT || err == -ESRCH)
        return -ESRCH;
    if (err < 0)
        return err;
    err = mon_proc_parse_stat(buf, &d);
    if (err < 0)
        return err;

    snprintf(path, sizeof(path), "/proc/%d/io", pid);
    err = mon_read_text(path, buf, sizeof(buf));
    if (err == -ENOENT || err == -ESRCH)
        return -ESRCH; /* it exited between the two reads */
    if (err == -EACCES || err == -EPERM) {
        d.has_io = false;
    } else if (err < 0) {
        return err;
    } else {
        err = mon_proc_parse_io(buf, &d);
        if (err < 0)
            return err;
    }
    *out = d;
    return 0;
    // SOLUTION-STUB
    // (void)err;
    // (void)d;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ---- rates -------------------------------------------------------------- */

/*
 * TODO(proc.4): pidstat -d's rates [MON-23]: per second of the interval,
 * only between two snapshots of the same process with io fields.
 */
int
mon_proc_rates(const struct mon_proc *prev, const struct mon_proc *cur,
               uint64_t interval_ms, long ticks_per_s,
               struct mon_proc_rates *out)
{
    // SOLUTION-BEGIN
    if (interval_ms == 0 || ticks_per_s <= 0 || prev->pid != cur->pid ||
        prev->starttime != cur->starttime)
        return -EINVAL;
    if (!prev->has_io || !cur->has_io)
        return -ENODATA;

    double secs = (double)interval_ms / 1000.0;
    double cpu =
        (double)((cur->utime - prev->utime) + (cur->stime - prev->stime)) /
        (double)ticks_per_s;
    *out = (struct mon_proc_rates){
        .rchar_s = (double)(cur->rchar - prev->rchar) / secs,
        .wchar_s = (double)(cur->wchar - prev->wchar) / secs,
        .read_bytes_s = (double)(cur->read_bytes - prev->read_bytes) / secs,
        .write_bytes_s = (double)(cur->write_bytes - prev->write_bytes) / secs,
        .cancelled_s =
            (double)(cur->cancelled_write_bytes - prev->cancelled_write_bytes) /
            secs,
        .cpu_pct = 100.0 * cpu / secs,
    };
    return 0;
    // SOLUTION-STUB
    // (void)prev;
    // (void)cur;
    // (void)interval_ms;
    // (void)ticks_per_s;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}
