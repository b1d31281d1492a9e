/*
 * bench.c - chapter 04's benchmark. Prints what it does and reports:
 *
 *  write_syscalls_per_mib    (counted) system calls made while 1 MiB is
 *                            written in 100-byte records through a 4 KiB
 *                            writer and closed, counted in the kernel with
 *                            ptrace. Ideal: 1 MiB / 4 KiB = 256.
 *  read_syscalls_per_mib     (counted) the same for reading a 1 MiB file
 *                            line by line through a 4 KiB reader, to EOF.
 *                            Ideal: 256 fills and 1 read that sees EOF.
 *  speedup_1byte_vs_write    (timed ratio) time of one write(2) per byte
 *                            over the time of buf_write with 1-byte
 *                            records, to the same kind of file; median.
 *  speedup_1byte_vs_fwrite   (info) time of fwrite over buf_write, both
 *                            with 1-byte records: above 1 beats stdio.
 *  speedup_lines_vs_getline  (info) time of getline on a stdio stream over
 *                            buf_read_until, reading a cached file.
 *
 * Run by hand: build/grade/chapters/04-buffering/bench [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "iolab/die.h"
#include "iolab/perfkit.h"

#define MIB (1u << 20)
/* The capacity of the counted runs: small, so the ideal is a round 256. */
#define COUNT_CAP 4096
/* Record length of the counted write: does not divide COUNT_CAP. */
#define RECORD 100
/* 1-byte records per timed run: long enough to time, short to run. */
#define BYTES_1 (1u << 19)
/* Size of the file read line by line in the timed run. */
#define LINES_FILE (32u * MIB)

static const char *dir; /* the bench's private directory */

static char *
path_in_dir(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
    return p;
}

static int
create_file(const char *name)
{
    const char *path = path_in_dir(name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd == -1)
        die_errno("create", path);
    return fd;
}

/*
 * Fills a file with len bytes of text lines of 20 to 180 bytes (100 on
 * average), written with plain write(2).
 */
static void
make_lines_file(const char *name, size_t len)
{
    char *text = malloc(len);
    unsigned seed = 4;

    if (text == NULL)
        die("out of memory");
    for (size_t off = 0; off < len;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = 20 + (seed >> 16) % 161;
        if (k > len - off)
            k = len - off;
        for (size_t i = 0; i + 1 < k; i++)
            text[off + i] = (char)('a' + (off + i) % 26);
        text[off + k - 1] = '\n';
        off += k;
    }
    int fd = create_file(name);
    if (write(fd, text, len) != (ssize_t)len)
        die_errno("write", name);
    close(fd);
    free(text);
}

/* ===================================================================== */
/* System calls per MiB, counted in the kernel                           */
/* ===================================================================== */

static int
count_write(void *arg)
{
    struct buf_writer w;
    char rec[RECORD];

    (void)arg;
    memset(rec, 'w', sizeof(rec));
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd == -1 || buf_writer_init(&w, fd, COUNT_CAP) != 0)
        return 1;
    pk_region_begin();
    for (size_t off = 0; off < MIB; off += RECORD) {
        size_t k = MIB - off < RECORD ? MIB - off : RECORD;
        if (buf_write(&w, rec, k) != (ssize_t)k)
            return 1;
    }
    int err = buf_writer_close(&w);
    pk_region_end();
    return err == 0 ? 0 : 1;
}

static int
count_read(void *arg)
{
    struct buf_reader r;
    char *line = NULL;
    size_t size = 0, total = 0;
    ssize_t n;

    int fd = open(arg, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || buf_reader_init(&r, fd, COUNT_CAP) != 0)
        return 1;
    /* Allocate the line buffer before counting: malloc may call brk. */
    line = malloc(4096);
    size = 4096;
    pk_region_begin();
    while ((n = buf_read_until(&r, '\n', &line, &size)) > 0)
        total += (size_t)n;
    pk_region_end();
    buf_reader_close(&r);
    free(line);
    return n == 0 && total == MIB ? 0 : 1;
}

static void
report_count(const char *metric, int (*fn)(void *), void *arg, const char *what)
{
    struct pk_syscalls sc;
    int err = pk_count_syscalls(fn, arg, &sc);

    if (err != 0) {
        printf("  not measured: %s\n", err == -ECHILD ? what : strerror(-err));
        return;
    }
    printf("  %lu system calls (ideal %u + 1)\n", sc.total, MIB / COUNT_CAP);
    pk_metric(metric, (double)sc.total);
}

/* ===================================================================== */
/* Timed ratios                                                           */
/* ===================================================================== */

/* One write(2) per byte: what buffering saves. */
static double
time_unbuffered(int fd)
{
    char c = 'u';
    uint64_t t0 = pk_now_ns();

    for (unsigned i = 0; i < BYTES_1; i++)
        if (write(fd, &c, 1) != 1)
            die_errno("write", "unbuffered");
    return (double)(pk_now_ns() - t0);
}

static double
time_buffered(int fd)
{
    struct buf_writer w;
    char c = 'b';

    if (buf_writer_init(&w, fd, BUF_DEFAULT_CAP) != 0)
        die("buf_writer_init failed");
    uint64_t t0 = pk_now_ns();
    for (unsigned i = 0; i < BYTES_1; i++)
        if (buf_write(&w, &c, 1) != 1)
            die("buf_write of 1 byte failed");
    int err = buf_writer_close(&w);
    uint64_t t = pk_now_ns() - t0;
    if (err != 0)
        die_neg("close", "buffered writer", err);
    return (double)t;
}

/* stdio with its default (st_blksize) buffer, one fwrite per byte. */
static double
time_fwrite(int fd)
{
    FILE *f = fdopen(dup(fd), "w");
    char c = 's';

    if (f == NULL)
        die_errno("fdopen", "stdio writer");
    uint64_t t0 = pk_now_ns();
    for (unsigned i = 0; i < BYTES_1; i++)
        if (fwrite(&c, 1, 1, f) != 1)
            die_errno("fwrite", "stdio writer");
    if (fclose(f) != 0)
        die_errno("fclose", "stdio writer");
    return (double)(pk_now_ns() - t0);
}

static double
time_getline(const char *path, size_t *bytes)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t size = 0;
    ssize_t n;

    if (f == NULL)
        die_errno("fopen", path);
    *bytes = 0;
    uint64_t t0 = pk_now_ns();
    while ((n = getline(&line, &size, f)) > 0)
        *bytes += (size_t)n;
    uint64_t t = pk_now_ns() - t0;
    fclose(f);
    free(line);
    return (double)t;
}

static double
time_read_until(const char *path, size_t *bytes)
{
    struct buf_reader r;
    char *line = NULL;
    size_t size = 0;
    ssize_t n;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || buf_reader_init(&r, fd, BUF_DEFAULT_CAP) != 0)
        die_errno("open", path);
    *bytes = 0;
    uint64_t t0 = pk_now_ns();
    while ((n = buf_read_until(&r, '\n', &line, &size)) > 0)
        *bytes += (size_t)n;
    uint64_t t = pk_now_ns() - t0;
    buf_reader_close(&r);
    close(fd);
    free(line);
    if (n < 0)
        die_neg("read", path, n);
    return (double)t;
}

static void
bench_timed(int runs)
{
    double *vs_write = calloc((size_t)runs, sizeof(double));
    double *vs_fwrite = calloc((size_t)runs, sizeof(double));
    double *vs_getline = calloc((size_t)runs, sizeof(double));

    if (vs_write == NULL || vs_fwrite == NULL || vs_getline == NULL)
        die("out of memory");
    printf("%u one-byte records, to a file, %d runs\n", BYTES_1, runs);
    for (int i = 0; i < runs; i++) {
        int fd = create_file("bytes");
        double tw = time_unbuffered(fd);
        ftruncate(fd, 0);
        double tb = time_buffered(fd);
        ftruncate(fd, 0);
        double ts = time_fwrite(fd);
        close(fd);
        vs_write[i] = tw / tb;
        vs_fwrite[i] = ts / tb;
        printf("  run %d: write(2) %.1f ms, fwrite %.2f ms, buf_write "
               "%.2f ms: x%.1f, x%.2f\n",
               i + 1, tw / 1e6, ts / 1e6, tb / 1e6, vs_write[i], vs_fwrite[i]);
    }
    pk_metric("speedup_1byte_vs_write", pk_median(vs_write, (size_t)runs));
    pk_metric("speedup_1byte_vs_fwrite", pk_median(vs_fwrite, (size_t)runs));

    const char *lines = path_in_dir("lines");
    make_lines_file("lines", LINES_FILE);
    size_t b1, b2;
    time_read_until(lines, &b1); /* warm the page cache */
    printf("reading %u MiB of lines from a cached file, %d runs\n",
           LINES_FILE / MIB, runs);
    for (int i = 0; i < runs; i++) {
        double tg = time_getline(lines, &b1);
        double tr = time_read_until(lines, &b2);
        if (b1 != LINES_FILE || b2 != LINES_FILE)
            die("read %zu (getline) and %zu (buf_read_until) bytes of %u", b1,
                b2, LINES_FILE);
        vs_getline[i] = tg / tr;
        printf("  run %d: getline %.1f ms, buf_read_until %.1f ms: x%.2f\n",
               i + 1, tg / 1e6, tr / 1e6, vs_getline[i]);
    }
    pk_metric("speedup_lines_vs_getline", pk_median(vs_getline, (size_t)runs));
    free(vs_write);
    free(vs_fwrite);
    free(vs_getline);
}

/* Runs at exit, die() included: code under test that fails leaves no files. */
static void
remove_files(void)
{
    static const char *const names[] = {"count", "bytes", "lines"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(path_in_dir(names[i]));
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    dir = pk_tmpdir("bench04");
    atexit(remove_files);
    make_lines_file("count", MIB);

    printf("counting system calls: 1 MiB in %d-byte records through a "
           "%d-byte buf_writer...\n",
           RECORD, COUNT_CAP);
    report_count("write_syscalls_per_mib", count_write, NULL,
                 "buf_write or buf_writer_close failed");
    printf("counting system calls: a 1 MiB file line by line through a "
           "%d-byte buf_reader...\n",
           COUNT_CAP);
    report_count("read_syscalls_per_mib", count_read, path_in_dir("count"),
                 "buf_read_until did not return the whole file");
    bench_timed(runs);
    return 0;
}
