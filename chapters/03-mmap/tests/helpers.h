/*
 * helpers.h - helpers shared by chapter 03's tests: files of known content,
 * what is mapped and open, peak resident memory, a naive search to compare
 * with, and running a check as an unprivileged user.
 */
#ifndef MM_TEST_HELPERS_H
#define MM_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The page size, for sizes that straddle pages. */
size_t mmt_page(void);

/* True when the tests run under Valgrind (its preload is mapped). */
bool mmt_under_valgrind(void);

/* Lines of /proc/self/maps that map the file at path (by inode). */
int mmt_maps_of(const char *path);

/*
 * Fails the test if the descriptors open now differ from fds_before or if
 * anything still maps path; what names the call that was checked.
 */
void mmt_assert_clean(const char *path, int fds_before, const char *what);

/*
 * Resets VmHWM to the current resident size and returns it (KiB); read it
 * again later with pk_peak_rss_kib() from iolab/perfkit.h.
 */
long mmt_reset_peak_rss(void);

/*
 * Every offset (overlapping) of pat in buf; stores up to max, returns the
 * total. The reference the tests compare the student's results with.
 */
size_t mmt_naive_find(const void *buf, size_t len, const void *pat,
                      size_t patlen, uint64_t *offs, size_t max);

/* Reads the whole file at path into a malloc'd buffer; sets *len. */
unsigned char *mmt_slurp(const char *path, size_t *len);

/*
 * Runs check() in a child process as an unprivileged user (when the test
 * runs as root, the child switches to uid/gid 65534 first, because root
 * ignores file permissions). Returns check()'s return value; the child's
 * failures are reported by the parent. tk_tmpdir() is made traversable.
 */
int mmt_as_unprivileged(int (*check)(void *), void *arg);

#endif /* MM_TEST_HELPERS_H */
