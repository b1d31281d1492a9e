/*
 * buf_reader.c - exercise 2 of chapter 04: the buffered reader.
 *
 * The contract is in include/buf.h. buf_reader_init and buf_reader_close
 * are given; buf_read, buf_read_until and buf_peek are TODOs: replace each
 * stub (which returns -ENOSYS) with code that keeps every promise the
 * header makes.
 */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- given ------------------------------------------------------------- */

int
buf_reader_init(struct buf_reader *r, int fd, size_t cap)
{
    *r = (struct buf_reader){.fd = fd, .buf = NULL, .cap = cap};
    if (cap == 0)
        return -EINVAL;
    r->buf = malloc(cap);
    if (r->buf == NULL)
        return -ENOMEM;
    return 0;
}

void
buf_reader_close(struct buf_reader *r)
{
    free(r->buf);
    *r = (struct buf_reader){.fd = -1, .buf = NULL};
}

/* ---- the exercise ------------------------------------------------------ */


/*
 * TODO(reader.1): read exactly n bytes unless end of file comes first
 * [BUF-15]. Serve from the buffer; refill it with one read(2) of the whole
 * capacity, going on after short reads and retrying EINTR [BUF-13]; read
 * straight into dst when the buffer is empty and cap bytes or more are
 * wanted [BUF-14]. Errors follow [BUF-9]; a closed reader gives -EBADF
 * [BUF-10].
 */
ssize_t
buf_read(struct buf_reader *r, void *dst, size_t n)
{
    (void)r;
    (void)dst;
    (void)n;
    return -ENOSYS;
}


/*
 * TODO(reader.2): copy the next record, delimiter included, into *linep,
 * growing it as needed, and add a '\0' [BUF-16]; a record longer than the
 * buffer is returned whole [BUF-17]; a last record without a delimiter is
 * returned as it is, then 0 [BUF-18]. Errors follow [BUF-9].
 */
ssize_t
buf_read_until(struct buf_reader *r, int delim, char **linep, size_t *sizep)
{
    (void)r;
    (void)delim;
    (void)linep;
    (void)sizep;
    return -ENOSYS;
}

/*
 * TODO(reader.3): make n bytes available without consuming them, sliding
 * unconsumed bytes to the front when the space after them is too small
 * [BUF-19]; fewer at end of file; -EINVAL when n exceeds the capacity
 * [BUF-20]. Errors follow [BUF-9].
 */
ssize_t
buf_peek(struct buf_reader *r, size_t n, const void **p)
{
    (void)r;
    (void)n;
    (void)p;
    return -ENOSYS;
}
