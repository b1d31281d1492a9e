/*
 * mon_why.c - exercise 4 of chapter 08: is a process CPU-bound, IO-bound,
 * or waiting on something else?
 *
 * The contract is in include/mon.h. Two parsers over text (schedstat and
 * a pressure file: the tests feed them recorded text), the readers of the
 * real files, and the verdict from two points of a process and the states
 * seen in between.
 */
#include "mon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- parsing ------------------------------------------------------------ */

/*
 * TODO(why.1): /proc/PID/schedstat [MON-24]: "run wait slices", one space
 * between them, a newline allowed at the end and nothing else.
 */
int
mon_sched_parse(const char *text, struct mon_sched *out)
{
    (void)text;
    (void)out;
    return -ENOSYS;
}


/*
 * TODO(why.2): a /proc/pressure file [MON-25]: a "some" line, maybe a
 * "full" line, in either order, each to its own member.
 */
int
mon_psi_parse(const char *text, struct mon_psi *out)
{
    (void)text;
    (void)out;
    return -ENOSYS;
}

/* ---- the real files ------------------------------------------------------ */

/*
 * TODO(why.3): one pressure file [MON-26]. Absent, or refused because PSI
 * is off: -ENOENT, "not available here".
 */
int
mon_psi_read(const char *dir, const char *resource, struct mon_psi *out)
{
    char path[512], buf[512];

    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "/proc/pressure",
             resource);
    int err = mon_read_text(path, buf, sizeof(buf));
    (void)err;
    (void)out;
    return -ENOSYS;
}

/*
 * TODO(why.4): one point of a process [MON-27]: its stat, its schedstat
 * if the kernel has one, and the time. Gone is -ESRCH.
 */
int
mon_why_point(int pid, struct mon_why_point *out)
{
    char path[64], buf[1024];
    struct mon_proc st = {0};
    struct mon_why_point d = {.pid = pid};

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int err = mon_read_text(path, buf, sizeof(buf));
    (void)err;
    (void)st;
    (void)d;
    (void)out;
    return -ENOSYS;
}

/* ---- the verdict --------------------------------------------------------- */

/* TODO(why.5): R, D, S and I, everything else [MON-28]. */
void
mon_why_tally(struct mon_why_states *s, char state)
{
    (void)s;
    (void)state;
}

/*
 * TODO(why.6): the shares of the interval [MON-29], then the verdict
 * [MON-30]. The interval is the one between the two points' own times.
 */
int
mon_why_classify(const struct mon_why_point *prev,
                 const struct mon_why_point *cur,
                 const struct mon_why_states *states, long ticks_per_s,
                 struct mon_why *out)
{
    (void)prev;
    (void)cur;
    (void)states;
    (void)ticks_per_s;
    (void)out;
    return -ENOSYS;
}
