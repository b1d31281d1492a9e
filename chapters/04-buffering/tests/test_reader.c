/*
 * test_reader.c - exercise 2 of chapter 04: the buffered reader.
 *
 * The reader is fed from regular files (where one read(2) fills the whole
 * buffer, so system calls can be counted exactly), from pipes and
 * socketpairs written by a thread in small, uneven pieces (real short
 * reads), and through the fault layer, which cuts reads short, injects
 * EINTR and fails them deterministically.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ---- helpers ----------------------------------------------------------- */

static int
open_file(const char *name, const void *data, size_t len)
{
    char *path = tk_make_file(name, data, len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    free(path);
    return fd;
}

static void
init_reader(struct buf_reader *r, int fd, size_t cap)
{
    int err = buf_reader_init(r, fd, cap);
    cr_assert_eq(err, 0, "buf_reader_init(cap %zu) returned %d", cap, err);
}

/* Reads one record, which must be exactly want (of length len). */
static void
expect_record(struct buf_reader *r, int delim, char **line, size_t *size,
              const char *want, size_t len)
{
    ssize_t n = buf_read_until(r, delim, line, size);
    cr_assert_eq(n, (ssize_t)len,
                 "buf_read_until returned %zd (%s); expected %zu bytes, "
                 "\"%.40s\"",
                 n, n < 0 ? strerror((int)-n) : "a count", len, want);
    cr_assert_not_null(*line, "buf_read_until left *linep NULL");
    cr_assert_arr_eq(*line, want, len,
                     "the record differs from \"%.40s\": got \"%.40s\"", want,
                     *line);
    cr_assert_eq((*line)[len], '\0', "the record is not '\\0'-terminated");
    cr_assert_gt(*size, len, "*sizep (%zu) leaves no room for the '\\0'",
                 *size);
}

/*
 * A thread that writes a buffer into fd in uneven pieces of 1 to max
 * bytes, yielding between them, then closes fd: real short reads.
 */
struct feeder {
    pthread_t thread;
    int fd;
    const char *data;
    size_t len;
    size_t max;
};

static void *
feeder_main(void *arg)
{
    struct feeder *f = arg;
    struct tk_rng rng;

    tk_rng_seed(&rng, f->len);
    for (size_t off = 0; off < f->len;) {
        size_t k = 1 + tk_rng_below(&rng, f->max);
        if (k > f->len - off)
            k = f->len - off;
        if (write(f->fd, f->data + off, k) != (ssize_t)k)
            break; /* the test failed and closed its end */
        off += k;
        sched_yield();
    }
    close(f->fd);
    return NULL;
}

static void
feeder_start(struct feeder *f, int fd, const char *data, size_t len, size_t max)
{
    *f = (struct feeder){.fd = fd, .data = data, .len = len, .max = max};
    int err = pthread_create(&f->thread, NULL, feeder_main, f);
    cr_assert_eq(err, 0, "pthread_create: %s", strerror(err));
}

/* Text of `count` lines of varying length, "line 17: xxxx...\n". */
static char *
make_lines(int count, size_t *len)
{
    char *text = tk_xmalloc((size_t)count * 120);
    size_t off = 0;

    for (int i = 0; i < count; i++) {
        off += (size_t)sprintf(text + off, "line %d: ", i);
        for (int k = 0; k < (i * 37) % 100; k++)
            text[off++] = (char)('a' + (i + k) % 26);
        text[off++] = '\n';
    }
    *len = off;
    return text;
}

/* Checks that the reader returns exactly the lines of text, then EOF. */
static void
expect_lines(struct buf_reader *r, const char *text, size_t len)
{
    char *line = NULL;
    size_t size = 0;

    for (size_t off = 0; off < len;) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t k = (size_t)(nl - (text + off)) + 1;
        expect_record(r, '\n', &line, &size, text + off, k);
        off += k;
    }
    ssize_t n = buf_read_until(r, '\n', &line, &size);
    cr_assert_eq(n, 0, "after the last line expected 0 (EOF), got %zd", n);
    free(line);
}

/* ---- buf_read --------------------------------------------------------- */

TK_TEST(reader, read_exact_across_refills,
        .description = "[BUF-13] [BUF-15] buf_read returns exactly n bytes "
                       "across refills, then a short count and 0 at EOF")
{
    struct buf_reader r;
    char src[1000], dst[1000];
    struct tk_rng rng;

    tk_fill(src, sizeof(src), 21);
    tk_rng_seed(&rng, 21);
    int fd = open_file("in", src, sizeof(src));
    init_reader(&r, fd, 16);
    size_t off = 0;
    while (off < 950) {
        size_t k = 1 + tk_rng_below(&rng, 40);
        ssize_t n = buf_read(&r, dst + off, k);
        cr_assert_eq(n, (ssize_t)k,
                     "buf_read(%zu) at offset %zu returned %zd; expected "
                     "%zu: the file has plenty left",
                     k, off, n, k);
        off += k;
    }
    ssize_t n = buf_read(&r, dst + off, 100);
    cr_assert_eq(n, (ssize_t)(1000 - off),
                 "asked for 100 bytes with %zu left before EOF: expected "
                 "%zu, got %zd",
                 1000 - off, 1000 - off, n);
    cr_assert_arr_eq(dst, src, sizeof(src), "the bytes read differ");
    cr_assert_eq(buf_read(&r, dst, 10), 0, "at EOF buf_read must return 0");
    cr_assert_eq(buf_read(&r, dst, 10), 0,
                 "a second read at EOF must return 0 too");
    cr_assert_eq(buf_read(&r, dst, 0), 0, "n == 0 must return 0");
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, refill_asks_for_whole_capacity,
        .description = "[BUF-13] reading a file in small pieces costs one "
                       "read(2) per buffer, plus one for EOF")
{
    struct buf_reader r;
    char src[1000], dst[8];

    tk_fill(src, sizeof(src), 22);
    int fd = open_file("in", src, sizeof(src));
    init_reader(&r, fd, 100);
    for (size_t off = 0; off < sizeof(src); off += 7) {
        ssize_t n = buf_read(&r, dst, 7);
        size_t want = sizeof(src) - off < 7 ? sizeof(src) - off : 7;
        cr_assert_eq(n, (ssize_t)want, "buf_read(7) returned %zd", n);
        cr_assert_arr_eq(dst, src + off, want, "bytes at %zu differ", off);
    }
    cr_assert_leq(fi_calls(FI_READ), 11,
                  "reading 1000 bytes 7 at a time through a 100-byte "
                  "buffer made %lu read() calls; expected at most 11 (10 "
                  "fills and one that sees EOF): refill with the whole "
                  "capacity, only when the buffer is empty",
                  fi_calls(FI_READ));
    cr_assert_eq(buf_read(&r, dst, 7), 0, "expected 0 at EOF");
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, large_read_goes_direct,
        .description = "[BUF-14] with the buffer empty, reads of cap bytes "
                       "or more go straight into the caller's memory")
{
    struct buf_reader r;
    char src[10000], dst[10000];

    tk_fill(src, sizeof(src), 23);
    int fd = open_file("in", src, sizeof(src));
    init_reader(&r, fd, 64);
    ssize_t n = buf_read(&r, dst, 5000);
    cr_assert_eq(n, 5000);
    cr_assert_eq(fi_calls(FI_READ), 1,
                 "buf_read(5000) through an empty 64-byte buffer made %lu "
                 "read() calls; expected 1, straight into dst",
                 fi_calls(FI_READ));
    n = buf_read(&r, dst + 5000, 10);
    cr_assert_eq(n, 10);
    /* 54 bytes buffered: they come first, then the rest goes direct. */
    n = buf_read(&r, dst + 5010, 4990);
    cr_assert_eq(n, 4990, "buf_read(4990) returned %zd", n);
    cr_assert_eq(fi_calls(FI_READ), 3,
                 "after a 10-byte read (one fill), a 4990-byte read should "
                 "take the 54 buffered bytes and read the rest in one "
                 "call: expected 3 read() calls in all, saw %lu",
                 fi_calls(FI_READ));
    cr_assert_arr_eq(dst, src, sizeof(src), "the bytes read differ");
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, short_reads_and_eintr,
        .description = "[BUF-13] short reads and EINTR (injected) are "
                       "handled by buf_read and buf_read_until")
{
    struct buf_reader r;
    size_t len;
    char *text = make_lines(60, &len);
    char *dst = tk_xmalloc(len);

    int fd = open_file("in", text, len);
    cr_assert_eq(fi_plan(FI_READ, "short:3 eintr short:1 eintr eintr *"), 0);
    init_reader(&r, fd, 50);
    ssize_t n = buf_read(&r, dst, 500);
    cr_assert_eq(n, 500,
                 "with reads cut to 3 and 1 bytes and EINTR between them, "
                 "buf_read(500) returned %zd",
                 n);
    cr_assert_arr_eq(dst, text, 500, "the bytes read differ");
    buf_reader_close(&r);

    lseek(fd, 0, SEEK_SET);
    init_reader(&r, fd, 50);
    expect_lines(&r, text, len);
    buf_reader_close(&r);
    close(fd);
    free(dst);
    free(text);
}

TK_TEST(reader, eof_on_a_pipe,
        .description = "[BUF-15] [BUF-18] on a pipe, EOF gives the short "
                       "count, a last line without newline, then 0")
{
    struct buf_reader r;
    char dst[100];
    char *line = NULL;
    size_t size = 0;
    int p[2];

    tk_pipe(p);
    tk_write_all(p[1], "0123456789", 10);
    close(p[1]);
    init_reader(&r, p[0], 64);
    ssize_t n = buf_read(&r, dst, 100);
    cr_assert_eq(n, 10,
                 "a pipe with 10 bytes then EOF: buf_read(100) "
                 "should return 10, got %zd",
                 n);
    cr_assert_eq(buf_read(&r, dst, 100), 0);
    buf_reader_close(&r);
    close(p[0]);

    tk_pipe(p);
    tk_write_all(p[1], "one\ntwo", 7);
    close(p[1]);
    init_reader(&r, p[0], 64);
    expect_record(&r, '\n', &line, &size, "one\n", 4);
    expect_record(&r, '\n', &line, &size, "two", 3);
    n = buf_read_until(&r, '\n', &line, &size);
    cr_assert_eq(n, 0,
                 "after the last line (without newline) expected 0, got "
                 "%zd",
                 n);
    free(line);
    buf_reader_close(&r);
    close(p[0]);
}

/*
 * Feeds `count` lines into fds[1] from a thread, in pieces of 1 to max
 * bytes, and checks that a reader of capacity cap on fds[0] returns
 * exactly those lines, then EOF.
 */
static void
feed_and_expect_lines(int fds[2], int count, size_t max, size_t cap)
{
    struct buf_reader r;
    struct feeder f;
    size_t len;
    char *text = make_lines(count, &len);

    feeder_start(&f, fds[1], text, len, max);
    init_reader(&r, fds[0], cap);
    expect_lines(&r, text, len);
    pthread_join(f.thread, NULL);
    buf_reader_close(&r);
    close(fds[0]);
    free(text);
}

TK_TEST(reader, slow_pipe_writer,
        .description = "[BUF-13] [BUF-16] lines written into a pipe a few "
                       "bytes at a time are read whole")
{
    int p[2];

    tk_pipe(p);
    feed_and_expect_lines(p, 300, 7, 32);
}

TK_TEST(reader, lines_over_a_socket,
        .description = "[BUF-13] [BUF-16] [BUF-17] lines of every length "
                       "over a socketpair, in uneven pieces")
{
    int sv[2];

    tk_socketpair(sv);
    /* A 40-byte buffer is smaller than many lines: returned whole. */
    feed_and_expect_lines(sv, 400, 300, 40);
}

/* ---- records ---------------------------------------------------------- */

TK_TEST(reader, lines_and_empty_lines,
        .description = "[BUF-16] [BUF-18] lines come back with their "
                       "newline and a '\\0'; empty lines and the last line")
{
    struct buf_reader r;
    char *line = NULL;
    size_t size = 0;
    const char text[] = "ab\ncd\n\n\nlast";

    int fd = open_file("in", text, sizeof(text) - 1);
    init_reader(&r, fd, 8);
    expect_record(&r, '\n', &line, &size, "ab\n", 3);
    expect_record(&r, '\n', &line, &size, "cd\n", 3);
    expect_record(&r, '\n', &line, &size, "\n", 1);
    expect_record(&r, '\n', &line, &size, "\n", 1);
    expect_record(&r, '\n', &line, &size, "last", 4);
    cr_assert_eq(buf_read_until(&r, '\n', &line, &size), 0,
                 "after the last line, expected 0 (EOF)");
    cr_assert_eq(buf_read_until(&r, '\n', &line, &size), 0,
                 "EOF again must give 0 again");
    cr_assert_eq(buf_read_until(&r, '\n', NULL, &size), -EINVAL,
                 "a NULL linep must give -EINVAL");
    free(line);
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, any_delimiter,
        .description = "[BUF-16] the delimiter may be any byte, '\\0' "
                       "included, and records may hold '\\0'")
{
    struct buf_reader r;
    char *rec = NULL;
    size_t size = 0;
    const char text[] = "alpha\0beta\0\0gam,ma\0";

    int fd = open_file("in", text, sizeof(text) - 1);
    init_reader(&r, fd, 4);
    expect_record(&r, '\0', &rec, &size, "alpha", 6);
    expect_record(&r, '\0', &rec, &size, "beta", 5);
    expect_record(&r, '\0', &rec, &size, "", 1);
    expect_record(&r, ',', &rec, &size, "gam,", 4);
    /* Records may hold the byte 0: "ma\0" ends at EOF for delimiter ';'. */
    expect_record(&r, ';', &rec, &size, "ma", 3);
    cr_assert_eq(buf_read_until(&r, ';', &rec, &size), 0);
    free(rec);
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, line_longer_than_buffer,
        .description = "[BUF-17] a line longer than the buffer is returned "
                       "whole, growing the caller's buffer")
{
    struct buf_reader r;
    size_t big = 5000;
    char *text = tk_xmalloc(big + 3);
    size_t size = 4;
    char *line = malloc(size);

    tk_fill(text, big, 24);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (unsigned char)text[i] % 26);
    text[big] = '\n';
    text[big + 1] = 'x';
    text[big + 2] = '\n';
    int fd = open_file("in", text, big + 3);
    init_reader(&r, fd, 16);
    expect_record(&r, '\n', &line, &size, text, big + 1);
    expect_record(&r, '\n', &line, &size, "x\n", 2);
    free(line);

    /* Starting from NULL, as getline allows. */
    lseek(fd, 0, SEEK_SET);
    buf_reader_close(&r);
    init_reader(&r, fd, 16);
    line = NULL;
    size = 0;
    expect_record(&r, '\n', &line, &size, text, big + 1);
    free(line);
    buf_reader_close(&r);
    close(fd);
    free(text);
}

/* ---- errors ------------------------------------------------------------ */

TK_TEST(reader, errors_are_returned,
        .description = "[BUF-9] read errors are returned as -errno; after "
                       "partial data they come on the next call")
{
    struct buf_reader r;
    char dst[64];
    char *line = NULL;
    size_t size = 0;

    int dir = open(tk_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dir, 0);
    init_reader(&r, dir, 32);
    ssize_t n = buf_read(&r, dst, 10);
    cr_assert_eq(n, -EISDIR,
                 "reading a directory: expected -EISDIR (-21), got %zd", n);
    buf_reader_close(&r);
    close(dir);

    int fd = open_file("in", "abcdefghij\nklm\n", 15);
    init_reader(&r, fd, 32);
    cr_assert_eq(fi_plan(FI_READ, "short:5 err:EIO"), 0);
    n = buf_read(&r, dst, 8);
    cr_assert_eq(n, 5,
                 "5 bytes arrived, then EIO: buf_read(8) should return 5 "
                 "now and the error next; got %zd",
                 n);
    cr_assert_arr_eq(dst, "abcde", 5);
    unsigned long calls = fi_calls(FI_READ);
    n = buf_read(&r, dst, 8);
    cr_assert_eq(n, -EIO,
                 "the call after a short count must return the deferred "
                 "-EIO (-5); got %zd",
                 n);
    cr_assert_eq(fi_calls(FI_READ), calls,
                 "returning a deferred error must not call read()");
    expect_record(&r, '\n', &line, &size, "fghij\n", 6);
    buf_reader_close(&r);
    close(fd);

    fd = open_file("in2", "klm\n", 4);
    init_reader(&r, fd, 32);
    cr_assert_eq(fi_plan(FI_READ, "short:1 err:ECONNRESET"), 0);
    expect_record(&r, '\n', &line, &size, "k", 1);
    n = buf_read_until(&r, '\n', &line, &size);
    cr_assert_eq(n, -ECONNRESET,
                 "a line cut by ECONNRESET: the part first, then the "
                 "error (-104); got %zd",
                 n);
    expect_record(&r, '\n', &line, &size, "lm\n", 3);
    free(line);
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, closed_reader_is_safe,
        .description = "[BUF-10] [BUF-1] every call on a closed reader, or "
                       "one whose init failed, returns -EBADF")
{
    struct buf_reader r;
    char dst[4];
    char *line = NULL;
    size_t size = 0;
    const void *p;

    int fd = open_file("in", "data\n", 5);
    cr_assert_eq(buf_reader_init(&r, fd, 0), -EINVAL,
                 "a capacity of 0 must be refused with -EINVAL");
    cr_assert_eq(buf_read(&r, dst, 2), -EBADF,
                 "buf_read on a reader whose init failed must return "
                 "-EBADF");
    init_reader(&r, fd, 8);
    cr_assert_eq(buf_read(&r, dst, 2), 2);
    buf_reader_close(&r);
    cr_assert_eq(buf_read(&r, dst, 2), -EBADF,
                 "buf_read on a closed reader must return -EBADF");
    cr_assert_eq(buf_read_until(&r, '\n', &line, &size), -EBADF,
                 "buf_read_until on a closed reader must return -EBADF");
    cr_assert_eq(buf_peek(&r, 1, &p), -EBADF,
                 "buf_peek on a closed reader must return -EBADF");
    buf_reader_close(&r);
    free(line);
    close(fd);
}

/* ---- peek ------------------------------------------------------------- */

TK_TEST(reader, peek_does_not_consume,
        .description = "[BUF-19] buf_peek shows the next n bytes and leaves "
                       "them for the next read")
{
    struct buf_reader r;
    char dst[16];
    const void *p = NULL;
    char *line = NULL;
    size_t size = 0;

    int fd = open_file("in", "GET /index\nrest\n", 16);
    init_reader(&r, fd, 16);
    ssize_t n = buf_peek(&r, 4, &p);
    cr_assert_eq(n, 4, "buf_peek(4) returned %zd", n);
    cr_assert_arr_eq(p, "GET ", 4, "buf_peek shows the wrong bytes");
    n = buf_peek(&r, 3, &p);
    cr_assert_eq(n, 3);
    cr_assert_arr_eq(p, "GET", 3, "a second peek must show the same bytes");
    cr_assert_eq(buf_read(&r, dst, 4), 4);
    cr_assert_arr_eq(dst, "GET ", 4,
                     "after a peek, buf_read must return the peeked bytes");
    n = buf_peek(&r, 2, &p);
    cr_assert_eq(n, 2);
    cr_assert_arr_eq(p, "/i", 2);
    expect_record(&r, '\n', &line, &size, "/index\n", 7);
    cr_assert_eq(buf_peek(&r, 0, &p), 0, "buf_peek(0) must return 0");
    n = buf_peek(&r, 10, &p);
    cr_assert_eq(n, 5,
                 "peeking 10 with 5 bytes before EOF: expected 5, got %zd", n);
    cr_assert_arr_eq(p, "rest\n", 5);
    expect_record(&r, '\n', &line, &size, "rest\n", 5);
    cr_assert_eq(buf_peek(&r, 4, &p), 0, "peek at EOF must return 0");
    free(line);
    buf_reader_close(&r);
    close(fd);
}

TK_TEST(reader, peek_slides_to_front,
        .description = "[BUF-19] [BUF-20] buf_peek moves unconsumed bytes "
                       "to the front when needed; n > cap is -EINVAL")
{
    struct buf_reader r;
    char src[40], dst[40];
    const void *p;
    int sv[2];

    tk_fill(src, sizeof(src), 25);
    tk_socketpair(sv);
    tk_write_all(sv[1], src, sizeof(src));
    close(sv[1]);
    init_reader(&r, sv[0], 16);
    cr_assert_eq(buf_read(&r, dst, 12), 12);
    /* 4 bytes are left at the end of the buffer; 16 are wanted. */
    ssize_t n = buf_peek(&r, 16, &p);
    cr_assert_eq(n, 16,
                 "buf_peek(16) with cap 16 and 4 bytes left at the end of "
                 "the buffer returned %zd; slide them to the front first",
                 n);
    cr_assert_arr_eq(p, src + 12, 16, "the peeked bytes differ");
    cr_assert_eq(buf_peek(&r, 17, &p), -EINVAL,
                 "a peek larger than the capacity must give -EINVAL");
    cr_assert_eq(buf_read(&r, dst + 12, 28), 28);
    cr_assert_arr_eq(dst, src, sizeof(src), "the bytes read differ");
    buf_reader_close(&r);
    close(sv[0]);
}

/* ---- everything at once ------------------------------------------------ */

TK_TEST(reader, random_mix_random_faults,
        .description = "[BUF-13] [BUF-16] [BUF-19] reads, lines and peeks in "
                       "random order with random short reads stay in step")
{
    struct buf_reader r;
    struct tk_rng rng;
    size_t len;
    char *text = make_lines(2000, &len);
    char *dst = tk_xmalloc(len);
    char *line = NULL;
    size_t size = 0;
    const void *p;

    tk_rng_seed(&rng, 26);
    int fd = open_file("in", text, len);
    cr_assert_eq(fi_plan_random(FI_READ, 26, 40, 90, 0, 20), 0);
    init_reader(&r, fd, 100);
    size_t off = 0;
    while (off < len) {
        size_t left = len - off;
        ssize_t n;
        switch (tk_rng_below(&rng, 3)) {
        case 0: {
            size_t k = 1 + tk_rng_below(&rng, 250);
            n = buf_read(&r, dst, k);
            cr_assert_eq(n, (ssize_t)(k < left ? k : left),
                         "buf_read(%zu) at %zu returned %zd", k, off, n);
            cr_assert_arr_eq(dst, text + off, (size_t)n,
                             "buf_read at %zu: the bytes differ", off);
            break;
        }
        case 1: {
            const char *nl = memchr(text + off, '\n', left);
            n = buf_read_until(&r, '\n', &line, &size);
            cr_assert_eq(n, nl - (text + off) + 1,
                         "buf_read_until at %zu returned %zd", off, n);
            cr_assert_arr_eq(line, text + off, (size_t)n,
                             "the line at %zu differs", off);
            break;
        }
        default: {
            size_t k = 1 + tk_rng_below(&rng, 100);
            ssize_t got = buf_peek(&r, k, &p);
            cr_assert_eq(got, (ssize_t)(k < left ? k : left),
                         "buf_peek(%zu) at %zu returned %zd", k, off, got);
            cr_assert_arr_eq(p, text + off, (size_t)got,
                             "buf_peek at %zu: the bytes differ", off);
            n = 0; /* a peek consumes nothing */
            break;
        }
        }
        off += (size_t)n;
    }
    cr_assert_eq(buf_read(&r, dst, 1), 0, "expected EOF at the end");
    free(line);
    free(dst);
    free(text);
    buf_reader_close(&r);
    close(fd);
}
