/*
 * pidio.c - chapter 08's `pidstat -d -u -p PID 1` in C: every second, your
 * mon_proc_read of the process and your mon_proc_rates since the last
 * second, in pidstat's units (kB are 1024 bytes), and the rchar and wchar
 * rates that pidstat -d does not show beside them. Not graded.
 *
 *     make demos CH=08
 *     build/chapters/08-monitoring/demo/pidio PID [SECONDS]
 *
 * Run pidstat -d -u -p PID 1 beside it: the two read at different
 * instants, so single seconds differ while their sums agree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iolab/die.h"
#include "mon.h"

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
look(int pid, struct mon_proc *p)
{
    int err = mon_proc_read(pid, p);
    if (err == -ESRCH)
        die("process %d is gone", pid);
    if (err < 0)
        die_neg("mon_proc_read", "the process", err);
    if (!p->has_io)
        die("process %d: its /proc/%d/io is closed to you (another user's "
            "process: run as its user)",
            pid, pid);
}

int
main(int argc, char **argv)
{
    die_init(argv[0]);
    if (argc < 2 || argc > 3)
        die("usage: %s PID [SECONDS]", argv[0]);
    int pid = (int)die_number("PID", argv[1], 1, 1UL << 22);
    unsigned long secs =
        argc == 3 ? die_number("SECONDS", argv[2], 1, 3600) : 5;
    long ticks = sysconf(_SC_CLK_TCK);
    struct mon_proc prev, cur;
    double sum_rd = 0, sum_wr = 0, sum_s = 0;

    look(pid, &prev);
    long long t_prev = now_ms(), due = t_prev;
    printf("%8s %10s %10s %10s %8s %7s %12s %12s\n", "seconds", "kB_rd/s",
           "kB_wr/s", "kB_ccwr/s", "iodelay", "%CPU", "rchar kB/s",
           "wchar kB/s");
    for (unsigned long i = 0; i < secs; i++) {
        due += 1000;
        struct timespec ts = {due / 1000, (due % 1000) * 1000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR)
            ;
        look(pid, &cur);
        long long t = now_ms();
        struct mon_proc_rates r;
        int err =
            mon_proc_rates(&prev, &cur, (uint64_t)(t - t_prev), ticks, &r);
        if (err == -EINVAL)
            die("process %d was replaced (its pid was reused)", pid);
        if (err < 0)
            die_neg("mon_proc_rates", "two seconds", err);
        printf("%8.3f %10.2f %10.2f %10.2f %8llu %7.2f %12.2f %12.2f\n",
               (double)(t - t_prev) / 1000, r.read_bytes_s / 1024,
               r.write_bytes_s / 1024, r.cancelled_s / 1024,
               (unsigned long long)(cur.blkio_ticks - prev.blkio_ticks),
               r.cpu_pct, r.rchar_s / 1024, r.wchar_s / 1024);
        double s = (double)(t - t_prev) / 1000;
        sum_rd += r.read_bytes_s / 1024 * s;
        sum_wr += r.write_bytes_s / 1024 * s;
        sum_s += s;
        prev = cur;
        t_prev = t;
    }
    printf("over %.3f s: %.0f kB read, %.0f kB written (read_bytes, "
           "write_bytes)\n",
           sum_s, sum_rd, sum_wr);
    return 0;
}
