/*
 * mm_scan.c - exercises 1 and 2 of chapter 03: scanning a file through a
 * mapping, whole (mm_count, mm_find) or one bounded window at a time
 * (mm_find_windowed).
 *
 * Organisation: the given byte counter (mm_stats_feed), then your TODOs.
 * The contract, with every edge case, is in include/mm.h, promises [MM-1]
 * to [MM-10]. Run `make grade CH=03` to see which promises already hold.
 *
 * The idea to own: a mapping turns a file into an array, but only the
 * file's bytes are yours. You decide how much of the file is mapped at
 * once, you tell the kernel how you will walk it, and you give back what
 * you no longer need.
 */
#include "mm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ===================================================================== */
/* Counting bytes already in memory (given)                              */
/* ===================================================================== */

/* What each byte is to wc: part of a word, or white space. */
static bool
is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

void
mm_stats_feed(struct mm_stats *st, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t lines = 0, words = 0;
    bool in_word = st->in_word;

    /* Locals instead of st->...: the compiler keeps them in registers. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (is_space(c)) {
            lines += c == '\n';
            in_word = false;
        } else if (!in_word) {
            words++;
            in_word = true;
        }
    }
    st->lines += lines;
    st->words += words;
    st->bytes += len;
    st->in_word = in_word;
}

// SOLUTION-BEGIN
/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/*
 * Opens path with oflags and checks that it is a regular file. Returns the
 * descriptor and sets *size, or -errno with nothing left open [MM-3].
 * open() itself refuses a directory only for writing, and mmap() would
 * answer ENODEV for one, so the type is checked here with fstat.
 */
static int
open_regular(const char *path, int oflags, size_t *size)
{
    struct stat sb;
    int fd = open(path, oflags | O_CLOEXEC);

    if (fd == -1)
        return -errno;
    if (fstat(fd, &sb) == -1) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
    }
    *size = (size_t)sb.st_size;
    return fd;
}

/*
 * Records the occurrences of pat that start in p[0 .. starts) and end
 * within p[0 .. len); off is p's offset in the file. found is the count so
 * far; the new count is returned, and offsets are stored while it is below
 * max [MM-7].
 */
static size_t
find_in(const unsigned char *p, size_t len, size_t starts, const void *pat,
        size_t patlen, uint64_t off, uint64_t *offs, size_t max, size_t found)
{
    size_t pos = 0;

    /* Invariant: every occurrence starting before pos has been counted. */
    while (pos < starts && len - pos >= patlen) {
        const unsigned char *hit = memmem(p + pos, len - pos, pat, patlen);
        if (hit == NULL || (size_t)(hit - p) >= starts)
            break;
        if (found < max)
            offs[found] = off + (uint64_t)(hit - p);
        found++;
        pos = (size_t)(hit - p) + 1; /* overlapping occurrences count */
    }
    return found;
}

/*
 * Maps the whole of the regular file at path read-only and advises
 * sequential access. Returns 0 with *map and *size set (*map is NULL for
 * an empty file, which cannot be mapped), or -errno with nothing left.
 */
static int
map_whole(const char *path, const unsigned char **map, size_t *size)
{
    int fd = open_regular(path, O_RDONLY, size);

    if (fd < 0)
        return fd;
    *map = NULL;
    if (*size == 0) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
    int err = p == MAP_FAILED ? -errno : 0;
    /* The mapping holds its own reference to the file: fd can go now. */
    close(fd);
    if (err != 0)
        return err;
    /* Advice only: a kernel that ignores it still gives correct results. */
    (void)madvise(p, *size, MADV_SEQUENTIAL);
    *map = p;
    return 0;
}
// SOLUTION-STUB
// /*
//  * Your static helpers go here. Three functions below open a file, check
//  * that it is a regular file and search bytes for a pattern: one helper
//  * for each of those saves writing them three times.
//  */
// SOLUTION-END

/* ===================================================================== */
/* Exercise 1 (scan): a whole file through one mapping                   */
/* ===================================================================== */

/*
 * TODO(scan.1): count lines, words and bytes of a regular file through a
 * read-only mapping of the whole file [MM-1], advised MADV_SEQUENTIAL
 * [MM-5]. An empty file must not be mapped [MM-2]. Missing files,
 * directories and other non-regular files, and unreadable files each have
 * their own error [MM-3], and nothing may stay open or mapped [MM-4].
 */
int
mm_count(const char *path, struct mm_stats *st)
{
    // SOLUTION-BEGIN
    const unsigned char *map;
    size_t size;

    memset(st, 0, sizeof(*st));
    int err = map_whole(path, &map, &size);
    if (err != 0 || map == NULL)
        return err;
    mm_stats_feed(st, map, size);
    munmap((void *)map, size);
    return 0;
    // SOLUTION-STUB
    // memset(st, 0, sizeof(*st));
    // (void)path;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(scan.2): find every occurrence of pat, overlapping ones included,
 * within the file's bytes only [MM-6]; store at most max offsets but
 * return the total [MM-7]. Same rules as mm_count for empty files, errors
 * and leaks; patlen 0 is -EINVAL.
 */
ssize_t
mm_find(const char *path, const void *pat, size_t patlen, uint64_t *offs,
        size_t max)
{
    // SOLUTION-BEGIN
    const unsigned char *map;
    size_t size;

    if (patlen == 0)
        return -EINVAL;
    int err = map_whole(path, &map, &size);
    if (err != 0 || map == NULL)
        return err;
    size_t found = find_in(map, size, size, pat, patlen, 0, offs, max, 0);
    munmap((void *)map, size);
    return (ssize_t)found;
    // SOLUTION-STUB
    // (void)path;
    // (void)pat;
    // (void)patlen;
    // (void)offs;
    // (void)max;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ===================================================================== */
/* Exercise 2 (window): a bounded window at a time                       */
/* ===================================================================== */

/*
 * TODO(window.1): the same search as mm_find [MM-8], but never more than
 * about window bytes of the file mapped at a time, each window unmapped
 * before the next is mapped [MM-9]. mmap offsets must be multiples of the
 * page size. An occurrence may straddle two windows and must still be
 * found exactly once. Bad window sizes are -EINVAL [MM-10]. Any valid
 * window works, the largest multiple of the page size included: mind
 * the arithmetic that could overflow.
 */
ssize_t
mm_find_windowed(const char *path, const void *pat, size_t patlen,
                 size_t window, uint64_t *offs, size_t max)
{
    // SOLUTION-BEGIN
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size, found = 0;

    if (patlen == 0 || window == 0 || window % page != 0 || window < patlen)
        return -EINVAL;
    int fd = open_regular(path, O_RDONLY, &size);
    if (fd < 0)
        return fd;

    /*
     * A window larger than the file is one window, the whole file. Clamp
     * it, or window + patlen - 1 below overflows for a window near
     * SIZE_MAX and maps a few bytes instead of the file [MM-8]. With
     * window == size there is only the window at offset 0, so its being
     * no multiple of the page size does not matter.
     */
    if (window > size)
        window = size;

    /*
     * Window k covers the occurrences that start in [off, off + window).
     * Its mapping reaches patlen - 1 bytes further, so an occurrence that
     * straddles the boundary is seen whole here, and window k + 1, which
     * starts exactly at off + window, does not count it again. off is a
     * multiple of window, hence of the page size, as mmap requires. Each
     * pass moves off forward by window (> 0 while off < size), so the loop
     * ends, and at most window + patlen - 1 bytes are ever mapped [MM-9].
     */
    for (size_t off = 0; off < size; off += window) {
        size_t len = size - off;
        if (len > window + patlen - 1)
            len = window + patlen - 1;
        if (len < patlen)
            break; /* too short for a whole occurrence */
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
        if (p == MAP_FAILED) {
            int err = -errno;
            close(fd);
            return err;
        }
        (void)madvise(p, len, MADV_SEQUENTIAL);
        found = find_in(p, len, len < window ? len : window, pat, patlen, off,
                        offs, max, found);
        /*
         * Unmapping drops these pages from our resident set. They stay in
         * the page cache, where the kernel may reclaim them (clean file
         * pages are the cheapest memory to free).
         */
        munmap(p, len);
    }
    close(fd);
    return (ssize_t)found;
    // SOLUTION-STUB
    // (void)path;
    // (void)pat;
    // (void)patlen;
    // (void)window;
    // (void)offs;
    // (void)max;
    // return -ENOSYS;
    // SOLUTION-END
}
