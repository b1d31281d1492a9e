/*
 * bench.c - chapter 05's benchmark. Prints what it does and reports:
 *
 *  writev_calls_per_batch  (counted) system calls per bat_writev_full call
 *                          for a batch of 64 buffers with nothing partial,
 *                          counted in the kernel with ptrace: 1 for a
 *                          gathered write, 64 for a write per buffer.
 *  gather_speedup          (info, timed ratio) 64 write(2) calls per batch
 *                          against one bat_writev_full, same bytes.
 *  pipeline_rtts_per_batch (counted) round trips kvd served for N SETs in
 *                          batches of B, divided by ceil(N / B): 1 when each
 *                          batch goes out in one write and is answered in
 *                          one round trip.
 *  pipeline_speedup        (timed ratio) N SETs one at a time (B = 1)
 *                          over the same N SETs in batches of B = 64, with
 *                          200 us added to every round trip by kvd, median
 *                          over --runs pairs. The arithmetic says up to B.
 *  syncs_per_append        (counted) sync calls (fdatasync, fsync,
 *                          sync_file_range, syncfs, sync, msync) per
 *                          append, 8 threads appending to one bat_log on a
 *                          disk-backed filesystem, counted in the kernel;
 *                          a log opened O_SYNC or O_DSYNC counts each of
 *                          its writes as a sync too.
 *  commit_speedup          (timed ratio, shown) the same appends with one sync
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

#include <dirent.h>

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>

#include "bat.h"
#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/perfkit.h"
#include "iolab/resp.h"

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
/* Pipelining                                                            */
/* ===================================================================== */

#define PIPE_N 1024       /* SETs per run */
#define PIPE_B 64         /* commands per batch */
#define PIPE_RTT_US 200   /* added by kvd to each round trip */
#define PIPE_TIMEOUT 5000 /* ms per reply: a lost reply ends the bench */
#define PIPE_REPS 8       /* batched runs averaged per one-at-a-time run */

struct pipe_work {
    struct bat_cmd cmd[PIPE_N];
    const char *argv[PIPE_N][3];
    char key[PIPE_N][24], val[PIPE_N][40];
    struct bat_result res[PIPE_N];
};

static void
pipe_setup(struct pipe_work *w)
{
    for (int i = 0; i < PIPE_N; i++) {
        snprintf(w->key[i], sizeof(w->key[i]), "bench:%d", i);
        snprintf(w->val[i], sizeof(w->val[i]), "value-%d-%016d", i, i * 31);
        w->argv[i][0] = "SET";
        w->argv[i][1] = w->key[i];
        w->argv[i][2] = w->val[i];
        w->cmd[i] = (struct bat_cmd){.argc = 3, .argv = w->argv[i]};
    }
}

/* One pipeline of every SET in batches of b. Returns wall ns, or 0. */
static uint64_t
pipe_once(struct pipe_work *w, struct resp_conn *c, size_t b)
{
    uint64_t t0 = pk_now_ns();
    int err = bat_pipeline(c, w->cmd, PIPE_N, b, w->res, PIPE_TIMEOUT);
    uint64_t wall = pk_now_ns() - t0;
    bool ok = err == 0;

    for (int i = 0; i < PIPE_N && ok; i++)
        ok = w->res[i].state == BAT_REPLIED &&
             w->res[i].reply.type == RESP_SIMPLE;
    bat_results_free(w->res, PIPE_N);
    if (!ok)
        printf("  bat_pipeline failed: %s\n",
               err < 0 ? strerror(-err) : "a reply was not +OK");
    return ok ? wall : 0;
}

static void
bench_pipeline(int runs)
{
    struct pipe_work *w = calloc(1, sizeof(*w));
    struct kvd *kv = NULL;
    struct resp_conn *c = NULL;
    struct kvd_stats st;
    double *ratio = calloc((size_t)runs, sizeof(double));

    if (w == NULL || ratio == NULL)
        die("out of memory");
    pipe_setup(w);
    int err = kvd_start(NULL, &kv);
    if (err == 0)
        err = resp_connect(NULL, kvd_port(kv), PIPE_TIMEOUT, &c);
    if (err != 0)
        die("kvd: %s", strerror(-err));

    const size_t batches = (PIPE_N + PIPE_B - 1) / PIPE_B;
    printf("pipelining: %d SETs to kvd in batches of %d (%zu batches)\n",
           PIPE_N, PIPE_B, batches);
    kvd_reset_stats(kv);
    if (pipe_once(w, c, PIPE_B) == 0)
        goto out;
    kvd_stats(kv, &st);
    printf("  kvd served %llu round trips, %llu commands\n",
           (unsigned long long)st.round_trips, (unsigned long long)st.commands);
    pk_metric("pipeline_rtts_per_batch", (double)st.round_trips / batches);

    if (kvd_set_delays(kv, PIPE_RTT_US, 0) != 0)
        die("kvd_set_delays failed");
    printf("  with %d us added per round trip:\n", PIPE_RTT_US);
    for (int i = 0; i < runs; i++) {
        uint64_t t1 = pipe_once(w, c, 1);
        /*
         * The batched pipeline takes a few ms, where one scheduling hiccup
         * on a loaded machine weighs a lot: time it PIPE_REPS times and
         * use the mean.
         */
        uint64_t tb = 0;
        for (int k = 0; k < PIPE_REPS && t1 != 0; k++) {
            uint64_t t = pipe_once(w, c, PIPE_B);
            if (t == 0)
                goto out;
            tb += t;
        }
        if (tb == 0)
            goto out;
        tb /= PIPE_REPS;
        ratio[i] = (double)t1 / (double)tb;
        printf("  run %d: one at a time %.1f ms (%.0f us per command), "
               "batches of %d %.2f ms, ratio %.1f\n",
               i + 1, t1 / 1e6, t1 / 1e3 / PIPE_N, PIPE_B, tb / 1e6, ratio[i]);
    }
    pk_metric("pipeline_speedup", pk_median(ratio, (size_t)runs));
out:
    free(ratio);
    resp_close(c);
    kvd_stop(kv);
    free(w);
}

/*
 * The depth curve, for make charts (--chart DIR): PIPE_N SETs with
 * PIPE_RTT_US added per round trip, in batches of 1 to 256, best of runs;
 * commands per second and round trips per batch into DIR/pipeline.tsv.
 */
static void
chart_pipeline(const char *dir, int runs)
{
    static const size_t depth[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    struct pipe_work *w = calloc(1, sizeof(*w));
    struct kvd *kv = NULL;
    struct resp_conn *c = NULL;
    struct kvd_stats st;

    if (w == NULL)
        die("out of memory");
    pipe_setup(w);
    int err = kvd_start(NULL, &kv);
    if (err == 0)
        err = resp_connect(NULL, kvd_port(kv), PIPE_TIMEOUT, &c);
    if (err == 0)
        err = kvd_set_delays(kv, PIPE_RTT_US, 0);
    if (err != 0)
        die("kvd: %s", strerror(-err));
    FILE *d = pk_chart_open(dir, "pipeline",
                            "depth cmds_per_s rtts_per_batch ideal_cmds_per_s");
    printf("pipelining curve: %d SETs, %d us per round trip, best of %d\n",
           PIPE_N, PIPE_RTT_US, runs);
    for (size_t i = 0; i < sizeof(depth) / sizeof(depth[0]); i++) {
        uint64_t best = 0;
        kvd_reset_stats(kv);
        for (int r = 0; r < runs; r++) {
            uint64_t t = pipe_once(w, c, depth[i]);
            if (t == 0)
                die("bat_pipeline failed at depth %zu", depth[i]);
            best = best == 0 || t < best ? t : best;
        }
        kvd_stats(kv, &st);
        size_t batches = (PIPE_N + depth[i] - 1) / depth[i] * (size_t)runs;
        double per_s = PIPE_N / (best / 1e9);
        fprintf(d, "%zu\t%.0f\t%.2f\t%.0f\n", depth[i], per_s,
                (double)st.round_trips / batches, depth[i] * 1e6 / PIPE_RTT_US);
        printf("  depth %3zu: %8.0f commands/s, %.2f round trips a batch\n",
               depth[i], per_s, (double)st.round_trips / batches);
    }
    if (fclose(d) != 0)
        die_errno("write", "pipeline.tsv");
    resp_close(c);
    kvd_stop(kv);
    free(w);
}

/* ===================================================================== */
/* Group commit                                                          */
/* ===================================================================== */

#define COMMIT_THREADS 8
#define COMMIT_PER_THREAD 25 /* appends per thread in one segment */
#define COMMIT_SEGMENTS 4    /* baseline/group pairs in one timed run */
#define COMMIT_REC 100       /* bytes per record */

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
    for (int k = 0; k < COMMIT_SEGMENTS; k++)
        if (commit_once(false, true) == 0)
            return 1;
    return 0;
}

/*
 * Does the log write through a descriptor opened with O_SYNC or O_DSYNC?
 * Then every write(2) is a sync inside the kernel, which no count of
 * fdatasync calls would see. Opens a log, looks at the flags of every
 * descriptor of this process that names it (/proc/self/fdinfo), closes it.
 */
static bool
log_writes_are_syncs(void)
{
    char path[512], link[300], target[512], info[300], line[128];
    struct bat_log *log;
    bool found = false;

    snprintf(path, sizeof(path), "%s/probe.log", log_dir);
    if (bat_log_open(path, NULL, &log) != 0)
        return false; /* the timed runs report what fails */
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, path) != 0)
            continue;
        snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
        FILE *f = fopen(info, "r");
        unsigned long flags = 0;
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "flags: %lo", &flags) == 1)
                break;
        if (f != NULL)
            fclose(f);
        if (flags & (O_SYNC | O_DSYNC))
            found = true;
    }
    if (d != NULL)
        closedir(d);
    bat_log_close(log);
    unlink(path);
    return found;
}

static void
bench_commit(int runs)
{
    struct pk_syscalls sc;
    const unsigned long appends =
        COMMIT_THREADS * COMMIT_PER_THREAD * COMMIT_SEGMENTS;

    commit_setup();
    printf("  %d threads x %d appends of %d bytes, in %d segments\n",
           COMMIT_THREADS, COMMIT_PER_THREAD * COMMIT_SEGMENTS, COMMIT_REC,
           COMMIT_SEGMENTS);
    int err = pk_count_syscalls(count_commit, NULL, &sc);
    if (err != 0) {
        printf("  syncs not counted: %s\n",
               err == -ECHILD ? "an append failed" : strerror(-err));
    } else {
        unsigned long syncs = sc.by_nr[SYS_fdatasync] + sc.by_nr[SYS_fsync] +
                              sc.by_nr[SYS_sync_file_range] +
                              sc.by_nr[SYS_syncfs] + sc.by_nr[SYS_sync] +
                              sc.by_nr[SYS_msync];
        if (log_writes_are_syncs()) {
            unsigned long writes =
                sc.by_nr[SYS_write] + sc.by_nr[SYS_pwrite64] +
                sc.by_nr[SYS_writev] + sc.by_nr[SYS_pwritev] +
                sc.by_nr[SYS_pwritev2];
            printf("  the log is opened with O_SYNC or O_DSYNC: each of its "
                   "%lu writes is a sync\n",
                   writes);
            syncs += writes;
        }
        printf("  %lu syncs for %lu appends (counted in the kernel)\n", syncs,
               appends);
        pk_metric("syncs_per_append", (double)syncs / (double)appends);
    }

    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die("out of memory");
    /*
     * The disk's latency drifts with whatever else the machine writes, so
     * each run alternates short segments of both and compares the sums:
     * a burst of foreign IO then slows both sides, not one.
     */
    for (int i = 0; i < runs; i++) {
        uint64_t tb = 0, tg = 0;
        for (int k = 0; k < COMMIT_SEGMENTS; k++) {
            uint64_t b = commit_once(true, false);
            uint64_t g = commit_once(false, false);
            if (b == 0 || g == 0) {
                printf("  not measured: appends failed\n");
                free(ratio);
                rmdir(log_dir);
                return;
            }
            tb += b;
            tg += g;
        }
        ratio[i] = (double)tb / (double)tg;
        double n = (double)appends;
        printf("  run %d: sync per append %.1f ms (%.0f appends/s), group "
               "commit %.1f ms (%.0f appends/s), ratio %.2f\n",
               i + 1, tb / 1e6, n / (tb / 1e9), tg / 1e6, n / (tg / 1e9),
               ratio[i]);
    }
    pk_metric("commit_speedup", pk_median(ratio, (size_t)runs));
    free(ratio);
    rmdir(log_dir);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    if (pk_chart_dir() != NULL) {
        chart_pipeline(pk_chart_dir(), runs);
        return 0;
    }
    bench_gather(runs);
    bench_pipeline(runs);
    bench_commit(runs);
    return 0;
}
