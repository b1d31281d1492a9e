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
    // SOLUTION-BEGIN
    uint64_t v[3];
    const char *p = text;

    for (int i = 0; i < 3; i++) {
        if (i > 0 && *p++ != ' ')
            return -EINVAL;
        if (!mon_parse_u64(&p, &v[i]))
            return -EINVAL;
    }
    if (*p == '\n')
        p++;
    if (*p != '\0')
        return -EINVAL;
    *out = (struct mon_sched){.run_ns = v[0], .wait_ns = v[1], .slices = v[2]};
    return 0;
    // SOLUTION-STUB
    // (void)text;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

// SOLUTION-BEGIN
/*
 * One "avgN=" value: digits, optionally '.' and digits. Moves *p past it.
 * The kernel prints two decimals; more or fewer are accepted.
 */
static bool
parse_avg(const char **p, const char *key, double *out)
{
    size_t klen = strlen(key);
    const char *s = *p;
    uint64_t whole, frac = 0;
    double scale = 1.0;

    if (strncmp(s, key, klen) != 0)
        return false;
    s += klen;
    if (!mon_parse_u64(&s, &whole))
        return false;
    if (*s == '.') {
        const char *f = ++s;
        if (!mon_parse_u64(&s, &frac) || s - f > 18)
            return false;
        for (const char *q = f; q < s; q++)
            scale *= 10.0;
    }
    *out = (double)whole + (double)frac / scale;
    *p = s;
    return true;
}

/* The rest of one line after "some" or "full": up to its end. */
static bool
parse_psi_line(const char **p, struct mon_psi_line *out)
{
    const char *s = *p;
    struct mon_psi_line l;

    if (!parse_avg(&s, " avg10=", &l.avg10) ||
        !parse_avg(&s, " avg60=", &l.avg60) ||
        !parse_avg(&s, " avg300=", &l.avg300) || strncmp(s, " total=", 7) != 0)
        return false;
    s += 7;
    if (!mon_parse_u64(&s, &l.total_us))
        return false;
    *out = l;
    *p = s;
    return true;
}
// SOLUTION-STUB
// SOLUTION-END

/*
 * TODO(why.2): a /proc/pressure file [MON-25]: a "some" line, maybe a
 * "full" line, in either order, each to its own member.
 */
int
mon_psi_parse(const char *text, struct mon_psi *out)
{
    // SOLUTION-BEGIN
    struct mon_psi d = {0};
    bool has_some = false;
    const char *p = text;

    while (*p != '\0') {
        struct mon_psi_line *line;
        bool *seen;
        if (strncmp(p, "some", 4) == 0) {
            line = &d.some;
            seen = &has_some;
        } else if (strncmp(p, "full", 4) == 0) {
            line = &d.full;
            seen = &d.has_full;
        } else {
            return -EINVAL;
        }
        p += 4;
        if (*seen || !parse_psi_line(&p, line))
            return -EINVAL;
        *seen = true;
        if (*p == '\n')
            p++;
        else if (*p != '\0')
            return -EINVAL;
    }
    if (!has_some)
        return -EINVAL;
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
    // SOLUTION-BEGIN
    if (err == -EOPNOTSUPP)
        return -ENOENT;
    if (err < 0)
        return err;
    return mon_psi_parse(buf, out);
    // SOLUTION-STUB
    // (void)err;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    struct timespec ts;
    if (err == -ENOENT || err == -ESRCH)
        return -ESRCH;
    if (err < 0)
        return err;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    err = mon_proc_parse_stat(buf, &st);
    if (err < 0)
        return err;
    d.starttime = st.starttime;
    d.state = st.state;
    d.utime = st.utime;
    d.stime = st.stime;
    d.blkio_ticks = st.blkio_ticks;
    d.t_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    err = mon_read_text(path, buf, sizeof(buf));
    if (err == -ESRCH)
        return -ESRCH;
    if (err == -ENOENT) {
        /* no schedstat while stat was there: gone, or a kernel without */
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        if (mon_read_text(path, buf, sizeof(buf)) != 0)
            return -ESRCH;
        d.has_sched = false;
    } else if (err < 0) {
        return err;
    } else {
        err = mon_sched_parse(buf, &d.sched);
        if (err < 0)
            return err;
        d.has_sched = true;
    }
    *out = d;
    return 0;
    // SOLUTION-STUB
    // (void)err;
    // (void)st;
    // (void)d;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ---- the verdict --------------------------------------------------------- */

/* TODO(why.5): R, D, S and I, everything else [MON-28]. */
void
mon_why_tally(struct mon_why_states *s, char state)
{
    // SOLUTION-BEGIN
    switch (state) {
    case 'R':
        s->running++;
        break;
    case 'D':
        s->disk++;
        break;
    case 'S':
    case 'I':
        s->sleeping++;
        break;
    default:
        s->other++;
        break;
    }
    // SOLUTION-STUB
    // (void)s;
    // (void)state;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    unsigned n =
        states->running + states->disk + states->sleeping + states->other;
    if (prev->pid != cur->pid || prev->starttime != cur->starttime ||
        cur->t_ns <= prev->t_ns || ticks_per_s <= 0 || n == 0)
        return -EINVAL;

    double t_ns = (double)(cur->t_ns - prev->t_ns);
    double t_ticks = t_ns / 1e9 * (double)ticks_per_s;
    struct mon_why w = {0};

    if (prev->has_sched && cur->has_sched) {
        w.cpu_share = (double)(cur->sched.run_ns - prev->sched.run_ns) / t_ns;
        w.runq_share =
            (double)(cur->sched.wait_ns - prev->sched.wait_ns) / t_ns;
    } else {
        w.cpu_share =
            (double)((cur->utime - prev->utime) + (cur->stime - prev->stime)) /
            t_ticks;
    }
    uint64_t blkio = cur->blkio_ticks - prev->blkio_ticks;
    if (blkio != 0) {
        w.io_share = (double)blkio / t_ticks;
        w.io_from_delayacct = true;
    } else {
        w.io_share = (double)states->disk / n;
    }
    w.sleep_share = (double)states->sleeping / n;

    /* IO first: a process waiting for the disk a fifth of the time would
     * still wait that long on a faster CPU. */
    double busy = w.cpu_share + w.runq_share;
    if (w.io_share >= MON_WHY_IO_MIN)
        w.verdict = MON_WHY_IO;
    else if (busy >= MON_WHY_CPU_MIN)
        w.verdict = MON_WHY_CPU;
    else
        w.verdict = MON_WHY_OTHER;
    *out = w;
    return 0;
    // SOLUTION-STUB
    // (void)prev;
    // (void)cur;
    // (void)states;
    // (void)ticks_per_s;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
}
