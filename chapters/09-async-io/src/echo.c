/*
 * echo.c - exercise 2 of chapter 09: chapter 02's echo server on
 * io_uring.
 *
 * Nothing here asks whether a socket is ready. The ring holds, for the
 * whole run, a multishot accept on the listener and one receive on each
 * connection; the kernel picks a buffer from the buffer ring for what it
 * receives and says which in the completion. That buffer is the echo: it
 * goes onto its connection's queue and is sent from where it is, and it
 * goes back into the buffer ring only when the send has completed. A
 * connection's queue is a chain of buffer ids, so a connection costs the
 * same few bytes however much it is owed.
 *
 * The receive is armed again after each completion, in the same
 * io_uring_enter as the send, while the connection holds less than
 * max_held: that is the backpressure, exact to one buffer. A multishot
 * receive would save preparing that entry, but the kernel goes on
 * filling buffers for it until the completion queue is full, long before
 * a cancel can land (README, "Backpressure and multishot"). A receive
 * that ends for want of a buffer waits until one comes back; an accept
 * that ends is armed again, after a pause when it failed (EMFILE). Every
 * request carries its connection and its kind in user_data; a connection
 * is closed only when none of its requests is in flight, so no completion
 * ever finds it freed.
 */
#include "uio.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>


int
uio_echo_serve(int listen_fd, int stop_fd, const struct uio_echo_config *cfg,
               struct uio_echo_stats *stats)
{
    (void)listen_fd;
    (void)stop_fd;
    (void)cfg;
    (void)stats;
    return -ENOSYS;
}
