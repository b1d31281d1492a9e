/*
 * why.c - chapter 08's "is it IO or CPU?" on any process: samples one
 * process with your mon_why_point for a few seconds, then prints the
 * verdict of your mon_why_classify with its evidence, and the machine's
 * pressure (PSI) beside it. Not graded.
 *
 *     make demos CH=08
 *     build/chapters/08-monitoring/demo/why PID [SECONDS]
 *
 * Read a process of another user and its files may be closed to you;
 * your own processes always work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iolab/die.h"
#include "mon.h"

static const char *
verdict_name(enum mon_why_verdict v)
{
    return v == MON_WHY_CPU  ? "CPU-bound"
           : v == MON_WHY_IO ? "IO-bound"
                             : "neither: waiting on something else";
}

static void
show_psi(const char *res)
{
    struct mon_psi p;
    int err = mon_psi_read(NULL, res, &p);
    if (err == -ENOENT) {
        printf("  %-6s n/a (no PSI on this kernel)\n", res);
        return;
    }
    if (err < 0) {
        printf("  %-6s unreadable: %s\n", res, strerror(-err));
        return;
    }
    printf("  %-6s some avg10 %6.2f%%  avg60 %6.2f%%", res, p.some.avg10,
           p.some.avg60);
    if (p.has_full)
        printf("   full avg10 %6.2f%%", p.full.avg10);
    printf("\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        die("usage: %s PID [SECONDS]", argv[0]);
    int pid = atoi(argv[1]);
    double secs = argc == 3 ? atof(argv[2]) : 3.0;
    struct mon_why_point a, p;
    struct mon_why_states st = {0};

    int err = mon_why_point(pid, &a);
    if (err < 0)
        die("process %d: %s", pid, strerror(-err));
    mon_why_tally(&st, a.state);
    struct timespec nap = {0, 10000000}; /* 100 looks a second */
    for (uint64_t end = a.t_ns + (uint64_t)(secs * 1e9);;) {
        nanosleep(&nap, NULL);
        err = mon_why_point(pid, &p);
        if (err < 0)
            die("process %d: %s", pid, strerror(-err));
        mon_why_tally(&st, p.state);
        if (p.t_ns >= end)
            break;
    }
    struct mon_why w;
    err = mon_why_classify(&a, &p, &st, sysconf(_SC_CLK_TCK), &w);
    if (err < 0)
        die("mon_why_classify: %s", strerror(-err));

    unsigned n = st.running + st.disk + st.sleeping + st.other;
    printf("process %d over %.2f s, %u looks: %s\n", pid,
           (double)(p.t_ns - a.t_ns) / 1e9, n, verdict_name(w.verdict));
    printf("  on a CPU        %5.1f%%%s\n", 100 * w.cpu_share,
           a.has_sched ? "" : " (ticks: no schedstat)");
    printf("  waiting for one %5.1f%%\n", 100 * w.runq_share);
    printf("  waiting for IO  %5.1f%% (%s)\n", 100 * w.io_share,
           w.io_from_delayacct ? "delay accounting, stat field 42"
                               : "share of looks in state D");
    printf("  asleep (S, I)   %5.1f%%\n", 100 * w.sleep_share);
    printf("the machine (PSI, /proc/pressure):\n");
    show_psi("cpu");
    show_psi("io");
    show_psi("memory");
    return 0;
}
