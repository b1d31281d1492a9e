/*
 * test_rw.c - exercise 1 of chapter 01: nb_read_full and nb_write_full.
 *
 * Short transfers and EINTR are injected deterministically with the fault
 * layer (iolab/fault.h), so every path is exercised on every run; a real
 * pipe, a real socketpair and a real signal check the same promises
 * against the kernel itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "nb.h"

/* ---- reads ----------------------------------------------------------- */

TK_TEST(rw, read_full_short_reads,
        .description = "[NB-1] nb_read_full keeps reading across short reads")
{
    char src[1000], dst[1000];
    int p[2];

    tk_fill(src, sizeof(src), 1);
    tk_pipe(p);
    tk_write_all(p[1], src, sizeof(src));
    cr_assert_eq(fi_plan(FI_READ, "short:7 *"), 0);

    ssize_t n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, 1000,
                 "nb_read_full returned %zd while every read was cut "
                 "to 7 bytes; expected 1000: a short read is not the end",
                 n);
    cr_assert_arr_eq(dst, src, sizeof(src),
                     "the bytes read differ from the bytes written");
    cr_assert_geq(fi_calls(FI_READ), 143,
                  "expected at least 143 read() calls "
                  "(1000 bytes, 7 at a time); got %lu: read through read(2)",
                  fi_calls(FI_READ));
}

TK_TEST(
    rw, read_full_eof_returns_count,
    .description = "[NB-2] at EOF nb_read_full returns the count read so far")
{
    char src[100], dst[300];
    int p[2];

    tk_fill(src, sizeof(src), 2);
    tk_pipe(p);
    tk_write_all(p[1], src, sizeof(src));
    close(p[1]);
    cr_assert_eq(fi_plan(FI_READ, "short:30 *"), 0);

    ssize_t n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, 100,
                 "asked for 300 bytes from a pipe holding 100 and then "
                 "EOF: expected 100, got %zd",
                 n);
    cr_assert_arr_eq(dst, src, sizeof(src));

    n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, 0, "a second call at EOF should return 0, got %zd", n);
}

TK_TEST(rw, zero_length_does_nothing,
        .description = "[NB-3] a zero length reads and writes nothing")
{
    char c = 'x';
    int p[2];

    tk_pipe(p);
    cr_assert_eq(nb_read_full(p[0], &c, 0), 0,
                 "nb_read_full(len 0) must return 0 at once");
    cr_assert_eq(nb_write_full(p[1], &c, 0), 0,
                 "nb_write_full(len 0) must return 0 at once");
    cr_assert_eq(fi_calls(FI_READ) + fi_calls(FI_WRITE), 0,
                 "a zero length must return at once, without calling "
                 "read() or write()");
}

TK_TEST(rw, read_full_reports_errors,
        .description = "[NB-4] a failed read returns -errno")
{
    char buf[16];
    int p[2];

    cr_assert_eq(nb_read_full(-1, buf, sizeof(buf)), -EBADF,
                 "reading fd -1 should return -EBADF");
    int dir = open(tk_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dir, 0);
    cr_assert_eq(nb_read_full(dir, buf, sizeof(buf)), -EISDIR,
                 "reading a directory should return -EISDIR");
    close(dir);

    tk_pipe(p);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    cr_assert_eq(nb_read_full(p[0], buf, sizeof(buf)), -EAGAIN,
                 "an empty non-blocking pipe should give -EAGAIN");
}

TK_TEST(rw, read_full_retries_eintr,
        .description = "[NB-5] nb_read_full retries EINTR (injected)")
{
    char src[500], dst[500];
    int p[2];

    tk_fill(src, sizeof(src), 5);
    tk_pipe(p);
    tk_write_all(p[1], src, sizeof(src));
    cr_assert_eq(fi_plan(FI_READ, "eintr eintr short:50 eintr *"), 0);

    ssize_t n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, 500,
                 "with EINTR injected before reads, expected 500, got %zd "
                 "(%s)",
                 n, n < 0 ? strerror((int)-n) : "short");
    cr_assert_arr_eq(dst, src, sizeof(src));
}

/* ---- a real signal ----------------------------------------------------- */

static volatile sig_atomic_t signals_seen;

static void
on_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

struct signaller {
    pthread_t reader; /* the thread blocked in nb_read_full */
    pid_t reader_tid; /* its kernel thread id, to watch its state */
    int wfd;          /* write end of the pipe it reads */
};

/* Interrupts the blocked reader three times, then sends it the data. */
static void *
signaller_main(void *arg)
{
    struct signaller *s = arg;
    char data[64];

    for (int i = 0; i < 3; i++) {
        tk_wait_sleeping(s->reader_tid, 5000);
        pthread_kill(s->reader, SIGUSR1);
        while (signals_seen <= i)
            sched_yield();
    }
    tk_fill(data, sizeof(data), 6);
    tk_write_all(s->wfd, data, sizeof(data));
    return NULL;
}

TK_TEST(rw, read_full_real_signal,
        .description =
            "[NB-5] a real signal without SA_RESTART does not surface as EINTR")
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    char want[64], got[64];
    int p[2];
    pthread_t th;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    tk_pipe(p);
    struct signaller s = {
        .reader = pthread_self(), .reader_tid = tk_gettid(), .wfd = p[1]};
    pthread_create(&th, NULL, signaller_main, &s);

    ssize_t n = nb_read_full(p[0], got, sizeof(got));
    pthread_join(th, NULL);
    cr_assert_eq(signals_seen, 3, "the test's signals did not all arrive");
    cr_assert_eq(n, 64,
                 "a read interrupted by a signal (no SA_RESTART) must be "
                 "retried; expected 64, got %zd (%s)",
                 n, n < 0 ? strerror((int)-n) : "short");
    tk_fill(want, sizeof(want), 6);
    cr_assert_arr_eq(got, want, sizeof(want));
}

/* ---- writes ------------------------------------------------------------ */

TK_TEST(rw, write_full_short_writes,
        .description =
            "[NB-6] nb_write_full continues short writes where they stopped")
{
    char src[10000], dst[10000];
    int p[2];

    tk_fill(src, sizeof(src), 7);
    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITE, "short:3 short:1000 short:1 *"), 0);

    ssize_t n = nb_write_full(p[1], src, sizeof(src));
    cr_assert_eq(n, 10000, "expected 10000 with writes cut short, got %zd", n);
    cr_assert_eq(tk_read_exact(p[0], dst, sizeof(dst), 2000), 10000,
                 "the pipe did not receive 10000 bytes");
    cr_assert_arr_eq(dst, src, sizeof(src),
                     "the bytes in the pipe differ from the bytes written: "
                     "after a short write, continue from where it stopped");
}

TK_TEST(rw, write_full_retries_eintr,
        .description = "[NB-5] nb_write_full retries EINTR (injected)")
{
    char src[600], dst[600];
    int p[2];

    tk_fill(src, sizeof(src), 8);
    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITE, "eintr short:100 eintr eintr *"), 0);
    ssize_t n = nb_write_full(p[1], src, sizeof(src));
    cr_assert_eq(n, 600, "with EINTR injected, expected 600, got %zd", n);
    cr_assert_eq(tk_read_exact(p[0], dst, sizeof(dst), 2000), 600);
    cr_assert_arr_eq(dst, src, sizeof(src));
}

TK_TEST(
    rw, write_full_reports_errors,
    .description =
        "[NB-7] a failed write returns -errno: EPIPE, ENOSPC, EAGAIN, EBADF")
{
    char buf[4096] = {0};
    int p[2];

    signal(SIGPIPE, SIG_IGN);
    tk_pipe(p);
    close(p[0]);
    cr_assert_eq(nb_write_full(p[1], buf, 10), -EPIPE,
                 "writing to a pipe with no reader should return -EPIPE");

    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(full, 0, "/dev/full is missing");
    cr_assert_eq(nb_write_full(full, buf, 10), -ENOSPC,
                 "writing to /dev/full should return -ENOSPC");
    close(full);

    cr_assert_eq(nb_write_full(-1, buf, 10), -EBADF);

    tk_pipe(p);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    ssize_t n;
    for (int i = 0; i < 1024; i++) /* fill the pipe: 64 KiB by default */
        if ((n = write(p[1], buf, sizeof(buf))) < 0)
            break;
    cr_assert_eq(nb_write_full(p[1], buf, sizeof(buf)), -EAGAIN,
                 "a full non-blocking pipe should give -EAGAIN");
}

TK_TEST(
    rw, write_full_zero_is_eio,
    .description = "[NB-8] write() returning 0 gives -EIO instead of spinning")
{
    char buf[32] = {0};
    int p[2];

    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITE, "zero *"), 0);
    ssize_t n = nb_write_full(p[1], buf, sizeof(buf));
    cr_assert_eq(n, -EIO, "when write() returns 0, expected -EIO, got %zd", n);
    cr_assert_leq(fi_calls(FI_WRITE), 1,
                  "write() returned 0 and was called "
                  "again %lu times: it will never make progress",
                  fi_calls(FI_WRITE) - 1);
}

/* ---- an error after partial progress ---------------------------------- */

TK_TEST(rw, errors_after_partial_progress,
        .description = "[NB-4][NB-7] an error after some bytes moved still "
                       "returns -errno, not the count so far")
{
    char src[100], dst[100];
    int p[2];

    tk_fill(src, sizeof(src), 10);
    tk_pipe(p);
    tk_write_all(p[1], src, sizeof(src));
    memset(dst, 0, sizeof(dst));
    cr_assert_eq(fi_plan(FI_READ, "short:10 err:EIO"), 0);
    ssize_t n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, -EIO,
                 "10 bytes were read, then read() failed with EIO: "
                 "nb_read_full must return -EIO (-5), got %zd: the error "
                 "wins over the bytes already read",
                 n);
    cr_assert_arr_eq(dst, src, 10,
                     "the 10 bytes read before the error are not in buf");

    tk_pipe(p);
    cr_assert_eq(fi_plan(FI_WRITE, "short:10 err:ENOSPC"), 0);
    n = nb_write_full(p[1], src, sizeof(src));
    cr_assert_eq(n, -ENOSPC,
                 "10 bytes were written, then write() failed with ENOSPC: "
                 "nb_write_full must return -ENOSPC (-28), got %zd: the "
                 "error wins over the bytes already written",
                 n);
    close(p[1]);
    cr_assert_eq(tk_read_exact(p[0], dst, sizeof(dst), 2000), 10,
                 "exactly the 10 bytes written before the error should be "
                 "in the pipe");
    cr_assert_arr_eq(dst, src, 10);
}

/* ---- a large transfer through the kernel -------------------------------- */

#define BIG (8u << 20) /* 8 MiB: far more than a socket buffer holds */

struct big_reader {
    int fd;
    char *buf;
    ssize_t result;
};

static void *
big_reader_main(void *arg)
{
    struct big_reader *r = arg;

    r->result = nb_read_full(r->fd, r->buf, BIG);
    return NULL;
}

TK_TEST(
    rw, large_transfer_socketpair,
    .description =
        "[NB-1][NB-6] 8 MiB through a socketpair: real short reads and writes")
{
    char *src = tk_xmalloc(BIG), *dst = tk_xmalloc(BIG);
    int sp[2];
    pthread_t th;

    tk_fill(src, BIG, 9);
    tk_socketpair(sp);
    struct big_reader r = {.fd = sp[1], .buf = dst};
    pthread_create(&th, NULL, big_reader_main, &r);

    ssize_t n = nb_write_full(sp[0], src, BIG);
    pthread_join(th, NULL);
    cr_assert_eq(n, (ssize_t)BIG, "nb_write_full returned %zd", n);
    cr_assert_eq(r.result, (ssize_t)BIG, "nb_read_full returned %zd", r.result);
    cr_assert(memcmp(src, dst, BIG) == 0, "8 MiB arrived altered");
    free(src);
    free(dst);
}
