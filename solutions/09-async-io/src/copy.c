/*
 * copy.c - exercise 1 of chapter 09: a file copy on io_uring.
 *
 * The copy owns queue_depth slots, each a buffer of one block. A slot
 * goes idle -> reading -> writing -> idle: its block is read (again and
 * again while reads come back short), then written (again while writes
 * come back short), then the slot takes the next block. Every request
 * carries its slot in user_data, so a completion finds its block
 * whatever order the kernel finishes them in.
 *
 * One loop drives it all: start a block in every idle slot, submit what
 * was queued and wait for half the requests in flight in the same system
 * call, then reap every completion that is there. When the page cache answers
 * at once, a single io_uring_enter submits a whole queue of reads and finds
 * them done; that is the batching the bench counts.
 */
#include "uio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <liburing.h>

// SOLUTION-BEGIN

enum slot_state { SLOT_IDLE, SLOT_READING, SLOT_WRITING };

struct slot {
    enum slot_state state;
    char *buf;
    off_t off;  /* where the block starts, in the input and the output */
    size_t len; /* bytes asked of the input for this block */
    size_t got; /* bytes read into buf so far */
    size_t put; /* bytes of buf written so far */
};

struct copy {
    struct io_uring ring;
    struct slot *slots;
    char *bufs;
    unsigned qd;
    size_t bs;
    int in_fd, out_fd;
    bool stream;     /* the input has no offsets: one read at a time */
    bool reading;    /* stream: that one read is in flight */
    bool eof;        /* a read returned 0: start no more blocks */
    int err;         /* the first error, or 0 */
    off_t next_off;  /* where the next block starts */
    unsigned flight; /* requests queued or in flight */
    struct uio_copy_stats st;
};

static void
fail(struct copy *c, int err)
{
    if (c->err == 0)
        c->err = err;
}

/* Queues one request; the ring has a slot for every request in flight. */
static struct io_uring_sqe *
queue(struct copy *c, struct slot *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

    io_uring_sqe_set_data(sqe, s);
    if (++c->flight > c->st.max_in_flight)
        c->st.max_in_flight = c->flight;
    return sqe;
}

static void
queue_read(struct copy *c, struct slot *s)
{
    struct io_uring_sqe *sqe = queue(c, s);

    /* -1: a pipe or socket is read where it is (io_uring_enter(2)). */
    off_t at = c->stream ? -1 : s->off + (off_t)s->got;
    io_uring_prep_read(sqe, c->in_fd, s->buf + s->got,
                       (unsigned)(s->len - s->got), (uint64_t)at);
    s->state = SLOT_READING;
}

static void
queue_write(struct copy *c, struct slot *s)
{
    struct io_uring_sqe *sqe = queue(c, s);

    io_uring_prep_write(sqe, c->out_fd, s->buf + s->put,
                        (unsigned)(s->got - s->put),
                        (uint64_t)(s->off + (off_t)s->put));
    s->state = SLOT_WRITING;
}

/* Gives every idle slot the next block, while there is one to read. */
static void
start_blocks(struct copy *c)
{
    for (unsigned i = 0; i < c->qd; i++) {
        struct slot *s = &c->slots[i];

        if (s->state != SLOT_IDLE || c->err != 0 || c->eof)
            continue;
        if (c->stream && c->reading)
            return;
        s->off = c->next_off;
        s->len = c->bs;
        s->got = 0;
        s->put = 0;
        if (c->stream) {
            c->reading = true; /* its offset is known when it completes */
        } else {
            c->next_off += (off_t)c->bs;
        }
        queue_read(c, s);
    }
}

static void
read_done(struct copy *c, struct slot *s, int res)
{
    if (c->stream)
        c->reading = false;
    if (res < 0) {
        fail(c, res);
        s->state = SLOT_IDLE;
        return;
    }
    c->st.reads++;
    if (res == 0) {
        c->eof = true;
        if (s->got == 0 || c->err != 0) {
            s->state = SLOT_IDLE;
            return;
        }
    } else {
        if ((size_t)res < s->len - s->got)
            c->st.short_reads++;
        s->got += (size_t)res;
        if (c->stream) {
            /* What came is a block of its own, placed where the stream
             * stands; the rest of the stream goes to the next read. */
            s->off = c->next_off;
            c->next_off += (off_t)s->got;
        } else if (s->got < s->len) {
            queue_read(c, s); /* the rest of this block */
            return;
        }
    }
    if (c->err != 0) {
        s->state = SLOT_IDLE;
        return;
    }
    queue_write(c, s);
}

static void
write_done(struct copy *c, struct slot *s, int res)
{
    if (res == 0)
        res = -EIO; /* no progress and no reason: never loop on it */
    if (res < 0) {
        fail(c, res);
        s->state = SLOT_IDLE;
        return;
    }
    c->st.writes++;
    c->st.bytes += (uint64_t)res;
    s->put += (size_t)res;
    if (s->put < s->got) {
        c->st.short_writes++;
        if (c->err == 0) {
            queue_write(c, s); /* the rest, where it stopped */
            return;
        }
    }
    s->state = SLOT_IDLE;
}

static void
reap(struct copy *c)
{
    struct io_uring_cqe *cqe;

    while (io_uring_peek_cqe(&c->ring, &cqe) == 0) {
        struct slot *s = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(&c->ring, cqe);
        c->flight--;
        if (s->state == SLOT_READING)
            read_done(c, s, res);
        else
            write_done(c, s, res);
    }
}

static int
run(struct copy *c)
{
    for (;;) {
        start_blocks(c);
        if (c->flight == 0)
            return c->err;
        /* Waiting for half of what is in flight, not for the first
         * completion, lets one enter collect a batch even when the
         * kernel finishes requests one by one in its workers. */
        int ret = io_uring_submit_and_wait(&c->ring, (c->flight + 1) / 2);
        c->st.submits++;
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            /* Nothing new was taken; what is in flight still ends. */
            fail(c, ret);
            return c->err;
        }
        reap(c);
    }
}

static int
setup(struct copy *c, const struct uio_copy_opts *opts)
{
    c->qd = UIO_DEFAULT_QD;
    c->bs = UIO_DEFAULT_BLOCK;
    if (opts != NULL && opts->queue_depth != 0)
        c->qd = opts->queue_depth;
    if (opts != NULL && opts->block_size != 0)
        c->bs = opts->block_size;
    if (c->qd > UIO_MAX_QD || c->bs > UIO_MAX_BLOCK)
        return -EINVAL;

    if (lseek(c->in_fd, 0, SEEK_CUR) < 0) {
        if (errno != ESPIPE)
            return -errno;
        c->stream = true;
    }
    c->slots = calloc(c->qd, sizeof(*c->slots));
    c->bufs = malloc(c->qd * c->bs);
    if (c->slots == NULL || c->bufs == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i < c->qd; i++)
        c->slots[i].buf = c->bufs + (size_t)i * c->bs;
    return 0;
}
// SOLUTION-STUB
// SOLUTION-END

ssize_t
uio_copy(int in_fd, int out_fd, const struct uio_copy_opts *opts,
         struct uio_copy_stats *stats)
{
    // SOLUTION-BEGIN
    struct copy c = {.in_fd = in_fd, .out_fd = out_fd};
    int err = setup(&c, opts);
    if (err < 0)
        goto out_free;

    err = io_uring_queue_init(c.qd, &c.ring, 0);
    if (err < 0)
        goto out_free;
    err = run(&c);
    if (err < 0 && c.flight > 0) {
        /* The kernel still owns buffers: wait them out before freeing. */
        struct io_uring_cqe *cqe;
        while (c.flight > 0 && io_uring_wait_cqe(&c.ring, &cqe) == 0) {
            io_uring_cqe_seen(&c.ring, cqe);
            c.flight--;
        }
    }
    io_uring_queue_exit(&c.ring);

out_free:
    free(c.bufs);
    free(c.slots);
    if (stats != NULL)
        *stats = c.st;
    return err < 0 ? err : (ssize_t)c.st.bytes;
    // SOLUTION-STUB
    // (void)in_fd;
    // (void)out_fd;
    // (void)opts;
    // if (stats != NULL)
    //     *stats = (struct uio_copy_stats){0};
    // return -ENOSYS;
    // SOLUTION-END
}
