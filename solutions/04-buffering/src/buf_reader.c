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

// SOLUTION-BEGIN
/* One read(2), retrying EINTR: a count, 0 at end of file, or -errno. */
static ssize_t
read_once(int fd, void *p, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, p, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

/*
 * fill - one read into the free space after buf[len]. When there is none,
 * or when want more bytes would not fit after off, the unconsumed bytes
 * are first slid to the front. Returns what read_once returns.
 */
static ssize_t
fill(struct buf_reader *r, size_t want)
{
    if (r->off == r->len) {
        r->off = r->len = 0; /* empty: start over, for free */
    } else if (r->off > 0 && r->off + want > r->cap) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    /* Ask for all the free space: that is what makes N / cap calls. */
    ssize_t n = read_once(r->fd, r->buf + r->len, r->cap - r->len);
    if (n > 0)
        r->len += (size_t)n;
    return n;
}

/*
 * finish - the common ending [BUF-9]: an error after some progress is kept
 * for the next call and the progress is returned; with no progress, the
 * error itself is.
 */
static ssize_t
finish(struct buf_reader *r, size_t got, ssize_t err)
{
    if (err >= 0)
        return (ssize_t)got;
    if (got == 0)
        return err;
    r->err = (int)err;
    return (ssize_t)got;
}

/* Checks shared by every call: closed reader, then a deferred error. */
static int
enter(struct buf_reader *r)
{
    int err = r->err;

    if (r->buf == NULL)
        return -EBADF;
    r->err = 0;
    return err;
}
// SOLUTION-STUB
// SOLUTION-END

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
    // SOLUTION-BEGIN
    char *out = dst;
    size_t got = 0; /* out[0 .. got) delivered */
    ssize_t res = 0;
    int err = enter(r);

    if (err != 0)
        return err;
    while (got < n) {
        size_t avail = r->len - r->off;

        if (avail > 0) {
            size_t k = avail < n - got ? avail : n - got;
            memcpy(out + got, r->buf + r->off, k);
            r->off += k;
            got += k;
            continue;
        }
        if (n - got >= r->cap) {
            /* Big request, empty buffer: the copy would buy nothing. */
            res = read_once(r->fd, out + got, n - got);
            if (res > 0)
                got += (size_t)res;
        } else {
            res = fill(r, 1);
        }
        if (res <= 0)
            break; /* end of file (0) or an error */
    }
    return finish(r, got, res);
    // SOLUTION-STUB
    // (void)r;
    // (void)dst;
    // (void)n;
    // return -ENOSYS;
    // SOLUTION-END
}

// SOLUTION-BEGIN
/* Makes *linep hold at least need bytes; 0 or -ENOMEM. */
static int
reserve(char **linep, size_t *sizep, size_t need)
{
    size_t size = *linep == NULL ? 0 : *sizep;

    if (need <= size)
        return 0;
    /* Doubling keeps the copying linear in the record's length. */
    size_t grown = size < 64 ? 128 : size * 2;
    if (grown < need)
        grown = need;
    char *p = realloc(*linep, grown);
    if (p == NULL)
        return -ENOMEM;
    *linep = p;
    *sizep = grown;
    return 0;
}
// SOLUTION-STUB
// SOLUTION-END

/*
 * TODO(reader.2): copy the next record, delimiter included, into *linep,
 * growing it as needed, and add a '\0' [BUF-16]; a record longer than the
 * buffer is returned whole [BUF-17]; a last record without a delimiter is
 * returned as it is, then 0 [BUF-18]. Errors follow [BUF-9].
 */
ssize_t
buf_read_until(struct buf_reader *r, int delim, char **linep, size_t *sizep)
{
    // SOLUTION-BEGIN
    size_t got = 0; /* (*linep)[0 .. got) holds the record so far */
    ssize_t res = 0;

    if (linep == NULL || sizep == NULL)
        return -EINVAL;
    int err = enter(r);
    if (err != 0)
        return err;
    for (;;) {
        char *start = r->buf + r->off;
        size_t avail = r->len - r->off;
        char *hit = memchr(start, delim, avail);
        size_t k = hit != NULL ? (size_t)(hit - start) + 1 : avail;

        if (reserve(linep, sizep, got + k + 1) != 0)
            return -ENOMEM;
        memcpy(*linep + got, start, k);
        got += k;
        r->off += k;
        if (hit != NULL)
            break;
        res = fill(r, 1);
        if (res <= 0)
            break;
    }
    /* The loop reserved room for it: the first pass always allocates. */
    (*linep)[got] = '\0';
    return finish(r, got, res);
    // SOLUTION-STUB
    // (void)r;
    // (void)delim;
    // (void)linep;
    // (void)sizep;
    // return -ENOSYS;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    ssize_t res = 0;
    int err = enter(r);

    if (err != 0)
        return err;
    if (n > r->cap)
        return -EINVAL;
    while (r->len - r->off < n) {
        res = fill(r, n);
        if (res <= 0)
            break;
    }
    *p = r->buf + r->off;
    size_t avail = r->len - r->off;
    return finish(r, avail < n ? avail : n, res);
    // SOLUTION-STUB
    // (void)r;
    // (void)n;
    // (void)p;
    // return -ENOSYS;
    // SOLUTION-END
}
