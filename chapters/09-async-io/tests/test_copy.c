/*
 * test_copy.c - exercise 1 of chapter 09: the copy on io_uring.
 *
 * Inputs are files of seeded bytes in the test's own directory, or a
 * pipe fed by a thread in uneven pieces (a pipe gives short reads). A
 * short write is made by the kernel itself: under RLIMIT_FSIZE a write
 * that crosses the limit writes up to it, and the next one fails with
 * EFBIG (setrlimit(2)). Every test that needs io_uring asks
 * uiot_need_uring first, so a machine without it skips them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "uiot.h"

#define KIB 1024

/* Copies a file of len bytes with opts; returns the result and stats. */
static ssize_t
copy_file(size_t len, const struct uio_copy_opts *opts,
          struct uio_copy_stats *st)
{
    char *data;
    int in = uiot_file("in", len, 9, &data);
    int out = uiot_out("out");

    ssize_t n = uio_copy(in, out, opts, st);
    if (n >= 0)
        uiot_expect_file(out, data, len);
    close(in);
    close(out);
    free(data);
    return n;
}

/* ---- [UIO-1] [UIO-2] ------------------------------------------------------
 */

TK_TEST(copy, copies_exactly,
        .description = "[UIO-1] a 3 MiB file with the defaults: every byte, "
                       "the count returned and in stats")
{
    uiot_need_uring();
    struct uio_copy_stats st;
    size_t len = 3 * KIB * KIB;

    ssize_t n = copy_file(len, NULL, &st);
    cr_assert_eq(n, (ssize_t)len, "uio_copy returned %zd, expected %zu", n,
                 len);
    cr_assert_eq(st.bytes, len, "stats.bytes is %llu, expected %zu",
                 (unsigned long long)st.bytes, len);
}

TK_TEST(copy, empty_input,
        .description = "[UIO-1] an empty file: 0, an empty output, no write")
{
    uiot_need_uring();
    struct uio_copy_stats st;

    ssize_t n = copy_file(0, NULL, &st);
    cr_assert_eq(n, 0, "uio_copy of an empty file returned %zd", n);
    cr_assert_eq(st.writes, 0, "an empty copy made %llu writes",
                 (unsigned long long)st.writes);
}

TK_TEST(copy, unaligned_end,
        .description = "[UIO-2] 5 blocks and 777 bytes: nothing written past "
                       "the input's end")
{
    uiot_need_uring();
    struct uio_copy_opts o = {.queue_depth = 4, .block_size = 4 * KIB};
    size_t len = 5 * 4 * KIB + 777;

    /* uiot_expect_file checks the size: a block written whole fails. */
    ssize_t n = copy_file(len, &o, NULL);
    cr_assert_eq(n, (ssize_t)len, "uio_copy returned %zd, expected %zu", n,
                 len);
}

/* ---- [UIO-3] [UIO-4] ------------------------------------------------------
 */

TK_TEST(copy, keeps_queue_full,
        .description = "[UIO-3] 16 blocks at depth 4: exactly 4 requests in "
                       "flight at the most")
{
    uiot_need_uring();
    struct uio_copy_opts o = {.queue_depth = 4, .block_size = 4 * KIB};
    struct uio_copy_stats st;
    size_t len = 16 * 4 * KIB + 1;

    ssize_t n = copy_file(len, &o, &st);
    cr_assert_eq(n, (ssize_t)len, "uio_copy returned %zd, expected %zu", n,
                 len);
    cr_assert_eq(st.max_in_flight, 4,
                 "stats.max_in_flight is %u: expected the queue depth, 4 "
                 "(one at a time is a read/write loop; more overflows)",
                 st.max_in_flight);
}

TK_TEST(copy, no_read_or_write_calls,
        .description = "[UIO-4] the bytes move by io_uring requests, not by "
                       "read/write calls")
{
    uiot_need_uring();
    fi_reset();
    ssize_t n = copy_file(256 * KIB + 5, NULL, NULL);
    cr_assert_eq(n, 256 * KIB + 5, "uio_copy returned %zd", n);
    unsigned long calls = fi_calls(FI_READ) + fi_calls(FI_WRITE) +
                          fi_calls(FI_READV) + fi_calls(FI_WRITEV);
    cr_assert_eq(calls, 0,
                 "the copy made %lu read/write family calls: io_uring "
                 "requests only",
                 calls);
}

/* ---- [UIO-5] short reads from a pipe ------------------------------------- */

/*
 * Writes data into the pipe's write end in uneven pieces of 1 to 5000
 * bytes, from a child process. Not a thread: Valgrind (3.19) holds its
 * one lock while a thread waits in io_uring_enter, so a feeding thread
 * would never run while the copy waits for the pipe.
 */
static pid_t
feed(int rd, int wr, const char *data, size_t len)
{
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid > 0) {
        close(wr);
        return pid;
    }
    close(rd);
    struct tk_rng rng;
    size_t off = 0;
    tk_rng_seed(&rng, 77);
    while (off < len) {
        size_t n = 1 + (size_t)tk_rng_below(&rng, 5000);
        if (n > len - off)
            n = len - off;
        ssize_t w = write(wr, data + off, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1);
        off += (size_t)w;
    }
    _exit(0);
}

TK_TEST(copy, short_reads_from_pipe,
        .description = "[UIO-5] a pipe fed in uneven pieces: each short read "
                       "lands where it belongs, and the copy goes on")
{
    uiot_need_uring();
    size_t len = 600 * KIB + 3;
    char *data = tk_xmalloc(len);
    tk_fill(data, len, 5);
    int p[2];
    tk_pipe(p);
    int out = uiot_out("out");
    pid_t feeder = feed(p[0], p[1], data, len);

    struct uio_copy_stats st;
    ssize_t n = uio_copy(p[0], out, NULL, &st);
    /* Closed before the wait: a copy that stopped early must not leave
     * the feeder blocked on a full pipe (it dies of SIGPIPE instead). */
    close(p[0]);
    int status;
    cr_assert(waitpid(feeder, &status, 0) == feeder);
    cr_assert_eq(n, (ssize_t)len,
                 "uio_copy from a pipe returned %zd, expected %zu", n, len);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the process feeding the pipe failed");
    cr_assert_gt(st.short_reads, 0,
                 "a pipe holds at most 64 KiB: some read must be short");
    uiot_expect_file(out, data, len);
    close(out);
    free(data);
}

/* ---- [UIO-6] [UIO-7] short writes and errors ---------------------------- */

TK_TEST(copy, short_write_then_efbig,
        .description = "[UIO-6] [UIO-7] a write cut short by RLIMIT_FSIZE is "
                       "resubmitted; its EFBIG is the result, with the bytes "
                       "written up to the limit")
{
    uiot_need_uring();
    struct uio_copy_opts o = {.queue_depth = 4, .block_size = 4 * KIB};
    size_t len = 4 * 4 * KIB;          /* four blocks, all in flight at once */
    size_t limit = 3 * 4 * KIB + 1234; /* inside the last block */
    char *data;
    int in = uiot_file("in", len, 3, &data);
    int out = uiot_out("out");

    /* Crossing the limit raises SIGXFSZ, which would end the test. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    cr_assert(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit lim = {.rlim_cur = limit, .rlim_max = old.rlim_max};
    cr_assert(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    struct uio_copy_stats st;
    ssize_t n = uio_copy(in, out, &o, &st);
    setrlimit(RLIMIT_FSIZE, &old);

    cr_assert_eq(n, -EFBIG,
                 "uio_copy returned %zd: expected -EFBIG (%d), the error of "
                 "the write resubmitted after the short one",
                 n, -EFBIG);
    cr_assert_eq(st.bytes, limit,
                 "stats.bytes is %llu: the writes put exactly %zu bytes",
                 (unsigned long long)st.bytes, limit);
    cr_assert_geq(st.short_writes, 1, "the write across the limit is short");
    uiot_expect_file(out, data, limit);
    close(in);
    close(out);
    free(data);
}

TK_TEST(copy, write_error_stops_copy,
        .description = "[UIO-7] an output that refuses writes: -EBADF, no "
                       "byte counted, and no new block read after it")
{
    uiot_need_uring();
    struct uio_copy_opts o = {.queue_depth = 4, .block_size = 4 * KIB};
    int in = uiot_file("in", 1024 * KIB, 4, NULL);
    char *path = tk_path("ro");
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    close(fd);
    int out = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(out >= 0);
    free(path);

    struct uio_copy_stats st;
    ssize_t n = uio_copy(in, out, &o, &st);
    cr_assert_eq(n, -EBADF, "uio_copy returned %zd, expected -EBADF", n);
    cr_assert_eq(st.bytes, 0, "stats.bytes is %llu after failed writes",
                 (unsigned long long)st.bytes);
    cr_assert_leq(st.reads, 8,
                  "%llu reads of 256 blocks: the copy went on after the "
                  "first error",
                  (unsigned long long)st.reads);
    close(in);
    close(out);
}

TK_TEST(copy, read_error_is_result,
        .description = "[UIO-7] an input that cannot be read (a directory): "
                       "-EISDIR")
{
    uiot_need_uring();
    int in = open(tk_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert(in >= 0);
    int out = uiot_out("out");

    ssize_t n = uio_copy(in, out, NULL, NULL);
    cr_assert_eq(n, -EISDIR,
                 "uio_copy of a directory returned %zd, "
                 "expected -EISDIR",
                 n);
    close(in);
    close(out);
}

/* ---- [UIO-8] [UIO-9] --------------------------------------------------------
 */

TK_TEST(copy, rejects_bad_opts,
        .description = "[UIO-8] a depth or block size above the maximum: "
                       "-EINVAL and nothing written")
{
    struct uio_copy_opts deep = {.queue_depth = UIO_MAX_QD + 1};
    struct uio_copy_opts wide = {.block_size = UIO_MAX_BLOCK + 1};
    int in = uiot_file("in", 1000, 1, NULL);
    int out = uiot_out("out");

    cr_assert_eq(uio_copy(in, out, &deep, NULL), -EINVAL,
                 "queue_depth UIO_MAX_QD + 1 must give -EINVAL");
    cr_assert_eq(uio_copy(in, out, &wide, NULL), -EINVAL,
                 "block_size UIO_MAX_BLOCK + 1 must give -EINVAL");
    struct stat st;
    cr_assert(fstat(out, &st) == 0);
    cr_assert_eq(st.st_size, 0, "a refused copy wrote %lld bytes",
                 (long long)st.st_size);
    close(in);
    close(out);
}

TK_TEST(copy, gives_back_descriptors,
        .description = "[UIO-9] after a copy that succeeds and one that "
                       "fails, as many descriptors open as before")
{
    uiot_need_uring();
    int in = uiot_file("in", 100 * KIB, 2, NULL);
    int out = uiot_out("out");
    int before = tk_count_open_fds();

    cr_assert_eq(uio_copy(in, out, NULL, NULL), 100 * KIB);
    int bad = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int after_ok = tk_count_open_fds() - 1;
    cr_assert_lt(uio_copy(bad, out, NULL, NULL), 0);
    int after_err = tk_count_open_fds() - 1;
    close(bad);
    cr_assert_eq(after_ok, before,
                 "%d descriptors open after a copy, %d before: the ring "
                 "was not closed",
                 after_ok, before);
    cr_assert_eq(after_err, before,
                 "%d descriptors open after a failed copy, %d before",
                 after_err, before);
    close(in);
    close(out);
}
