/*
 * stack_cost.c - chapter 07's demo: what a thread's stack and a
 * coroutine's stack really cost (make demos CH=07).
 *
 * Starts N threads with the default stack size (ulimit -s, 8 MiB here)
 * that block on a pipe, and reports the growth of VmSize (address space
 * reserved) and VmRSS (memory resident) per thread; then the same for N
 * coroutines with 64 KiB stacks, each run to its first yield. Each is
 * measured RUNS times; the median and the range are printed.
 *
 *     stack_cost [N [RUNS]]      defaults: 1000 threads, 5 runs
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "co.h"
#include "iolab/die.h"

static int gate[2];

static long
status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t len = strlen(field);
    if (f == NULL)
        die_errno("open", "/proc/self/status");
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = atol(line + len + 1);
            break;
        }
    fclose(f);
    return kib;
}

static void *
blocked(void *arg)
{
    char b;
    (void)arg;
    /* Parked in the kernel until the pipe closes: an idle thread. */
    if (read(gate[0], &b, 1) < 0)
        return NULL;
    return NULL;
}

static void
idle(void *arg)
{
    (void)arg;
    co_yield();
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
show(const char *what, double *v, int runs)
{
    qsort(v, (size_t)runs, sizeof(*v), cmp);
    printf("  %-28s median %8.1f KiB  (range %.1f to %.1f)\n", what,
           v[runs / 2], v[0], v[runs - 1]);
}

int
main(int argc, char **argv)
{
    die_init(argv[0]);
    int n = argc > 1 ? (int)die_number("N", argv[1], 1, 30000) : 1000;
    int runs = argc > 2 ? (int)die_number("RUNS", argv[2], 1, 99) : 5;
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    struct co **c = calloc((size_t)n, sizeof(*c));
    double *tv = calloc((size_t)runs, sizeof(double));
    double *tr = calloc((size_t)runs, sizeof(double));
    double *cv = calloc((size_t)runs, sizeof(double));
    double *cr = calloc((size_t)runs, sizeof(double));
    if (!t || !c || !tv || !tr || !cv || !cr)
        die("out of memory");

    for (int r = 0; r < runs; r++) {
        if (pipe(gate) != 0)
            die_errno("pipe", "");
        long v0 = status_kib("VmSize"), r0 = status_kib("VmRSS");
        for (int i = 0; i < n; i++)
            if (pthread_create(&t[i], NULL, blocked, NULL) != 0)
                die("pthread_create failed after %d threads", i);
        tv[r] = (double)(status_kib("VmSize") - v0) / n;
        tr[r] = (double)(status_kib("VmRSS") - r0) / n;
        close(gate[1]);
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        close(gate[0]);

        v0 = status_kib("VmSize");
        r0 = status_kib("VmRSS");
        for (int i = 0; i < n; i++) {
            c[i] = co_create(idle, NULL, 64 * 1024);
            if (c[i] == NULL || co_resume(c[i]) != 0)
                die("co_create or co_resume failed after %d", i);
        }
        cv[r] = (double)(status_kib("VmSize") - v0) / n;
        cr[r] = (double)(status_kib("VmRSS") - r0) / n;
        for (int i = 0; i < n; i++)
            co_destroy(c[i]);
    }
    printf("%d idle threads (default stack) and %d idle coroutines (64 KiB "
           "stacks), %d runs, per thread or coroutine:\n",
           n, n, runs);
    show("thread: reserved (VmSize)", tv, runs);
    show("thread: resident (VmRSS)", tr, runs);
    show("coroutine: reserved (VmSize)", cv, runs);
    show("coroutine: resident (VmRSS)", cr, runs);
    return 0;
}
