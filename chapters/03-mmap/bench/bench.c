/*
 * bench.c - chapter 03's benchmark. Prints what it does and reports:
 *
 *  scan_syscalls         (counted) system calls made by one mm_count and
 *                        one mm_find over a cached 256 MiB file, counted
 *                        in the kernel with ptrace. A mapping needs a
 *                        handful whatever the size; read() with a 128 KiB
 *                        buffer needs 2048 per pass.
 *  scan_speed_vs_read    (info, timed ratio) time of a read()-based search
 *                        (128 KiB buffer) divided by mm_find's time, same
 *                        file, same pattern, median over --runs pairs.
 *  window_rss_growth_mib (counted) growth of the peak resident memory
 *                        while mm_find_windowed scans a 1 GiB file with a
 *                        16 MiB window. The file is sparse (cheap on disk),
 *                        but every page of it read through a mapping is a
 *                        real page-cache page mapped into the process: see
 *                        the whole-file contrast the bench prints.
 *  ring_speed_vs_pipe    (timed ratio) messages per second through the
 *                        ring divided by messages per second through a
 *                        pipe, 64-byte messages from a child process to
 *                        its parent, median over --runs pairs.
 *  idle_consumer_cpu_ms  (counted) CPU time used by a consumer thread that
 *                        waits 500 ms on an empty ring.
 *
 * Files live in a private directory under $TMPDIR (or /tmp), removed at
 * the end. Run by hand: build/grade/chapters/03-mmap/bench [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "mm.h"

#define MIB ((size_t)1 << 20)

#define SCAN_SIZE (256 * MIB) /* cached file for the whole-file scan */
#define READ_BUF (128 * 1024) /* the read() baseline's buffer */
#define BIG_SIZE (1024 * MIB) /* sparse file for the windowed scan */
#define WINDOW (16 * MIB)     /* mm_find_windowed's budget */
/*
 * Messages per run. The ring gets five times more, so that its run lasts
 * about as long as the pipe's: on a busy machine, one preemption of a few
 * milliseconds would otherwise weigh far more on the shorter run.
 */
#define PIPE_MSGS 200000
#define RING_MSGS 1000000
#define RING_MSG 64 /* bytes per message */
/*
 * Ring capacity: 1 MiB holds about 15000 messages, so when the machine is
 * busy and the two processes take turns on one core, each turn moves many
 * messages.
 */
#define RING_CAP (1024 * 1024)
#define IDLE_MS 500 /* how long the idle consumer waits */

static const char pattern[] = "needle-in-haystack";
static const char *dir;
static pid_t owner; /* the process that made dir */

static void
path_in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* ===================================================================== */
/* The files                                                             */
/* ===================================================================== */

/*
 * 256 MiB of text: lowercase words, spaces and newlines, with the pattern
 * every 1 MiB or so. Written once, so it sits in the page cache.
 */
static void
make_scan_file(const char *path)
{
    char *buf = malloc(MIB);
    uint64_t x = 88172645463325252ull;

    if (buf == NULL)
        die("out of memory");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        die_errno("create", path);
    for (size_t off = 0; off < SCAN_SIZE; off += MIB) {
        for (size_t i = 0; i < MIB; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            unsigned r = (unsigned)(x >> 32) % 32;
            buf[i] = r == 0 ? '\n' : r < 6 ? ' ' : (char)('a' + r % 26);
        }
        memcpy(buf + (x >> 40) % (MIB - sizeof(pattern)), pattern,
               sizeof(pattern) - 1);
        if (write(fd, buf, MIB) != (ssize_t)MIB)
            die_errno("write", path);
    }
    close(fd);
    free(buf);
}

/* 1 GiB, sparse: a hole with the pattern written at a few places. */
static void
make_big_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd == -1 || ftruncate(fd, (off_t)BIG_SIZE) == -1)
        die_errno("create", path);
    for (size_t k = 1; k < 8; k++) {
        /* Across a window boundary, and at the very end. */
        off_t at = (off_t)(k * (BIG_SIZE / 8) - 5);
        if (pwrite(fd, pattern, sizeof(pattern) - 1, at) < 0)
            die_errno("write", path);
    }
    if (pwrite(fd, pattern, sizeof(pattern) - 1,
               (off_t)(BIG_SIZE - (sizeof(pattern) - 1))) < 0)
        die_errno("write", path);
    close(fd);
}

/* ===================================================================== */
/* The read() baseline                                                   */
/* ===================================================================== */

/*
 * mm_find's search done with read() into a 128 KiB buffer. The last
 * patlen - 1 bytes of each buffer are carried to the front of the next, so
 * occurrences across reads are found. Returns the count, or -1.
 */
static long
read_find(const char *path, const char *pat, size_t patlen)
{
    static char buf[READ_BUF + 64];
    size_t have = 0;
    long found = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf + have, READ_BUF);
        if (n <= 0) {
            close(fd);
            return n == 0 ? found : -1;
        }
        have += (size_t)n;
        for (char *p = buf; (size_t)(buf + have - p) >= patlen;) {
            char *hit = memmem(p, (size_t)(buf + have - p), pat, patlen);
            if (hit == NULL)
                break;
            found++;
            p = hit + 1;
        }
        size_t keep = have < patlen - 1 ? have : patlen - 1;
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
}

/* ===================================================================== */
/* Whole-file scan                                                       */
/* ===================================================================== */

static int
count_scan(void *arg)
{
    struct mm_stats st;

    pk_region_begin();
    int err = mm_count(arg, &st);
    ssize_t n = mm_find(arg, pattern, sizeof(pattern) - 1, NULL, 0);
    pk_region_end();
    return err == 0 && n > 0 ? 0 : 1;
}

static int
count_read(void *arg)
{
    pk_region_begin();
    long n = read_find(arg, pattern, sizeof(pattern) - 1);
    pk_region_end();
    return n > 0 ? 0 : 1;
}

static void
bench_scan(int runs)
{
    char path[300];
    struct pk_syscalls sc, rc;
    struct mm_stats st;

    path_in_dir(path, sizeof(path), "scan");
    printf("writing a %zu MiB text file (it stays in the page cache)...\n",
           SCAN_SIZE / MIB);
    make_scan_file(path);

    if (mm_count(path, &st) != 0 ||
        mm_find(path, pattern, sizeof(pattern) - 1, NULL, 0) !=
            read_find(path, pattern, sizeof(pattern) - 1)) {
        printf("  not measured: mm_count or mm_find fails, or mm_find "
               "disagrees with read()\n");
        unlink(path);
        return;
    }
    int err = pk_count_syscalls(count_scan, path, &sc);
    if (err == 0)
        err = pk_count_syscalls(count_read, path, &rc);
    if (err != 0) {
        printf("  syscalls not counted: %s\n", strerror(-err));
    } else {
        printf("  system calls: mm_count + mm_find %lu; one read() search "
               "with a %d KiB buffer %lu\n",
               sc.total, READ_BUF / 1024, rc.total);
        pk_metric("scan_syscalls", (double)sc.total);
    }

    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        uint64_t t0 = pk_now_ns();
        long nr = read_find(path, pattern, sizeof(pattern) - 1);
        uint64_t t1 = pk_now_ns();
        ssize_t nm = mm_find(path, pattern, sizeof(pattern) - 1, NULL, 0);
        uint64_t t2 = pk_now_ns();
        uint64_t t3 = pk_now_ns();
        int ce = mm_count(path, &st);
        uint64_t t4 = pk_now_ns();
        if (nr != nm || ce != 0)
            die("mm_find and read() disagree");
        ratio[i] = (double)(t1 - t0) / (double)(t2 - t1);
        printf("  run %d: find read() %.1f ms, mm_find %.1f ms, ratio %.2f; "
               "mm_count %.1f ms\n",
               i + 1, (t1 - t0) / 1e6, (t2 - t1) / 1e6, ratio[i],
               (t4 - t3) / 1e6);
    }
    pk_metric("scan_speed_vs_read", pk_median(ratio, (size_t)runs));
    free(ratio);
    unlink(path);
}

/* ===================================================================== */
/* Windowed scan of a big file                                           */
/* ===================================================================== */

/* Resets VmHWM to the current RSS (proc(5), clear_refs "5"). */
static long
reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

    if (fd == -1 || write(fd, "5", 1) != 1)
        die_errno("write", "/proc/self/clear_refs");
    close(fd);
    return pk_peak_rss_kib();
}

static void
bench_window(void)
{
    char path[300];
    uint64_t offs[16];

    path_in_dir(path, sizeof(path), "big");
    printf("scanning a %zu MiB sparse file with a %zu MiB window...\n",
           BIG_SIZE / MIB, WINDOW / MIB);
    make_big_file(path);

    long base = reset_peak();
    uint64_t t0 = pk_now_ns();
    ssize_t n =
        mm_find_windowed(path, pattern, sizeof(pattern) - 1, WINDOW, offs, 16);
    uint64_t t1 = pk_now_ns();
    long grew = pk_peak_rss_kib() - base;
    if (n != 8) {
        printf("  not measured: mm_find_windowed found %zd occurrences "
               "of 8\n",
               n);
        unlink(path);
        return;
    }
    printf("  mm_find_windowed: %.0f ms, peak RSS grew by %.1f MiB\n",
           (t1 - t0) / 1e6, grew / 1024.0);
    pk_metric("window_rss_growth_mib", grew / 1024.0);

    /* The contrast: the same file through one whole mapping. */
    base = reset_peak();
    t0 = pk_now_ns();
    n = mm_find(path, pattern, sizeof(pattern) - 1, offs, 16);
    t1 = pk_now_ns();
    grew = pk_peak_rss_kib() - base;
    printf("  mm_find (whole file): %.0f ms, peak RSS grew by %.1f MiB "
           "(%zd found)\n",
           (t1 - t0) / 1e6, grew / 1024.0, n);
    unlink(path);
}

/* ===================================================================== */
/* Ring against pipe                                                     */
/* ===================================================================== */

static void
wait_child(pid_t pid, const char *what)
{
    int status;

    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        die("the %s producer failed (status 0x%x)", what, status);
}

/* Wall time to move PIPE_MSGS messages through a pipe, or 0. */
static uint64_t
run_pipe(void)
{
    char msg[RING_MSG] = {0};
    int p[2];

    if (pipe2(p, O_CLOEXEC) == -1)
        die_errno("pipe", "baseline");
    uint64_t t0 = pk_now_ns();
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork", "pipe producer");
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < PIPE_MSGS; i++)
            if (write(p[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    /* One read per message: a pipe keeps no message boundaries, so a
     * reader of variable-size messages could not do better without its
     * own framing (that is chapter 04's buffered reader). */
    for (int i = 0; i < PIPE_MSGS; i++) {
        size_t have = 0;
        while (have < sizeof(msg)) {
            ssize_t n = read(p[0], msg + have, sizeof(msg) - have);
            if (n <= 0)
                die_errno("read", "pipe");
            have += (size_t)n;
        }
    }
    uint64_t wall = pk_now_ns() - t0;
    close(p[0]);
    wait_child(pid, "pipe");
    return wall;
}

/* Wall time to move RING_MSGS messages through the ring, or 0. */
static uint64_t
run_ring(void)
{
    char msg[RING_MSG] = {0};
    struct mm_ring *ring;

    if (mm_ring_create(RING_CAP, &ring) != 0)
        return 0;
    uint64_t t0 = pk_now_ns();
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork", "ring producer");
    if (pid == 0) {
        for (int i = 0; i < RING_MSGS; i++)
            if (mm_ring_send(ring, msg, sizeof(msg), 10000) != 0)
                _exit(1);
        _exit(mm_ring_close(ring) == 0 ? 0 : 1);
    }
    int got = 0;
    for (;;) {
        ssize_t n = mm_ring_recv(ring, msg, sizeof(msg), 10000);
        if (n <= 0)
            break;
        got++;
    }
    uint64_t wall = pk_now_ns() - t0;
    int status;
    waitpid(pid, &status, 0);
    mm_ring_destroy(ring);
    if (got != RING_MSGS || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  ring: %d of %d messages arrived\n", got, RING_MSGS);
        return 0;
    }
    return wall;
}

struct idle {
    struct mm_ring *ring;
    uint64_t cpu_ns;
    ssize_t result;
};

static void *
idle_main(void *arg)
{
    struct idle *s = arg;
    char buf[RING_MSG];
    uint64_t cpu0 = pk_thread_cpu_ns();

    s->result = mm_ring_recv(s->ring, buf, sizeof(buf), IDLE_MS);
    s->cpu_ns = pk_thread_cpu_ns() - cpu0;
    return NULL;
}

static void
bench_ring(int runs)
{
    double *ratio = calloc((size_t)runs, sizeof(double));

    if (ratio == NULL)
        die("out of memory");
    printf("messages of %d bytes from a child process: %d through a ring "
           "of %d KiB, %d through a pipe, %d runs\n",
           RING_MSG, RING_MSGS, RING_CAP / 1024, PIPE_MSGS, runs);
    for (int i = 0; i < runs; i++) {
        uint64_t tp = run_pipe();
        uint64_t tr = run_ring();
        if (tr == 0) {
            printf("  not measured: the ring lost messages or failed\n");
            free(ratio);
            return;
        }
        double rate_pipe = PIPE_MSGS / (tp / 1e9);
        double rate_ring = RING_MSGS / (tr / 1e9);
        ratio[i] = rate_ring / rate_pipe;
        printf("  run %d: pipe %.2f M messages/s, ring %.2f M messages/s, "
               "ratio %.1f\n",
               i + 1, rate_pipe / 1e6, rate_ring / 1e6, ratio[i]);
    }
    pk_metric("ring_speed_vs_pipe", pk_median(ratio, (size_t)runs));
    free(ratio);

    struct idle s = {.result = 1};
    pthread_t th;
    if (mm_ring_create(RING_CAP, &s.ring) != 0)
        return;
    pthread_create(&th, NULL, idle_main, &s);
    pthread_join(th, NULL);
    mm_ring_destroy(s.ring);
    if (s.result != -ETIMEDOUT) {
        printf("  idle consumer: recv returned %zd, not -ETIMEDOUT\n",
               s.result);
        return;
    }
    printf("  idle consumer: %.3f ms of CPU in %d ms of waiting\n",
           s.cpu_ns / 1e6, IDLE_MS);
    pk_metric("idle_consumer_cpu_ms", s.cpu_ns / 1e6);
}

/* Runs at exit, die() included: the bench leaves no file behind. */
static void
cleanup(void)
{
    char path[300];

    if (getpid() != owner)
        return; /* a forked producer exiting */
    path_in_dir(path, sizeof(path), "scan");
    unlink(path);
    path_in_dir(path, sizeof(path), "big");
    unlink(path);
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    dir = pk_tmpdir("mm");
    owner = getpid();
    atexit(cleanup);

    bench_scan(runs);
    bench_window();
    bench_ring(runs);
    return 0;
}
