/*
 * test_window.c - exercise 2 of chapter 03: mm_find_windowed, a file
 * scanned one bounded window at a time.
 *
 * The fault layer (iolab/fault.h) shows each mmap and munmap of the code
 * under test to an observer here, which keeps a ledger of the test file's
 * mappings: how many bytes of it are mapped at once, at most. That checks the
 * budget exactly, under Valgrind too. A second test measures what the budget is
 * for: the peak resident memory of the process while a file 32 times the window
 * is scanned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/perfkit.h"
#include "iolab/testkit.h"
#include "mm.h"
#include "helpers.h"

/* ---- mmap and munmap, observed ------------------------------------------- */

#define LEDGER_MAX 64

static ino_t watched_ino; /* the file whose mappings are counted; 0: none */
static struct {
    void *addr;
    size_t len;
} ledger[LEDGER_MAX];
static size_t mapped_now, mapped_peak, maps_made;

static size_t
round_page(size_t len)
{
    return (len + mmt_page() - 1) / mmt_page() * mmt_page();
}

/* The fault layer shows each mmap and munmap of the code under test here. */
static void
on_map(const struct fi_mem_call *call, void *arg)
{
    struct stat sb;

    (void)arg;
    if (call->ret != 0)
        return;
    if (call->op == FI_MMAP && watched_ino != 0 && call->fd >= 0 &&
        fstat(call->fd, &sb) == 0 && sb.st_ino == watched_ino) {
        for (int i = 0; i < LEDGER_MAX; i++) {
            if (ledger[i].addr == NULL) {
                ledger[i].addr = call->addr;
                ledger[i].len = round_page(call->len);
                break;
            }
        }
        maps_made++;
        mapped_now += round_page(call->len);
        if (mapped_now > mapped_peak)
            mapped_peak = mapped_now;
    }
    for (int i = 0; call->op == FI_MUNMAP && i < LEDGER_MAX; i++) {
        if (ledger[i].addr == call->addr &&
            ledger[i].len == round_page(call->len)) {
            mapped_now -= ledger[i].len;
            ledger[i].addr = NULL;
            break;
        }
    }
}

static void
watch(const char *path)
{
    struct stat sb;

    cr_assert_eq(stat(path, &sb), 0);
    watched_ino = sb.st_ino;
    mapped_now = mapped_peak = maps_made = 0;
    fi_observe_mem(FI_MMAP, on_map, NULL);
    fi_observe_mem(FI_MUNMAP, on_map, NULL);
}

/* ---- comparing with the naive search ---------------------------------------
 */

#define MAX_OFFS 4096

static void
check_windowed(const char *what, const char *path, const void *data, size_t len,
               const void *pat, size_t patlen, size_t window)
{
    uint64_t *want = tk_xmalloc(MAX_OFFS * sizeof(*want));
    uint64_t *got = tk_xmalloc(MAX_OFFS * sizeof(*got));
    size_t nwant = mmt_naive_find(data, len, pat, patlen, want, MAX_OFFS);

    ssize_t n = mm_find_windowed(path, pat, patlen, window, got, MAX_OFFS);
    cr_assert_eq(n, (ssize_t)nwant,
                 "%s, window %zu: expected %zu occurrences, got %zd%s%s", what,
                 window, nwant, n, n < 0 ? " " : "",
                 n < 0 ? strerror((int)-n) : "");
    for (size_t i = 0; i < nwant && i < MAX_OFFS; i++)
        cr_assert_eq(got[i], want[i],
                     "%s, window %zu: occurrence %zu should be at offset "
                     "%llu, got %llu",
                     what, window, i, (unsigned long long)want[i],
                     (unsigned long long)got[i]);
    free(want);
    free(got);
}

TK_TEST(window, matches_whole_file_search,
        .description = "[MM-8] every window size gives mm_find's results")
{
    size_t page = mmt_page();
    size_t len = 24 * page + 77;
    size_t windows[] = {page, 2 * page, 3 * page, 16 * page, 64 * page};
    unsigned char *data = tk_xmalloc(len);
    struct tk_rng rng;

    tk_rng_seed(&rng, 12);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)('a' + tk_rng_below(&rng, 2));
    char *path = tk_make_file("ab", data, len);
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        check_windowed("\"abbab\" in a and b", path, data, len, "abbab", 5,
                       windows[i]);
        check_windowed("\"b\"", path, data, len, "b", 1, windows[i]);
    }
    free(data);
    free(path);
}

TK_TEST(window, straddling_occurrences,
        .description = "[MM-8] an occurrence across two windows is found "
                       "exactly once")
{
    size_t page = mmt_page();
    size_t window = 2 * page, len = 8 * window;
    static const char pat[] = "0123456789abcdef";
    unsigned char *data = tk_xmalloc(len);

    /*
     * Boundary k gets the pattern starting k bytes before it, k = 1..15:
     * every way to split 16 bytes between two windows. Plus one at offset
     * 0, one right on a boundary, and one ending at the last byte.
     */
    memset(data, '.', len);
    for (size_t k = 1; k < 8; k++)
        memcpy(data + k * window - k, pat, 16);
    for (size_t k = 1; k < 8; k++)
        memcpy(data + k * window + window / 2 - (k + 7), pat, 16);
    memcpy(data, pat, 16);
    memcpy(data + 3 * window + 100, pat, 16);
    memcpy(data + len - 16, pat, 16);
    char *path = tk_make_file("straddle", data, len);
    check_windowed("16-byte pattern across boundaries", path, data, len, pat,
                   16, window);
    check_windowed("16-byte pattern, window of one page", path, data, len, pat,
                   16, page);
    free(data);
    free(path);
}

TK_TEST(window, huge_window,
        .description = "[MM-8] a window far larger than the file, up to the "
                       "largest multiple of the page size, gives mm_find's "
                       "results")
{
    size_t page = mmt_page();
    size_t patlen = page + 904; /* longer than a page */
    size_t len = 6 * page + 123;
    unsigned char *data = tk_xmalloc(len), *pat = tk_xmalloc(patlen);
    size_t windows[] = {
        (size_t)1 << 40, (SIZE_MAX / 2) & ~(page - 1),
        SIZE_MAX & ~(page - 1), /* window + patlen - 1 would wrap */
    };

    /*
     * The pattern at the start, in the middle across a page boundary, and
     * ending at the last byte. A search that computes window + patlen - 1
     * without care wraps around for the last window, maps a few hundred
     * bytes instead of the file, and finds nothing.
     */
    tk_fill(pat, patlen, 31);
    tk_fill(data, len, 32);
    memcpy(data, pat, patlen);
    memcpy(data + 3 * page - 17, pat, patlen);
    memcpy(data + len - patlen, pat, patlen);
    char *path = tk_make_file("huge-window", data, len);
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
        check_windowed("a pattern longer than a page", path, data, len, pat,
                       patlen, windows[i]);
    free(data);
    free(pat);
    free(path);
}

TK_TEST(window, last_window_exactly_the_pattern,
        .description = "[MM-8] a file that ends patlen bytes past a window "
                       "edge: the occurrence filling the last window is "
                       "found, as is one ending exactly on the edge")
{
    static const char pat[] = "0123456789abcdef";
    size_t page = mmt_page();
    size_t patlens[] = {1, 5, 16};
    size_t windows[] = {page, 2 * page};
    char what[96];

    for (size_t w = 0; w < 2; w++) {
        for (size_t k = 0; k < 3; k++) {
            size_t window = windows[w], patlen = patlens[k];
            size_t len = 3 * window + patlen;
            unsigned char *data = tk_xmalloc(len);
            memset(data, '.', len);
            memcpy(data + window - patlen, pat, patlen); /* ends on an edge */
            memcpy(data + len - patlen, pat, patlen);    /* the last window */
            char *path = tk_make_file("edge", data, len);
            snprintf(what, sizeof(what),
                     "a %zu-byte pattern filling the last window of a "
                     "%zu-byte file",
                     patlen, len);
            check_windowed(what, path, data, len, pat, patlen, window);
            free(data);
            free(path);
        }
    }
}

TK_TEST(window, stays_within_budget,
        .description = "[MM-9] at most window + patlen bytes are mapped at "
                       "a time")
{
    size_t page = mmt_page();
    size_t window = 4 * page, len = 64 * page + 10;
    unsigned char *data = tk_xmalloc(len);
    uint64_t off;

    memset(data, 'z', len);
    memcpy(data + len - 5, "hello", 5);
    char *path = tk_make_file("budget", data, len);
    watch(path);
    ssize_t n = mm_find_windowed(path, "hello", 5, window, &off, 1);
    watched_ino = 0;
    cr_assert_eq(n, 1, "expected 1 occurrence, got %zd", n);
    cr_assert_geq(maps_made, 2,
                  "a file of %zu bytes with a window of %zu was mapped %zu "
                  "time(s): map one window at a time",
                  len, window, maps_made);
    cr_assert_leq(mapped_peak, window + page,
                  "up to %zu bytes of the file were mapped at once with a "
                  "window of %zu and a 5-byte pattern: map at most window + "
                  "patlen bytes, and unmap each window before the next",
                  mapped_peak, window);
    cr_assert_eq(mapped_now, 0, "%zu bytes of the file are still mapped",
                 mapped_now);
    free(data);
    free(path);
}

TK_TEST(window, resident_memory_within_budget,
        .description = "[MM-9] scanning 32 windows of data grows peak RSS "
                       "by about one window")
{
    size_t window = 1 << 20, len = 32 * window;
    size_t chunk = 1 << 20;
    unsigned char *buf = tk_xmalloc(chunk);
    uint64_t offs[64];

    /* Real data, written through the page cache: every page is backed. */
    memset(buf, 'q', chunk);
    char *path = tk_make_file("big", "", 0);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    for (size_t off = 0; off < len; off += chunk) {
        memcpy(buf + chunk - 8, "boundary", 8); /* straddles nothing */
        tk_write_all(fd, buf, chunk);
    }
    close(fd);
    free(buf);

    long before = mmt_reset_peak_rss();
    ssize_t n = mm_find_windowed(path, "boundary", 8, window, offs, 64);
    long grew = pk_peak_rss_kib() - before;
    cr_assert_eq(n, 32, "expected 32 occurrences, got %zd", n);
    for (size_t i = 0; i < 32; i++)
        cr_assert_eq(offs[i], (i + 1) * window - 8);
    /*
     * Valgrind keeps its own books in the same process, so the peak there
     * says little about the code under test; the mapping ledger of
     * window/stays_within_budget checks the same promise exactly.
     */
    if (!mmt_under_valgrind())
        cr_assert_lt(grew, 8 * 1024,
                     "scanning a 32 MiB file with a 1 MiB window grew the "
                     "peak resident memory by %ld KiB; expected well under "
                     "8 MiB. Unmap each window once it is scanned",
                     grew);
    free(path);
}

TK_TEST(window, bad_windows,
        .description = "[MM-10] a window that is 0, not page-aligned or "
                       "smaller than the pattern gives -EINVAL")
{
    size_t page = mmt_page();
    uint64_t off;
    char *path = tk_make_file("f", "abcdef", 6);
    unsigned char *big = tk_xmalloc(page + 1);

    memset(big, 'a', page + 1);
    cr_assert_eq(mm_find_windowed(path, "a", 1, 0, &off, 1), -EINVAL,
                 "window 0 should give -EINVAL");
    cr_assert_eq(mm_find_windowed(path, "a", 1, page - 1, &off, 1), -EINVAL,
                 "a window of page - 1 bytes should give -EINVAL");
    cr_assert_eq(mm_find_windowed(path, "a", 1, page + 1, &off, 1), -EINVAL,
                 "a window of page + 1 bytes should give -EINVAL");
    cr_assert_eq(mm_find_windowed(path, big, page + 1, page, &off, 1), -EINVAL,
                 "a pattern longer than the window should give -EINVAL");
    cr_assert_eq(mm_find_windowed(path, "a", 0, page, &off, 1), -EINVAL,
                 "an empty pattern should give -EINVAL");
    ssize_t n = mm_find_windowed(path, "cd", 2, page, &off, 1);
    cr_assert_eq(n, 1, "a window larger than the file: expected 1, got %zd", n);
    cr_assert_eq(off, 2);
    free(big);
    free(path);
}

TK_TEST(window, errors_and_leaks,
        .description = "[MM-3] [MM-4] errors as mm_find's, nothing left "
                       "open or mapped")
{
    size_t page = mmt_page();
    uint64_t off;
    char missing[512];
    size_t len = 10 * page + 3;
    unsigned char *data = tk_xmalloc(len);
    char *empty = tk_make_file("empty", "", 0);

    memset(data, 'k', len);
    char *path = tk_make_file("f", data, len);
    snprintf(missing, sizeof(missing), "%s/none", tk_tmpdir());
    int fds = tk_count_open_fds();
    cr_assert_eq(mm_find_windowed(missing, "a", 1, page, &off, 1), -ENOENT,
                 "a missing file should give -ENOENT");
    cr_assert_eq(mm_find_windowed(tk_tmpdir(), "a", 1, page, &off, 1), -EISDIR,
                 "a directory should give -EISDIR");
    cr_assert_eq(mm_find_windowed("/dev/null", "a", 1, page, &off, 1), -EINVAL,
                 "/dev/null should give -EINVAL");
    cr_assert_eq(mm_find_windowed(empty, "a", 1, page, &off, 1), 0,
                 "an empty file should give 0");
    for (int i = 0; i < 20; i++) {
        ssize_t n = mm_find_windowed(path, "kk", 2, page, &off, 1);
        cr_assert_eq(n, (ssize_t)len - 1,
                     "\"kk\" in %zu bytes of 'k', window of one page: "
                     "expected %zu occurrences, got %zd",
                     len, len - 1, n);
    }
    mmt_assert_clean(path, fds, "20 windowed scans and 4 failed ones");
    mmt_assert_clean(empty, fds, "a windowed scan of an empty file");
    free(data);
    free(path);
    free(empty);
}
