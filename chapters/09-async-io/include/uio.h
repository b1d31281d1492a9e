/*
 * uio.h - the contract of chapter 09: completion-based IO with io_uring,
 * and the copies a file server does not need.
 *
 *  - Exercise 1 (copy): uio_copy, a file copy on io_uring. A fixed number
 *    of requests is in flight; each block is read, then written at the
 *    same offset; a short read or a short write is resubmitted for the
 *    rest; the first error is the result.
 *  - Exercise 2 (echo): uio_echo_serve, chapter 02's echo server on one
 *    ring: a multishot accept, receives into a ring of provided buffers,
 *    a buffer given back only once its send has completed, and a bounded
 *    amount held per connection.
 *  - Exercise 3 (zerocopy): a file served on a socket without passing
 *    through user space, with sendfile(2) (uio_send_file) and with
 *    splice(2) through a pipe (uio_splice_file); and large buffers sent
 *    with MSG_ZEROCOPY (uio_zc_*), none reused before the kernel's
 *    notification says it is done with it.
 *
 * Conventions: shared/include/iolab/CONVENTIONS.md. Every sentence tagged
 * [UIO-n] is checked by a test whose description names the same tag.
 *
 * uio_send_file and uio_splice_file install no signal handler. They raise
 * SIGPIPE when the peer has gone (they take no MSG_NOSIGNAL), so a
 * program that serves files ignores SIGPIPE itself.
 */
#ifndef IOLAB_UIO_H
#define IOLAB_UIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The queue depth and block size uio_copy uses when given 0. */
#define UIO_DEFAULT_QD 8
#define UIO_DEFAULT_BLOCK (128 * 1024)

/* The largest queue depth and block size uio_copy accepts. */
#define UIO_MAX_QD 64
#define UIO_MAX_BLOCK (1024 * 1024)

/* The copy's settings. Zero-initialise, then set what you need. */
struct uio_copy_opts {
    unsigned queue_depth; /* requests in flight at most; 0: UIO_DEFAULT_QD */
    size_t block_size;    /* bytes per read; 0: UIO_DEFAULT_BLOCK */
};

/* What a copy did, filled in whether it succeeded or not. */
struct uio_copy_stats {
    uint64_t bytes;         /* bytes the writes reported written */
    uint64_t reads;         /* read requests completed */
    uint64_t writes;        /* write requests completed */
    uint64_t short_reads;   /* reads that returned less than asked, not 0 */
    uint64_t short_writes;  /* writes that returned less than asked */
    uint64_t submits;       /* calls that submitted or waited (enter) */
    unsigned max_in_flight; /* the most requests in flight at once */
};

/* ---- exercise 1: copy ------------------------------------------------- */

/*
 * uio_copy - copies everything in_fd holds to out_fd with io_uring.
 *
 * in_fd is a regular file, read from offset 0 to its end, or a pipe or a
 * socket (no offsets: lseek(2) fails with ESPIPE), read from where it is
 * to its end of file. out_fd is a regular file written from offset 0 at
 * the offsets the bytes came from; it is neither truncated nor extended
 * beyond what is copied. Neither descriptor's file offset is used or
 * moved for a regular file. opts may be NULL (the defaults); stats may be
 * NULL.
 *
 * [UIO-1] Returns the number of bytes copied, and out_fd then holds
 * exactly in_fd's bytes; stats->bytes is the same number. An empty input
 * gives 0 and no write.
 * [UIO-2] An input whose size is not a multiple of the block size is
 * copied exactly: no byte past its end is written.
 * [UIO-3] At most queue_depth requests are in flight at any time, and a
 * regular-file input larger than queue_depth blocks has queue_depth in
 * flight at once (stats->max_in_flight == queue_depth): the reads of
 * several blocks are submitted together, before any completes.
 * [UIO-4] The reads and writes are io_uring requests: the copy calls
 * none of read, write, pread, pwrite, readv, writev or their relatives.
 * [UIO-5] A read that returns fewer bytes than asked (a pipe or socket
 * does whenever less is there) is not the end of the input: its bytes are
 * written at the offset they belong to, and the rest is read next. Only a
 * read that returns 0 ends the input.
 * [UIO-6] A write that returns fewer bytes than asked is resubmitted for
 * the rest, at the offset where it stopped.
 * [UIO-7] A request that fails ends the copy with the first error seen
 * (-errno), never a count: no new request is started after it, the
 * requests in flight are waited for, and stats->bytes says how many bytes
 * the writes did put in out_fd (after a short write then EFBIG, exactly
 * the file size limit).
 * [UIO-8] opts with a queue depth above UIO_MAX_QD or a block size above
 * UIO_MAX_BLOCK give -EINVAL before anything is read.
 * [UIO-9] Everything the copy takes (the ring, its descriptor, the
 * buffers) is given back on every path, success or error.
 *
 * Where io_uring is not available, returns what io_uring_queue_init
 * returned (-ENOSYS: no io_uring in this kernel; -EPERM: disabled by the
 * kernel.io_uring_disabled sysctl or refused by a seccomp filter).
 */
ssize_t uio_copy(int in_fd, int out_fd, const struct uio_copy_opts *opts,
                 struct uio_copy_stats *stats);

/* ---- exercise 3: zerocopy --------------------------------------------- */

/*
 * uio_send_file - sends len bytes of file_fd, from offset off, on the
 * connected stream socket sock, with sendfile(2). file_fd's own file
 * offset is neither used nor moved. sock may be blocking or not.
 *
 * [UIO-10] Returns len when every byte was sent, in order, exactly once.
 * [UIO-11] file_fd's file offset is the same afterwards as before, and
 * the bytes sent are those at off, not at the file offset.
 * [UIO-12] On a non-blocking socket whose buffer is full, the function
 * waits until the socket is writable and goes on: a short send or EAGAIN
 * is never the result.
 * [UIO-13] A file that ends before off + len: returns the bytes sent up
 * to its end (possibly 0), not an error.
 * [UIO-14] The bytes never pass through user space: no read, write,
 * send or recv family call is made.
 * [UIO-15] An error (a peer that closed: -EPIPE or -ECONNRESET) is
 * returned as -errno even after some bytes were sent.
 */
ssize_t uio_send_file(int sock, int file_fd, off_t off, size_t len);

/*
 * uio_splice_file - the same as uio_send_file, with splice(2): from the
 * file into a pipe of its own, and from the pipe to the socket.
 *
 * [UIO-16] It keeps [UIO-10] to [UIO-15]: every byte once and in order,
 * file_fd's offset untouched, non-blocking sockets waited on, a short
 * file's count, no byte through user space, and errors as -errno.
 * [UIO-17] The pipe is closed on every path: the process has as many
 * descriptors open afterwards as before, success or error.
 */
ssize_t uio_splice_file(int sock, int file_fd, off_t off, size_t len);

/* --- exercise 2: echo server --- */

/*
 * uio_echo_serve - chapter 02's echo server on io_uring: what a client
 * sends comes back to it, in order, on the same connection.
 *
 * One ring does all of it: a multishot accept on listen_fd, a receive on
 * each connection into a buffer the kernel picks from a buffer ring the
 * server provides (IOSQE_BUFFER_SELECT), and sends that complete on their
 * own. A received buffer is the echo: it is sent as it is, and given back
 * to the buffer ring only when the send that uses it has completed.
 *
 * The server runs on the calling thread until stop_fd becomes readable,
 * then returns 0. listen_fd is a listening TCP socket (blocking or not);
 * neither it nor stop_fd is closed. cfg and stats may be NULL; stats is
 * updated as the server runs, and is final when the call returns.
 * Nothing in it raises SIGPIPE.
 */

/* The defaults uio_echo_serve uses for a zero field of its config. */
#define UIO_ECHO_ENTRIES 256    /* submission queue entries */
#define UIO_ECHO_NBUFS 64       /* buffers in the buffer ring */
#define UIO_ECHO_BUF_SIZE 4096  /* bytes per buffer */
#define UIO_ECHO_MAX_HELD 65536 /* bytes owed to one connection */

/* The largest buffer count (a power of two) and buffer size accepted. */
#define UIO_ECHO_MAX_NBUFS 32768
#define UIO_ECHO_MAX_BUF_SIZE (1024 * 1024)

/* The server's settings. Zero-initialise, then set what you need. */
struct uio_echo_config {
    unsigned entries;  /* submission queue size; 0: UIO_ECHO_ENTRIES */
    unsigned nbufs;    /* buffers in the ring, a power of two; 0: default */
    unsigned buf_size; /* bytes per buffer; 0: UIO_ECHO_BUF_SIZE */
    size_t max_held;   /* bytes one connection may hold received and not
                          yet sent back; 0: UIO_ECHO_MAX_HELD */
};

/* What the server did. Counters only grow while it runs. */
struct uio_echo_stats {
    uint64_t accepted;      /* connections accepted */
    uint64_t closed;        /* connections closed, for any reason */
    uint64_t bytes;         /* bytes echoed (sends completed) */
    uint64_t enobufs;       /* receives that ended for want of a buffer */
    uint64_t paused;        /* times a connection stopped receiving */
    uint64_t rearms;        /* receives armed again after ENOBUFS or a
                               pause */
    uint64_t max_held;      /* the most bytes one connection held at once */
    uint64_t buffers_out;   /* buffers taken from the ring and not given
                               back, now (0 after the call returns) */
    uint64_t accept_errors; /* accepts that failed (EMFILE, ...) */
    uint64_t accept_rearms; /* multishot accepts armed again after one
                               ended (a completion without
                               IORING_CQE_F_MORE) */
};

/*
 * [UIO-20] Every byte a client sends comes back to it, once and in
 * order, whatever the other clients do; many clients are served at once.
 * [UIO-21] A buffer is given back to the buffer ring only after every
 * send of its bytes has completed: the bytes one client is owed are
 * never overwritten by another client's (nor by its own later) bytes.
 * [UIO-22] Backpressure: a connection that holds max_held bytes or more
 * received and not yet sent does not receive (stats->paused counts the
 * times it stops), and receives again once its sends have brought it
 * under max_held; it never holds more than max_held plus one buffer
 * (stats->max_held). A client that never reads is held back by TCP, and
 * the other clients are served meanwhile.
 * [UIO-23] A receive that ended for want of a buffer (-ENOBUFS,
 * stats->enobufs) is armed again once a buffer is back in the ring
 * (stats->rearms), so the connection is served as soon as buffers are
 * free; the multishot accept, when it ends (a completion without
 * IORING_CQE_F_MORE), is armed again too.
 * [UIO-24] After a client's shutdown(SHUT_WR), every byte owed to it is
 * sent, then the server closes the connection.
 * [UIO-25] A reset (or any error) on one connection closes that one only;
 * SIGPIPE is never raised; the others are served on.
 * [UIO-26] Once stop_fd is readable, the call returns 0 with every
 * connection closed (stats->closed == stats->accepted), no buffer out
 * of the ring, and the process holding exactly the descriptors it held
 * before the call.
 * [UIO-27] A config with nbufs not a power of two, or above
 * UIO_ECHO_MAX_NBUFS, or buf_size above UIO_ECHO_MAX_BUF_SIZE, gives
 * -EINVAL before anything is accepted.
 *
 * Where io_uring is not available, returns what io_uring_queue_init
 * returned (as uio_copy).
 */
int uio_echo_serve(int listen_fd, int stop_fd,
                   const struct uio_echo_config *cfg,
                   struct uio_echo_stats *stats);

/* --- MSG_ZEROCOPY --- */

/*
 * A sender of large buffers with MSG_ZEROCOPY (exercise 3, last part).
 *
 * send(2) with MSG_ZEROCOPY does not copy the bytes into the kernel: the
 * socket keeps references to the caller's pages until the data is
 * acknowledged, and then puts a notification on the socket's error
 * queue. Until that notification has been read, the buffer still belongs
 * to the kernel: rewriting it changes bytes that may not have left yet,
 * and freeing it is a use after free in all but name. The sender below
 * owns nbufs buffers of buf_size bytes and hands out only free ones.
 *
 * Every send(2) call with MSG_ZEROCOPY that takes at least one byte gets
 * the next 32-bit id, from 0 (msg_zerocopy.rst). A notification is a
 * struct sock_extended_err with ee_origin SO_EE_ORIGIN_ZEROCOPY that
 * completes the ids ee_info to ee_data inclusive: the kernel merges the
 * completions of consecutive ids into one range while the last one is
 * still unread. ee_code SO_EE_CODE_ZEROCOPY_COPIED says the kernel copied
 * after all (always on loopback: it copies each segment as it is looped
 * back, so that a receiver that never reads cannot hold the sender's
 * pages forever).
 *
 * Not thread-safe: one thread uses a sender at a time. The socket is the
 * caller's; it may be blocking or not, and is never closed here.
 */

/* The most buffers a sender has. */
#define UIO_ZC_MAX_BUFS 64

/* The sender's counters. */
struct uio_zc_stats {
    uint64_t sends;     /* send calls that took bytes (zero-copy or not) */
    uint64_t bytes;     /* bytes they took */
    uint64_t zc_sends;  /* of those, the ones made with MSG_ZEROCOPY */
    uint64_t notes;     /* notifications read or given to uio_zc_note */
    uint64_t completed; /* ids those notifications completed */
    uint64_t copied;    /* of those, the ids the kernel reported COPIED */
    uint64_t enobufs;   /* ENOBUFS met from a zero-copy send */
    uint64_t plain;     /* sends made as copies after ENOBUFS */
};

/* One buffer's state: free, or waiting for its ids. */
struct uio_zc_slot {
    uint32_t first;   /* the first id its sends took */
    uint32_t pending; /* ids of first.. still not completed; 0: free */
    uint32_t taken;   /* ids its sends took (first .. first + taken - 1) */
};

/*
 * The sender. Invariants: a slot with pending > 0 is busy and is never
 * handed out; the sum of the slots' pending counts is in_flight; ids
 * next_id - in_flight .. next_id - 1 may be outstanding, no older one.
 */
struct uio_zc {
    int sock;           /* the caller's connected stream socket */
    bool zerocopy;      /* SO_ZEROCOPY was accepted */
    int refused;        /* why not (-errno from setsockopt), or 0 */
    unsigned nbufs;     /* buffers */
    size_t buf_size;    /* bytes each */
    char *mem;          /* the buffers, one after the other */
    uint32_t next_id;   /* the id the next zero-copy send gets */
    uint32_t in_flight; /* ids sent and not completed */
    unsigned next_slot; /* where uio_zc_get looks first */
    struct uio_zc_slot slot[UIO_ZC_MAX_BUFS];
    struct uio_zc_stats stats;
};

struct sock_extended_err;

/*
 * uio_zc_open - sets zc up to send on sock with nbufs buffers of
 * buf_size bytes each, and asks for SO_ZEROCOPY.
 *
 * [UIO-40] Returns 0, or -EINVAL for nbufs 0 or above UIO_ZC_MAX_BUFS, a
 * buf_size of 0, or a negative sock; -ENOMEM if the buffers cannot be
 * had. Every buffer is free, the stats are zero.
 * [UIO-41] A socket that refuses SO_ZEROCOPY (an AF_UNIX socket:
 * -EOPNOTSUPP; a kernel before 4.14: -ENOPROTOOPT) is not an error: open
 * returns 0 with zerocopy false and refused set to that -errno, and the
 * sender then sends plain copies (no MSG_ZEROCOPY): a buffer is free
 * again as soon as its send returns.
 */
int uio_zc_open(struct uio_zc *zc, int sock, unsigned nbufs, size_t buf_size);

/* uio_zc_buf - the bytes of buffer i (0 <= i < nbufs), buf_size long. */
char *uio_zc_buf(const struct uio_zc *zc, int i);

/*
 * uio_zc_busy - whether buffer i still waits for a notification.
 *
 * [UIO-42] A buffer sent with MSG_ZEROCOPY is busy from its send until
 * notifications have completed every id its send calls took (a buffer
 * sent in several calls took several ids); not one moment before, even
 * when the notification is already on the error queue but not read.
 */
bool uio_zc_busy(const struct uio_zc *zc, int i);

/*
 * uio_zc_get - a free buffer to fill: its index.
 *
 * timeout_ms: how long to wait for notifications when every buffer is
 * busy (0: not at all, -1: as long as it takes). [UIO-43] Returns the
 * index of a buffer that is not busy, reading the notifications that
 * have arrived first; -EAGAIN when none is free within timeout_ms; never
 * a busy buffer.
 */
int uio_zc_get(struct uio_zc *zc, int timeout_ms);

/*
 * uio_zc_send - sends the first len bytes of buffer i, which the caller
 * got from uio_zc_get and filled; the buffer is busy from now on.
 *
 * [UIO-44] Returns len once every byte was taken by the socket, in
 * order: a short send goes on with the rest (a new id), a non-blocking
 * socket that is full is waited on with poll(2) (reading notifications
 * meanwhile), EINTR is retried.
 * [UIO-45] ENOBUFS is not the result. The kernel gives it when the
 * sends in flight hold too much: the socket's option memory
 * (net.core.optmem_max) or the user's pinned pages (RLIMIT_MEMLOCK)
 * (msg_zerocopy.rst). While sends are in flight the sender reads
 * notifications, waiting for at least one, and sends again; with nothing
 * in flight waiting cannot help, and that one call is made without
 * MSG_ZEROCOPY, a plain copy (stats.plain counts it). stats.enobufs
 * counts both. A plain send that fails with ENOBUFS gives -ENOBUFS.
 * [UIO-46] Any other error is returned as -errno even after part of the
 * buffer was taken; the buffer stays busy until the ids of the part that
 * was taken complete.
 * -EINVAL for a bad i, a len of 0 or above buf_size, or a busy buffer.
 */
ssize_t uio_zc_send(struct uio_zc *zc, int i, size_t len);

/*
 * uio_zc_note - applies one notification, as read from the error queue.
 *
 * [UIO-47] Completes the ids ee->ee_info .. ee->ee_data inclusive (the
 * range may hold the ids of several sends and of several buffers, and may
 * wrap past 2^32 - 1 to 0); every buffer whose ids are all completed is
 * free. Returns the number of ids completed, and counts the range in
 * stats.copied when ee_code is SO_EE_CODE_ZEROCOPY_COPIED.
 * [UIO-48] A notification whose origin is not SO_EE_ORIGIN_ZEROCOPY, or
 * whose range holds an id that is not in flight, changes nothing and
 * gives -EPROTO.
 */
int uio_zc_note(struct uio_zc *zc, const struct sock_extended_err *ee);

/*
 * uio_zc_reap - reads every notification already on the error queue
 * (recvmsg(2) with MSG_ERRQUEUE), without waiting, and applies each.
 * Returns the number of ids completed (0 if none was there), or -errno.
 */
int uio_zc_reap(struct uio_zc *zc);

/*
 * uio_zc_flush - waits until no buffer is busy.
 *
 * [UIO-49] Returns 0 once every id sent is completed (stats.completed
 * then equals stats.zc_sends), also after a send failed and the peer is
 * gone (the kernel completes what it drops), or -errno if waiting fails.
 */
int uio_zc_flush(struct uio_zc *zc);

/*
 * uio_zc_close - flushes, then frees the buffers. [UIO-50] The buffers
 * are freed only after every notification has come: never while the
 * kernel may still read them. Returns what uio_zc_flush returned; the
 * buffers are freed on every path where they may be (0), and kept (and
 * leaked, rather than handed back early) when the flush failed. zc->stats
 * stay readable afterwards.
 */
int uio_zc_close(struct uio_zc *zc);

/*
 * uio_zc_fill_cb - writes up to cap bytes into buf, the next bytes of
 * the stream, and returns how many (0: the stream is over).
 */
typedef size_t (*uio_zc_fill_cb)(char *buf, size_t cap, void *arg);

/*
 * uio_zc_stream - sends a whole stream: gets a free buffer (waiting as
 * long as it takes), lets fill write into it, sends it, until fill
 * returns 0.
 *
 * [UIO-51] Returns the bytes sent, every one exactly once and in order,
 * and no buffer is given to fill while it is busy: the peer receives
 * what fill wrote, even where the kernel had not sent it yet when the
 * next buffer was filled. An error is returned as -errno, as uio_zc_send
 * returns it. Does not flush: call uio_zc_flush or uio_zc_close.
 */
ssize_t uio_zc_stream(struct uio_zc *zc, uio_zc_fill_cb fill, void *arg);

#endif /* IOLAB_UIO_H */
