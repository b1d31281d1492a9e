/*
 * sweep.c - exercise 3 of chapter 04: the buffer-size experiment.
 *
 * For every capacity from 16 bytes to 1 MiB (powers of two) it writes a
 * file in small records through your buf_writer and reads it back through
 * your buf_reader, and prints a table of throughput and system calls per
 * MiB. The system calls are counted in the kernel (ptrace, as the bench
 * does) over 1 MiB. Throughput is measured over up to --mib MiB (default
 * 16; less for tiny buffers) into and out of the page cache, so the disk
 * plays no part, and per second of CPU time, best of three runs, so that
 * other programs on a busy machine do not distort it.
 *
 *     make demos CH=04
 *     build/tree/solutions/04-buffering/demo/sweep [--mib N] [--record N]
 *                                                  [--chart DIR]
 *
 * When gnuplot is installed, a chart of the same figures follows the table
 * (in the terminal); --chart DIR also writes them to DIR/sweep.tsv, which
 * make charts draws as a picture. The README explains where the curve
 * flattens and why.
 */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"

#define MIB (1u << 20)
#define CAP_MIN 16
#define CAP_MAX MIB
#define NCAPS 17 /* 16 B .. 1 MiB */
#define REPS 3   /* timed runs per capacity; the best one counts */

struct opts {
    size_t volume; /* bytes timed per capacity */
    size_t record; /* bytes per buf_write and buf_read */
    const char *path;
    const char *chart; /* --chart DIR, or NULL */
};

struct row {
    size_t cap;
    double write_mbs, read_mbs;     /* MB/s, 10^6 bytes per second */
    double write_calls, read_calls; /* system calls per MiB */
};

/* Writes volume bytes in records through a writer of capacity cap. */
static void
write_file(const struct opts *o, size_t cap, size_t volume)
{
    struct buf_writer w;
    char *rec = malloc(o->record);

    int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1 || rec == NULL)
        die_errno("create", o->path);
    memset(rec, 'x', o->record);
    int err = buf_writer_init(&w, fd, cap);
    if (err != 0)
        die_neg("buf_writer_init", o->path, err);
    pk_region_begin();
    for (size_t off = 0; off < volume; off += o->record) {
        size_t k = volume - off < o->record ? volume - off : o->record;
        ssize_t n = buf_write(&w, rec, k);
        if (n != (ssize_t)k)
            die_neg("buf_write", o->path, n < 0 ? n : -EIO);
    }
    err = buf_writer_close(&w);
    pk_region_end();
    if (err != 0)
        die_neg("buf_writer_close", o->path, err);
    close(fd);
    free(rec);
}

/* Reads the file back in records through a reader of capacity cap. */
static void
read_file(const struct opts *o, size_t cap, size_t volume)
{
    struct buf_reader r;
    char *rec = malloc(o->record);
    size_t total = 0;
    ssize_t n;

    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || rec == NULL)
        die_errno("open", o->path);
    int err = buf_reader_init(&r, fd, cap);
    if (err != 0)
        die_neg("buf_reader_init", o->path, err);
    pk_region_begin();
    while ((n = buf_read(&r, rec, o->record)) > 0)
        total += (size_t)n;
    pk_region_end();
    if (n < 0)
        die_neg("buf_read", o->path, n);
    if (total != volume)
        die("read %zu bytes back, expected %zu", total, volume);
    buf_reader_close(&r);
    close(fd);
    free(rec);
}

/* ---- counting, in a traced child ----------------------------------------- */

struct job {
    const struct opts *o;
    size_t cap;
    bool reading;
};

static int
counted(void *arg)
{
    const struct job *j = arg;

    if (j->reading)
        read_file(j->o, j->cap, MIB);
    else
        write_file(j->o, j->cap, MIB);
    return 0;
}

static double
calls_per_mib(const struct opts *o, size_t cap, bool reading)
{
    struct job j = {.o = o, .cap = cap, .reading = reading};
    struct pk_syscalls sc;

    if (reading)
        write_file(o, BUF_DEFAULT_CAP, MIB); /* 1 MiB to read back */
    int err = pk_count_syscalls(counted, &j, &sc);
    return err == 0 ? (double)sc.total : -1;
}

static double
mbs(size_t bytes, uint64_t ns)
{
    return (double)bytes / 1e6 / ((double)ns / 1e9);
}

/* ---- output -------------------------------------------------------------- */

static void
print_size(char *out, size_t len, size_t n)
{
    if (n >= MIB)
        snprintf(out, len, "%zu MiB", n / MIB);
    else if (n >= 1024)
        snprintf(out, len, "%zu KiB", n / 1024);
    else
        snprintf(out, len, "%zu B", n);
}

static void
plot(const struct row *rows, int n)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("\n(gnuplot is not installed: no chart, the table says "
               "it all)\n");
        return;
    }
    FILE *g = popen("gnuplot", "w");
    if (g == NULL)
        return;
    fprintf(g, "set terminal dumb size 79,28\n"
               "set logscale x 2\nset logscale y 10\n"
               "set xlabel 'buffer capacity (bytes)'\n"
               "set xtics ('16' 16, '256' 256, '4K' 4096, '64K' 65536, "
               "'1M' 1048576)\n"
               "set title 'throughput, MB/s (log-log)'\n"
               "set key top left\n"
               "$d << EOD\n");
    for (int i = 0; i < n; i++)
        fprintf(g, "%zu %.1f %.1f\n", rows[i].cap, rows[i].write_mbs,
                rows[i].read_mbs);
    fprintf(g, "EOD\nplot $d using 1:2 with linespoints title 'write', "
               "$d using 1:3 with linespoints title 'read'\n");
    pclose(g);
}

int
main(int argc, char **argv)
{
    struct opts o = {.volume = 16 * (size_t)MIB, .record = 10};
    struct row rows[NCAPS];
    char path[] = "/tmp/iolab-sweep-XXXXXX";
    struct stat st;

    die_init(argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
            o.volume = die_number("--mib", argv[++i], 1, 4096) * MIB;
        else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc)
            o.record = die_number("--record", argv[++i], 1, MIB);
        else if (strcmp(argv[i], "--chart") == 0 && i + 1 < argc)
            o.chart = argv[++i];
        else
            die("usage: %s [--mib N] [--record BYTES] [--chart DIR]", argv[0]);
    }
    int fd = mkstemp(path);
    if (fd == -1 || fstat(fd, &st) == -1)
        die_errno("create", path);
    close(fd);
    o.path = path;

    printf("%zu-byte records; up to %zu MiB each way per capacity, into and "
           "out of the page cache; MB/s per CPU second, best of %d\n",
           o.record, o.volume / MIB, REPS);
    /* glibc's stdio takes st_blksize when it is below BUFSIZ, else BUFSIZ. */
    long stdio = st.st_blksize > 0 && st.st_blksize < BUFSIZ
                     ? (long)st.st_blksize
                     : (long)BUFSIZ;
    printf("for reference: BUFSIZ = %d, st_blksize = %ld, so glibc's stdio "
           "buffers this file with %ld bytes; coreutils uses 128 KiB (256 "
           "KiB since 2024)\n\n",
           BUFSIZ, (long)st.st_blksize, stdio);
    printf("%9s | %11s %12s | %11s %12s\n", "capacity", "write MB/s",
           "calls/MiB", "read MB/s", "calls/MiB");
    printf("----------+--------------------------+-------------------------"
           "-\n");
    int n = 0;
    for (size_t cap = CAP_MIN; cap <= CAP_MAX; cap *= 2, n++) {
        struct row *r = &rows[n];
        char name[16];

        r->cap = cap;
        r->write_calls = calls_per_mib(&o, cap, false);
        r->read_calls = calls_per_mib(&o, cap, true);
        /*
         * Best of REPS, in CPU time (user + system) rather than wall time:
         * a busy machine steals wall time, not the work's own CPU time.
         * Small buffers get fewer bytes, so no point needs more than
         * about 64 Ki system calls.
         */
        size_t vol = cap * 65536 < o.volume ? cap * 65536 : o.volume;
        uint64_t best_w = UINT64_MAX, best_r = UINT64_MAX;
        for (int rep = 0; rep < REPS; rep++) {
            uint64_t t0 = pk_cpu_ns();
            write_file(&o, cap, vol);
            uint64_t t1 = pk_cpu_ns();
            read_file(&o, cap, vol);
            uint64_t t2 = pk_cpu_ns();
            best_w = t1 - t0 < best_w ? t1 - t0 : best_w;
            best_r = t2 - t1 < best_r ? t2 - t1 : best_r;
        }
        r->write_mbs = mbs(vol, best_w);
        r->read_mbs = mbs(vol, best_r);
        print_size(name, sizeof(name), cap);
        printf("%9s | %11.1f %12.0f | %11.1f %12.0f\n", name, r->write_mbs,
               r->write_calls, r->read_mbs, r->read_calls);
        fflush(stdout);
    }
    unlink(path);
    FILE *d = pk_chart_open(o.chart, "sweep",
                            "capacity write_mbs read_mbs write_calls_per_mib "
                            "read_calls_per_mib");
    for (int i = 0; d != NULL && i < n; i++)
        fprintf(d, "%zu\t%.1f\t%.1f\t%.0f\t%.0f\n", rows[i].cap,
                rows[i].write_mbs, rows[i].read_mbs, rows[i].write_calls,
                rows[i].read_calls);
    if (d != NULL && fclose(d) != 0)
        die_errno("write", "sweep.tsv");
    plot(rows, n);
    return 0;
}
