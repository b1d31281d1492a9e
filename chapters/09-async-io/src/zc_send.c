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


int
uio_zc_note(struct uio_zc *zc, const struct sock_extended_err *ee)
{
    (void)zc;
    (void)ee;
    return -ENOSYS;
}


int
uio_zc_reap(struct uio_zc *zc)
{
    (void)zc;
    return -ENOSYS;
}


int
uio_zc_open(struct uio_zc *zc, int sock, unsigned nbufs, size_t buf_size)
{
    (void)zc;
    (void)sock;
    (void)nbufs;
    (void)buf_size;
    return -ENOSYS;
}

char *
uio_zc_buf(const struct uio_zc *zc, int i)
{
    (void)zc;
    (void)i;
    return NULL;
}

bool
uio_zc_busy(const struct uio_zc *zc, int i)
{
    (void)zc;
    (void)i;
    return false;
}

int
uio_zc_get(struct uio_zc *zc, int timeout_ms)
{
    (void)zc;
    (void)timeout_ms;
    return -ENOSYS;
}

ssize_t
uio_zc_send(struct uio_zc *zc, int i, size_t len)
{
    (void)zc;
    (void)i;
    (void)len;
    return -ENOSYS;
}

int
uio_zc_flush(struct uio_zc *zc)
{
    (void)zc;
    return -ENOSYS;
}

int
uio_zc_close(struct uio_zc *zc)
{
    (void)zc;
    return -ENOSYS;
}

ssize_t
uio_zc_stream(struct uio_zc *zc, uio_zc_fill_cb fill, void *arg)
{
    (void)zc;
    (void)fill;
    (void)arg;
    return -ENOSYS;
}
