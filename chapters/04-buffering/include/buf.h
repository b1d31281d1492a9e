/*
 * buf.h - the contract of chapter 04: a buffered writer and a buffered
 * reader over a file descriptor.
 *
 * The specification; conventions: shared/include/iolab/CONVENTIONS.md.
 *
 * Deferred errors [BUF-9]. A buffered call can fail after it has already
 * done part of its work: a write that copied some of the caller's bytes
 * into the buffer and then could not flush it; a read that copied some
 * bytes out and then got an error from the kernel. Such a call returns the
 * count of what it did, exactly, and keeps the error in the struct's err
 * field; the next call on the same writer or reader returns that error at
 * once, without doing any IO, and forgets it. This is how read(2) and
 * write(2) themselves report a short transfer. A call that fails before
 * doing anything returns -errno directly.
 *
 * Thread safety: none. A writer or reader belongs to one thread at a time.
 * The descriptor is the caller's: nothing here opens or closes it.
 */
#ifndef IOLAB_BUF_H
#define IOLAB_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The capacity most programs should use, and the benchmark's default. The
 * README's sweep shows why: past a few tens of KiB the system-call cost is
 * already spread so thin that a bigger buffer only costs memory and cache.
 */
#ifndef BUF_DEFAULT_CAP
#define BUF_DEFAULT_CAP (64 * 1024) /* where the sweep's curve is flat */
#endif

/* ===================================================================== */
/* Exercise 1 (writer): the buffered writer                              */
/* ===================================================================== */

/*
 * A buffered writer. Invariants, between calls:
 *  - buf[0 .. len) are bytes the writer has accepted from the caller and
 *    not yet handed to the kernel, in the order they were written; they
 *    are always the oldest unwritten bytes, so the stream stays in order.
 *  - 0 <= len <= cap.
 *  - buf == NULL exactly when the writer is closed (or was never opened).
 */
struct buf_writer {
    int fd;     /* where the bytes go; the caller's, never closed here */
    char *buf;  /* cap bytes from malloc; NULL once closed */
    size_t cap; /* the capacity, fixed by buf_writer_init */
    size_t len; /* accepted bytes waiting in buf[0 .. len) */
    int err;    /* a deferred -errno for the next call [BUF-9], or 0 */
};

/*
 * buf_writer_init - set up w to write to fd through a buffer of cap bytes.
 *
 * Returns 0, -EINVAL when cap is 0, or -ENOMEM. [BUF-1] On failure w is
 * left closed (buf NULL), so buf_writer_close(w) is still safe.
 * Nothing is written and fd is not checked until the first flush.
 */
int buf_writer_init(struct buf_writer *w, int fd, size_t cap);

/*
 * buf_write - accept len bytes of data.
 *
 * How the bytes travel:
 *  - [BUF-2] Bytes that fit in the free space are copied into the buffer;
 *    no system call is made.
 *  - [BUF-3] Bytes that do not fit top the buffer up to exactly cap bytes
 *    first, and then the full buffer is written. So while small records
 *    are gathered, every write(2) carries exactly cap bytes, and writing
 *    N bytes in small records costs about N / cap system calls.
 *  - [BUF-4] Whenever the buffer is empty and at least cap bytes of data
 *    remain, they go straight to the descriptor with no copy: a buffer
 *    cannot make a write that large any cheaper. (With bytes already
 *    buffered, the buffer is topped up and flushed first, and what is left
 *    goes straight through if it is still at least cap bytes.)
 *  - [BUF-6] A write(2) that takes only part of the bytes (a pipe or a
 *    socket that is nearly full) is continued from where it stopped, and
 *    EINTR is retried. A write(2) that returns 0 for a non-zero length is
 *    reported as -EIO rather than retried forever.
 *
 * Returns:
 *  - len when every byte was accepted (0 at once for len 0). Accepted means
 *    in the buffer or already written to fd.
 *  - [BUF-7] -errno (-EPIPE, -ENOSPC, -EBADF, -EIO, ...) when a write(2)
 *    failed before any byte of data was accepted. The bytes that were
 *    buffered before the call are still buffered (minus any that a partial
 *    write did deliver): nothing is dropped, and buf_flush can try again.
 *  - [BUF-8] a count in 1 .. len-1 when a write(2) failed after the first
 *    count bytes of data were accepted. Exactly those bytes are the
 *    writer's (buffered or written); the caller still owns the rest. The
 *    error is returned by the next call [BUF-9].
 *  - -EBADF when w is closed. [BUF-10]
 *
 * The writer does not give up after an error: every later call tries the
 * descriptor again, so a writer whose disk filled up can be flushed once
 * space is free, and every byte arrives exactly once, in order.
 */
ssize_t buf_write(struct buf_writer *w, const void *data, size_t len);

/*
 * buf_flush - hand every buffered byte to the kernel.
 *
 * Returns 0 when the buffer is empty afterwards (at once, with no system
 * call, when it was empty already) [BUF-5]; a deferred error [BUF-9]; or
 * -errno from write(2) [BUF-7]. After a failure, the bytes the kernel did
 * not take are still buffered, at the front, in order (buf_writer_buffered
 * tells how many); bytes a partial write delivered are gone from the
 * buffer and are never written twice. -EBADF when w is closed. [BUF-10]
 *
 * A flush moves bytes into the kernel, not onto the disk: after it, the
 * data survives the program crashing but not the machine. Only fsync(2)
 * waits for the disk.
 */
int buf_flush(struct buf_writer *w);

/* buf_writer_buffered - how many accepted bytes are still in the buffer. */
size_t buf_writer_buffered(const struct buf_writer *w);

/*
 * buf_writer_close - flush, then release the buffer. [BUF-11]
 *
 * Returns 0 when every buffered byte was written, or the error that
 * stopped it: a deferred error if one was pending (the flush is still
 * attempted), else the flush's -errno. [BUF-12] Either way the writer is
 * closed when this returns: the buffer is freed and any bytes that could
 * not be written are discarded. This is the same bargain as fclose(3): the
 * close always happens and the return value is the last chance to learn
 * that data was lost. A caller that must not lose data calls buf_flush
 * first, while a failure still leaves the bytes in its hands.
 *
 * fd stays open: it is the caller's, and so is checking close(2) on it.
 * Closing a closed writer does nothing and returns 0, so a cleanup path
 * may call it unconditionally. [BUF-10]
 */
int buf_writer_close(struct buf_writer *w);

/* ===================================================================== */
/* Exercise 2 (reader): the buffered reader                              */
/* ===================================================================== */

/*
 * A buffered reader. Invariants, between calls:
 *  - buf[off .. len) are bytes read from fd that the caller has not yet
 *    consumed, in stream order; they come before anything still in fd.
 *  - 0 <= off <= len <= cap.
 *  - buf == NULL exactly when the reader is closed (or was never opened).
 * The reader reads ahead: fd's offset is past the unconsumed bytes, so
 * another reader of the same descriptor would miss them.
 */
struct buf_reader {
    int fd;     /* where bytes come from; the caller's */
    char *buf;  /* cap bytes from malloc; NULL once closed */
    size_t cap; /* the capacity, fixed by buf_reader_init */
    size_t off; /* first unconsumed byte */
    size_t len; /* end of the bytes read: buf[off .. len) unconsumed */
    int err;    /* a deferred -errno for the next call [BUF-9], or 0 */
};

/*
 * buf_reader_init - set up r to read fd through a buffer of cap bytes.
 * Returns 0, -EINVAL when cap is 0, or -ENOMEM. [BUF-1] On failure r is
 * left closed, so buf_reader_close(r) is still safe. Nothing is read yet.
 */
int buf_reader_init(struct buf_reader *r, int fd, size_t cap);

/*
 * buf_reader_close - release the buffer; unconsumed bytes are dropped and
 * fd stays open. Closing a closed reader does nothing.
 */
void buf_reader_close(struct buf_reader *r);

/*
 * buf_read - read exactly n bytes into dst, unless end of file comes first.
 *
 *  - [BUF-13] Bytes come from the buffer first. When it runs dry it is
 *    refilled with one read(2) that asks for the whole capacity, and a
 *    short read (a pipe, a socket, a slow writer) is simply followed by
 *    another; EINTR is retried. Reading N bytes of a regular file in small
 *    pieces therefore costs about N / cap system calls, plus one that
 *    sees end of file.
 *  - [BUF-14] Whenever the buffer is empty and at least cap bytes are still
 *    wanted, they are read straight into dst, with no copy.
 *
 * Returns n; or a count in 0 .. n-1 when end of file came first (0 when
 * nothing was left) [BUF-15]; or -errno when read(2) failed before any byte
 * arrived; or, when it failed after count bytes were copied, that count,
 * with the error deferred to the next call [BUF-9]. 0 at once for n 0.
 * End of file is not remembered: a later call reads fd again (a terminal
 * or a pipe may have more). -EBADF when r is closed. [BUF-10]
 */
ssize_t buf_read(struct buf_reader *r, void *dst, size_t n);

/*
 * buf_read_until - read one line, or any record ending in delim.
 *
 * linep, sizep: a malloc'd buffer and its size, as for getdelim(3). When
 * *linep is NULL, *sizep is ignored and a buffer is allocated. The buffer
 * is grown with realloc as needed, and both are updated; the caller frees
 * *linep, even after an error.
 *
 * [BUF-16] The record is copied into *linep with its delimiter and a
 * terminating '\0', and its length, delimiter included and '\0' not, is
 * returned. The delimiter may be any byte, '\0' included; the record may
 * contain '\0' bytes, so use the returned length, not strlen.
 * [BUF-17] Records longer than the reader's capacity are returned whole:
 * this reader grows the caller's buffer rather than failing with a
 * "too long" error. (The other choice, Go's bufio.Reader.ReadSlice, is
 * discussed in the README. A server reading untrusted input should bound
 * the line length itself.)
 * [BUF-18] At end of file, a last record without a delimiter is returned
 * as it is; after that, or when nothing was left, 0. Short reads and EINTR
 * are handled as for buf_read [BUF-13].
 *
 * Returns the length; 0 at end of file; -errno when read(2) failed before
 * any byte of the record arrived, or when a later read failed (the partial
 * record is returned first, the error by the next call [BUF-9]); -ENOMEM
 * when the buffer cannot grow (the partial record is then lost). -EBADF
 * when r is closed [BUF-10]; -EINVAL when linep or sizep is NULL.
 */
ssize_t buf_read_until(struct buf_reader *r, int delim, char **linep,
                       size_t *sizep);

/*
 * buf_peek - look at the next n bytes without consuming them.
 *
 * [BUF-19] Makes at least n bytes available in the buffer (reading as
 * needed, and moving unconsumed bytes to the front of the buffer when the
 * space after them is too small), sets *p to the first unconsumed byte and
 * returns n. The bytes stay unconsumed: the next buf_read or
 * buf_read_until returns them again. *p is valid until the next call on r.
 * Returns fewer than n (0 when nothing is left) when end of file comes
 * first; -EINVAL when n is larger than the capacity [BUF-20]; -errno for a
 * failed read (deferred when some bytes are available [BUF-9]); -EBADF
 * when r is closed. 0 at once for n 0.
 */
ssize_t buf_peek(struct buf_reader *r, size_t n, const void **p);

#endif /* IOLAB_BUF_H */
