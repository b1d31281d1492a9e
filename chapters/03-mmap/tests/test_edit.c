/*
 * test_edit.c - exercise 3 of chapter 03: mm_replace, editing a file in
 * place through a shared mapping.
 *
 * Every result is checked by reading the file back with read(2) on a new
 * descriptor, independent of any mapping. The fault layer
 * (iolab/fault.h) shows each msync of the code under test to an observer
 * here, to see that the changes were synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "mm.h"
#include "helpers.h"

/* ---- msync, observed ------------------------------------------------------
 */

static int sync_calls;    /* msync(MS_SYNC) calls seen */
static size_t synced_len; /* bytes they covered */
static int async_calls;   /* msync without MS_SYNC */

/* The fault layer shows each msync of the code under test here. */
static void
on_msync(const struct fi_mem_call *call, void *arg)
{
    (void)arg;
    if (call->flags & MS_SYNC) {
        sync_calls++;
        synced_len += call->len;
    } else {
        async_calls++;
    }
}

/* ---- helpers ----------------------------------------------------------------
 */

/* What mm_replace should make of data: the same rules, on a copy. */
static size_t
replace_naive(unsigned char *p, size_t len, const void *from, const void *to,
              size_t plen)
{
    size_t done = 0;

    for (size_t i = 0; i + plen <= len;) {
        if (memcmp(p + i, from, plen) == 0) {
            memcpy(p + i, to, plen);
            done++;
            i += plen;
        } else {
            i++;
        }
    }
    return done;
}

static void
check_replace(const char *what, const void *data, size_t len, const char *from,
              const char *to)
{
    size_t plen = strlen(from);
    unsigned char *want = tk_xmalloc(len ? len : 1);
    size_t got_len;

    memcpy(want, data, len);
    size_t nwant = replace_naive(want, len, from, to, plen);
    char *path = tk_make_file("edit", data, len);
    int fds = tk_count_open_fds();
    ssize_t n = mm_replace(path, from, to, plen);
    cr_assert_eq(n, (ssize_t)nwant,
                 "%s: expected %zu replacements, got %zd%s%s", what, nwant, n,
                 n < 0 ? " " : "", n < 0 ? strerror((int)-n) : "");
    mmt_assert_clean(path, fds, what);
    unsigned char *got = mmt_slurp(path, &got_len);
    cr_assert_eq(got_len, len, "%s: the file's size changed from %zu to %zu",
                 what, len, got_len);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(got[i], want[i],
                     "%s: byte %zu of the file is '%c' (0x%02x) after "
                     "mm_replace, expected '%c' (0x%02x), read back with "
                     "read(2)",
                     what, i, got[i] >= 32 && got[i] < 127 ? got[i] : '?',
                     got[i], want[i] >= 32 && want[i] < 127 ? want[i] : '?',
                     want[i]);
    free(got);
    free(want);
    free(path);
}

TK_TEST(edit, replaces_left_to_right,
        .description = "[MM-11][MM-14] mm_replace replaces non-overlapping "
                       "occurrences from left to right, leaving nothing "
                       "open or mapped")
{
    size_t page = mmt_page();
    size_t len = 3 * page + 5;
    unsigned char *data = tk_xmalloc(len);
    struct tk_rng rng;

    check_replace("\"aa\" -> \"bb\" in \"aaaaa\"", "aaaaa", 5, "aa", "bb");
    check_replace("\"ab\" -> \"ba\" in \"ababab\"", "ababab", 6, "ab", "ba");
    check_replace("the whole file", "cat", 3, "cat", "dog");
    tk_rng_seed(&rng, 5);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)('a' + tk_rng_below(&rng, 3));
    memcpy(data + page - 2, "XYZW", 4); /* across a page boundary */
    memcpy(data + len - 4, "XYZW", 4);  /* at the very end */
    check_replace("\"XYZW\" across pages and at the end", data, len, "XYZW",
                  "wzyx");
    check_replace("\"abc\" in random a, b, c", data, len, "abc", "cba");
    free(data);
}

TK_TEST(edit, shared_mapping_sees_the_edit,
        .description = "[MM-11] another MAP_SHARED mapping of the file sees "
                       "the new bytes at once")
{
    char *path = tk_make_file("shared", "one two one", 11);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    char *view = mmap(NULL, 11, PROT_READ, MAP_SHARED, fd, 0);
    cr_assert_neq(view, MAP_FAILED);
    close(fd);

    ssize_t n = mm_replace(path, "one", "six", 3);
    cr_assert_eq(n, 2, "expected 2 replacements, got %zd", n);
    cr_assert_arr_eq(view, "six two six", 11,
                     "a MAP_SHARED mapping made before mm_replace shows "
                     "\"%.11s\": use MAP_SHARED, whose stores go to the "
                     "page cache every mapping shares",
                     view);
    munmap(view, 11);
    free(path);
}

TK_TEST(edit, syncs_before_returning,
        .description = "[MM-12] the changes are flushed with msync(MS_SYNC)")
{
    size_t len = 2 * mmt_page() + 9;
    unsigned char *data = tk_xmalloc(len);

    memset(data, '-', len);
    memcpy(data + len - 3, "end", 3);
    char *path = tk_make_file("sync", data, len);
    fi_observe_mem(FI_MSYNC, on_msync, NULL);
    ssize_t n = mm_replace(path, "end", "END", 3);
    cr_assert_eq(n, 1, "expected 1 replacement, got %zd", n);
    cr_assert_geq(sync_calls, 1,
                  "mm_replace returned without calling msync(..., MS_SYNC)"
                  "%s: until then the change is only in the page cache",
                  async_calls > 0 ? " (it used MS_ASYNC, which only "
                                    "schedules the write-back)"
                                  : "");
    cr_assert_geq(synced_len, len - 3,
                  "msync(MS_SYNC) covered %zu bytes, but the change is at "
                  "offset %zu",
                  synced_len, len - 3);
    free(data);
    free(path);
}

TK_TEST(edit, no_match_writes_nothing,
        .description = "[MM-13] no occurrence: nothing written, not even "
                       "the modification time")
{
    struct stat before, after;
    struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    size_t len = 3 * mmt_page();
    unsigned char *data = tk_xmalloc(len);

    memset(data, 'x', len);
    char *path = tk_make_file("same", data, len);
    cr_assert_eq(utimensat(AT_FDCWD, path, old, 0), 0);
    cr_assert_eq(stat(path, &before), 0);
    ssize_t n = mm_replace(path, "needle", "NEEDLE", 6);
    cr_assert_eq(n, 0, "expected 0 replacements, got %zd", n);
    cr_assert_eq(stat(path, &after), 0);
    cr_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                  after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
              "with nothing to replace, the file's modification time "
              "changed: something wrote to the mapping (a store into a "
              "MAP_SHARED page dirties it, even with the same value)");
    check_replace("an empty file", "", 0, "a", "b");
    check_replace("a file shorter than the pattern", "ab", 2, "abc", "xyz");
    free(data);
    free(path);
}

struct ro_file {
    const char *path;
};

/* Runs as an unprivileged user: -errno of mm_replace, or 200 on a leak. */
static int
try_read_only(void *arg)
{
    struct ro_file *f = arg;
    int fds = tk_count_open_fds();
    ssize_t n = mm_replace(f->path, "abc", "xyz", 3);

    if (tk_count_open_fds() != fds)
        return 200;
    return n < 0 ? (int)-n : 201;
}

TK_TEST(edit, errors,
        .description = "[MM-14] bad length, missing, directory, device and "
                       "read-only files give their errors, leaving nothing")
{
    char missing[512];
    char *path = tk_make_file("ro", "abc", 3);
    struct ro_file f = {.path = path};
    int fds = tk_count_open_fds();

    snprintf(missing, sizeof(missing), "%s/none", tk_tmpdir());
    cr_assert_eq(mm_replace(path, "a", "b", 0), -EINVAL,
                 "a length of 0 should give -EINVAL");
    cr_assert_eq(mm_replace(missing, "a", "b", 1), -ENOENT,
                 "a missing file should give -ENOENT");
    ssize_t n = mm_replace(tk_tmpdir(), "a", "b", 1);
    cr_assert_eq(n, -EISDIR, "a directory should give -EISDIR, got %zd", n);
    n = mm_replace("/dev/null", "a", "b", 1);
    cr_assert_eq(n, -EINVAL, "/dev/null should give -EINVAL, got %zd", n);
    mmt_assert_clean(path, fds, "mm_replace calls that fail");

    cr_assert_eq(chmod(path, 0444), 0);
    int r = mmt_as_unprivileged(try_read_only, &f);
    cr_assert_neq(r, 200, "a read-only file left a descriptor open");
    cr_assert_eq(r, EACCES,
                 "mm_replace on a read-only file returned -%d (%s), "
                 "expected -EACCES",
                 r, r == 201 ? "a count, not an error" : strerror(r));
    unsigned char *got;
    size_t len;
    got = mmt_slurp(path, &len);
    cr_assert(len == 3 && memcmp(got, "abc", 3) == 0,
              "the read-only file was changed");
    free(got);
    free(path);
}
