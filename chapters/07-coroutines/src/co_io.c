/*
 * co_io.c - exercise 2 of chapter 07: read, write, accept and connect that
 * park the calling coroutine instead of blocking the thread.
 *
 * Every call here follows one pattern: try the call; only on EAGAIN
 * register interest (co_wait, in co_sched.c) and park; when woken, try
 * again. Trying first matters: data that arrived before the call, or was
 * left over from an earlier short read, must be returned at once, as no
 * new readiness event may ever come for it. io_again holds the pattern's
 * decision once, for the three calls that retry; co_connect waits once
 * and then asks the socket how the connection went.
 */
#include "co.h"

#include <errno.h>
#include <unistd.h>

/*
 * What to do after a call on fd returned n (-1 with errno set, on failure):
 * 0 when n is the answer (a count, possibly short; 0 at EOF); 1 when the
 * call is to be made again (it was interrupted, or it said EAGAIN and fd
 * has since become ready in the direction events); -errno when the call
 * failed for real, or the wait did (-ECANCELED, ...).
 */
static int
io_again(ssize_t n, int fd, unsigned events)
{
    /* TODO(CO-S13): 0 when n is a result; 1 to call again after EINTR,
     * or after EAGAIN once fd is ready (co_wait); -errno otherwise. */
    (void)n;
    (void)fd;
    (void)events;
    return -ENOSYS;
}

ssize_t
co_read(int fd, void *buf, size_t len)
{
    /* TODO(CO-S13): read; on EAGAIN wait until readable and read again
     * (io_again above decides). */
    (void)fd;
    (void)buf;
    (void)len;
    (void)io_again;
    return -ENOSYS;
}

ssize_t
co_write(int fd, const void *buf, size_t len)
{
    /* TODO(CO-S13): write; on EAGAIN wait until writable and try again. */
    (void)fd;
    (void)buf;
    (void)len;
    return -ENOSYS;
}

int
co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    /* TODO(CO-S13): accept4 (non-blocking, close-on-exec); on EAGAIN wait
     * until the listener is readable and try again. */
    (void)fd;
    (void)addr;
    (void)addrlen;
    return -ENOSYS;
}

int
co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    /* TODO(CO-S14): connect; if it is in progress, wait until writable
     * and return the connection's own error (SO_ERROR). */
    (void)fd;
    (void)addr;
    (void)addrlen;
    return -ENOSYS;
}
