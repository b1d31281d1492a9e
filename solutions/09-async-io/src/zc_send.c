/*
 * zc_send.c - exercise 3 of chapter 09, last part: large buffers sent
 * with MSG_ZEROCOPY, and not touched again before the kernel is done.
 *
 * The file has three parts: the bookkeeping of ids (uio_zc_note, which
 * is pure and is what the unit tests feed by hand), reading the error
 * queue and waiting on the socket, and the sender's calls (open, get,
 * send, flush, close, stream).
 *
 * The one rule: a buffer given to send(2) with MSG_ZEROCOPY is the
 * kernel's until every id its send calls took has come back on the error
 * queue. Everything below serves that rule.
 */
#include "uio.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

// SOLUTION-BEGIN
/* Buffers start on a page: the kernel pins whole pages (msg_zerocopy.rst). */
#define ZC_ALIGN 4096

/* ---- the ids ----------------------------------------------------------- */

/*
 * How many of the count ids lo .. lo + count - 1 fall in the slot's ids
 * first .. first + taken - 1. Offsets are taken from lo, modulo 2^32, so
 * ranges that wrap past 2^32 - 1 need no special case but one.
 */
static uint32_t
overlap(const struct uio_zc_slot *s, uint32_t lo, uint32_t count)
{
    uint32_t d = s->first - lo;
    uint32_t end = d + s->taken;

    if (d < count)
        return s->taken < count - d ? s->taken : count - d;
    if (end < s->taken) /* the slot starts before lo and reaches into it */
        return end < count ? end : count;
    return 0;
}
// SOLUTION-STUB
// SOLUTION-END

int
uio_zc_note(struct uio_zc *zc, const struct sock_extended_err *ee)
{
    // SOLUTION-BEGIN
    if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
        return -EPROTO;
    uint32_t lo = ee->ee_info;
    uint32_t span = ee->ee_data - lo; /* count - 1, modulo 2^32 */
    if (span >= zc->in_flight)
        return -EPROTO; /* more ids than are out, or none out at all */
    uint32_t count = span + 1;

    /* Check first, then apply: a bad note changes nothing. */
    uint32_t found = 0;
    for (unsigned i = 0; i < zc->nbufs; i++) {
        uint32_t n = overlap(&zc->slot[i], lo, count);
        if (n > zc->slot[i].pending)
            return -EPROTO; /* ids of this buffer that already came back */
        found += n;
    }
    if (found != count)
        return -EPROTO; /* ids that no buffer waits for */
    for (unsigned i = 0; i < zc->nbufs; i++)
        zc->slot[i].pending -= overlap(&zc->slot[i], lo, count);
    zc->in_flight -= count;
    zc->stats.notes++;
    zc->stats.completed += count;
    if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
        zc->stats.copied += count;
    return (int)count;
    // SOLUTION-STUB
    // (void)zc;
    // (void)ee;
    // return -ENOSYS;
    // SOLUTION-END
}

// SOLUTION-BEGIN
/* ---- the error queue and the socket ------------------------------------ */

/* The sock_extended_err of one control message, or NULL if it has none. */
static const struct sock_extended_err *
extended_err(struct cmsghdr *cm)
{
    if ((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
        (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR))
        return (const struct sock_extended_err *)CMSG_DATA(cm);
    return NULL;
}

/*
 * Reads one message from the error queue without waiting and applies the
 * zero-copy notifications it carries. Returns the ids completed, -EAGAIN
 * when the queue is empty, or -errno.
 */
static int
read_one(struct uio_zc *zc)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
                            sizeof(struct sockaddr_in6))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n;

    do
        n = recvmsg(zc->sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;

    int done = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL;
         cm = CMSG_NXTHDR(&msg, cm)) {
        const struct sock_extended_err *ee = extended_err(cm);
        if (ee == NULL || ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
            continue; /* another kind of error report: not ours */
        int got = uio_zc_note(zc, ee);
        if (got < 0)
            return got;
        done += got;
    }
    return done;
}
// SOLUTION-STUB
// SOLUTION-END

int
uio_zc_reap(struct uio_zc *zc)
{
    // SOLUTION-BEGIN
    int done = 0;

    if (!zc->zerocopy)
        return 0; /* plain sends leave no notifications */
    for (;;) {
        int got = read_one(zc);
        if (got == -EAGAIN)
            return done;
        if (got < 0)
            return got;
        done += got;
    }
    // SOLUTION-STUB
    // (void)zc;
    // return -ENOSYS;
    // SOLUTION-END
}

// SOLUTION-BEGIN
static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: no deadline), never below 0. */
static int
left_ms(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long now = now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/*
 * Waits until at least one id completes, or until deadline (-1: none).
 * Returns the ids completed, -EAGAIN at the deadline, or -errno. poll(2)
 * reports POLLERR whenever the error queue holds something, whatever the
 * events asked for; it also reports it for a socket error (a reset peer)
 * with the queue empty, and then the kernel is still dropping what it
 * held: a short nap, rather than a spin, until its notifications come.
 */
static int
await_completion(struct uio_zc *zc, long long deadline)
{
    bool woke = false;

    for (;;) {
        int got = uio_zc_reap(zc);
        if (got != 0)
            return got;
        if (woke)
            poll(NULL, 0, 1);
        int ms = left_ms(deadline);
        if (ms == 0)
            return -EAGAIN;
        struct pollfd p = {.fd = zc->sock, .events = 0};
        int n = poll(&p, 1, ms);
        if (n < 0 && errno != EINTR)
            return -errno;
        woke = n > 0;
    }
}

/* Waits until sock can take bytes again, reading notifications meanwhile. */
static int
await_room(struct uio_zc *zc)
{
    for (;;) {
        struct pollfd p = {.fd = zc->sock, .events = POLLOUT};
        int n = poll(&p, 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (p.revents & (POLLOUT | POLLHUP))
            return 0; /* the next send says how it went */
        int got = uio_zc_reap(zc);
        if (got < 0)
            return got;
        if (got == 0)
            return 0; /* a socket error: the next send reports it */
    }
}

/* ---- the sender -------------------------------------------------------- */

static bool
valid_index(const struct uio_zc *zc, int i)
{
    return i >= 0 && (unsigned)i < zc->nbufs;
}

/* The slot of buffer i takes the next id: one send call took bytes. */
static void
take_id(struct uio_zc *zc, struct uio_zc_slot *s)
{
    if (s->taken == 0)
        s->first = zc->next_id;
    s->taken++;
    s->pending++;
    zc->next_id++;
    zc->in_flight++;
    zc->stats.zc_sends++;
}
// SOLUTION-STUB
// SOLUTION-END

int
uio_zc_open(struct uio_zc *zc, int sock, unsigned nbufs, size_t buf_size)
{
    // SOLUTION-BEGIN
    if (nbufs == 0 || nbufs > UIO_ZC_MAX_BUFS || buf_size == 0 || sock < 0)
        return -EINVAL;
    *zc = (struct uio_zc){.sock = sock, .nbufs = nbufs, .buf_size = buf_size};
    size_t total = (nbufs * buf_size + ZC_ALIGN - 1) / ZC_ALIGN * ZC_ALIGN;
    zc->mem = aligned_alloc(ZC_ALIGN, total);
    if (zc->mem == NULL)
        return -ENOMEM;

    int one = 1;
    if (setsockopt(sock, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0) {
        zc->zerocopy = true;
    } else if (errno == EOPNOTSUPP || errno == ENOPROTOOPT) {
        zc->refused = -errno; /* plain copies from here on */
    } else {
        int err = -errno;
        free(zc->mem);
        zc->mem = NULL;
        return err;
    }
    return 0;
    // SOLUTION-STUB
    // (void)zc;
    // (void)sock;
    // (void)nbufs;
    // (void)buf_size;
    // return -ENOSYS;
    // SOLUTION-END
}

char *
uio_zc_buf(const struct uio_zc *zc, int i)
{
    // SOLUTION-BEGIN
    if (!valid_index(zc, i) || zc->mem == NULL)
        return NULL;
    return zc->mem + (size_t)i * zc->buf_size;
    // SOLUTION-STUB
    // (void)zc;
    // (void)i;
    // return NULL;
    // SOLUTION-END
}

bool
uio_zc_busy(const struct uio_zc *zc, int i)
{
    // SOLUTION-BEGIN
    return valid_index(zc, i) && zc->slot[i].pending > 0;
    // SOLUTION-STUB
    // (void)zc;
    // (void)i;
    // return false;
    // SOLUTION-END
}

int
uio_zc_get(struct uio_zc *zc, int timeout_ms)
{
    // SOLUTION-BEGIN
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int got = uio_zc_reap(zc);

    while (got >= 0) {
        /* Round robin from where the last search stopped: the oldest
         * buffer is the likeliest to be free. */
        for (unsigned k = 0; k < zc->nbufs; k++) {
            unsigned i = (zc->next_slot + k) % zc->nbufs;
            if (zc->slot[i].pending == 0) {
                zc->next_slot = (i + 1) % zc->nbufs;
                return (int)i;
            }
        }
        got = await_completion(zc, deadline);
    }
    return got;
    // SOLUTION-STUB
    // (void)zc;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
}

ssize_t
uio_zc_send(struct uio_zc *zc, int i, size_t len)
{
    // SOLUTION-BEGIN
    if (!valid_index(zc, i) || len == 0 || len > zc->buf_size ||
        zc->slot[i].pending > 0)
        return -EINVAL;
    struct uio_zc_slot *s = &zc->slot[i];
    const char *buf = uio_zc_buf(zc, i);
    bool copy = false; /* this call without MSG_ZEROCOPY (ENOBUFS) */
    size_t done = 0;

    *s = (struct uio_zc_slot){0};
    while (done < len) {
        bool zero = zc->zerocopy && !copy;
        int flags = MSG_NOSIGNAL | (zero ? MSG_ZEROCOPY : 0);
        ssize_t n = send(zc->sock, buf + done, len - done, flags);
        if (n > 0) {
            done += (size_t)n;
            zc->stats.sends++;
            zc->stats.bytes += (uint64_t)n;
            if (zero)
                take_id(zc, s);
            else if (copy)
                zc->stats.plain++;
            copy = false;
            continue;
        }
        if (n == 0)
            return -EIO; /* a stream socket never takes 0 of len > 0 */
        int err = -errno;
        if (err == -EINTR)
            continue;
        if (err == -EAGAIN)
            err = await_room(zc);
        else if (err == -ENOBUFS && zero) {
            /* Notifications not read, or pages pinned: wait for some to
             * come back; with none out, send this part as a copy. */
            zc->stats.enobufs++;
            int got = zc->in_flight > 0 ? await_completion(zc, -1) : 0;
            copy = zc->in_flight == 0;
            err = got < 0 ? got : 0;
        }
        if (err < 0)
            return err; /* s keeps the ids of what was taken */
    }
    return (ssize_t)len;
    // SOLUTION-STUB
    // (void)zc;
    // (void)i;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

int
uio_zc_flush(struct uio_zc *zc)
{
    // SOLUTION-BEGIN
    while (zc->in_flight > 0) {
        int got = await_completion(zc, -1);
        if (got < 0)
            return got;
    }
    return 0;
    // SOLUTION-STUB
    // (void)zc;
    // return -ENOSYS;
    // SOLUTION-END
}

int
uio_zc_close(struct uio_zc *zc)
{
    // SOLUTION-BEGIN
    int err = uio_zc_flush(zc);
    if (err < 0)
        return err; /* the kernel may still read them: keep them */
    free(zc->mem);
    zc->mem = NULL;
    return 0;
    // SOLUTION-STUB
    // (void)zc;
    // return -ENOSYS;
    // SOLUTION-END
}

ssize_t
uio_zc_stream(struct uio_zc *zc, uio_zc_fill_cb fill, void *arg)
{
    // SOLUTION-BEGIN
    size_t total = 0;

    for (;;) {
        int i = uio_zc_get(zc, -1);
        if (i < 0)
            return i;
        size_t n = fill(uio_zc_buf(zc, i), zc->buf_size, arg);
        if (n == 0)
            return (ssize_t)total;
        if (n > zc->buf_size)
            return -EINVAL; /* fill wrote past the buffer: its bug */
        ssize_t sent = uio_zc_send(zc, i, n);
        if (sent < 0)
            return sent;
        total += n;
    }
    // SOLUTION-STUB
    // (void)zc;
    // (void)fill;
    // (void)arg;
    // return -ENOSYS;
    // SOLUTION-END
}
