/*
 * bench.c - chapter 05's benchmark. Prints what it does and reports:
 *
 *  writev_calls_per_batch  (counted) system calls per bat_writev_full call
 *                          for a batch of 64 buffers with nothing partial,
 *                          counted in the kernel with ptrace: 1 for a
 *                          gathered write, 64 for a write per buffer.
 *  gather_speedup          (info, timed ratio) 64 write(2) calls per batch
 *                          against one bat_writev_full, same bytes.
 *  syncs_per_append        (counted) fdatasync + fsync calls per append,
 *                          8 threads appending to one bat_log on a disk-
 *                          backed filesystem, counted in the kernel.
 *  commit_speedup          (timed ratio) the same appends with one sync
 *                          per append under a mutex (the baseline here)
 *                          against bat_log's group commit: wall time of
 *                          the baseline over wall time of bat_log, median
 *                          over --runs pairs.
 *
 * The log's directory: $IOLAB_BENCH_DIR if set, else /var/tmp, else /tmp.
 * On tmpfs a sync costs nothing and group commit cannot shine; the bench
 * prints the filesystem it used.
 *
 * Run by hand: build/grade/chapters/05-batching/bench [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>

#include "bat.h"
#include "iolab/die.h"
#include "iolab/perfkit.h"

/* ===================================================================== */
/* Gathered writes                                                       */
/* ===================================================================== */

#define GATHER_BUFS 64   /* buffers per batch */
#define GATHER_LEN 100   /* bytes per buffer */
#define GATHER_CALLS 200 /* batches counted */
#define GATHER_TIMED 20000

static char gather_data[GATHER_BUFS][GATHER_LEN];
static struct iovec gather_iov[GATHER_BUFS];

static void
gather_setup(void)
{
    for (int i = 0; i < GATHER_BUFS; i++) {
        memset(gather_data[i], 'a' + i % 26, GATHER_LEN);
        gather_iov[i] = (struct iovec){gather_data[i], GATHER_LEN};
    }
}

static int
count_gather(void *arg)
{
    (void)arg;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int bad = 0;

    if (fd == -1)
        return 1;
    pk_region_begin();
    for (int i = 0; i < GATHER_CALLS; i++)
        if (bat_writev_full(fd, gather_iov, GATHER_BUFS) !=
            GATHER_BUFS * GATHER_LEN)
            bad = 1;
    pk_region_end();
    close(fd);
    return bad;
}

static void
bench_gather(int runs)
{
    struct pk_syscalls sc;

    gather_setup();
    printf("gathered writes: %d batches of %d x %d bytes to /dev/null\n",
           GATHER_CALLS, GATHER_BUFS, GATHER_LEN);
    int err = pk_count_syscalls(count_gather, NULL, &sc);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD ? "bat_writev_full did not write every byte"
                              : strerror(-err));
        return;
    }
    double per = (double)sc.total / GATHER_CALLS;
    printf("  %lu system calls: %.2f per batch\n", sc.total, per);
    pk_metric("writev_calls_per_batch", per);

    /* The same bytes, one write(2) per buffer: the syscall as a round trip. */
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    double *ratio = calloc((size_t)runs, sizeof(double));
    if (fd == -1 || ratio == NULL)
        die_errno("open", "/dev/null");
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = pk_now_ns();
        for (int i = 0; i < GATHER_TIMED; i++)
            for (int b = 0; b < GATHER_BUFS; b++)
                if (write(fd, gather_data[b], GATHER_LEN) != GATHER_LEN)
                    die_errno("write", "/dev/null");
        uint64_t t1 = pk_now_ns();
        for (int i = 0; i < GATHER_TIMED; i++)
            if (bat_writev_full(fd, gather_iov, GATHER_BUFS) !=
                GATHER_BUFS * GATHER_LEN)
                die("bat_writev_full failed");
        uint64_t t2 = pk_now_ns();
        ratio[r] = (double)(t1 - t0) / (double)(t2 - t1);
        printf("  run %d: write each %.1f ms, writev %.1f ms, ratio %.2f\n",
               r + 1, (t1 - t0) / 1e6, (t2 - t1) / 1e6, ratio[r]);
    }
    pk_metric("gather_speedup", pk_median(ratio, (size_t)runs));
    free(ratio);
    close(fd);
}

/* ===================================================================== */
/* Group commit                                                          */
/* ===================================================================== */

#define COMMIT_THREADS 8
#define COMMIT_PER_THREAD 100
#define COMMIT_REC 100 /* bytes per record */

static char log_dir[256];

/* Picks a directory for the logs and prints its filesystem. */
static void
commit_setup(void)
{
    const char *base = getenv("IOLAB_BENCH_DIR");
    struct statfs fs;

    if (base == NULL || *base == '\0')
        base = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
    snprintf(log_dir, sizeof(log_dir), "%s/iolab-bench-XXXXXX", base);
    if (mkdtemp(log_dir) == NULL)
        die_errno("mkdtemp", log_dir);
    const char *type = "other";
    if (statfs(log_dir, &fs) == 0) {
        switch ((unsigned long)fs.f_type) {
        case 0xEF53:
            type = "ext2/3/4";
            break;
        case 0x01021994:
            type = "tmpfs (syncs are free here: expect little gain)";
            break;
        case 0x58465342:
            type = "xfs";
            break;
        case 0x9123683E:
            type = "btrfs";
            break;
        case 0x794C7630:
            type = "overlayfs";
            break;
        }
    }
    printf("group commit: logs in %s, filesystem %s\n", log_dir, type);
}

struct commit_run {
    const char *path;
    bool baseline;        /* one sync per append, under a mutex */
    struct bat_log *log;  /* group commit */
    int fd;               /* baseline */
    pthread_mutex_t lock; /* baseline */
    pthread_barrier_t go; /* threads start together */
    int failures;         /* appends that failed */
};

static void
baseline_append(struct commit_run *r, const char *rec)
{
    /* The naive durable append: write, then sync, every time. */
    pthread_mutex_lock(&r->lock);
    if (write(r->fd, rec, COMMIT_REC) != COMMIT_REC || fdatasync(r->fd) != 0)
        __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&r->lock);
}

static void *
commit_thread(void *arg)
{
    struct commit_run *r = arg;
    char rec[COMMIT_REC];

    memset(rec, 'r', sizeof(rec));
    pthread_barrier_wait(&r->go);
    for (int i = 0; i < COMMIT_PER_THREAD; i++) {
        if (r->baseline)
            baseline_append(r, rec);
        else if (bat_log_append(r->log, rec, sizeof(rec)) != 0)
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* One run of every thread's appends. Returns wall ns, or 0 on failure. */
static uint64_t
commit_once(bool baseline, bool region)
{
    char path[512];
    pthread_t th[COMMIT_THREADS];
    struct commit_run r = {.baseline = baseline, .fd = -1};

    snprintf(path, sizeof(path), "%s/%s.log", log_dir,
             baseline ? "baseline" : "group");
    unlink(path);
    if (baseline) {
        r.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (r.fd == -1)
            die_errno("open", path);
    } else {
        int err = bat_log_open(path, NULL, &r.log);
        if (err != 0) {
            printf("  bat_log_open: %s\n", strerror(-err));
            return 0;
        }
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_barrier_init(&r.go, NULL, COMMIT_THREADS + 1);
    for (int t = 0; t < COMMIT_THREADS; t++)
        pthread_create(&th[t], NULL, commit_thread, &r);
    if (region)
        pk_region_begin();
    uint64_t t0 = pk_now_ns();
    pthread_barrier_wait(&r.go);
    for (int t = 0; t < COMMIT_THREADS; t++)
        pthread_join(th[t], NULL);
    uint64_t wall = pk_now_ns() - t0;
    if (region)
        pk_region_end();
    pthread_barrier_destroy(&r.go);
    pthread_mutex_destroy(&r.lock);
    if (baseline)
        close(r.fd);
    else if (bat_log_close(r.log) != 0)
        r.failures++;
    unlink(path);
    return r.failures == 0 ? wall : 0;
}

static int
count_commit(void *arg)
{
    (void)arg;
    return commit_once(false, true) != 0 ? 0 : 1;
}

static void
bench_commit(int runs)
{
    struct pk_syscalls sc;
    const unsigned long appends = COMMIT_THREADS * COMMIT_PER_THREAD;

    commit_setup();
    printf("  %d threads x %d appends of %d bytes\n", COMMIT_THREADS,
           COMMIT_PER_THREAD, COMMIT_REC);
    int err = pk_count_syscalls(count_commit, NULL, &sc);
    if (err != 0) {
        printf("  syncs not counted: %s\n",
               err == -ECHILD ? "an append failed" : strerror(-err));
    } else {
        unsigned long syncs = sc.by_nr[SYS_fdatasync] + sc.by_nr[SYS_fsync];
        printf("  %lu syncs for %lu appends (counted in the kernel)\n", syncs,
               appends);
        pk_metric("syncs_per_append", (double)syncs / (double)appends);
    }

    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        uint64_t tb = commit_once(true, false);
        uint64_t tg = commit_once(false, false);
        if (tb == 0 || tg == 0) {
            printf("  not measured: appends failed\n");
            free(ratio);
            rmdir(log_dir);
            return;
        }
        ratio[i] = (double)tb / (double)tg;
        printf("  run %d: sync per append %.1f ms (%.0f appends/s), group "
               "commit %.1f ms (%.0f appends/s), ratio %.2f\n",
               i + 1, tb / 1e6, appends / (tb / 1e9), tg / 1e6,
               appends / (tg / 1e9), ratio[i]);
    }
    pk_metric("commit_speedup", pk_median(ratio, (size_t)runs));
    free(ratio);
    rmdir(log_dir);
}

int
main(int argc, char **argv)
{
    die_init(argv[0]);
    int runs = pk_init(argc, argv, 5);

    bench_gather(runs);
    bench_commit(runs);
    return 0;
}
