/*
 * test_writev.c - exercise 1 of chapter 05: bat_writev_full.
 *
 * Partial writes and EINTR are injected deterministically with the fault
 * layer (iolab/fault.h): "short:N" lets one writev accept only N bytes, so
 * looping N over every byte offset of a small batch checks every place a
 * partial write can stop (between buffers, inside one, next to an empty
 * one). A real socketpair checks the same promises against the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bat.h"
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ---- a batch of buffers ------------------------------------------------ */

/* The sizes of a small batch: empty entries first, in the middle, last. */
static const size_t small_sizes[] = {0, 3, 1, 0, 0, 7, 2, 5, 0, 1, 4, 0};
#define NSMALL (sizeof(small_sizes) / sizeof(small_sizes[0]))

struct batch {
    struct iovec *iov;  /* the array handed to bat_writev_full */
    struct iovec *copy; /* a copy, to check the array was not modified */
    char *flat;         /* every byte, in order: what the reader must get */
    size_t total;       /* bytes in the batch */
    int cnt;            /* entries */
};

/* A batch of cnt entries with the given sizes (or 1..3 bytes if NULL). */
static void
batch_make(struct batch *b, int cnt, const size_t *sizes, uint64_t seed)
{
    struct tk_rng rng;

    tk_rng_seed(&rng, seed);
    b->cnt = cnt;
    b->iov = tk_xmalloc((size_t)cnt * sizeof(*b->iov) + 1);
    b->copy = tk_xmalloc((size_t)cnt * sizeof(*b->copy) + 1);
    b->total = 0;
    for (int i = 0; i < cnt; i++) {
        size_t len = sizes != NULL ? sizes[i] : 1 + tk_rng_below(&rng, 3);
        /* Each buffer is its own allocation, as in a real batch. */
        b->iov[i].iov_base = tk_xmalloc(len + 1);
        b->iov[i].iov_len = len;
        tk_fill(b->iov[i].iov_base, len, seed * 1000 + (uint64_t)i);
        b->total += len;
    }
    b->flat = tk_xmalloc(b->total + 1);
    size_t off = 0;
    for (int i = 0; i < cnt; i++) {
        memcpy(b->flat + off, b->iov[i].iov_base, b->iov[i].iov_len);
        off += b->iov[i].iov_len;
    }
    memcpy(b->copy, b->iov, (size_t)cnt * sizeof(*b->iov));
}

static void
batch_free(struct batch *b)
{
    for (int i = 0; i < b->cnt; i++)
        free(b->iov[i].iov_base);
    free(b->iov);
    free(b->copy);
    free(b->flat);
}

/* Reads the batch back from fd and checks every byte and the array. */
static void
batch_check(const struct batch *b, int fd, const char *what)
{
    char *got = tk_xmalloc(b->total + 1);

    ssize_t n = tk_read_exact(fd, got, b->total, 5000);
    cr_assert_eq(n, (ssize_t)b->total,
                 "%s: the reader got %zd bytes, expected %zu", what, n,
                 b->total);
    size_t at = 0;
    while (at < b->total && got[at] == b->flat[at])
        at++;
    cr_assert_eq(at, b->total,
                 "%s: the bytes differ from offset %zu on: after a partial "
                 "write, continue from exactly the next byte",
                 what, at);
    cr_assert(memcmp(b->iov, b->copy, (size_t)b->cnt * sizeof(*b->iov)) == 0,
              "%s: the caller's iovec array was modified [BAT-1]: keep the "
              "position in local variables (or a private copy)",
              what);
    free(got);
}

/* ---- tests ------------------------------------------------------------- */

TK_TEST(gather, writes_all_in_one_call,
        .description = "[BAT-2][BAT-7] every buffer in order, one writev")
{
    struct batch b;
    int p[2];

    batch_make(&b, NSMALL, small_sizes, 1);
    tk_pipe(p);
    ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, (ssize_t)b.total,
                 "bat_writev_full returned %zd, "
                 "expected the total, %zu",
                 n, b.total);
    batch_check(&b, p[0], "no partial write");
    cr_assert_eq(fi_calls(FI_WRITEV), 1,
                 "%lu writev calls for %d buffers and no partial write; "
                 "expected 1: hand the whole array to one writev",
                 fi_calls(FI_WRITEV), b.cnt);
    cr_assert_eq(fi_calls(FI_WRITE) + fi_calls(FI_SEND), 0,
                 "write() or send() was called: use writev");
    batch_free(&b);
}

TK_TEST(gather, partial_write_at_every_offset,
        .description = "[BAT-1][BAT-2][BAT-7] a partial write stopping at "
                       "each byte offset is continued from that byte")
{
    struct batch b;
    int p[2];
    char plan[32], what[96];

    batch_make(&b, NSMALL, small_sizes, 2);
    tk_pipe(p);
    for (size_t cut = 1; cut < b.total; cut++) {
        fi_reset();
        snprintf(plan, sizeof(plan), "short:%zu", cut);
        cr_assert_eq(fi_plan(FI_WRITEV, plan), 0);
        snprintf(what, sizeof(what), "first writev cut to %zu of %zu bytes",
                 cut, b.total);
        ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
        cr_assert_eq(n, (ssize_t)b.total, "%s: returned %zd, expected %zu",
                     what, n, b.total);
        batch_check(&b, p[0], what);
        cr_assert_eq(fi_calls(FI_WRITEV), 2,
                     "%s: %lu writev calls; expected 2, the partial one and "
                     "one for all the rest [BAT-7]",
                     what, fi_calls(FI_WRITEV));
    }
    batch_free(&b);
}

TK_TEST(gather, repeated_partial_writes,
        .description = "[BAT-1][BAT-2] every writev cut to N bytes, for "
                       "every N: the stream arrives intact")
{
    struct batch b;
    int p[2];
    char plan[32], what[96];

    batch_make(&b, NSMALL, small_sizes, 3);
    tk_pipe(p);
    for (size_t cut = 1; cut <= b.total; cut++) {
        fi_reset();
        snprintf(plan, sizeof(plan), "short:%zu *", cut);
        cr_assert_eq(fi_plan(FI_WRITEV, plan), 0);
        snprintf(what, sizeof(what), "every writev cut to %zu bytes", cut);
        ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
        cr_assert_eq(n, (ssize_t)b.total, "%s: returned %zd, expected %zu",
                     what, n, b.total);
        batch_check(&b, p[0], what);
    }
    batch_free(&b);
}

TK_TEST(gather, retries_eintr,
        .description = "[BAT-6] EINTR is retried, before and between "
                       "partial writes")
{
    struct batch b;
    int p[2];

    batch_make(&b, NSMALL, small_sizes, 4);
    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITEV, "eintr short:4 eintr eintr short:1 *"), 0);
    ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, (ssize_t)b.total,
                 "with EINTR injected, expected %zu, got %zd (%s)", b.total, n,
                 n < 0 ? strerror((int)-n) : "short");
    batch_check(&b, p[0], "EINTR and partial writes");
    batch_free(&b);
}

TK_TEST(gather, empty_entries,
        .description = "[BAT-3] a total of 0 makes no system call; empty "
                       "entries anywhere are harmless")
{
    static const size_t empties[] = {0, 0, 0, 0, 0};
    static const size_t edges[] = {0, 0, 6, 0, 0, 0, 2, 0, 0};
    struct batch b;
    int p[2];

    tk_pipe(p);
    cr_assert_eq(bat_writev_full(p[1], NULL, 0), 0, "iovcnt 0 must return 0");
    batch_make(&b, 5, empties, 5);
    ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, 0, "five empty buffers must return 0, got %zd", n);
    cr_assert_eq(fi_calls(FI_WRITEV) + fi_calls(FI_WRITE), 0,
                 "nothing to write, yet %lu system calls were made",
                 fi_calls(FI_WRITEV) + fi_calls(FI_WRITE));
    batch_free(&b);

    batch_make(&b, 9, edges, 6);
    cr_assert_eq(fi_plan(FI_WRITEV, "short:6 *"), 0);
    n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, 8,
                 "empty entries around a partial write that ends exactly "
                 "at a buffer's end: expected 8, got %zd",
                 n);
    batch_check(&b, p[0], "empty entries");
    batch_free(&b);
}

TK_TEST(gather, more_than_iov_max,
        .description = "[BAT-4][BAT-7] more than IOV_MAX buffers go in "
                       "slices of IOV_MAX, one writev each")
{
    struct batch b;
    int p[2];
    int cnt = 2 * IOV_MAX + 300;
    unsigned long want = 3;

    batch_make(&b, cnt, NULL, 7); /* 1..3 bytes each: fits in a pipe */
    tk_pipe(p);
    ssize_t n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, (ssize_t)b.total,
                 "%d buffers (IOV_MAX is %d): expected %zu, got %zd (%s)", cnt,
                 IOV_MAX, b.total, n,
                 n == -EINVAL ? "the kernel refuses more than IOV_MAX "
                                "entries in one writev"
                 : n < 0      ? strerror((int)-n)
                              : "short");
    batch_check(&b, p[0], "more than IOV_MAX buffers");
    cr_assert_eq(fi_calls(FI_WRITEV), want,
                 "%lu writev calls for %d buffers; expected %lu, one per "
                 "slice of IOV_MAX (%d)",
                 fi_calls(FI_WRITEV), cnt, want, IOV_MAX);

    /* And partial writes across slice boundaries. */
    fi_reset();
    cr_assert_eq(fi_plan(FI_WRITEV, "short:700 short:1 *"), 0);
    n = bat_writev_full(p[1], b.iov, b.cnt);
    cr_assert_eq(n, (ssize_t)b.total,
                 "with partial writes: expected %zu, "
                 "got %zd",
                 b.total, n);
    batch_check(&b, p[0], "more than IOV_MAX buffers, partial writes");
    batch_free(&b);
}

TK_TEST(gather, reports_errors,
        .description = "[BAT-5] a failed writev returns -errno: EPIPE, "
                       "EBADF, ENOSPC, EAGAIN, and -EINVAL for iovcnt < 0")
{
    char buf[4096] = {0};
    struct iovec iov[3] = {
        {buf, 10},
        {buf, 0},
        {buf, 20},
    };
    int p[2];

    signal(SIGPIPE, SIG_IGN);
    tk_pipe(p);
    close(p[0]);
    ssize_t n = bat_writev_full(p[1], iov, 3);
    cr_assert_eq(n, -EPIPE,
                 "writing to a pipe with no reader should return -EPIPE, "
                 "got %zd",
                 n);
    n = bat_writev_full(-1, iov, 3);
    cr_assert_eq(n, -EBADF, "writing to fd -1 should return -EBADF, got %zd",
                 n);
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(full, 0, "/dev/full is missing");
    n = bat_writev_full(full, iov, 3);
    cr_assert_eq(n, -ENOSPC,
                 "writing to /dev/full should return -ENOSPC, "
                 "got %zd",
                 n);
    close(full);
    n = bat_writev_full(p[1], iov, -1);
    cr_assert_eq(n, -EINVAL, "iovcnt -1 should return -EINVAL, got %zd", n);

    tk_pipe(p);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 1024; i++) /* fill the pipe: 64 KiB by default */
        if (write(p[1], buf, sizeof(buf)) < 0)
            break;
    n = bat_writev_full(p[1], iov, 3);
    cr_assert_eq(n, -EAGAIN,
                 "a full non-blocking pipe should give -EAGAIN, "
                 "got %zd",
                 n);

    /* An error after a partial write still wins. */
    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITEV, "short:5 err:EIO"), 0);
    n = bat_writev_full(p[1], iov, 3);
    cr_assert_eq(n, -EIO,
                 "a writev failing with EIO after a partial write: expected "
                 "-EIO, got %zd",
                 n);
}

TK_TEST(gather, zero_return_is_eio,
        .description = "[BAT-5] writev returning 0 gives -EIO instead of "
                       "spinning")
{
    char buf[32] = {0};
    struct iovec iov[2] = {{buf, 16}, {buf + 16, 16}};
    int p[2];

    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITEV, "zero *"), 0);
    ssize_t n = bat_writev_full(p[1], iov, 2);
    cr_assert_eq(n, -EIO, "when writev() returns 0, expected -EIO, got %zd", n);
    cr_assert_leq(fi_calls(FI_WRITEV), 1,
                  "writev() returned 0 and was called again %lu times: it "
                  "will never make progress",
                  fi_calls(FI_WRITEV) - 1);
}

/* ---- real partial writes through a socketpair ---------------------------- */

struct drain {
    int fd;
    char *buf;
    size_t len;
    ssize_t got;
};

static void *
drain_main(void *arg)
{
    struct drain *d = arg;

    d->got = tk_read_exact(d->fd, d->buf, d->len, 20000);
    return NULL;
}

TK_TEST(gather, large_batch_socketpair,
        .description = "[BAT-2][BAT-4] 3000 buffers, 3 MiB, through a "
                       "socketpair: real partial writes")
{
    struct tk_rng rng;
    size_t sizes[3000];
    struct batch b;
    pthread_t th;
    int sp[2];

    tk_rng_seed(&rng, 8);
    for (size_t i = 0; i < 3000; i++)
        sizes[i] = i % 100 == 7 ? 0 : tk_rng_below(&rng, 2048);
    batch_make(&b, 3000, sizes, 8);
    tk_socketpair(sp);
    struct drain d = {.fd = sp[1], .buf = tk_xmalloc(b.total), .len = b.total};
    pthread_create(&th, NULL, drain_main, &d);
    ssize_t n = bat_writev_full(sp[0], b.iov, b.cnt);
    pthread_join(th, NULL);
    cr_assert_eq(n, (ssize_t)b.total,
                 "bat_writev_full returned %zd, "
                 "expected %zu",
                 n, b.total);
    cr_assert_eq(d.got, (ssize_t)b.total, "the reader got %zd bytes", d.got);
    cr_assert(memcmp(d.buf, b.flat, b.total) == 0,
              "the bytes arrived altered: continue from exactly the byte "
              "where a partial write stopped");
    cr_assert(memcmp(b.iov, b.copy, 3000 * sizeof(*b.iov)) == 0,
              "the caller's iovec array was modified [BAT-1]");
    free(d.buf);
    batch_free(&b);
}
