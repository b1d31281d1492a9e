/*
 * test_zc.c - exercise 3 of chapter 09, last part: the MSG_ZEROCOPY
 * sender (uio_zc_*).
 *
 * Three kinds of test, because the kernel's timing is not the test's:
 *
 * - The bookkeeping is tested with notifications written by hand. The
 *   sends are real (the ids are the kernel's), but the fault layer makes
 *   every recvmsg of the sender say EAGAIN (FI_RECV "eagain *"), so the
 *   sender never sees the kernel's own notifications; the test gives it
 *   uio_zc_note calls in the order and the ranges it chooses.
 * - "Busy until read" is tested against the kernel: the test waits until
 *   the notification is on the error queue (its own poll sees POLLERR),
 *   keeps the sender from reading it, and checks the buffer is still
 *   busy; then lets it read.
 * - Reuse is tested by the bytes that arrive, made honest. On loopback
 *   the kernel copies each segment as it loops it back (the notification
 *   then says COPIED), so a buffer rewritten after its segment left shows
 *   nothing at the receiver. But bytes that have not left yet still sit
 *   in the sender's queue as references to the sender's pages. Here the
 *   receiver does not read until the sender either waits (a correct
 *   sender must, once every buffer is busy) or fills a buffer for the
 *   (nbufs + 1)th time. Its window (64 KiB or so at first, the kernel's
 *   default receive buffer) takes the start of the first 256 KiB buffer;
 *   the rest of it and all of the next wait unsent, so a buffer
 *   rewritten too early arrives rewritten. Deterministic: nothing the
 *   receiver has not read can leave beyond its window.
 *
 * ENOBUFS comes from the fault layer: the kernel gives it when
 * net.core.optmem_max is used up, which an unprivileged test cannot set.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "uiot.h"

#define KIB 1024

/* ---- helpers ----------------------------------------------------------- */

/* A connected loopback pair: the sender's end and the receiver's. */
struct pair {
    int tx;
    int rx;
};

/* Connects a pair, each end with the kernel's default buffers. */
static struct pair
pair_open(void)
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    struct pair p;

    p.rx = tk_connect_tcp(port);
    p.tx = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(p.tx >= 0, "accept: %s", strerror(errno));
    close(lfd);
    return p;
}

static void
pair_close(struct pair *p)
{
    close(p->tx);
    close(p->rx);
}

/* Opens a sender on a TCP socket and insists on zero-copy. */
static void
zc_open_tcp(struct uio_zc *zc, int sock, unsigned nbufs, size_t size)
{
    int err = uio_zc_open(zc, sock, nbufs, size);
    cr_assert_eq(err, 0, "uio_zc_open on a TCP socket returned %d (%s)", err,
                 strerror(-err));
    cr_assert(zc->zerocopy,
              "uio_zc_open on a TCP socket left zerocopy false (refused "
              "%d): loopback TCP takes SO_ZEROCOPY",
              zc->refused);
}

/* Gets a free buffer at once, fills it with len bytes and sends them. */
static int
send_one(struct uio_zc *zc, size_t len, unsigned seed)
{
    int i = uio_zc_get(zc, 0);
    cr_assert(i >= 0 && (unsigned)i < zc->nbufs,
              "uio_zc_get(0) returned %d with a free buffer left", i);
    tk_fill(uio_zc_buf(zc, i), len, seed);
    ssize_t n = uio_zc_send(zc, i, len);
    cr_assert_eq(n, (ssize_t)len, "uio_zc_send of %zu bytes returned %zd", len,
                 n);
    return i;
}

/* Waits (in the test, not the sender) until sock's error queue has news. */
static void
await_errqueue(int sock)
{
    struct pollfd p = {.fd = sock, .events = 0};
    int n = poll(&p, 1, LONG_MS);
    cr_assert(n == 1 && (p.revents & POLLERR),
              "no notification reached the error queue in %d ms", LONG_MS);
}

/* A notification as the kernel writes it: ids lo .. hi. */
static struct sock_extended_err
note(uint32_t lo, uint32_t hi, bool copied)
{
    return (struct sock_extended_err){
        .ee_origin = SO_EE_ORIGIN_ZEROCOPY,
        .ee_code = copied ? SO_EE_CODE_ZEROCOPY_COPIED : 0,
        .ee_info = lo,
        .ee_data = hi,
    };
}

static void
expect_note(struct uio_zc *zc, uint32_t lo, uint32_t hi, bool copied, int want)
{
    struct sock_extended_err ee = note(lo, hi, copied);
    int got = uio_zc_note(zc, &ee);
    cr_assert_eq(got, want, "uio_zc_note(%u..%u) returned %d, expected %d", lo,
                 hi, got, want);
}

static void
expect_busy(const struct uio_zc *zc, int i, bool want, const char *when)
{
    bool busy = uio_zc_busy(zc, i);
    cr_assert_eq(busy, want, "buffer %d is %s %s", i, busy ? "busy" : "free",
                 when);
}

/* Closes the sender and checks every id came back first. */
static void
expect_closed(struct uio_zc *zc)
{
    int err = uio_zc_close(zc);
    cr_assert_eq(err, 0, "uio_zc_close returned %d (%s)", err, strerror(-err));
    cr_assert_eq(zc->stats.completed, zc->stats.zc_sends,
                 "uio_zc_close returned with %llu of %llu ids completed: "
                 "it freed buffers the kernel may still read",
                 (unsigned long long)zc->stats.completed,
                 (unsigned long long)zc->stats.zc_sends);
    cr_assert_null(zc->mem, "uio_zc_close kept its buffers");
}

/* ---- a stream of known bytes ------------------------------------------- */

/* fill's state: the stream's bytes, and what the test watches. */
struct stream {
    const char *data;   /* the whole stream */
    size_t len;         /* its length */
    size_t off;         /* bytes handed out so far */
    size_t piece;       /* bytes per fill at most */
    unsigned fills;     /* fills that wrote something */
    unsigned nbufs;     /* the sender's buffers */
    pthread_mutex_t mu; /* guards go */
    pthread_cond_t cv;
    bool go; /* the receiver may start reading */
};

static void
stream_go(struct stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->go = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static size_t
stream_fill(char *buf, size_t cap, void *arg)
{
    struct stream *s = arg;
    size_t n = s->len - s->off;

    if (n > cap)
        n = cap;
    if (n > s->piece)
        n = s->piece;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    if (n > 0 && ++s->fills > s->nbufs)
        stream_go(s); /* a buffer was refilled: its old bytes are gone */
    return n;
}

/* The sender is about to wait: a correct one waits for notifications. */
static void
on_wait(enum fi_op op, int fd, void *arg)
{
    (void)op;
    (void)fd;
    stream_go(arg);
}

/* The receiver: waits for go (at once if no gate), reads to EOF. */
struct reader {
    struct stream *s;
    int fd;
    char *got;
    size_t n;
    int err;
};

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    struct stream *s = r->s;

    pthread_mutex_lock(&s->mu);
    while (!s->go)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (;;) {
        size_t room = r->n < s->len ? s->len - r->n : 0;
        char spill[512];
        ssize_t n = room > 0 ? read(r->fd, r->got + r->n, room)
                             : read(r->fd, spill, sizeof(spill));
        if (n == 0)
            return NULL;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->err = -errno;
            return NULL;
        }
        r->n += (size_t)n;
    }
}

/*
 * uio_zc_stream's loop, written with uio_zc_get and uio_zc_send: the test
 * of uio_zc_send's partial sends stands apart from uio_zc_stream.
 */
static ssize_t
by_hand(struct uio_zc *zc, struct stream *s)
{
    size_t total = 0;

    for (;;) {
        int i = uio_zc_get(zc, -1);
        if (i < 0)
            return i;
        size_t n = stream_fill(uio_zc_buf(zc, i), zc->buf_size, s);
        if (n == 0)
            return (ssize_t)total;
        ssize_t sent = uio_zc_send(zc, i, n);
        if (sent < 0)
            return sent;
        total += n;
    }
}

/*
 * Streams len bytes through a sender of nbufs buffers of size bytes,
 * fill giving piece bytes at a time, and checks what arrived. gated: the
 * receiver waits as the file's comment says; otherwise it
 * reads from the start. nonblocking: the sender's socket is non-blocking
 * with small buffers, so it meets a full socket often, and the loop is
 * the test's own (by_hand), not uio_zc_stream.
 */
static void
stream_check(size_t len, unsigned nbufs, size_t size, size_t piece, bool gated,
             bool nonblocking)
{
    struct pair p = pair_open();
    struct stream s = {
        .len = len, .piece = piece, .nbufs = nbufs, .go = !gated};
    char *data = tk_xmalloc(len);
    struct reader r = {.s = &s, .fd = p.rx, .got = tk_xmalloc(len + 1)};
    struct uio_zc zc;
    pthread_t th;

    tk_fill(data, len, 41);
    s.data = data;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    if (nonblocking) {
        tk_small_buffers(p.tx, 4096);
        int fl = fcntl(p.tx, F_GETFL);
        cr_assert(fcntl(p.tx, F_SETFL, fl | O_NONBLOCK) == 0);
    }
    zc_open_tcp(&zc, p.tx, nbufs, size);
    if (gated)
        fi_observe(FI_WAIT, on_wait, &s);
    cr_assert(pthread_create(&th, NULL, reader_main, &r) == 0);

    ssize_t n =
        nonblocking ? by_hand(&zc, &s) : uio_zc_stream(&zc, stream_fill, &s);
    fi_observe(FI_WAIT, NULL, NULL);
    stream_go(&s); /* a stream that ended early must not hang the reader */
    int err = uio_zc_close(&zc);
    shutdown(p.tx, SHUT_WR);
    pthread_join(th, NULL);

    cr_assert_eq(r.err, 0, "the receiver's read failed: %s", strerror(-r.err));
    cr_assert_eq(r.n, len, "the receiver got %zu bytes, expected %zu", r.n,
                 len);
    for (size_t i = 0; i < len; i++)
        cr_assert(r.got[i] == data[i],
                  "the receiver's byte %zu (stream buffer %zu) is not what "
                  "fill wrote there: a buffer was rewritten before the "
                  "kernel had sent it",
                  i, i / piece);
    cr_assert_eq(n, (ssize_t)len, "uio_zc_stream returned %zd, expected %zu", n,
                 len);
    cr_assert_eq(err, 0, "uio_zc_close returned %d", err);
    cr_assert_eq(zc.stats.bytes, len, "stats.bytes is %llu, expected %zu",
                 (unsigned long long)zc.stats.bytes, len);
    cr_assert_eq(zc.stats.completed, zc.stats.zc_sends,
                 "%llu of %llu ids completed after uio_zc_close",
                 (unsigned long long)zc.stats.completed,
                 (unsigned long long)zc.stats.zc_sends);
    pair_close(&p);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    free(data);
    free(r.got);
}

/* ---- the tests --------------------------------------------------------- */

TK_TEST(zerocopy, zc_open_checks,
        .description = "[UIO-40] uio_zc_open refuses bad arguments and "
                       "starts with every buffer free")
{
    struct pair p = pair_open();
    struct uio_zc zc;

    cr_assert_eq(uio_zc_open(&zc, p.tx, 0, 4096), -EINVAL, "nbufs 0");
    cr_assert_eq(uio_zc_open(&zc, p.tx, UIO_ZC_MAX_BUFS + 1, 4096), -EINVAL,
                 "nbufs UIO_ZC_MAX_BUFS + 1");
    cr_assert_eq(uio_zc_open(&zc, p.tx, 4, 0), -EINVAL, "buf_size 0");
    cr_assert_eq(uio_zc_open(&zc, -1, 4, 4096), -EINVAL, "sock -1");
    zc_open_tcp(&zc, p.tx, UIO_ZC_MAX_BUFS, 4096);
    for (int i = 0; i < UIO_ZC_MAX_BUFS; i++) {
        expect_busy(&zc, i, false, "right after uio_zc_open");
        cr_assert_not_null(uio_zc_buf(&zc, i));
    }
    cr_assert_eq(zc.stats.sends + zc.stats.notes + zc.stats.completed, 0);
    expect_closed(&zc);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_fallback_unix,
        .description = "[UIO-41] on a socket that refuses SO_ZEROCOPY the "
                       "sender sends plain copies and says why")
{
    int sv[2];
    struct uio_zc zc;

    tk_socketpair(sv);
    int err = uio_zc_open(&zc, sv[0], 2, 8 * KIB);
    cr_assert_eq(err, 0,
                 "uio_zc_open on an AF_UNIX socket returned %d (%s): a "
                 "refused SO_ZEROCOPY means plain sends, not an error",
                 err, strerror(-err));
    cr_assert(!zc.zerocopy, "zerocopy is true on an AF_UNIX socket");
    cr_assert_eq(zc.refused, -EOPNOTSUPP,
                 "refused is %d, expected -EOPNOTSUPP (%d), what "
                 "setsockopt(SO_ZEROCOPY) said",
                 zc.refused, -EOPNOTSUPP);
    int i = send_one(&zc, 8 * KIB, 5);
    expect_busy(&zc, i, false, "after a plain send (the kernel copied it)");
    char *want = tk_xmalloc(8 * KIB);
    tk_fill(want, 8 * KIB, 5);
    tk_read_check(sv[1], want, 8 * KIB, LONG_MS, "the AF_UNIX peer");
    cr_assert_eq(zc.stats.zc_sends, 0,
                 "stats.zc_sends is %llu on a "
                 "socket without zero-copy",
                 (unsigned long long)zc.stats.zc_sends);
    cr_assert_eq(zc.stats.bytes, 8 * KIB);
    expect_closed(&zc);
    free(want);
    close(sv[0]);
    close(sv[1]);
}

TK_TEST(zerocopy, zc_busy_until_read,
        .description = "[UIO-42] [UIO-43] a buffer stays busy until its "
                       "notification is read, and uio_zc_get never hands "
                       "out a busy one")
{
    struct pair p = pair_open();
    struct uio_zc zc;

    zc_open_tcp(&zc, p.tx, 2, 16 * KIB);
    fi_plan(FI_RECV, "eagain *"); /* the sender reads nothing yet */
    int a = send_one(&zc, 16 * KIB, 1);
    await_errqueue(p.tx);
    expect_busy(&zc, a, true,
                "with its notification on the error queue but not read");
    ssize_t n = uio_zc_send(&zc, a, 100);
    cr_assert_eq(n, -EINVAL,
                 "uio_zc_send of busy buffer %d returned %zd, expected "
                 "-EINVAL",
                 a, n);
    int b = send_one(&zc, 16 * KIB, 2);
    cr_assert_neq(a, b, "uio_zc_get gave buffer %d again while busy", a);
    int c = uio_zc_get(&zc, 0);
    cr_assert_eq(c, -EAGAIN,
                 "uio_zc_get(0) returned %d with both buffers busy, "
                 "expected -EAGAIN",
                 c);
    c = uio_zc_get(&zc, 50);
    cr_assert_eq(c, -EAGAIN,
                 "uio_zc_get(50) returned %d with both buffers busy and "
                 "no notification readable, expected -EAGAIN",
                 c);

    fi_reset(); /* now it may read them */
    c = uio_zc_get(&zc, LONG_MS);
    cr_assert(c == a || c == b, "uio_zc_get returned %d, expected %d or %d", c,
              a, b);
    cr_assert_eq(uio_zc_flush(&zc), 0);
    expect_busy(&zc, a, false, "after uio_zc_flush");
    expect_busy(&zc, b, false, "after uio_zc_flush");
    cr_assert_eq(zc.stats.completed, 2, "stats.completed is %llu, expected 2",
                 (unsigned long long)zc.stats.completed);
    cr_assert_eq(zc.stats.copied, 2,
                 "stats.copied is %llu: loopback copies every send "
                 "(SO_EE_CODE_ZEROCOPY_COPIED)",
                 (unsigned long long)zc.stats.copied);
    expect_closed(&zc);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_ids_per_call,
        .description = "[UIO-42] a buffer sent in four calls takes four "
                       "ids and is free only when all four came back")
{
    struct pair p = pair_open();
    struct uio_zc zc;

    zc_open_tcp(&zc, p.tx, 2, 4000);
    fi_plan(FI_RECV, "eagain *");
    fi_plan(FI_SEND, "short:1000 *");
    int a = send_one(&zc, 4000, 3);
    cr_assert_eq(zc.stats.zc_sends, 4,
                 "stats.zc_sends is %llu after 4000 bytes in 1000-byte "
                 "sends, expected 4",
                 (unsigned long long)zc.stats.zc_sends);
    expect_note(&zc, 0, 2, false, 3);
    expect_busy(&zc, a, true, "with 3 of its 4 ids back");
    expect_note(&zc, 3, 3, false, 1);
    expect_busy(&zc, a, false, "with all 4 of its ids back");
    expect_closed(&zc);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_note_ranges,
        .description = "[UIO-47] one notification completes a range of "
                       "ids over several buffers, out of order, across the "
                       "32-bit wrap")
{
    struct pair p = pair_open();
    struct uio_zc zc;
    int buf[4];

    zc_open_tcp(&zc, p.tx, 4, 1000);
    fi_plan(FI_RECV, "eagain *");
    for (int k = 0; k < 4; k++)
        buf[k] = send_one(&zc, 1000, 10 + (unsigned)k);
    expect_note(&zc, 0, 3, true, 4); /* one range for four sends */
    for (int k = 0; k < 4; k++)
        expect_busy(&zc, buf[k], false, "after the range 0..3");
    cr_assert_eq(zc.stats.notes, 1);
    cr_assert_eq(zc.stats.copied, 4, "stats.copied is %llu, expected 4",
                 (unsigned long long)zc.stats.copied);

    for (int k = 0; k < 4; k++) /* ids 4..7 */
        buf[k] = send_one(&zc, 1000, 20 + (unsigned)k);
    expect_note(&zc, 5, 6, false, 2);
    expect_busy(&zc, buf[0], true, "after the range 5..6 (it holds id 4)");
    expect_busy(&zc, buf[1], false, "after the range 5..6");
    expect_busy(&zc, buf[2], false, "after the range 5..6");
    expect_busy(&zc, buf[3], true, "after the range 5..6 (it holds id 7)");
    expect_note(&zc, 7, 7, false, 1);
    expect_note(&zc, 4, 4, false, 1);
    cr_assert_eq(zc.stats.copied, 4, "a range without COPIED was counted");
    cr_assert_eq(zc.stats.completed, 8);
    expect_closed(&zc);

    /* The kernel's counter is 32 bits: a range may wrap. */
    zc_open_tcp(&zc, p.tx, 4, 1000);
    zc.next_id = UINT32_MAX - 1; /* as if 2^32 - 2 sends came before */
    for (int k = 0; k < 4; k++)
        buf[k] = send_one(&zc, 1000, 30 + (unsigned)k);
    expect_note(&zc, UINT32_MAX - 1, 1, false, 4);
    for (int k = 0; k < 4; k++)
        expect_busy(&zc, buf[k], false, "after the range 2^32-2 .. 1");
    expect_closed(&zc);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_note_rejects,
        .description = "[UIO-48] a notification that is not zero-copy's, or "
                       "names ids not in flight, changes nothing")
{
    struct pair p = pair_open();
    struct uio_zc zc;

    zc_open_tcp(&zc, p.tx, 2, 1000);
    fi_plan(FI_RECV, "eagain *");
    int a = send_one(&zc, 1000, 1); /* id 0 */
    int b = send_one(&zc, 1000, 2); /* id 1 */
    struct sock_extended_err other = note(0, 1, false);
    other.ee_origin = SO_EE_ORIGIN_LOCAL;
    int got = uio_zc_note(&zc, &other);
    cr_assert_eq(got, -EPROTO,
                 "a local error report gave %d, expected "
                 "-EPROTO",
                 got);
    expect_note(&zc, 0, 2, false, -EPROTO); /* id 2 was never sent */
    expect_note(&zc, 5, 5, false, -EPROTO); /* nor was id 5 */
    expect_note(&zc, 1, 1, false, 1);
    expect_note(&zc, 1, 1, false, -EPROTO); /* id 1 came back already */
    expect_note(&zc, 0, 1, false, -EPROTO);
    expect_busy(&zc, a, true, "after notifications that were refused");
    expect_busy(&zc, b, false, "after its own notification");
    cr_assert_eq(zc.stats.notes, 1,
                 "stats.notes is %llu: refused "
                 "notifications were counted",
                 (unsigned long long)zc.stats.notes);
    expect_note(&zc, 0, 0, false, 1);
    expect_closed(&zc);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_stream_intact,
        .description = "[UIO-44] [UIO-49] [UIO-51] 8 MiB through four "
                       "buffers arrive intact, and close waits for every "
                       "notification")
{
    stream_check(8 * KIB * KIB + 5, 4, 128 * KIB, 128 * KIB - 3, true, false);
}

TK_TEST(zerocopy, zc_partial_sends,
        .description = "[UIO-44] short sends, EINTR and a full non-blocking "
                       "socket: every byte once and in order")
{
    fi_plan_random(FI_SEND, 7, 30, 3000, 10, 10);
    stream_check(2 * KIB * KIB + 11, 4, 32 * KIB, 32 * KIB - 7, false, true);
    cr_assert(fi_calls(FI_SEND) > 2 * KIB * KIB / (32 * KIB),
              "only %lu send calls", fi_calls(FI_SEND));
}

TK_TEST(zerocopy, zc_no_early_reuse,
        .description = "[UIO-51] a buffer is not refilled before its "
                       "notification: the bytes the kernel had not sent "
                       "yet arrive as fill wrote them")
{
    stream_check(4 * KIB * KIB, 2, 256 * KIB, 256 * KIB, true, false);
}

TK_TEST(zerocopy, zc_enobufs_retry,
        .description = "[UIO-45] ENOBUFS with a send in flight: reap, wait, "
                       "send again")
{
    struct pair p = pair_open();
    struct uio_zc zc;
    char *want = tk_xmalloc(32 * KIB);

    zc_open_tcp(&zc, p.tx, 2, 16 * KIB);
    send_one(&zc, 16 * KIB, 1);
    /* The next get must not see id 0 come back, so that it is still in
     * flight when the send after it meets ENOBUFS. */
    fi_plan(FI_RECV, "eagain");
    fi_plan(FI_SEND, "err:ENOBUFS");
    int i = uio_zc_get(&zc, 0);
    cr_assert(i >= 0, "uio_zc_get(0) returned %d with a buffer free", i);
    tk_fill(uio_zc_buf(&zc, i), 16 * KIB, 2);
    ssize_t n = uio_zc_send(&zc, i, 16 * KIB);
    cr_assert_eq(n, 16 * KIB,
                 "uio_zc_send returned %zd after ENOBUFS with a send in "
                 "flight: expected it to read notifications and send again",
                 n);
    cr_assert_eq(zc.stats.enobufs, 1, "stats.enobufs is %llu, expected 1",
                 (unsigned long long)zc.stats.enobufs);
    tk_fill(want, 16 * KIB, 1);
    tk_fill(want + 16 * KIB, 16 * KIB, 2);
    tk_read_check(p.rx, want, 32 * KIB, LONG_MS, "the receiver");
    expect_closed(&zc);
    free(want);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_enobufs_nothing_out,
        .description = "[UIO-45] ENOBUFS with nothing in flight: that call "
                       "is made as a plain copy; a copy's ENOBUFS is the "
                       "result")
{
    struct pair p = pair_open();
    struct uio_zc zc;
    char *want = tk_xmalloc(4096);

    zc_open_tcp(&zc, p.tx, 2, 4096);
    fi_plan(FI_SEND, "err:ENOBUFS");
    int i = send_one(&zc, 4096, 6);
    cr_assert_eq(zc.stats.plain, 1, "stats.plain is %llu, expected 1",
                 (unsigned long long)zc.stats.plain);
    cr_assert_eq(zc.stats.zc_sends, 0,
                 "stats.zc_sends is %llu: the send after ENOBUFS with "
                 "nothing in flight should be a plain one",
                 (unsigned long long)zc.stats.zc_sends);
    expect_busy(&zc, i, false, "after a plain send");
    tk_fill(want, 4096, 6);
    tk_read_check(p.rx, want, 4096, LONG_MS, "the receiver");

    fi_plan(FI_SEND, "err:ENOBUFS *");
    i = uio_zc_get(&zc, 0);
    cr_assert(i >= 0);
    tk_fill(uio_zc_buf(&zc, i), 4096, 7);
    ssize_t n = uio_zc_send(&zc, i, 4096);
    cr_assert_eq(n, -ENOBUFS,
                 "uio_zc_send returned %zd when the plain send too failed "
                 "with ENOBUFS, expected -ENOBUFS",
                 n);
    fi_reset();
    expect_closed(&zc);
    free(want);
    pair_close(&p);
}

TK_TEST(zerocopy, zc_error_keeps_busy,
        .description = "[UIO-46] [UIO-50] an error after part of a buffer "
                       "was taken: -errno, and the buffer stays busy for "
                       "the part taken")
{
    struct pair p = pair_open();
    struct uio_zc zc;

    zc_open_tcp(&zc, p.tx, 2, 4000);
    fi_plan(FI_RECV, "eagain *");
    fi_plan(FI_SEND, "short:1000 err:EPIPE");
    int i = uio_zc_get(&zc, 0);
    cr_assert(i >= 0);
    tk_fill(uio_zc_buf(&zc, i), 4000, 8);
    ssize_t n = uio_zc_send(&zc, i, 4000);
    cr_assert_eq(n, -EPIPE,
                 "uio_zc_send returned %zd after 1000 bytes then EPIPE, "
                 "expected -EPIPE",
                 n);
    cr_assert_eq(zc.stats.zc_sends, 1, "stats.zc_sends is %llu, expected 1",
                 (unsigned long long)zc.stats.zc_sends);
    expect_busy(&zc, i, true, "with the 1000 bytes taken not yet notified");
    cr_assert_eq(uio_zc_get(&zc, 0), 1 - i,
                 "uio_zc_get(0) did not give the other buffer");
    fi_reset();
    expect_closed(&zc);
    expect_busy(&zc, i, false, "after uio_zc_close");
    pair_close(&p);
}

TK_TEST(zerocopy, zc_peer_gone,
        .description = "[UIO-46] [UIO-49] [UIO-50] a peer that resets "
                       "mid-stream: -errno, and close still waits for "
                       "every notification")
{
    size_t len = 8 * KIB * KIB;
    struct uiot_rx rx = {.reset_at = 64 * KIB};
    struct stream s = {.len = len, .piece = 64 * KIB, .nbufs = 4, .go = true};
    struct uio_zc zc;
    char *data = tk_xmalloc(len);

    tk_fill(data, len, 43);
    s.data = data;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    uiot_rx_start(&rx, len, 16 * KIB, false);
    zc_open_tcp(&zc, rx.send_fd, 4, 64 * KIB);
    ssize_t n = by_hand(&zc, &s);
    cr_assert(n == -EPIPE || n == -ECONNRESET,
              "uio_zc_send to a peer that reset returned %zd: expected "
              "-EPIPE or -ECONNRESET, not a count",
              n);
    expect_closed(&zc);
    uiot_rx_finish(&rx);
    free(rx.buf);
    free(data);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
}

TK_TEST(zerocopy, zc_stream_error,
        .description = "[UIO-51] a send that fails ends uio_zc_stream with "
                       "its -errno, not a count")
{
    struct pair p = pair_open();
    struct stream s = {.len = 64 * KIB, .piece = 16 * KIB, .nbufs = 4};
    struct uio_zc zc;
    char *data = tk_xmalloc(s.len);

    tk_fill(data, s.len, 44);
    s.data = data;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    zc_open_tcp(&zc, p.tx, 4, 16 * KIB);
    fi_plan(FI_SEND, "pass err:EPIPE");
    ssize_t n = uio_zc_stream(&zc, stream_fill, &s);
    cr_assert_eq(n, -EPIPE,
                 "uio_zc_stream returned %zd when its second send failed "
                 "with EPIPE, expected -EPIPE",
                 n);
    fi_reset();
    expect_closed(&zc);
    tk_read_check(p.rx, data, 16 * KIB, LONG_MS, "the receiver");
    pair_close(&p);
    free(data);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
}
