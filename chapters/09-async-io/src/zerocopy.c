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


ssize_t
uio_send_file(int sock, int file_fd, off_t off, size_t len)
{
    (void)sock;
    (void)file_fd;
    (void)off;
    (void)len;
    return -ENOSYS;
}


ssize_t
uio_splice_file(int sock, int file_fd, off_t off, size_t len)
{
    (void)sock;
    (void)file_fd;
    (void)off;
    (void)len;
    return -ENOSYS;
}
