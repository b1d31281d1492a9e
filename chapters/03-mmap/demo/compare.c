/*
 * compare.c - mmap against read(2), for sequential and random access, with
 * the file in the page cache (warm) and not (cold).
 *
 * Usage: compare [SIZE_MIB] [DIR]    (default 256 MiB in $TMPDIR or /tmp)
 *
 * It writes a file of SIZE_MIB, then, for each case, reads it and prints
 * the time, the throughput, and the page faults the process took: minor
 * faults (the page was in memory, only the page table was filled in) and
 * major faults (the process waited for the disk). "Cold" evicts the
 * file's pages first with posix_fadvise(POSIX_FADV_DONTNEED), which works
 * for clean pages without root.
 *
 * Sequential: every byte, summed 8 bytes at a time. read() uses a
 * 128 KiB buffer; the mapping is advised MADV_SEQUENTIAL.
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

static uint64_t
sum(const void *p, size_t len)
{
    const uint64_t *w = p;
    uint64_t s = 0;

    for (size_t i = 0; i < len / 8; i++)
        s += w[i];
    return s;
}

static uint64_t
seq_read(int fd, size_t size)
{
    static uint64_t buf[BUF / 8];
    uint64_t s = 0;

    (void)size;
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n <= 0)
            return s;
        s += sum(buf, (size_t)n);
        off += n;
    }
}

static uint64_t
seq_mmap(int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

    if (p == MAP_FAILED)
        die_errno("mmap", "file");
    madvise(p, size, MADV_SEQUENTIAL);
    uint64_t s = sum(p, size);
    munmap(p, size);
    return s;
}

static off_t *offsets; /* the random blocks, the same for both methods */

static uint64_t
rand_read(int fd, size_t size)
{
    uint64_t buf[BLOCK / 8], s = 0;

    (void)size;
    for (int i = 0; i < RANDOM_BLOCKS; i++) {
        if (pread(fd, buf, BLOCK, offsets[i]) != BLOCK)
            die_errno("pread", "file");
        s += sum(buf, BLOCK);
    }
    return s;
}

static uint64_t
rand_mmap(int fd, size_t size)
{
    unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    uint64_t s = 0;

    if (p == MAP_FAILED)
        die_errno("mmap", "file");
    madvise(p, size, MADV_RANDOM);
    for (int i = 0; i < RANDOM_BLOCKS; i++)
        s += sum(p + offsets[i], BLOCK);
    munmap(p, size);
    return s;
}

static void
run(const char *name, uint64_t (*fn)(int, size_t), int fd, size_t size,
    size_t bytes, int cold)
{
    struct rusage r0, r1;

    if (cold && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
        die("posix_fadvise failed");
    if (!cold)
        fn(fd, size); /* warm up: everything in the page cache */
    getrusage(RUSAGE_SELF, &r0);
    uint64_t t0 = pk_now_ns();
    volatile uint64_t s = fn(fd, size);
    uint64_t t1 = pk_now_ns();
    getrusage(RUSAGE_SELF, &r1);
    (void)s;
    printf("%-5s %-22s %9.1f ms %9.0f MB/s %9ld minor %7ld major\n",
           cold ? "cold" : "warm", name, (t1 - t0) / 1e6,
           bytes / ((t1 - t0) / 1e3), r1.ru_minflt - r0.ru_minflt,
           r1.ru_majflt - r0.ru_majflt);
}

int
main(int argc, char **argv)
{
    const char *tmp = argc > 2 ? argv[2] : getenv("TMPDIR");
    char path[512];

    die_init(argv[0]);
    if (argc > 3)
        die("usage: compare [SIZE_MIB] [DIR]");
    size_t mib = argc > 1 ? die_number("SIZE_MIB", argv[1], 1, 65536) : 256;
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

    printf("file: %zu MiB; random: %d blocks of %d bytes\n", mib, RANDOM_BLOCKS,
           BLOCK);
    size_t rbytes = (size_t)RANDOM_BLOCKS * BLOCK;
    for (int cold = 0; cold < 2; cold++) {
        run("sequential read()", seq_read, fd, size, size, cold);
        run("sequential mmap", seq_mmap, fd, size, size, cold);
        run("random pread()", rand_read, fd, size, rbytes, cold);
        run("random mmap", rand_mmap, fd, size, rbytes, cold);
    }
    close(fd);
    free(offsets);
    return 0;
}
