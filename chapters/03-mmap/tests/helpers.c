/*
 * helpers.c - the helpers declared in helpers.h.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/perfkit.h"
#include "iolab/testkit.h"

size_t
mmt_page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Calls fn(line, arg) for each line of /proc/self/maps. */
static void
each_map(void (*fn)(const char *line, void *arg), void *arg)
{
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "re");

    cr_assert_not_null(f, "cannot open /proc/self/maps");
    while (fgets(line, sizeof(line), f) != NULL)
        fn(line, arg);
    fclose(f);
}

static void
is_valgrind(const char *line, void *arg)
{
    if (strstr(line, "vgpreload") != NULL)
        *(bool *)arg = true;
}

bool
mmt_under_valgrind(void)
{
    static int known = -1;
    bool found = false;

    if (known < 0) {
        each_map(is_valgrind, &found);
        known = found;
    }
    return known == 1;
}

struct maps_query {
    dev_t dev;
    ino_t ino;
    int count;
};

static void
same_inode(const char *line, void *arg)
{
    struct maps_query *q = arg;
    unsigned maj, min;
    unsigned long long ino;

    /* address perms offset major:minor inode path */
    if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
        ino == (unsigned long long)q->ino && ino != 0 && maj == major(q->dev) &&
        min == minor(q->dev))
        q->count++;
}

int
mmt_maps_of(const char *path)
{
    struct stat sb;
    struct maps_query q = {.count = 0};

    cr_assert_eq(stat(path, &sb), 0, "stat %s: %s", path, strerror(errno));
    q.dev = sb.st_dev;
    q.ino = sb.st_ino;
    each_map(same_inode, &q);
    return q.count;
}

void
mmt_assert_clean(const char *path, int fds_before, const char *what)
{
    int fds = tk_count_open_fds();

    cr_assert_eq(fds, fds_before,
                 "after %s, %d descriptors are open instead of %d: close "
                 "the file on every path, errors included",
                 what, fds, fds_before);
    int maps = mmt_maps_of(path);
    cr_assert_eq(maps, 0,
                 "after %s, the file is still mapped (%d mappings in "
                 "/proc/self/maps): munmap it on every path",
                 what, maps);
}

long
mmt_reset_peak_rss(void)
{
    /* "5" resets the high-water mark (proc(5), /proc/pid/clear_refs). */
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0, "open /proc/self/clear_refs: %s", strerror(errno));
    cr_assert_eq(write(fd, "5", 1), 1, "write /proc/self/clear_refs: %s",
                 strerror(errno));
    close(fd);
    return pk_peak_rss_kib();
}

size_t
mmt_naive_find(const void *buf, size_t len, const void *pat, size_t patlen,
               uint64_t *offs, size_t max)
{
    const unsigned char *p = buf;
    size_t found = 0;

    for (size_t i = 0; patlen > 0 && i + patlen <= len; i++) {
        if (memcmp(p + i, pat, patlen) == 0) {
            if (found < max)
                offs[found] = i;
            found++;
        }
    }
    return found;
}

unsigned char *
mmt_slurp(const char *path, size_t *len)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(fstat(fd, &sb), 0);
    unsigned char *buf = tk_xmalloc((size_t)sb.st_size);
    ssize_t n = tk_read_exact(fd, buf, (size_t)sb.st_size, 5000);
    close(fd);
    cr_assert_eq(n, sb.st_size, "short read of %s", path);
    *len = (size_t)sb.st_size;
    return buf;
}

int
mmt_as_unprivileged(int (*check)(void *), void *arg)
{
    int status;

    cr_assert_eq(chmod(tk_tmpdir(), 0711), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (geteuid() == 0 && (setresgid(65534, 65534, 65534) != 0 ||
                               setresuid(65534, 65534, 65534) != 0))
            _exit(255);
        _exit(check(arg) & 0xff);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the unprivileged child died (status %d)",
              status);
    cr_assert_neq(WEXITSTATUS(status), 255,
                  "could not switch the child to an unprivileged user");
    return WEXITSTATUS(status);
}
