/*
 * nb.h - the contract of chapter 01: blocking and non-blocking IO.
 *
 * The specification; conventions: shared/include/iolab/CONVENTIONS.md.
 */
#ifndef IOLAB_NB_H
#define IOLAB_NB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ===================================================================== */
/* Exercise 1 (rw): robust full-length read and write                    */
/* ===================================================================== */

/*
 * nb_read_full - read exactly len bytes from fd into buf, unless EOF comes
 * first.
 *
 * fd:  any readable descriptor (file, pipe, socket), blocking or not.
 * buf: at least len bytes; len may be 0.
 *
 * Returns:
 *  - len when every byte was read. [NB-1] A read(2) may return fewer bytes
 *    than asked for (a short read) at any time; the function keeps reading
 *    until len bytes have arrived.
 *  - a count in 0..len-1 when end of file came first: the number of bytes
 *    read before it. [NB-2] Those bytes are in buf.
 *  - 0 at once when len is 0, without reading. [NB-3]
 *  - -errno when a read failed (-EBADF, -EISDIR, -EAGAIN for an empty
 *    non-blocking descriptor, ...). [NB-4] The error wins even when some
 *    bytes were read before it: those bytes are in buf, but their count is
 *    not returned, so after an error treat the stream as failed. (On a
 *    non-blocking descriptor that means: use nb_read_some instead.)
 *
 * [NB-5] A read interrupted by a signal (-1 with errno EINTR) is retried,
 * whether or not the handler was installed with SA_RESTART; the caller
 * never sees -EINTR.
 *
 * Thread safety: safe on distinct descriptors; two threads reading the same
 * descriptor get interleaved bytes, as with read(2).
 */
ssize_t nb_read_full(int fd, void *buf, size_t len);

/*
 * nb_write_full - write all len bytes of buf to fd.
 *
 * Returns:
 *  - len once every byte was accepted by the kernel. [NB-6] Short writes
 *    (a pipe or socket taking part of the buffer) are continued from where
 *    they stopped, never restarted from the beginning.
 *  - 0 at once when len is 0, without writing. [NB-3]
 *  - -errno when a write failed (-EPIPE when the reader is gone, -ENOSPC,
 *    -EBADF, -EAGAIN for a full non-blocking descriptor, ...). [NB-7]
 *    As for reads, the error wins over bytes already written.
 *  - -EIO if write(2) ever returns 0 for a non-zero length: the kernel made
 *    no progress and did not say why, so looping again could spin forever.
 *    [NB-8]
 *
 * [NB-5] EINTR is retried as for nb_read_full.
 *
 * The caller should ignore SIGPIPE (or expect to be killed by it) when fd
 * is a pipe or socket whose reader may go away; this function does not
 * touch signal dispositions.
 */
ssize_t nb_write_full(int fd, const void *buf, size_t len);

/* ===================================================================== */
/* Exercise 2 (nonblock): non-blocking mode                              */
/* ===================================================================== */

/*
 * nb_set_nonblocking - turn O_NONBLOCK on or off for fd.
 *
 * Returns 0, or -errno (-EBADF for a descriptor that is not open).
 * [NB-9]  After the call, O_NONBLOCK is set exactly when on is true.
 * [NB-10] Every other file status flag (O_APPEND, ...) is preserved.
 * [NB-11] Calling it twice with the same value is harmless (idempotent).
 *
 * Note: O_NONBLOCK belongs to the open file description, not to the
 * descriptor, so it also changes every dup() of fd and the same pipe or
 * socket shared with a child process.
 */
int nb_set_nonblocking(int fd, bool on);

/*
 * nb_read_some - one read that tells apart the four things a read can mean.
 *
 * len must be at least 1: a read of 0 bytes returns 0 whether or not the
 * peer is gone, so it cannot tell end of file from anything.
 *
 * Returns:
 *  - a count in 1..len: that many bytes are now in buf. [NB-12]
 *  - 0: end of file; the peer closed its end. [NB-13]
 *  - -EAGAIN: no data yet on a non-blocking descriptor. EWOULDBLOCK is
 *    reported as -EAGAIN so callers test one value. [NB-14]
 *  - another -errno: a real error (-EBADF, -ECONNRESET, ...). [NB-15]
 * [NB-5] EINTR is retried.
 *
 * On a regular file O_NONBLOCK has no effect: a read never returns -EAGAIN
 * there, however slow the disk. (Chapter 01's README explains why.)
 */
ssize_t nb_read_some(int fd, void *buf, size_t len);

/* ===================================================================== */
/* Exercise 3 (serve): serve many interactive clients                    */
/* ===================================================================== */

/*
 * The line protocol. A client sends requests, each a line of text ending
 * in '\n'. For every complete line the server sends back the same line,
 * byte for byte, '\n' included. Lines are at most NB_LINE_MAX bytes long
 * including the newline; a client that sends a longer line is
 * disconnected. Requests from one client are answered in order.
 */
#ifndef NB_LINE_MAX
#define NB_LINE_MAX 1024 /* one request; enough for the tests' longest */
#endif

/*
 * How much reply data the server may hold for one client that is not
 * reading. Past this the server stops reading that client's requests until
 * the backlog drains (backpressure), so memory stays bounded.
 */
#ifndef NB_OUT_MAX
#define NB_OUT_MAX (64 * 1024) /* a few dozen replies; bounds memory */
#endif

/*
 * nb_serve_blocking - the given baseline: a classic blocking server.
 *
 * It accepts one client, answers its lines until that client closes, and
 * only then accepts the next. One slow client therefore stalls every
 * other. It stops after serving max_clients clients (0: never stops).
 * Returns 0, or -errno if accept fails. It is provided complete, to be
 * measured against.
 */
int nb_serve_blocking(int listen_fd, unsigned max_clients);

/*
 * nb_serve - serve every connected client at once, in one thread, with
 * non-blocking sockets and no select/poll/epoll (that is chapter 02).
 *
 * listen_fd: a listening TCP socket, blocking or not; the server may make
 *            it non-blocking. Owned by the caller: not closed.
 * stop_fd:   a descriptor the caller makes readable (writes a byte, or
 *            closes the other end of a pipe) to ask the server to stop.
 *            Owned by the caller: not closed. The server may make it
 *            non-blocking, as it may listen_fd, and may consume what it
 *            reads from it.
 *
 * Returns 0 after a stop was requested, or -errno if the server cannot go
 * on [NB-22]: -ENOTSOCK when listen_fd is not a socket, -EINVAL when it is
 * not listening, -EBADF when it is not open; or the error of a failed
 * read of stop_fd [NB-24]. Transient accept errors (ECONNABORTED, EMFILE,
 * ENFILE, ENOBUFS, ENOMEM) are not fatal: the server keeps serving and
 * accepts again on a later pass.
 *
 * [NB-16] Each client gets exactly its own lines back, in order, however
 *         the bytes were split across reads and writes. When a client
 *         sends EOF (shutdown or close of its write side), the replies
 *         still owed to it are sent, then the server closes the
 *         connection; an unfinished line at EOF gets no reply.
 * [NB-17] A client that sends half a line and goes quiet, or that never
 *         sends anything, does not delay the replies to other clients.
 * [NB-18] A client that disconnects, even abruptly (a reset), is dropped;
 *         the others are not affected, and SIGPIPE never kills the server.
 * [NB-19] Reply data a client is not yet reading is kept, never dropped,
 *         and never blocks the server; once NB_OUT_MAX bytes are pending
 *         the server stops reading from that client until it catches up.
 *         (One read may overshoot: pending bytes never exceed NB_OUT_MAX +
 *         NB_LINE_MAX.)
 * [NB-20] A line longer than NB_LINE_MAX disconnects that client only:
 *         once NB_LINE_MAX bytes have arrived without a newline, the
 *         server closes the connection. Replies not yet sent to it may be
 *         lost, and since its input was not all read, the client may see
 *         a reset (ECONNRESET) rather than EOF.
 * [NB-21] On stop, every client connection the server accepted is closed
 *         and all memory it allocated is freed.
 * [NB-23] A send (or write) to a client that returns 0 for a non-zero
 *         length made no progress and gave no reason: as in nb_write_full
 *         [NB-8], that connection is treated as broken and dropped. The
 *         server never retries it in a loop, which could spin for ever.
 * [NB-24] A read of stop_fd that fails with anything but EAGAIN (-EBADF
 *         for a descriptor open only for writing, -EISDIR, ...) ends the
 *         server: every connection is closed as on a stop [NB-21], and
 *         that -errno is returned, not 0: the caller learns that its stop
 *         descriptor is broken instead of believing it asked for a stop.
 *
 * This server polls: when nothing is ready it loops and tries again. That
 * burns a CPU core while idle, which chapter 02 fixes. It may yield the CPU
 * between passes (sched_yield) but must not sleep: a sleep adds its length
 * to every reply.
 */
int nb_serve(int listen_fd, int stop_fd);

/* ===================================================================== */
/* Exercise 4 (prethread): a bounded prethreaded server                  */
/* ===================================================================== */

/*
 * A fixed pool of worker threads fed by a bounded queue. One acceptor
 * thread accepts connections and appends them to a queue of at most
 * queue_cap descriptors; nthreads worker threads, all created at start,
 * take connections from the queue, oldest first, and call the handler on
 * each. Memory and concurrency are bounded by the two numbers, whatever
 * the number of clients. Chapter 02 serves the same clients with one
 * thread; chapter 06 applies the same bound on the client side.
 */

/* The most workers and queue slots nb_pool_start accepts. */
#ifndef NB_POOL_MAX
#define NB_POOL_MAX 1024 /* far above a useful pool; bounds the allocation */
#endif

/*
 * nb_conn_cb - serves one connection in a worker thread.
 *
 * fd:  the connected socket, blocking, close-on-exec. Owned by the pool:
 *      the handler must not close it; the pool closes it when the
 *      handler returns.
 * arg: the arg given to nb_pool_start.
 *
 * Returns 0, or a -errno that the pool counts (nb_pool_stats.failed) and
 * otherwise ignores. The handler must return once a read of fd sees end
 * of file or an error: that is how nb_pool_stop ends it (see below).
 * Handlers run in several threads at once; what they share, they lock.
 */
typedef int (*nb_conn_cb)(int fd, void *arg);

/*
 * nb_echo_conn - an nb_conn_cb that answers every byte with itself: it
 * reads with nb_read_some and writes back with nb_write_full (exercises 1
 * and 2) until end of file. [NB-34] Returns 0 at end of file, or the
 * -errno of the read or write that failed (-ECONNRESET after a reset,
 * -EPIPE, ...). arg is not used. Given complete, in src/nb_prethread.c;
 * the tests and the bench serve with it. It writes to a socket whose peer
 * may be gone: the program ignores SIGPIPE.
 */
int nb_echo_conn(int fd, void *arg);

/* A running pool (opaque). */
struct nb_pool;

/* What a pool has done so far. */
struct nb_pool_stats {
    unsigned long accepted; /* connections the acceptor took */
    unsigned long served;   /* handler calls that returned */
    unsigned long failed;   /* of those, the ones that returned < 0 */
    size_t queued;          /* connections waiting in the queue now */
    size_t peak_queued;     /* the most that ever waited at once */
    size_t busy;            /* workers inside the handler now */
    size_t peak_busy;       /* the most that were ever inside at once */
};

/*
 * nb_pool_start - starts a pool serving listen_fd.
 *
 * out:       receives the pool, to be given to nb_pool_stop.
 * listen_fd: a listening stream socket. Owned by the caller: not closed;
 *            the pool may make it non-blocking.
 * nthreads:  worker threads, 1..NB_POOL_MAX, all created before this
 *            returns. [NB-25] The pool creates exactly nthreads workers
 *            and one acceptor, whatever the number of connections, and
 *            never more than nthreads handlers run at once.
 * queue_cap: the most accepted connections that wait for a worker,
 *            1..NB_POOL_MAX.
 * handler:   serves one connection (nb_conn_cb); arg is passed to it.
 *
 * [NB-26] Backpressure: the queue never holds more than queue_cap
 * connections. When it is full the acceptor stops accepting until a
 * worker takes one; further clients wait in the kernel's listen backlog
 * (listen(2)'s backlog, capped by net.core.somaxconn), and when that is
 * full too, Linux drops their handshake packets and the clients retry
 * (tcp(7), tcp_abort_on_overflow). No connection is accepted and then
 * dropped.
 *
 * [NB-27] Queued connections are served in the order they were accepted
 * (first in, first out).
 *
 * [NB-28] A handler that blocks on a slow client holds only its own
 * worker: while fewer than nthreads handlers are busy, a queued
 * connection is taken by an idle worker at once.
 *
 * [NB-29] Whatever a handler returns, even an error after a reset, its
 * connection is closed, it counts as served, and its worker goes on to
 * the next connection.
 *
 * Returns 0, or -errno with nothing left behind (no thread, no
 * descriptor, no memory) [NB-30]: -EINVAL for nthreads or queue_cap out
 * of range, a NULL out or handler, or a socket that is not listening;
 * -EBADF when listen_fd is not open; -ENOTSOCK when it is not a socket;
 * -EAGAIN or -ENOMEM when a thread or memory cannot be had.
 */
int nb_pool_start(struct nb_pool **out, int listen_fd, unsigned nthreads,
                  unsigned queue_cap, nb_conn_cb handler, void *arg);

/*
 * nb_pool_stats - copies the pool's counters into *st. Safe to call from
 * any thread while the pool runs; the copy is consistent (taken at one
 * instant). [NB-31] queued and busy are the numbers at that instant,
 * and accepted == served + queued + busy at every instant.
 */
void nb_pool_stats(struct nb_pool *pool, struct nb_pool_stats *st);

/*
 * nb_pool_stop - stops the pool and frees it.
 *
 * [NB-32] Every thread wakes, whether it waits for a connection, for room
 * in the queue, or is inside a handler: the connection of each busy
 * handler is shut down (shutdown(2), SHUT_RDWR), so a handler blocked in
 * a read sees end of file and returns. Connections still in the queue are
 * closed unserved. nb_pool_stop returns only after every thread of the
 * pool has been joined; no handler runs after it returns, and every
 * descriptor the pool accepted is closed. listen_fd stays open; clients
 * still in its backlog stay there.
 * [NB-33] It works on an idle pool, and on a pool stopped right after it
 * started.
 *
 * Returns 0. pool must come from nb_pool_start and is invalid afterwards.
 * Call it from one thread, not from a handler (a worker cannot join
 * itself).
 */
int nb_pool_stop(struct nb_pool *pool);

#endif /* IOLAB_NB_H */
