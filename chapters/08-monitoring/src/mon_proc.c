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
    (void)text;
    (void)out;
    return -ENOSYS;
}

/*
 * TODO(proc.2): /proc/PID/io [MON-21]: seven "key: value" lines in any
 * order, all required, other keys ignored.
 */
int
mon_proc_parse_io(const char *text, struct mon_proc *out)
{
    (void)text;
    (void)out;
    return -ENOSYS;
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
    (void)err;
    (void)d;
    (void)out;
    return -ENOSYS;
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
    (void)prev;
    (void)cur;
    (void)interval_ms;
    (void)ticks_per_s;
    (void)out;
    return -ENOSYS;
}
