/*
 * test_writer.c - exercise 1 of chapter 04: the buffered writer.
 *
 * Where the bytes go is watched in two ways. A SOCK_SEQPACKET socketpair
 * keeps every write(2) as one message, so the test can see the size of
 * each system call the writer made. The fault layer (iolab/fault.h)
 * counts the writer's write() calls and injects short writes, EINTR and
 * errors deterministically; /dev/full, a pipe with no reader and a
 * read-only descriptor produce real errors from the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ---- helpers ----------------------------------------------------------- */

/* A socketpair that keeps the boundaries of every write(2). */
static void
seqpacket_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
        cr_assert_fail("socketpair(SOCK_SEQPACKET): %s", strerror(errno));
}

/*
 * Collects the messages waiting on fd: their sizes go to sizes[] (at most
 * max), their bytes to data, which has room for COLLECT_ROOM bytes.
 * Returns the number of messages.
 */
#define COLLECT_ROOM 1024

static int
collect(int fd, size_t *sizes, int max, char *data, size_t *total)
{
    int count = 0;

    *total = 0;
    for (;;) {
        ssize_t n =
            recv(fd, data + *total, COLLECT_ROOM - *total, MSG_DONTWAIT);
        if (n == -1 && errno == EAGAIN)
            return count;
        cr_assert_geq(n, 0, "recv from the test's socket: %s", strerror(errno));
        if (count < max)
            sizes[count] = (size_t)n;
        count++;
        *total += (size_t)n;
    }
}

/* Reads a whole file into a fresh buffer; returns its length. */
static size_t
slurp(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    off_t size = lseek(fd, 0, SEEK_END);
    char *p = tk_xmalloc((size_t)size + 1);
    ssize_t n = pread(fd, p, (size_t)size, 0);
    cr_assert_eq(n, size, "pread %s", path);
    close(fd);
    *out = p;
    return (size_t)size;
}

/* Opens a fresh file in the test's directory for writing. */
static int
open_out(const char *name, char **path)
{
    *path = tk_make_file(name, "", 0);
    int fd = open(*path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", *path, strerror(errno));
    return fd;
}

static void
init_writer(struct buf_writer *w, int fd, size_t cap)
{
    int err = buf_writer_init(w, fd, cap);
    cr_assert_eq(err, 0, "buf_writer_init(cap %zu) returned %d", cap, err);
}

/* Writes len bytes, which must all be accepted. */
static void
must_write(struct buf_writer *w, const void *p, size_t len)
{
    ssize_t n = buf_write(w, p, len);
    cr_assert_eq(n, (ssize_t)len,
                 "buf_write of %zu bytes returned %zd (%s); expected %zu", len,
                 n, n < 0 ? strerror((int)-n) : "a short count", len);
}

/*
 * Closes w, which must succeed, and checks that the pipe's read end rd
 * then holds exactly src[0 .. n): nothing lost, nothing repeated.
 */
static void
close_and_expect(struct buf_writer *w, int rd, const char *src, size_t n)
{
    char got[256];

    cr_assert_leq(n, sizeof(got));
    int err = buf_writer_close(w);
    cr_assert_eq(err, 0, "buf_writer_close returned %d (%s)", err,
                 strerror(-err));
    cr_assert_eq(tk_read_exact(rd, got, n, 2000), (ssize_t)n,
                 "expected %zu bytes in the pipe after the close", n);
    cr_assert_arr_eq(got, src, n, "bytes were lost or repeated");
}

/* ---- gathering -------------------------------------------------------- */

TK_TEST(writer, small_writes_make_no_syscall,
        .description = "[BUF-2] small writes are copied into the buffer "
                       "with no write(2) until the flush")
{
    struct buf_writer w;
    char src[50], got[COLLECT_ROOM];
    int sv[2];

    tk_fill(src, sizeof(src), 1);
    seqpacket_pair(sv);
    init_writer(&w, sv[0], 64);
    for (int i = 0; i < 10; i++)
        must_write(&w, src + 5 * i, 5);
    cr_assert_eq(fi_calls(FI_WRITE), 0,
                 "10 writes of 5 bytes into a 64-byte buffer made %lu "
                 "write() calls; expected none before the flush",
                 fi_calls(FI_WRITE));
    cr_assert_eq(buf_writer_buffered(&w), 50,
                 "buf_writer_buffered says %zu; expected 50",
                 buf_writer_buffered(&w));
    cr_assert_eq(buf_flush(&w), 0, "buf_flush failed");
    cr_assert_eq(fi_calls(FI_WRITE), 1,
                 "buf_flush of 50 buffered bytes made %lu write() calls; "
                 "expected 1",
                 fi_calls(FI_WRITE));
    size_t sizes[4], total;
    int msgs = collect(sv[1], sizes, 4, got, &total);
    cr_assert_eq(msgs, 1, "expected one write of 50 bytes, saw %d", msgs);
    cr_assert_eq(total, 50);
    cr_assert_arr_eq(got, src, 50,
                     "the flushed bytes differ from the "
                     "bytes written");
    cr_assert_eq(buf_writer_close(&w), 0);
}

TK_TEST(writer, every_write_carries_a_full_buffer,
        .description = "[BUF-3] records that do not fit top the buffer up "
                       "first: each write(2) carries exactly cap bytes")
{
    struct buf_writer w;
    char src[1000], got[1000 + COLLECT_ROOM];
    int sv[2];

    tk_fill(src, sizeof(src), 2);
    seqpacket_pair(sv);
    init_writer(&w, sv[0], 16);
    /* 10-byte records do not divide 16: a lazy flush writes 10 at a time. */
    for (int i = 0; i < 100; i++)
        must_write(&w, src + 10 * i, 10);
    size_t sizes[128], total;
    int msgs = collect(sv[1], sizes, 128, got, &total);
    cr_assert_eq(msgs, 62,
                 "1000 bytes in 10-byte records through a 16-byte buffer "
                 "made %d write() calls before the flush; expected 62 "
                 "(= 992 / 16): fill the buffer before writing it",
                 msgs);
    for (int i = 0; i < msgs && i < 128; i++)
        cr_assert_eq(sizes[i], 16,
                     "write() number %d carried %zu bytes; expected 16: "
                     "top the buffer up before flushing it",
                     i + 1, sizes[i]);
    cr_assert_eq(buf_writer_buffered(&w), 8,
                 "expected the last 8 bytes buffered, found %zu",
                 buf_writer_buffered(&w));
    cr_assert_eq(buf_writer_close(&w), 0);
    size_t rest;
    collect(sv[1], sizes, 1, got + total, &rest);
    cr_assert_eq(total + rest, 1000);
    cr_assert_arr_eq(got, src, 1000, "the bytes arrived altered");
}

TK_TEST(writer, large_write_goes_direct,
        .description = "[BUF-4] with the buffer empty, cap bytes or more go "
                       "straight to the descriptor in one write(2)")
{
    struct buf_writer w;
    char src[300], got[200 + COLLECT_ROOM];
    int sv[2];
    size_t sizes[8], total;

    tk_fill(src, sizeof(src), 3);
    seqpacket_pair(sv);
    init_writer(&w, sv[0], 16);

    must_write(&w, src, 100);
    int msgs = collect(sv[1], sizes, 8, got, &total);
    cr_assert_eq(msgs, 1,
                 "a 100-byte write into an empty 16-byte buffer made %d "
                 "write() calls; expected 1, straight from the caller's "
                 "bytes",
                 msgs);
    cr_assert_eq(sizes[0], 100,
                 "the direct write carried %zu bytes, "
                 "expected 100",
                 sizes[0]);
    cr_assert_eq(buf_writer_buffered(&w), 0);

    must_write(&w, src + 100, 16);
    msgs = collect(sv[1], sizes, 8, got + 100, &total);
    cr_assert_eq(msgs, 1,
                 "exactly cap bytes (16) into an empty buffer "
                 "should be written at once, in one call");

    /* 5 bytes buffered, then 100: top up to 16, flush, 89 go direct. */
    must_write(&w, src + 116, 5);
    must_write(&w, src + 121, 100);
    msgs = collect(sv[1], sizes, 8, got + 116, &total);
    cr_assert_eq(msgs, 2,
                 "5 buffered bytes then a 100-byte write: expected 2 "
                 "write() calls (16 bytes, then 89 direct), saw %d",
                 msgs);
    cr_assert(sizes[0] == 16 && sizes[1] == 89,
              "expected writes of 16 then 89 bytes, saw %zu then %zu", sizes[0],
              sizes[1]);
    cr_assert_arr_eq(got, src, 221, "the bytes arrived altered");
    cr_assert_eq(buf_writer_close(&w), 0);
}

TK_TEST(writer, flush_writes_everything,
        .description = "[BUF-5] buf_flush writes every buffered byte, and "
                       "makes no system call when there is nothing")
{
    struct buf_writer w;
    char src[40], got[40];
    int p[2];

    tk_fill(src, sizeof(src), 4);
    tk_pipe(p);
    init_writer(&w, p[1], 100);
    cr_assert_eq(buf_flush(&w), 0, "flushing an empty writer failed");
    cr_assert_eq(fi_calls(FI_WRITE), 0,
                 "flushing an empty writer made %lu write() calls; "
                 "expected none",
                 fi_calls(FI_WRITE));
    must_write(&w, src, 40);
    int err = buf_flush(&w);
    cr_assert_eq(err, 0, "buf_flush returned %d (%s)", err, strerror(-err));
    cr_assert_eq(buf_writer_buffered(&w), 0,
                 "after a flush %zu bytes are still buffered",
                 buf_writer_buffered(&w));
    cr_assert_eq(tk_read_exact(p[0], got, 40, 2000), 40,
                 "the 40 flushed bytes did not all reach the pipe");
    cr_assert_arr_eq(got, src, 40);
    cr_assert_eq(buf_flush(&w), 0);
    cr_assert_eq(fi_calls(FI_WRITE), 1, "a second flush wrote again");
    cr_assert_eq(buf_writer_close(&w), 0);
}

/* ---- short writes, EINTR, zero --------------------------------------- */

TK_TEST(writer, short_writes_and_eintr,
        .description = "[BUF-6] short writes are continued where they "
                       "stopped and EINTR is retried")
{
    struct buf_writer w;
    char *path, *got;
    char src[3000];

    tk_fill(src, sizeof(src), 5);
    int fd = open_out("out", &path);
    cr_assert_eq(fi_plan(FI_WRITE, "short:7 eintr short:3 eintr eintr *"), 0);
    init_writer(&w, fd, 64);
    /* Records of 1..150 bytes: gathered, topped up and direct writes. */
    for (size_t off = 0, k = 1; off < sizeof(src); k = k % 150 + 1) {
        size_t n = off + k > sizeof(src) ? sizeof(src) - off : k;
        must_write(&w, src + off, n);
        off += n;
    }
    int err = buf_writer_close(&w);
    cr_assert_eq(err, 0,
                 "buf_writer_close returned %d (%s) with short writes and "
                 "EINTR injected; both must be handled inside",
                 err, strerror(-err));
    close(fd);
    size_t len = slurp(path, &got);
    cr_assert_eq(len, sizeof(src),
                 "the file holds %zu bytes; expected %zu: a short write "
                 "was dropped or repeated",
                 len, sizeof(src));
    cr_assert_arr_eq(got, src, len,
                     "the file's bytes differ from what was written: "
                     "continue a short write from where it stopped");
    free(got);
    free(path);
}

TK_TEST(writer, write_returning_zero_is_eio,
        .description = "[BUF-6] a write(2) that returns 0 is -EIO, "
                       "not a loop")
{
    struct buf_writer w;
    int p[2];

    tk_pipe(p);
    init_writer(&w, p[1], 32);
    must_write(&w, "hello", 5);
    cr_assert_eq(fi_plan(FI_WRITE, "zero *"), 0);
    int err = buf_flush(&w);
    cr_assert_eq(err, -EIO,
                 "every write() returned 0; buf_flush should give -EIO "
                 "(-5), got %d",
                 err);
    cr_assert_eq(buf_writer_buffered(&w), 5,
                 "the 5 bytes must stay buffered, found %zu",
                 buf_writer_buffered(&w));
    fi_reset();
    cr_assert_eq(buf_writer_close(&w), 0);
}

/* ---- failures: nothing lost, counts exact ------------------------------ */

TK_TEST(writer, error_before_accepting_keeps_buffer,
        .description = "[BUF-7] a write that fails before accepting "
                       "anything returns -errno and keeps the buffer")
{
    struct buf_writer w;
    char src[40];
    int p[2];

    tk_fill(src, sizeof(src), 7);
    tk_pipe(p);
    init_writer(&w, p[1], 32);
    must_write(&w, src, 31);
    must_write(&w, src + 31, 1); /* the buffer is now exactly full */
    cr_assert_eq(fi_plan(FI_WRITE, "err:EPIPE"), 0);
    ssize_t n = buf_write(&w, src + 32, 8);
    cr_assert_eq(n, -EPIPE,
                 "the buffer was full and its flush failed with EPIPE: "
                 "buf_write should return -EPIPE (-32), got %zd",
                 n);
    cr_assert_eq(buf_writer_buffered(&w), 32,
                 "after the failed flush %zu bytes are buffered; expected "
                 "all 32: nothing may be dropped",
                 buf_writer_buffered(&w));
    /* The injected error is gone: the same call now succeeds. */
    must_write(&w, src + 32, 8);
    close_and_expect(&w, p[0], src, 40);
}

TK_TEST(writer, partial_flush_keeps_the_rest,
        .description = "[BUF-7] a flush that fails after a partial write "
                       "keeps exactly the unwritten bytes")
{
    struct buf_writer w;
    char src[60], got[60];
    int p[2];

    tk_fill(src, sizeof(src), 8);
    tk_pipe(p);
    init_writer(&w, p[1], 64);
    must_write(&w, src, 60);
    cr_assert_eq(fi_plan(FI_WRITE, "short:10 err:ENOSPC"), 0);
    int err = buf_flush(&w);
    cr_assert_eq(err, -ENOSPC,
                 "10 bytes were written, then ENOSPC: buf_flush should "
                 "return -ENOSPC (-28), got %d",
                 err);
    cr_assert_eq(buf_writer_buffered(&w), 50,
                 "10 of 60 bytes reached the kernel; expected 50 still "
                 "buffered, found %zu",
                 buf_writer_buffered(&w));
    err = buf_flush(&w);
    cr_assert_eq(err, 0, "the retried flush returned %d", err);
    cr_assert_eq(tk_read_exact(p[0], got, 60, 2000), 60,
                 "expected exactly 60 bytes in the pipe");
    cr_assert_arr_eq(got, src, 60,
                     "the pipe's bytes differ: after a partial write, keep "
                     "the rest at the front and never write a byte twice");
    cr_assert(!tk_readable(p[0], 0), "more than 60 bytes reached the pipe: "
                                     "some were written twice");
    cr_assert_eq(buf_writer_close(&w), 0);
}

/*
 * Buffers 50 of src's bytes in a 64-byte writer on fd, then writes 30 more
 * while the flush fails once with ENOSPC: 14 are accepted (topping the
 * buffer up), and the error is deferred.
 */
static void
defer_enospc(struct buf_writer *w, int fd, const char *src)
{
    init_writer(w, fd, 64);
    must_write(w, src, 50);
    cr_assert_eq(fi_plan(FI_WRITE, "err:ENOSPC"), 0);
    ssize_t n = buf_write(w, src + 50, 30);
    cr_assert_eq(n, 14,
                 "50 bytes buffered in 64, then 30 more: 14 top the buffer "
                 "up, then the flush fails. Expected 14 (accepted), got "
                 "%zd",
                 n);
    cr_assert_eq(buf_writer_buffered(w), 64,
                 "after accepting 14 bytes the 64-byte buffer must be "
                 "full; found %zu bytes",
                 buf_writer_buffered(w));
}

TK_TEST(writer, accepted_count_is_exact,
        .description = "[BUF-8] [BUF-9] after a failed flush the count of "
                       "accepted bytes is exact and the error comes next")
{
    struct buf_writer w;
    char src[80];
    int p[2];

    tk_fill(src, sizeof(src), 9);
    tk_pipe(p);
    defer_enospc(&w, p[1], src);
    unsigned long calls = fi_calls(FI_WRITE);
    ssize_t n = buf_write(&w, src + 64, 16);
    cr_assert_eq(n, -ENOSPC,
                 "the call after a short count must return the deferred "
                 "error, -ENOSPC (-28); got %zd",
                 n);
    cr_assert_eq(fi_calls(FI_WRITE), calls,
                 "returning a deferred error must not call write()");
    n = buf_write(&w, src + 64, 16);
    cr_assert_eq(n, 16,
                 "the error was reported once; the next write should "
                 "succeed (the fault is over), got %zd",
                 n);
    close_and_expect(&w, p[0], src, 80);
}

TK_TEST(writer, direct_write_partial_count,
        .description = "[BUF-8] [BUF-9] a direct write cut short by an "
                       "error returns the count that got through")
{
    struct buf_writer w;
    char src[100];
    int p[2];

    tk_fill(src, sizeof(src), 10);
    tk_pipe(p);
    init_writer(&w, p[1], 16);
    cr_assert_eq(fi_plan(FI_WRITE, "short:40 err:EPIPE"), 0);
    ssize_t n = buf_write(&w, src, 100);
    cr_assert_eq(n, 40,
                 "a 100-byte direct write got 40 bytes out, then EPIPE: "
                 "expected 40, got %zd",
                 n);
    n = buf_flush(&w);
    cr_assert_eq(n, -EPIPE,
                 "the deferred -EPIPE (-32) should come from "
                 "the next call (a flush), got %zd",
                 n);
    cr_assert_eq(buf_flush(&w), 0, "a deferred error is reported once");
    must_write(&w, src + 40, 60);
    close_and_expect(&w, p[0], src, 100);
}

TK_TEST(writer, real_errors_from_the_kernel,
        .description = "[BUF-7] EPIPE, ENOSPC (/dev/full) and EBADF from "
                       "the kernel are returned and keep the bytes")
{
    struct buf_writer w;
    int p[2];

    signal(SIGPIPE, SIG_IGN);
    tk_pipe(p);
    close(p[0]);
    init_writer(&w, p[1], 32);
    must_write(&w, "0123456789", 10);
    int err = buf_flush(&w);
    cr_assert_eq(err, -EPIPE,
                 "flushing into a pipe with no reader: expected -EPIPE "
                 "(-32), got %d",
                 err);
    cr_assert_eq(buf_writer_buffered(&w), 10);
    cr_assert_eq(buf_writer_close(&w), -EPIPE,
                 "closing must report the flush's -EPIPE");

    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (full == -1)
        tk_skip("this machine has no /dev/full");
    init_writer(&w, full, 32);
    ssize_t n = buf_write(&w, "0123456789", 10);
    cr_assert_eq(n, 10, "10 bytes fit in the buffer: expected 10, got %zd", n);
    err = buf_flush(&w);
    cr_assert_eq(err, -ENOSPC,
                 "flushing into /dev/full: expected -ENOSPC (-28), got %d",
                 err);
    cr_assert_eq(buf_writer_buffered(&w), 10);
    char big[64] = {0};
    n = buf_write(&w, big, sizeof(big));
    cr_assert_eq(n, 22,
                 "10 bytes buffered in 32 and a 64-byte write into "
                 "/dev/full: 22 top the buffer up, then ENOSPC. Expected "
                 "22, got %zd",
                 n);
    cr_assert_eq(buf_write(&w, big, 1), -ENOSPC);
    cr_assert_eq(buf_writer_close(&w), -ENOSPC);
    close(full);

    char *path = tk_make_file("ro", "", 0);
    int ro = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(ro, 0);
    init_writer(&w, ro, 32);
    must_write(&w, "abc", 3);
    err = buf_flush(&w);
    cr_assert_eq(err, -EBADF,
                 "flushing to a read-only descriptor: expected -EBADF "
                 "(-9), got %d",
                 err);
    cr_assert_eq(buf_writer_buffered(&w), 3);
    cr_assert_eq(buf_writer_close(&w), -EBADF);
    close(ro);
    free(path);
}

/* ---- close ---------------------------------------------------------- */

TK_TEST(writer, close_flushes_and_keeps_fd,
        .description = "[BUF-11] close flushes every byte, frees the buffer "
                       "and leaves fd open")
{
    struct buf_writer w;
    char src[500], got[500];
    int p[2];

    tk_fill(src, sizeof(src), 11);
    tk_pipe(p);
    init_writer(&w, p[1], 128);
    for (int i = 0; i < 5; i++)
        must_write(&w, src + 100 * i, 100);
    int err = buf_writer_close(&w);
    cr_assert_eq(err, 0, "buf_writer_close returned %d (%s)", err,
                 strerror(-err));
    cr_assert_null(w.buf, "after close, w.buf must be NULL (freed)");
    cr_assert_eq(tk_read_exact(p[0], got, 500, 2000), 500,
                 "close did not flush every buffered byte");
    cr_assert_arr_eq(got, src, 500);
    cr_assert_neq(fcntl(p[1], F_GETFD), -1,
                  "buf_writer_close closed the descriptor; it belongs to "
                  "the caller");
}

TK_TEST(writer, close_frees_the_buffer,
        .description = "[BUF-11] a close that succeeds frees the buffer too: "
                       "a thousand writers opened and closed leak nothing")
{
    struct buf_writer w;
    int p[2];

    tk_pipe(p);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 1000; i++) {
        init_writer(&w, p[1], 4096);
        if (i % 2 == 0) /* half of them have a byte to flush at close */
            must_write(&w, "x", 1);
        cr_assert_eq(buf_writer_close(&w), 0, "close %d failed", i);
    }
    struct mallinfo2 after = mallinfo2();
    /*
     * Each writer takes 4 KiB from the heap; a close that frees it gives
     * it back, so the heap's bytes in use come back to where they were.
     * (Under Valgrind, which has its own allocator, this may read 0 both
     * times; memcheck then finds a leak itself.)
     */
    size_t grew =
        after.uordblks > before.uordblks ? after.uordblks - before.uordblks : 0;
    cr_assert_lt(grew, 512 * 1024,
                 "1000 writers of 4 KiB were opened and closed without an "
                 "error, and the heap grew by %zu KiB: a close that "
                 "succeeds must free the buffer too",
                 grew / 1024);
}

TK_TEST(writer, closed_writer_is_safe,
        .description = "[BUF-10] [BUF-1] a closed writer refuses work with "
                       "-EBADF and closing it again returns 0")
{
    struct buf_writer w;
    int p[2];

    tk_pipe(p);
    cr_assert_eq(buf_writer_init(&w, p[1], 0), -EINVAL,
                 "a capacity of 0 must be refused with -EINVAL");
    cr_assert_eq(buf_writer_close(&w), 0,
                 "closing a writer whose init failed must return 0");
    init_writer(&w, p[1], 16);
    must_write(&w, "x", 1);
    cr_assert_eq(buf_writer_close(&w), 0);
    cr_assert_eq(buf_write(&w, "y", 1), -EBADF,
                 "buf_write on a closed writer must return -EBADF");
    cr_assert_eq(buf_flush(&w), -EBADF,
                 "buf_flush on a closed writer must return -EBADF");
    cr_assert_eq(buf_writer_close(&w), 0,
                 "closing a closed writer must do nothing and return 0");
}

TK_TEST(writer, failed_close_still_releases,
        .description = "[BUF-12] a close whose flush fails returns the "
                       "error, frees the buffer and reports a deferred "
                       "error first")
{
    struct buf_writer w;
    char src[80], got[80];
    int p[2];

    signal(SIGPIPE, SIG_IGN);
    tk_fill(src, sizeof(src), 12);
    tk_pipe(p);
    defer_enospc(&w, p[1], src);
    /* A deferred ENOSPC is pending and 64 bytes are buffered. */
    int err = buf_writer_close(&w);
    cr_assert_eq(err, -ENOSPC,
                 "close with a deferred -ENOSPC pending must return it; "
                 "got %d",
                 err);
    cr_assert_null(w.buf, "a failed close must still free the buffer");
    cr_assert_eq(tk_read_exact(p[0], got, 64, 2000), 64,
                 "close must still try to flush the 64 buffered bytes "
                 "after reporting the deferred error");
    cr_assert_arr_eq(got, src, 64);

    init_writer(&w, p[1], 64);
    must_write(&w, src, 20);
    close(p[0]);
    err = buf_writer_close(&w);
    cr_assert_eq(err, -EPIPE,
                 "close with nobody reading the pipe: expected -EPIPE "
                 "(-32), got %d",
                 err);
    cr_assert_null(w.buf, "a failed close must still free the buffer");
    cr_assert_eq(buf_writer_close(&w), 0,
                 "after a failed close the writer is closed: a second "
                 "close returns 0");
}

/* ---- everything at once ------------------------------------------------ */

TK_TEST(writer, random_records_random_faults,
        .description = "[BUF-2] [BUF-3] [BUF-4] [BUF-6] records of every "
                       "size with random short writes arrive intact")
{
    struct tk_rng rng;
    struct buf_writer w;
    char *path, *got;
    size_t total = 200 * 1000;
    char *src = tk_xmalloc(total);

    tk_fill(src, total, 13);
    tk_rng_seed(&rng, 13);
    int fd = open_out("random", &path);
    cr_assert_eq(fi_plan_random(FI_WRITE, 13, 40, 700, 0, 20), 0);
    init_writer(&w, fd, 1000);
    for (size_t off = 0; off < total;) {
        /* Mostly small records, some near cap, some several caps. */
        size_t k = tk_rng_below(&rng, 10) < 8 ? tk_rng_below(&rng, 200)
                                              : tk_rng_below(&rng, 3000);
        if (k > total - off)
            k = total - off;
        must_write(&w, src + off, k);
        off += k;
        if (tk_rng_below(&rng, 50) == 0)
            cr_assert_eq(buf_flush(&w), 0, "a flush failed");
    }
    cr_assert_eq(buf_writer_close(&w), 0);
    close(fd);
    size_t len = slurp(path, &got);
    cr_assert_eq(len, total, "the file holds %zu bytes, expected %zu", len,
                 total);
    cr_assert_arr_eq(got, src, total, "the file's bytes differ");
    free(got);
    free(src);
    free(path);
}
