/*
 * buf_writer.c - exercise 1 of chapter 04: the buffered writer.
 *
 * The contract, with every edge case, is in include/buf.h. buf_writer_init
 * and buf_writer_buffered are given; buf_write, buf_flush and
 * buf_writer_close are TODOs: replace each stub (which returns -ENOSYS)
 * with code that keeps every promise the header makes. Run
 * `make grade CH=04` to see which promises already hold.
 */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- given ------------------------------------------------------------- */

int
buf_writer_init(struct buf_writer *w, int fd, size_t cap)
{
    *w = (struct buf_writer){.fd = fd, .buf = NULL, .cap = cap};
    if (cap == 0)
        return -EINVAL;
    w->buf = malloc(cap);
    if (w->buf == NULL)
        return -ENOMEM;
    return 0;
}

size_t
buf_writer_buffered(const struct buf_writer *w)
{
    return w->len;
}

/* ---- the exercise ------------------------------------------------------ */

// SOLUTION-BEGIN
/*
 * write_all - write p[0 .. len) to fd, continuing short writes.
 * Returns 0 or -errno; either way *done is the number of bytes the kernel
 * took, so the caller knows exactly where the stream stands.
 */
static int
write_all(int fd, const char *p, size_t len, size_t *done)
{
    size_t off = 0;

    /* Invariant: p[0 .. off) has been accepted by the kernel, in order. */
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            *done = off;
            return -errno;
        }
        /* No progress and no reason: looping again could spin forever. */
        if (n == 0) {
            *done = off;
            return -EIO;
        }
        off += (size_t)n;
    }
    *done = off;
    return 0;
}

/*
 * drain - write the whole buffer. On failure, drop the bytes that did get
 * out and slide the rest to the front, so that buf[0 .. len) is again
 * exactly what the kernel has not seen and a retry never repeats a byte.
 */
static int
drain(struct buf_writer *w)
{
    size_t done = 0;
    int err = write_all(w->fd, w->buf, w->len, &done);

    if (err != 0 && done > 0)
        memmove(w->buf, w->buf + done, w->len - done);
    w->len -= done;
    return err;
}

/* Returns the deferred error, forgetting it, or 0 [BUF-9]. */
static int
take_err(struct buf_writer *w)
{
    int err = w->err;

    w->err = 0;
    return err;
}
// SOLUTION-STUB
// SOLUTION-END

/*
 * TODO(writer.1): accept len bytes. Small writes are only copied [BUF-2];
 * when they do not fit, top the buffer up to cap bytes and write it whole
 * [BUF-3]; with the buffer empty, cap bytes or more go straight to fd
 * [BUF-4]. Continue short writes, retry EINTR, and make a write(2) that
 * returns 0 an -EIO [BUF-6]. On failure, nothing accepted may be lost and
 * the return value must say exactly how many bytes were accepted
 * [BUF-7] [BUF-8]; an error that follows accepted bytes is deferred to the
 * next call, and a deferred error is returned first [BUF-9]. A closed
 * writer gives -EBADF [BUF-10].
 */
ssize_t
buf_write(struct buf_writer *w, const void *data, size_t len)
{
    // SOLUTION-BEGIN
    const char *p = data;
    size_t done = 0; /* p[0 .. done) accepted: buffered or written */
    int err = 0;

    if (w->buf == NULL)
        return -EBADF;
    if (w->err != 0)
        return take_err(w);
    while (done < len) {
        size_t rest = len - done;
        size_t room = w->cap - w->len;

        if (w->len == 0 && rest >= w->cap) {
            /* Nothing to keep in order with: skip the copy. */
            size_t n = 0;
            err = write_all(w->fd, p + done, rest, &n);
            done += n;
            break;
        }
        if (rest <= room) {
            memcpy(w->buf + w->len, p + done, rest);
            w->len += rest;
            done = len;
            break;
        }
        /*
         * Top up before flushing, so that every write(2) while records
         * are gathered carries a whole buffer: N / cap calls, not more.
         */
        memcpy(w->buf + w->len, p + done, room);
        w->len = w->cap;
        done += room;
        err = drain(w);
        if (err != 0)
            break;
    }
    if (err == 0)
        return (ssize_t)len;
    if (done == 0)
        return err;
    /* The caller must learn the exact count now and the error next. */
    w->err = err;
    return (ssize_t)done;
    // SOLUTION-STUB
    // (void)w;
    // (void)data;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(writer.2): write every buffered byte [BUF-5]. On failure, keep the
 * bytes the kernel did not take, at the front and in order, and never
 * write a byte twice [BUF-7]. Return a deferred error first [BUF-9]; a
 * closed writer gives -EBADF [BUF-10].
 */
int
buf_flush(struct buf_writer *w)
{
    // SOLUTION-BEGIN
    if (w->buf == NULL)
        return -EBADF;
    if (w->err != 0)
        return take_err(w);
    if (w->len == 0)
        return 0;
    return drain(w);
    // SOLUTION-STUB
    // (void)w;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(writer.3): flush and release [BUF-11]. Report a deferred error, or
 * else the flush's error, but free the buffer and leave the writer closed
 * whatever happens [BUF-12]; a second close returns 0 [BUF-10]. fd is the
 * caller's: do not close it.
 */
int
buf_writer_close(struct buf_writer *w)
{
    // SOLUTION-BEGIN
    if (w->buf == NULL)
        return 0;
    int err = take_err(w);
    int ferr = w->len > 0 ? drain(w) : 0;

    free(w->buf);
    *w = (struct buf_writer){.fd = -1, .buf = NULL};
    return err != 0 ? err : ferr;
    // SOLUTION-STUB
    // /* Even the stub must not leak: release the buffer. */
    // free(w->buf);
    // w->buf = NULL;
    // return -ENOSYS;
    // SOLUTION-END
}
