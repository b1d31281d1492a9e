/*
 * uiot.h - what chapter 09's two test files share: the io_uring probe
 * that skips a test where io_uring is off, files of known bytes, and a
 * receiver thread at the other end of a loopback connection.
 */
#ifndef UIOT_H
#define UIOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "uio.h"

#define LONG_MS 20000 /* a wait that must not end by its deadline */

/*
 * uiot_need_uring - skips the test (tk_skip, left out of the maximum)
 * when io_uring cannot be used here, naming why: IOLAB_NO_IO_URING=1 in
 * the environment (the switch that proves this path), the
 * kernel.io_uring_disabled sysctl, or a refusal with no sysctl to blame
 * (a seccomp filter, as Docker's default profile, or an old kernel).
 */
void uiot_need_uring(void);

/*
 * uiot_file - a file of len seeded bytes in the test's directory, opened
 * read-only; *data receives a malloc'd copy of its bytes (the caller
 * frees it) when data is not NULL.
 */
int uiot_file(const char *name, size_t len, unsigned seed, char **data);

/* A new empty file in the test's directory, opened read-write. */
int uiot_out(const char *name);

/* Fails the test unless fd holds exactly the len bytes of want. */
void uiot_expect_file(int fd, const char *want, size_t len);

/*
 * A loopback TCP connection: the sender's end for the function under
 * test, and a thread that reads the other end until EOF.
 */
struct uiot_rx {
    int send_fd;     /* the end the test sends on */
    int recv_fd;     /* the end the thread reads */
    char *buf;       /* what arrived (cap bytes) */
    size_t cap;      /* bytes expected */
    size_t got;      /* bytes that arrived (more than cap: too many) */
    size_t piece;    /* bytes per read */
    size_t reset_at; /* 0, or reset the connection after this many */
    int err;         /* a read error, as -errno */
    pthread_t thread;
};

/*
 * Connects and starts the thread, expecting cap bytes read piece bytes
 * at a time. small: both ends get small socket buffers, so a sender on a
 * non-blocking socket meets a full buffer many times.
 */
void uiot_rx_start(struct uiot_rx *rx, size_t cap, size_t piece, bool small);

/* Closes the sending end, joins the thread, closes its end. */
void uiot_rx_finish(struct uiot_rx *rx);

/* uiot_rx_finish, then fails the test unless exactly want[0..len) came. */
void uiot_rx_expect(struct uiot_rx *rx, const char *want, size_t len);

#endif /* UIOT_H */
