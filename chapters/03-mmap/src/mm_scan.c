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

/*
 * Your static helpers go here. Three functions below open a file, check
 * that it is a regular file and search bytes for a pattern: one helper
 * for each of those saves writing them three times.
 */

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
    memset(st, 0, sizeof(*st));
    (void)path;
    return -ENOSYS;
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
    (void)path;
    (void)pat;
    (void)patlen;
    (void)offs;
    (void)max;
    return -ENOSYS;
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
    (void)path;
    (void)pat;
    (void)patlen;
    (void)window;
    (void)offs;
    (void)max;
    return -ENOSYS;
}
