/*
 * test_scan.c - exercise 1 of chapter 03: mm_count and mm_find, a whole
 * file through one mapping.
 *
 * The expected counts and offsets come from simple loops over the same
 * bytes in memory. The fault layer (iolab/fault.h) shows each madvise of
 * the code under test to an observer here, to see the advice the code
 * gives; /proc/self/maps and /proc/self/fd show what it leaves behind.
 */
#include <errno.h>
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

/* ---- madvise, observed -------------------------------------------------- */

static int sequential_calls; /* madvise(MADV_SEQUENTIAL) calls seen */
static size_t sequential_len;

/* The fault layer shows each madvise of the code under test here. */
static void
on_madvise(const struct fi_mem_call *call, void *arg)
{
    (void)arg;
    if (call->flags == MADV_SEQUENTIAL) {
        sequential_calls++;
        sequential_len += call->len;
    }
}

/* ---- expected values, computed simply ----------------------------------- */

static struct mm_stats
wc(const unsigned char *p, size_t len)
{
    struct mm_stats st = {.bytes = len};
    bool in_word = false;

    for (size_t i = 0; i < len; i++) {
        bool space = strchr(" \t\n\v\f\r", p[i]) != NULL && p[i] != '\0';
        if (p[i] == '\n')
            st.lines++;
        if (!space && !in_word)
            st.words++;
        in_word = !space;
    }
    return st;
}

static void
check_count(const char *name, const void *data, size_t len)
{
    struct mm_stats got, want = wc(data, len);
    char *path = tk_make_file(name, data, len);

    int err = mm_count(path, &got);
    cr_assert_eq(err, 0, "mm_count(%s, %zu bytes) returned %d (%s)", name, len,
                 err, strerror(-err));
    cr_assert(got.lines == want.lines && got.words == want.words &&
                  got.bytes == want.bytes,
              "%s (%zu bytes): expected %llu lines, %llu words, %llu bytes; "
              "got %llu, %llu, %llu",
              name, len, (unsigned long long)want.lines,
              (unsigned long long)want.words, (unsigned long long)want.bytes,
              (unsigned long long)got.lines, (unsigned long long)got.words,
              (unsigned long long)got.bytes);
    free(path);
}

/* Text of len bytes: words of 1 to 9 letters, separated by all kinds of
 * white space, from a seed. */
static unsigned char *
make_text(size_t len, uint64_t seed)
{
    static const char sep[] = " \t\n\v\f\r  \n";
    unsigned char *p = tk_xmalloc(len);
    struct tk_rng rng;

    tk_rng_seed(&rng, seed);
    for (size_t i = 0; i < len; i++)
        p[i] = tk_rng_below(&rng, 5) == 0
                   ? (unsigned char)sep[tk_rng_below(&rng, sizeof(sep) - 1)]
                   : (unsigned char)('a' + tk_rng_below(&rng, 26));
    return p;
}

TK_TEST(scan, count_matches_wc,
        .description = "[MM-1] mm_count gives wc's counts for any file size")
{
    size_t page = mmt_page();
    size_t sizes[] = {1, 11, page - 1, page, page + 1, 3 * page + 17};

    check_count("hello", "hello world\n", 12);
    check_count("no-newline", "two words", 9);
    check_count("spaces", "  lead\t\ttabs  \n\n trail  ", 25);
    check_count("nul-bytes", "a\0b c\0", 6);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char name[32];
        unsigned char *text = make_text(sizes[i], i + 1);
        snprintf(name, sizeof(name), "text-%zu", sizes[i]);
        check_count(name, text, sizes[i]);
        free(text);
    }
}

TK_TEST(scan, empty_and_short_files,
        .description = "[MM-2] an empty file gives zeros, and is not mapped")
{
    struct mm_stats st;
    uint64_t offs[4];
    char *path = tk_make_file("empty", "", 0);

    memset(&st, 0xff, sizeof(st));
    int err = mm_count(path, &st);
    cr_assert_eq(err, 0,
                 "mm_count on an empty file returned %d (%s); expected 0 "
                 "(mmap refuses length 0 with EINVAL: do not map it)",
                 err, strerror(-err));
    cr_assert(st.lines == 0 && st.words == 0 && st.bytes == 0,
              "an empty file should give 0 lines, words and bytes");
    ssize_t n = mm_find(path, "x", 1, offs, 4);
    cr_assert_eq(n, 0, "mm_find on an empty file returned %zd, expected 0", n);
    free(path);
    path = tk_make_file("short", "abc", 3);
    n = mm_find(path, "abcd", 4, offs, 4);
    cr_assert_eq(n, 0,
                 "mm_find for a 4-byte pattern in a 3-byte file returned "
                 "%zd, expected 0",
                 n);
    free(path);
}

TK_TEST(scan, errors,
        .description = "[MM-3] missing, directory and device give -ENOENT, "
                       "-EISDIR, -EINVAL")
{
    struct mm_stats st;
    uint64_t off;
    char missing[512];
    char *path = tk_make_file("f", "abc", 3);

    snprintf(missing, sizeof(missing), "%s/no-such-file", tk_tmpdir());
    cr_assert_eq(mm_count(missing, &st), -ENOENT,
                 "mm_count on a missing file should return -ENOENT");
    cr_assert_eq(mm_find(missing, "a", 1, &off, 1), -ENOENT,
                 "mm_find on a missing file should return -ENOENT");
    int err = mm_count(tk_tmpdir(), &st);
    cr_assert_eq(err, -EISDIR,
                 "mm_count on a directory returned %d (%s), expected "
                 "-EISDIR: check the file type with fstat",
                 err, strerror(-err));
    cr_assert_eq(mm_find(tk_tmpdir(), "a", 1, &off, 1), -EISDIR,
                 "mm_find on a directory should return -EISDIR");
    err = mm_count("/dev/null", &st);
    cr_assert_eq(err, -EINVAL,
                 "mm_count on /dev/null (a device) returned %d (%s), "
                 "expected -EINVAL: only regular files are scanned",
                 err, strerror(-err));
    cr_assert_eq(mm_find("/dev/null", "a", 1, &off, 1), -EINVAL,
                 "mm_find on /dev/null should return -EINVAL");
    cr_assert_eq(mm_find(path, "a", 0, &off, 1), -EINVAL,
                 "mm_find with an empty pattern should return -EINVAL");
    free(path);
}

struct unreadable {
    const char *path;
};

/* Runs as an unprivileged user: -errno of each call, or 200 on a leak. */
static int
try_unreadable(void *arg)
{
    struct unreadable *u = arg;
    struct mm_stats st;
    uint64_t off;
    int fds = tk_count_open_fds();

    int a = mm_count(u->path, &st);
    ssize_t b = mm_find(u->path, "a", 1, &off, 1);
    if (tk_count_open_fds() != fds)
        return 200;
    if (a != b)
        return 201;
    return -a;
}

TK_TEST(scan, unreadable_file,
        .description = "[MM-3] a file the caller may not read gives -EACCES")
{
    char *path = tk_make_file("secret", "abc", 3);
    struct unreadable u = {.path = path};

    cr_assert_eq(chmod(path, 0), 0);
    int r = mmt_as_unprivileged(try_unreadable, &u);
    cr_assert_neq(r, 200, "an unreadable file left a descriptor open");
    cr_assert_neq(r, 201,
                  "mm_count and mm_find disagree on an unreadable "
                  "file: both should return -EACCES");
    cr_assert_eq(r, EACCES,
                 "mm_count on a file without read permission returned "
                 "-%d (%s), expected -EACCES (-13)",
                 r, strerror(r));
    free(path);
}

TK_TEST(scan, nothing_left_behind,
        .description = "[MM-4] no descriptor or mapping outlives a call")
{
    struct mm_stats st;
    uint64_t offs[8];
    unsigned char *text = make_text(3 * mmt_page() + 5, 9);
    char *path = tk_make_file("t", text, 3 * mmt_page() + 5);
    char *empty = tk_make_file("e", "", 0);
    int fds = tk_count_open_fds();

    for (int i = 0; i < 50; i++) {
        cr_assert_eq(mm_count(path, &st), 0);
        cr_assert_geq(mm_find(path, "ab", 2, offs, 8), 0);
    }
    mmt_assert_clean(path, fds, "50 calls of mm_count and mm_find");
    mm_count(empty, &st);
    mm_find(empty, "a", 1, offs, 8);
    mmt_assert_clean(empty, fds, "mm_count and mm_find on an empty file");
    mm_count(tk_tmpdir(), &st);
    mm_find("/dev/null", "a", 1, offs, 8);
    mm_find(path, "a", 0, offs, 8);
    mmt_assert_clean(path, fds, "calls that fail");
    free(text);
    free(path);
    free(empty);
}

TK_TEST(scan, advises_sequential,
        .description = "[MM-5] the mapping is advised MADV_SEQUENTIAL")
{
    struct mm_stats st;
    uint64_t off;
    size_t len = 2 * mmt_page() + 1;
    unsigned char *text = make_text(len, 3);
    char *path = tk_make_file("t", text, len);

    fi_observe_mem(FI_MADVISE, on_madvise, NULL);
    cr_assert_eq(mm_count(path, &st), 0);
    cr_assert_geq(sequential_calls, 1,
                  "mm_count never called madvise(..., MADV_SEQUENTIAL)");
    cr_assert_geq(sequential_len, len,
                  "madvise(MADV_SEQUENTIAL) covered %zu bytes; the file "
                  "has %zu",
                  sequential_len, len);
    sequential_calls = 0;
    cr_assert_geq(mm_find(path, "x", 1, &off, 1), 0);
    cr_assert_geq(sequential_calls, 1,
                  "mm_find never called madvise(..., MADV_SEQUENTIAL)");
    free(text);
    free(path);
}

/* Runs mm_find and compares with the naive search over the same bytes. */
static void
check_find(const char *what, const char *path, const void *data, size_t len,
           const void *pat, size_t patlen)
{
    size_t max = 64;
    uint64_t *want = tk_xmalloc(max * sizeof(*want));
    uint64_t *got = tk_xmalloc(max * sizeof(*got));
    size_t nwant = mmt_naive_find(data, len, pat, patlen, want, max);

    ssize_t n = mm_find(path, pat, patlen, got, max);
    cr_assert_eq(n, (ssize_t)nwant, "%s: expected %zu occurrences, got %zd",
                 what, nwant, n);
    for (size_t i = 0; i < nwant && i < max; i++)
        cr_assert_eq(got[i], want[i],
                     "%s: occurrence %zu should be at offset %llu, got %llu",
                     what, i, (unsigned long long)want[i],
                     (unsigned long long)got[i]);
    free(want);
    free(got);
}

TK_TEST(scan, find_overlaps_and_edges,
        .description = "[MM-6] mm_find counts overlaps, the first and last "
                       "bytes, and nothing past the end")
{
    size_t page = mmt_page();
    char *aaaa = tk_make_file("aaaa", "aaaa", 4);
    char *abc = tk_make_file("abc", "abc", 3);

    check_find("\"aa\" in \"aaaa\" (0, 1, 2)", aaaa, "aaaa", 4, "aa", 2);
    check_find("\"aaaa\" in \"aaaa\"", aaaa, "aaaa", 4, "aaaa", 4);
    check_find("\"c\" in \"abc\"", abc, "abc", 3, "c", 1);
    /*
     * The rest of the last page reads as zeros, but those bytes are not in
     * the file: "c\0\0" must not be found in "abc".
     */
    ssize_t n = mm_find(abc, "c\0\0", 3, NULL, 0);
    cr_assert_eq(n, 0,
                 "\"c\\0\\0\" was found %zd times in the 3-byte file "
                 "\"abc\": the zeros after the end of the file are not "
                 "part of it; search only the file's size",
                 n);

    /* A page and one byte, with the pattern at both ends and across. */
    size_t len = page + 1;
    unsigned char *data = tk_xmalloc(len);
    memset(data, '.', len);
    memcpy(data, "XY", 2);
    memcpy(data + page - 1, "XY", 2);
    data[len - 2] = 'X';
    data[len - 1] = 'Y';
    char *edge = tk_make_file("edge", data, len);
    check_find("\"XY\" at the start, across a page, at the very end", edge,
               data, len, "XY", 2);
    free(data);
    free(edge);
    free(aaaa);
    free(abc);
}

TK_TEST(scan, find_stores_at_most_max,
        .description = "[MM-7] mm_find stores max offsets, returns the total")
{
    uint64_t offs[6];
    char *path = tk_make_file("xs", "xxxxxxxxxx", 10);

    for (size_t i = 0; i < 6; i++)
        offs[i] = 0xdead;
    ssize_t n = mm_find(path, "x", 1, offs, 4);
    cr_assert_eq(
        n, 10, "10 occurrences, room for 4: expected 10 returned, got %zd", n);
    for (uint64_t i = 0; i < 4; i++)
        cr_assert_eq(offs[i], i, "offs[%llu] should be %llu",
                     (unsigned long long)i, (unsigned long long)i);
    cr_assert(offs[4] == 0xdead && offs[5] == 0xdead,
              "mm_find wrote past offs[max - 1]");
    n = mm_find(path, "x", 1, NULL, 0);
    cr_assert_eq(n, 10, "with max 0 (offs NULL) expected 10, got %zd", n);
    free(path);
}

TK_TEST(scan, find_random_matches_naive,
        .description = "[MM-6] mm_find agrees with a naive search on "
                       "random data")
{
    size_t len = 40 * mmt_page() + 123;
    unsigned char *data = tk_xmalloc(len);
    struct tk_rng rng;

    tk_rng_seed(&rng, 77);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)('a' + tk_rng_below(&rng, 2));
    char *path = tk_make_file("ab", data, len);
    check_find("\"abba\" in 160 KiB of a and b", path, data, len, "abba", 4);
    check_find("\"aaaaaaa\" in 160 KiB of a and b", path, data, len, "aaaaaaa",
               7);
    free(data);
    free(path);
}
