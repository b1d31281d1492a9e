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
    (void)fd;
    (void)buf;
    (void)len;
    return -ENOSYS;
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
    (void)fd;
    (void)buf;
    (void)len;
    return -ENOSYS;
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
    (void)fd;
    (void)on;
    return -ENOSYS;
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
    (void)fd;
    (void)buf;
    (void)len;
    return -ENOSYS;
}
