/*
 * zerocopy.c - exercise 3 of chapter 09: a file served on a socket
 * without passing through user space.
 *
 * sendfile(2) moves page-cache pages to the socket in one call; splice(2)
 * does the same in two steps through a pipe, which is what lets it join
 * any two descriptors when one side is a pipe. Both can stop short: a
 * non-blocking socket takes what fits, and a signal can interrupt a
 * blocking one. Both loops here go on from where the kernel stopped, and
 * wait with poll(2) for room when a non-blocking socket is full.
 */
#include "uio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

// SOLUTION-BEGIN
/* sendfile and splice move at most this much per call (sendfile(2)). */
#define MAX_CHUNK 0x7ffff000UL

/* Waits until sock has room again; 0, or -errno. */
static int
wait_writable(int sock)
{
    struct pollfd p = {.fd = sock, .events = POLLOUT};

    for (;;) {
        int n = poll(&p, 1, -1);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static size_t
chunk(size_t left)
{
    return left < MAX_CHUNK ? left : MAX_CHUNK;
}
// SOLUTION-STUB
// SOLUTION-END

ssize_t
uio_send_file(int sock, int file_fd, off_t off, size_t len)
{
    // SOLUTION-BEGIN
    size_t done = 0;

    while (done < len) {
        /* sendfile advances pos, never the file's own offset. */
        off_t pos = off + (off_t)done;
        ssize_t n = sendfile(sock, file_fd, &pos, chunk(len - done));
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            break; /* the file ended first */
        } else if (errno == EAGAIN) {
            int err = wait_writable(sock);
            if (err < 0)
                return err;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return (ssize_t)done;
    // SOLUTION-STUB
    // (void)sock;
    // (void)file_fd;
    // (void)off;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

// SOLUTION-BEGIN
/*
 * Moves the n bytes the pipe holds to sock. Returns 0, or -errno (the
 * bytes left in the pipe are lost with it: the caller closes it).
 */
static int
drain_pipe(int pipe_rd, int sock, size_t n)
{
    while (n > 0) {
        ssize_t m = splice(pipe_rd, NULL, sock, NULL, n, SPLICE_F_MOVE);
        if (m > 0) {
            n -= (size_t)m;
        } else if (m == 0) {
            return -EIO; /* the pipe is ours: it cannot run dry */
        } else if (errno == EAGAIN) {
            int err = wait_writable(sock);
            if (err < 0)
                return err;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

static ssize_t
splice_through(int pipe_rd, int pipe_wr, int sock, int file_fd, off_t off,
               size_t len)
{
    size_t done = 0;

    while (done < len) {
        off_t pos = off + (off_t)done;
        /* The pipe is empty here, so this blocks on nothing but the file. */
        ssize_t n = splice(file_fd, &pos, pipe_wr, NULL, chunk(len - done),
                           SPLICE_F_MOVE);
        if (n == 0)
            break; /* the file ended first */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        int err = drain_pipe(pipe_rd, sock, (size_t)n);
        if (err < 0)
            return err;
        done += (size_t)n;
    }
    return (ssize_t)done;
}
// SOLUTION-STUB
// SOLUTION-END

ssize_t
uio_splice_file(int sock, int file_fd, off_t off, size_t len)
{
    // SOLUTION-BEGIN
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    ssize_t ret = splice_through(p[0], p[1], sock, file_fd, off, len);
    close(p[0]);
    close(p[1]);
    return ret;
    // SOLUTION-STUB
    // (void)sock;
    // (void)file_fd;
    // (void)off;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}
