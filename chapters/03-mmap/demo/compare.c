/*
 * compare.c - mmap against read(2), for sequential and random access, with
 * the file in the page cache (warm) and not (cold), and what a mapping's
 * first touch of each page costs.
 *
 * Usage: compare [-r RUNS] [SIZE_MIB] [DIR]
 *        (default 5 runs, 256 MiB, in $TMPDIR or /tmp)
 *
 * It writes a file of SIZE_MIB, then runs each case RUNS times and prints
 * the median time with the fastest and slowest run, the throughput of the
 * median, and the page faults of the last run: minor faults (the page was
 * in memory, only the page table was filled in) and major faults (the
 * process waited for the disk). "Cold" evicts the file's pages before each
 * run with posix_fadvise(POSIX_FADV_DONTNEED), which works for clean pages
 * without root.
 *
 * Sequential: every byte, summed 8 bytes at a time. read() uses a
 * 128 KiB buffer; the mapping is advised MADV_SEQUENTIAL. The variants
 * show what decides the mapping's cost: the same mapping read a second
 * time (every page-table entry already in place and used once), a mapping
 * filled in advance (MAP_POPULATE, MADV_POPULATE_READ; the time includes
 * the populating call), and one mapped with 2 MiB pages (MADV_HUGEPAGE,
 * last: its cold run refills the page cache with 2 MiB folios, which the
 * mapping then maps with one entry each).
 *
 * Random: 20000 blocks of 4 KiB at random 4 KiB-aligned offsets, summed.
 * pread() per block; the mapping is advised MADV_RANDOM.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"

#define BUF (128 * 1024)
#define BLOCK 4096
#define RANDOM_BLOCKS 20000
#define MAX_RUNS 100

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older headers lack the name */
#endif

/* What one run measured: the timed part only. */
struct sample {
    uint64_t ns;
    long minflt, majflt;
};

static struct sample cur;
static struct rusage ru0;

static void
begin(void)
{
    getrusage(RUSAGE_SELF, &ru0);
    cur.ns = pk_now_ns();
}

static void
end(void)
{
    struct rusage ru1;

    cur.ns = pk_now_ns() - cur.ns;
    getrusage(RUSAGE_SELF, &ru1);
    cur.minflt = ru1.ru_minflt - ru0.ru_minflt;
    cur.majflt = ru1.ru_majflt - ru0.ru_majflt;
}

static uint64_t
sum(const void *p, size_t len)
{
    const uint64_t *w = p;
    uint64_t s = 0;

    for (size_t i = 0; i < len / 8; i++)
        s += w[i];
    return s;
}

static void *
map(int fd, size_t size, int flags, int advice)
{
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED | flags, fd, 0);

    if (p == MAP_FAILED)
        die_errno("mmap", "file");
    if (advice >= 0 && madvise(p, size, advice) != 0)
        die_errno("madvise", "file");
    return p;
}

/* ---- the cases: each times its own part, between begin() and end() ---- */

static uint64_t
seq_read(int fd, size_t size)
{
    static uint64_t buf[BUF / 8];
    uint64_t s = 0;

    (void)size;
    begin();
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n <= 0)
            break;
        s += sum(buf, (size_t)n);
        off += n;
    }
    end();
    return s;
}

static uint64_t
seq_mmap(int fd, size_t size)
{
    begin();
    void *p = map(fd, size, 0, MADV_SEQUENTIAL);
    uint64_t s = sum(p, size);
    munmap(p, size);
    end();
    return s;
}

static uint64_t
seq_mmap_again(int fd, size_t size)
{
    void *p = map(fd, size, 0, MADV_SEQUENTIAL);
    uint64_t s = sum(p, size); /* first pass, not timed */

    begin();
    s += sum(p, size);
    end();
    munmap(p, size);
    return s;
}

static uint64_t
seq_map_populate(int fd, size_t size)
{
    begin();
    void *p = map(fd, size, MAP_POPULATE, MADV_SEQUENTIAL);
    uint64_t s = sum(p, size);
    munmap(p, size);
    end();
    return s;
}

static uint64_t
seq_populate_read(int fd, size_t size)
{
    begin();
    void *p = map(fd, size, 0, MADV_SEQUENTIAL);
    if (madvise(p, size, MADV_POPULATE_READ) != 0)
        die_errno("madvise(MADV_POPULATE_READ)", "file");
    uint64_t s = sum(p, size);
    munmap(p, size);
    end();
    return s;
}

static long huge_kib; /* FilePmdMapped during the last huge-page run */

/* FilePmdMapped of this process: file memory mapped with 2 MiB entries. */
static long
file_pmd_kib(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "re");
    char line[256];
    long kib = -1;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "FilePmdMapped: %ld kB", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

static uint64_t
seq_huge(int fd, size_t size)
{
    begin();
    void *p = map(fd, size, 0, -1);
    /* Advice: without transparent huge pages it fails, and changes nothing. */
    (void)madvise(p, size, MADV_HUGEPAGE);
    uint64_t s = sum(p, size);
    end();
    huge_kib = file_pmd_kib();
    munmap(p, size);
    return s;
}

static off_t *offsets; /* the random blocks, the same for both methods */

static uint64_t
rand_read(int fd, size_t size)
{
    uint64_t buf[BLOCK / 8], s = 0;

    (void)size;
    begin();
    for (int i = 0; i < RANDOM_BLOCKS; i++) {
        if (pread(fd, buf, BLOCK, offsets[i]) != BLOCK)
            die_errno("pread", "file");
        s += sum(buf, BLOCK);
    }
    end();
    return s;
}

static uint64_t
rand_mmap(int fd, size_t size)
{
    uint64_t s = 0;

    begin();
    unsigned char *p = map(fd, size, 0, MADV_RANDOM);
    for (int i = 0; i < RANDOM_BLOCKS; i++)
        s += sum(p + offsets[i], BLOCK);
    munmap(p, size);
    end();
    return s;
}

/* ---- running a case ------------------------------------------------------ */

static int runs = 5;

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void
run(const char *name, uint64_t (*fn)(int, size_t), int fd, size_t size,
    size_t bytes, int cold)
{
    uint64_t ns[MAX_RUNS];

    if (!cold)
        fn(fd, size); /* warm up: everything in the page cache */
    for (int i = 0; i < runs; i++) {
        if (cold && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
            die("posix_fadvise failed");
        volatile uint64_t s = fn(fd, size);
        (void)s;
        ns[i] = cur.ns;
    }
    qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_u64);
    /* The median; for an even count, the lower of the middle two. */
    double med = (double)ns[(runs - 1) / 2];
    printf("%-5s %-27s %8.1f ms (%6.1f-%6.1f) %6.0f MB/s %7ld minor %6ld "
           "major\n",
           cold ? "cold" : "warm", name, med / 1e6, (double)ns[0] / 1e6,
           (double)ns[runs - 1] / 1e6, (double)bytes / (med / 1e3), cur.minflt,
           cur.majflt);
}

int
main(int argc, char **argv)
{
    int opt;

    die_init(argv[0]);
    while ((opt = getopt(argc, argv, "r:")) != -1) {
        if (opt != 'r')
            die("usage: compare [-r RUNS] [SIZE_MIB] [DIR]");
        runs = (int)die_number("RUNS", optarg, 1, MAX_RUNS);
    }
    if (argc - optind > 2)
        die("usage: compare [-r RUNS] [SIZE_MIB] [DIR]");
    size_t mib = argc - optind > 0
                     ? die_number("SIZE_MIB", argv[optind], 1, 65536)
                     : 256;
    const char *tmp = argc - optind > 1 ? argv[optind + 1] : getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/iolab-compare-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd == -1)
        die_errno("create", path);
    unlink(path);

    size_t size = mib << 20;
    char *buf = malloc(1 << 20);
    if (buf == NULL)
        die("out of memory");
    for (size_t i = 0; i < (1 << 20); i++)
        buf[i] = (char)(i * 2654435761u >> 24);
    for (size_t off = 0; off < size; off += 1 << 20)
        if (write(fd, buf, 1 << 20) != 1 << 20)
            die_errno("write", path);
    free(buf);
    if (fdatasync(fd) == -1) /* clean pages can be evicted */
        die_errno("fdatasync", path);

    offsets = malloc(RANDOM_BLOCKS * sizeof(*offsets));
    if (offsets == NULL)
        die("out of memory");
    srand(42);
    for (int i = 0; i < RANDOM_BLOCKS; i++)
        offsets[i] = (off_t)((size_t)rand() % (size / BLOCK)) * BLOCK;

    printf("file: %zu MiB; random: %d blocks of %d bytes; %d runs a case: "
           "median (fastest-slowest)\n",
           mib, RANDOM_BLOCKS, BLOCK, runs);
    size_t rbytes = (size_t)RANDOM_BLOCKS * BLOCK;
    run("sequential read()", seq_read, fd, size, size, 0);
    run("sequential mmap", seq_mmap, fd, size, size, 0);
    run("sequential mmap, 2nd pass", seq_mmap_again, fd, size, size, 0);
    run("sequential MAP_POPULATE", seq_map_populate, fd, size, size, 0);
    run("sequential POPULATE_READ", seq_populate_read, fd, size, size, 0);
    run("random pread()", rand_read, fd, size, rbytes, 0);
    run("random mmap", rand_mmap, fd, size, rbytes, 0);
    run("sequential read()", seq_read, fd, size, size, 1);
    run("sequential mmap", seq_mmap, fd, size, size, 1);
    run("random pread()", rand_read, fd, size, rbytes, 1);
    run("random mmap", rand_mmap, fd, size, rbytes, 1);
    run("sequential MADV_HUGEPAGE", seq_huge, fd, size, size, 1);
    run("sequential MADV_HUGEPAGE", seq_huge, fd, size, size, 0);
    printf("  (2 MiB mappings in the last run: %ld MiB of %zu)\n",
           huge_kib < 0 ? -1 : huge_kib / 1024, mib);
    run("sequential read()", seq_read, fd, size, size, 0);
    close(fd);
    free(offsets);
    return 0;
}
