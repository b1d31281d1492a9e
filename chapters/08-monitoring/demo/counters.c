/*
 * counters.c - chapter 08's predict-then-measure experiment: what
 * /proc/self/io counts, step by step. Not graded.
 *
 * Each step does one thing to a file in DIR (default: the current
 * directory; use a disk-backed file system, not tmpfs, where nothing ever
 * reaches a block device) and prints how rchar, wchar, read_bytes,
 * write_bytes and cancelled_write_bytes moved. Read the README's
 * "Predict, then measure" and write down your guesses before you run it:
 *
 *     make demos CH=08 && build/chapters/08-monitoring/demo/counters [DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iolab/die.h"

#define FILE_MIB 8 /* dwarfs readahead, and is quick to write */
#define MIB (1024 * 1024)

/* The five counters this demo follows, from /proc/self/io. */
struct io {
    uint64_t rchar, wchar, read_bytes, write_bytes, cancelled;
};

static void
read_io(struct io *io)
{
    FILE *f = fopen("/proc/self/io", "re");
    char key[64];
    uint64_t v;

    if (f == NULL)
        die("open '/proc/self/io': %s", strerror(errno));
    *io = (struct io){0};
    while (fscanf(f, "%63[^:]: %" SCNu64 "\n", key, &v) == 2) {
        if (strcmp(key, "rchar") == 0)
            io->rchar = v;
        else if (strcmp(key, "wchar") == 0)
            io->wchar = v;
        else if (strcmp(key, "read_bytes") == 0)
            io->read_bytes = v;
        else if (strcmp(key, "write_bytes") == 0)
            io->write_bytes = v;
        else if (strcmp(key, "cancelled_write_bytes") == 0)
            io->cancelled = v;
    }
    fclose(f);
}

/* Prints how each counter moved since *before, in KiB, and moves *before. */
static void
show(const char *step, struct io *before)
{
    struct io now;
    read_io(&now);
    printf("%-44s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
           "\n",
           step, (now.rchar - before->rchar) / 1024,
           (now.wchar - before->wchar) / 1024,
           (now.read_bytes - before->read_bytes) / 1024,
           (now.write_bytes - before->write_bytes) / 1024,
           (now.cancelled - before->cancelled) / 1024);
    read_io(before); /* reading /proc/self/io is itself a read: skip it */
}

static void
write_mib(int fd, const char *buf)
{
    for (int i = 0; i < FILE_MIB; i++)
        if (write(fd, buf, MIB) != MIB)
            die("write: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[4096], path2[4096];
    struct io io;
    char *buf = malloc(MIB);

    die_init(argv[0]);
    if (buf == NULL)
        die_errno("malloc", "1 MiB");
    memset(buf, 'x', MIB);
    snprintf(path, sizeof(path), "%s/counters-demo.%d", dir, (int)getpid());
    snprintf(path2, sizeof(path2), "%s/counters-demo2.%d", dir, (int)getpid());

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        die("open '%s': %s", path, strerror(errno));
    printf("%-44s %9s %9s %9s %9s %9s\n", "step (KiB moved)", "rchar", "wchar",
           "read_b", "write_b", "cancel");
    read_io(&io);

    write_mib(fd, buf);
    show("1. write 8 MiB (no fsync yet)", &io);
    if (fsync(fd) == -1)
        die("fsync: %s", strerror(errno));
    show("2. fsync it", &io);

    if (pread(fd, buf, MIB, 0) != MIB)
        die("pread: %s", strerror(errno));
    show("3. read 1 MiB back (cached)", &io);

    /* Clean pages can be dropped: the file is on disk since the fsync. */
    int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (err != 0)
        die("posix_fadvise: %s", strerror(err));
    if (pread(fd, buf, 4096, 0) != 4096)
        die("pread: %s", strerror(errno));
    show("4. drop the pages, read 4 KiB", &io);

    int fd2 = open(path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd2 == -1)
        die("open '%s': %s", path2, strerror(errno));
    write_mib(fd2, buf);
    if (ftruncate(fd2, 0) == -1)
        die("ftruncate: %s", strerror(errno));
    show("5. write 8 MiB to a new file, truncate it", &io);

    close(fd2);
    close(fd);
    unlink(path2);
    unlink(path);
    free(buf);
    return 0;
}
