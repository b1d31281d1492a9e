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
    (void)w;
    (void)data;
    (void)len;
    return -ENOSYS;
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
    (void)w;
    return -ENOSYS;
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
    /* Even the stub must not leak: release the buffer. */
    free(w->buf);
    w->buf = NULL;
    return -ENOSYS;
}
