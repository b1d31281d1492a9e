/*
 * test_zerocopy.c - exercise 3 of chapter 09: a file served with
 * sendfile and with splice.
 *
 * Each promise is checked for both functions by one body that takes the
 * function as a parameter. The receiver is a thread reading the other end
 * of a loopback TCP connection (uiot_rx); with small socket buffers and
 * a non-blocking sender, the sender meets a full buffer many times.
 * Neither function needs io_uring, so nothing here is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "uiot.h"

#define KIB 1024

typedef ssize_t (*send_fn)(int sock, int file_fd, off_t off, size_t len);

/* [UIO-10]: a whole file on a blocking socket. */
static void
whole(send_fn fn, const char *name)
{
    size_t len = 2 * KIB * KIB + 3;
    char *data;
    int file = uiot_file("f", len, 11, &data);
    struct uiot_rx rx = {0};

    uiot_rx_start(&rx, len, 64 * KIB, false);
    ssize_t n = fn(rx.send_fd, file, 0, len);
    cr_assert_eq(n, (ssize_t)len, "%s returned %zd, expected %zu", name, n,
                 len);
    uiot_rx_expect(&rx, data, len);
    close(file);
    free(data);
}

/* [UIO-11]: bytes from off, and the file offset left where it was. */
static void
range(send_fn fn, const char *name)
{
    size_t len = 200 * KIB;
    char *data;
    int file = uiot_file("f", len, 12, &data);
    struct uiot_rx rx = {0};

    cr_assert(lseek(file, 12345, SEEK_SET) == 12345);
    uiot_rx_start(&rx, 70001, 64 * KIB, false);
    ssize_t n = fn(rx.send_fd, file, 1000, 70001);
    cr_assert_eq(n, 70001, "%s returned %zd, expected 70001", name, n);
    uiot_rx_expect(&rx, data + 1000, 70001);
    off_t at = lseek(file, 0, SEEK_CUR);
    cr_assert_eq(at, 12345,
                 "%s moved the file offset from 12345 to %lld: use the "
                 "offset argument, not the file's",
                 name, (long long)at);
    close(file);
    free(data);
}

/* [UIO-12]: a non-blocking socket with small buffers and a slow reader. */
static void
nonblocking(send_fn fn, const char *name)
{
    size_t len = 64 * KIB + 17; /* 16 times the buffers: EAGAIN, often */
    char *data;
    int file = uiot_file("f", len, 13, &data);
    struct uiot_rx rx = {0};

    uiot_rx_start(&rx, len, 1024, true);
    int fl = fcntl(rx.send_fd, F_GETFL);
    cr_assert(fcntl(rx.send_fd, F_SETFL, fl | O_NONBLOCK) == 0);
    ssize_t n = fn(rx.send_fd, file, 0, len);
    cr_assert_eq(n, (ssize_t)len,
                 "%s on a non-blocking socket returned %zd, expected %zu "
                 "(a full socket means wait, not stop)",
                 name, n, len);
    uiot_rx_expect(&rx, data, len);
    close(file);
    free(data);
}

/* [UIO-13]: the file ends before off + len. */
static void
short_file(send_fn fn, const char *name)
{
    char *data;
    int file = uiot_file("f", 5000, 14, &data);
    struct uiot_rx rx = {0};

    uiot_rx_start(&rx, 2000, 64 * KIB, false);
    ssize_t n = fn(rx.send_fd, file, 3000, 10000);
    cr_assert_eq(n, 2000,
                 "%s of 10000 bytes from 3000 in a 5000-byte file returned "
                 "%zd, expected 2000",
                 name, n);
    n = fn(rx.send_fd, file, 6000, 100);
    cr_assert_eq(n, 0, "%s from past the end returned %zd, expected 0", name,
                 n);
    uiot_rx_expect(&rx, data + 3000, 2000);
    close(file);
    free(data);
}

/* [UIO-14]: no read, write, send or recv family call. */
static void
no_user_copies(send_fn fn, const char *name)
{
    size_t len = 512 * KIB;
    char *data;
    int file = uiot_file("f", len, 15, &data);
    struct uiot_rx rx = {0};

    uiot_rx_start(&rx, len, 64 * KIB, false);
    fi_reset();
    ssize_t n = fn(rx.send_fd, file, 0, len);
    unsigned long calls = fi_calls(FI_READ) + fi_calls(FI_WRITE) +
                          fi_calls(FI_READV) + fi_calls(FI_WRITEV) +
                          fi_calls(FI_SEND) + fi_calls(FI_RECV);
    cr_assert_eq(n, (ssize_t)len, "%s returned %zd", name, n);
    cr_assert_eq(calls, 0,
                 "%s made %lu read/write/send/recv calls: the bytes went "
                 "through user space",
                 name, calls);
    uiot_rx_expect(&rx, data, len);
    close(file);
    free(data);
}

/* [UIO-15]: the peer resets after 64 KiB; the error is the result. */
static void
peer_gone(send_fn fn, const char *name)
{
    size_t len = 8 * KIB * KIB;
    int file = uiot_file("f", len, 16, NULL);
    struct uiot_rx rx = {.reset_at = 64 * KIB};

    signal(SIGPIPE, SIG_IGN); /* the caller's part (uio.h) */
    int before = tk_count_open_fds();
    uiot_rx_start(&rx, len, 16 * KIB, false);
    ssize_t n = fn(rx.send_fd, file, 0, len);
    int during = tk_count_open_fds();
    uiot_rx_finish(&rx);
    free(rx.buf);
    cr_assert(n == -EPIPE || n == -ECONNRESET,
              "%s to a peer that reset returned %zd: expected -EPIPE or "
              "-ECONNRESET, not a count",
              name, n);
    /* The sending end is open; the receiver closed its own to reset. */
    cr_assert_eq(during, before + 1,
                 "%s left %d descriptors open after an error", name,
                 during - before - 1);
    close(file);
}

/* ---- sendfile ------------------------------------------------------------ */

TK_TEST(zerocopy, send_file_whole,
        .description = "[UIO-10] uio_send_file: 2 MiB, every byte once and "
                       "in order")
{
    whole(uio_send_file, "uio_send_file");
}

TK_TEST(zerocopy, send_file_range,
        .description = "[UIO-11] uio_send_file: the bytes at off, and the "
                       "file offset untouched")
{
    range(uio_send_file, "uio_send_file");
}

TK_TEST(zerocopy, send_file_nonblocking,
        .description = "[UIO-12] uio_send_file: a non-blocking socket that "
                       "fills up is waited on")
{
    nonblocking(uio_send_file, "uio_send_file");
}

TK_TEST(zerocopy, send_file_short_file,
        .description = "[UIO-13] uio_send_file: a file that ends first gives "
                       "the count to its end")
{
    short_file(uio_send_file, "uio_send_file");
}

TK_TEST(zerocopy, send_file_no_user_copies,
        .description = "[UIO-14] uio_send_file: no read/write/send/recv call")
{
    no_user_copies(uio_send_file, "uio_send_file");
}

TK_TEST(zerocopy, send_file_peer_gone,
        .description = "[UIO-15] uio_send_file: a reset after 64 KiB is an "
                       "error, not a count")
{
    peer_gone(uio_send_file, "uio_send_file");
}

/* ---- splice -------------------------------------------------------------- */

TK_TEST(zerocopy, splice_whole,
        .description = "[UIO-16] uio_splice_file: 2 MiB, every byte once and "
                       "in order")
{
    whole(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_range,
        .description = "[UIO-16] uio_splice_file: the bytes at off, and the "
                       "file offset untouched")
{
    range(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_nonblocking,
        .description = "[UIO-16] uio_splice_file: a non-blocking socket that "
                       "fills up is waited on")
{
    nonblocking(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_short_file,
        .description = "[UIO-16] uio_splice_file: a file that ends first "
                       "gives the count to its end")
{
    short_file(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_no_user_copies,
        .description = "[UIO-16] uio_splice_file: no read/write/send/recv "
                       "call")
{
    no_user_copies(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_peer_gone,
        .description = "[UIO-16] [UIO-17] uio_splice_file: a reset is an "
                       "error, and the pipe is closed on that path")
{
    peer_gone(uio_splice_file, "uio_splice_file");
}

TK_TEST(zerocopy, splice_closes_pipe,
        .description = "[UIO-17] uio_splice_file: as many descriptors open "
                       "after a copy as before")
{
    size_t len = 300 * KIB;
    char *data;
    int file = uiot_file("f", len, 17, &data);
    struct uiot_rx rx = {0};

    uiot_rx_start(&rx, len, 64 * KIB, false);
    int before = tk_count_open_fds();
    ssize_t n = uio_splice_file(rx.send_fd, file, 0, len);
    int after = tk_count_open_fds();
    cr_assert_eq(n, (ssize_t)len, "uio_splice_file returned %zd", n);
    cr_assert_eq(after, before,
                 "%d descriptors open after uio_splice_file, %d before: "
                 "its pipe was not closed",
                 after, before);
    uiot_rx_expect(&rx, data, len);
    close(file);
    free(data);
}
