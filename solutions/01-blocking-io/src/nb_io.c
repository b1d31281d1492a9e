/*
 * nb_io.c - exercises 1 and 2 of chapter 01: reads and writes that survive
 * short transfers and signals, and non-blocking mode.
 *
 * The contract, with every edge case, is in include/nb.h. Each function
 * below is a TODO: replace the stub (which returns -ENOSYS) with code that
 * keeps every promise the header makes. Run `make grade CH=01` to see which
 * promises already hold.
 */
#include "nb.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* ===================================================================== */
/* Exercise 1 (rw): robust full-length read and write                    */
/* ===================================================================== */

/*
 * TODO(rw.1): read until len bytes have arrived [NB-1], stopping early only
 * at end of file, and then return how many bytes came [NB-2]. len == 0
 * reads nothing [NB-3]. A failed read returns -errno [NB-4]; a read
 * interrupted by a signal is simply tried again [NB-5].
 */
ssize_t
nb_read_full(int fd, void *buf, size_t len)
{
    // SOLUTION-BEGIN
    char *p = buf;
    size_t nleft = len;

    /*
     * Invariant: p[0 .. len-nleft) holds the bytes read so far, in order.
     * Each pass either shrinks nleft, stops at EOF, or retries EINTR,
     * which made no progress and changed nothing.
     */
    while (nleft > 0) {
        ssize_t n = read(fd, p, nleft);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break; /* EOF after len-nleft bytes: report what we have */
        p += n;
        nleft -= (size_t)n;
    }
    return (ssize_t)(len - nleft);
    // SOLUTION-STUB
    // (void)fd;
    // (void)buf;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(rw.2): write all len bytes, continuing short writes from where they
 * stopped [NB-6]; len == 0 writes nothing [NB-3]; a failed write returns
 * -errno [NB-7]; EINTR is retried [NB-5]; and a write that returns 0 must
 * not make the function spin forever [NB-8].
 */
ssize_t
nb_write_full(int fd, const void *buf, size_t len)
{
    // SOLUTION-BEGIN
    const char *p = buf;
    size_t nleft = len;

    /* Invariant: p[-(len-nleft) .. 0) has been accepted by the kernel. */
    while (nleft > 0) {
        ssize_t n = write(fd, p, nleft);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /*
         * write() returning 0 for a non-zero length means no progress and
         * no reason; trying again could loop forever, so give up loudly.
         */
        if (n == 0)
            return -EIO;
        p += n;
        nleft -= (size_t)n;
    }
    return (ssize_t)len;
    // SOLUTION-STUB
    // (void)fd;
    // (void)buf;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ===================================================================== */
/* Exercise 2 (nonblock): non-blocking mode                              */
/* ===================================================================== */

/*
 * TODO(nonblock.1): set or clear O_NONBLOCK on fd [NB-9] without touching
 * any other status flag [NB-10]; doing it twice is harmless [NB-11].
 */
int
nb_set_nonblocking(int fd, bool on)
{
    // SOLUTION-BEGIN
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -errno;
    int want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    /* Already as asked: skip the second system call. */
    if (want != flags && fcntl(fd, F_SETFL, want) == -1)
        return -errno;
    return 0;
    // SOLUTION-STUB
    // (void)fd;
    // (void)on;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(nonblock.2): one read that returns a count of bytes [NB-12], 0 at
 * end of file [NB-13], -EAGAIN when a non-blocking descriptor has nothing
 * yet, EWOULDBLOCK included [NB-14], or another -errno [NB-15]. EINTR is
 * retried [NB-5].
 */
ssize_t
nb_read_some(int fd, void *buf, size_t len)
{
    // SOLUTION-BEGIN
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        /* POSIX allows EWOULDBLOCK to differ from EAGAIN: fold it. */
        if (errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
    // SOLUTION-STUB
    // (void)fd;
    // (void)buf;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}
