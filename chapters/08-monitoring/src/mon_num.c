/*
 * mon_num.c - given complete: the one decimal reader of chapter 08's
 * parsers (/proc/diskstats, /proc/PID/stat, /proc/PID/io), and the one
 * reader of a small /proc file.
 *
 * strtoull would do the wrong thing three ways here: it skips leading
 * blanks, accepts a sign (and negates), and clamps an overflow to
 * ULLONG_MAX. A kernel counter is digits and only digits.
 */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

bool
mon_parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false; /* one more digit would pass UINT64_MAX */
        v = v * 10 + digit;
    }
    *p = s;
    *out = v;
    return true;
}

int
mon_read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int err = -errno;
            close(fd);
            return err;
        }
        if (n == 0 || (len += (size_t)n) == cap - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return 0;
}
