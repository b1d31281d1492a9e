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

// SOLUTION-BEGIN

#define BGID 7 /* the buffer group the receives select from */

/* What a request is, in the low bits of its user_data. */
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_STOP, OP_CANCEL, OP_RETRY };

#define ACCEPT_BACKOFF_NS 10000000 /* 10 ms after an accept failed */
#define OP_MASK 7u

struct conn {
    int fd;
    bool armed;    /* its receive is in flight */
    bool sending;  /* a send is in flight */
    bool eof;      /* the client shut down its side */
    bool dead;     /* an error or the stop: close when nothing flies */
    bool shut;     /* shutdown(2) done, to end what flies */
    bool waiting;  /* its receive ended for want of a buffer */
    bool paused;   /* not receiving: it holds max_held or more */
    int head;      /* the first buffer owed to it, or -1 */
    int tail;      /* the last one */
    unsigned sent; /* bytes of the head buffer already sent */
    size_t held;   /* bytes received and not yet sent */
    struct conn *prev, *next;
};

struct server {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    size_t br_len;
    char *bufs;
    unsigned nbufs, bsize;
    size_t max_held;
    unsigned *blen; /* bytes received into each buffer */
    int *bnext;     /* the next buffer of the same connection */
    struct conn *all;
    unsigned flight;  /* requests whose last completion has not come */
    unsigned waiters; /* connections waiting for a buffer */
    bool returned;    /* a buffer went back since waiters were woken */
    bool stopping;
    bool registered; /* the buffer ring is registered */
    struct __kernel_timespec backoff;
    int listen_fd, stop_fd;
    struct uio_echo_stats *st;
};

static struct io_uring_sqe *
sqe_for(struct server *s, struct conn *c, enum op op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

    while (sqe == NULL) { /* the queue is full: hand it to the kernel */
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | op);
    s->flight++;
    return sqe;
}

static void
arm_accept(struct server *s)
{
    struct io_uring_sqe *sqe = sqe_for(s, NULL, OP_ACCEPT);
    io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
}

static void
arm_recv(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, c, OP_RECV);
    io_uring_prep_recv(sqe, c->fd, NULL, s->bsize, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    c->armed = true;
}

/* Puts buffer bid back into the buffer ring, for any receive to take. */
static void
give_back(struct server *s, int bid)
{
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * s->bsize, s->bsize,
                          (unsigned short)bid, io_uring_buf_ring_mask(s->nbufs),
                          0);
    io_uring_buf_ring_advance(s->br, 1);
    s->st->buffers_out--;
    s->returned = true;
}

static void
close_conn(struct server *s, struct conn *c)
{
    while (c->head != -1) {
        int bid = c->head;
        c->head = s->bnext[bid];
        give_back(s, bid);
    }
    if (c->waiting)
        s->waiters--;
    close(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->all = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->st->closed++;
    free(c);
}

/*
 * Brings c up to date after a completion: sends what it owes, receives
 * again when it may, closes it when it is done. c may be freed.
 */
static void
settle(struct server *s, struct conn *c)
{
    if (c->dead || (c->eof && c->head == -1)) {
        if (!c->armed && !c->sending) {
            close_conn(s, c);
        } else if (c->dead && !c->shut) {
            /* Ends the receive (0) and the send (EPIPE) in flight. */
            shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
        }
        return;
    }
    if (!c->sending && c->head != -1) {
        int bid = c->head;
        struct io_uring_sqe *sqe = sqe_for(s, c, OP_SEND);
        io_uring_prep_send(sqe, c->fd,
                           s->bufs + (size_t)bid * s->bsize + c->sent,
                           s->blen[bid] - c->sent, MSG_NOSIGNAL);
        c->sending = true;
    }
    if (c->armed || c->waiting || c->eof)
        return;
    if (c->held < s->max_held) {
        if (c->paused)
            s->st->rearms++;
        c->paused = false;
        arm_recv(s, c);
    } else if (!c->paused) {
        c->paused = true; /* TCP holds the client back meanwhile */
        s->st->paused++;
    }
}

static void
on_accept(struct server *s, int res, unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE) && !s->stopping) {
        s->st->accept_rearms++;
        if (res >= 0) {
            arm_accept(s);
        } else {
            /* EMFILE and the like: the client waits in the backlog, and
             * accepting again at once would fail again at once. */
            s->backoff.tv_nsec = ACCEPT_BACKOFF_NS;
            io_uring_prep_timeout(sqe_for(s, NULL, OP_RETRY), &s->backoff, 0,
                                  0);
        }
    }
    if (res < 0) {
        s->st->accept_errors++;
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL || s->stopping) {
        free(c);
        close(res);
        return;
    }
    *c = (struct conn){.fd = res, .head = -1, .tail = -1, .next = s->all};
    if (s->all != NULL)
        s->all->prev = c;
    s->all = c;
    s->st->accepted++;
    arm_recv(s, c);
}

static void
on_recv(struct server *s, struct conn *c, int res, unsigned flags)
{
    c->armed = false;
    if (res > 0) {
        int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
        s->st->buffers_out++;
        s->blen[bid] = (unsigned)res;
        s->bnext[bid] = -1;
        if (c->head == -1)
            c->head = bid;
        else
            s->bnext[c->tail] = bid;
        c->tail = bid;
        c->held += (size_t)res;
        if (c->held > s->st->max_held)
            s->st->max_held = c->held;
    } else if (res == 0) {
        c->eof = true;
    } else if (res == -ENOBUFS) {
        /* The ring was empty: armed again when a buffer comes back. */
        s->st->enobufs++;
        s->waiters++;
        c->waiting = true;
    } else {
        c->dead = true; /* ECONNRESET and the like */
    }
    settle(s, c);
}

static void
on_send(struct server *s, struct conn *c, int res)
{
    c->sending = false;
    if (res <= 0) {
        c->dead = true; /* EPIPE, ECONNRESET: the client is gone */
    } else {
        s->st->bytes += (uint64_t)res;
        c->held -= (size_t)res;
        c->sent += (unsigned)res;
        if (c->sent == s->blen[c->head]) {
            int bid = c->head;
            c->head = s->bnext[bid];
            c->sent = 0;
            /* The send is complete: only now may the buffer be reused. */
            give_back(s, bid);
        }
    }
    settle(s, c);
}

static void
begin_stop(struct server *s)
{
    struct io_uring_sqe *sqe = sqe_for(s, NULL, OP_CANCEL);
    io_uring_prep_cancel64(sqe, OP_ACCEPT, 0);
    s->stopping = true;
    for (struct conn *c = s->all, *next; c != NULL; c = next) {
        next = c->next;
        c->dead = true;
        settle(s, c);
    }
}

/* Gives a buffer's worth of chance to every connection that waits. */
static void
wake_waiters(struct server *s)
{
    s->returned = false;
    for (struct conn *c = s->all, *next; c != NULL && s->waiters > 0;
         c = next) {
        next = c->next;
        if (c->waiting) {
            c->waiting = false;
            s->waiters--;
            s->st->rearms++;
            settle(s, c);
        }
    }
}

static void
dispatch(struct server *s, const struct io_uring_cqe *cqe)
{
    uint64_t data = io_uring_cqe_get_data64(cqe);
    struct conn *c = (struct conn *)(uintptr_t)(data & ~(uint64_t)OP_MASK);

    if (!(cqe->flags & IORING_CQE_F_MORE))
        s->flight--;
    switch ((enum op)(data & OP_MASK)) {
    case OP_ACCEPT:
        on_accept(s, cqe->res, cqe->flags);
        break;
    case OP_RECV:
        on_recv(s, c, cqe->res, cqe->flags);
        break;
    case OP_SEND:
        on_send(s, c, cqe->res);
        break;
    case OP_STOP:
        begin_stop(s);
        break;
    case OP_RETRY:
        if (!s->stopping)
            arm_accept(s);
        break;
    case OP_CANCEL:
        break;
    }
}

static void
teardown(struct server *s)
{
    while (s->all != NULL) /* only after io_uring_enter failed */
        close_conn(s, s->all);
    if (s->registered)
        io_uring_unregister_buf_ring(&s->ring, BGID);
    if (s->br != NULL)
        munmap(s->br, s->br_len);
    io_uring_queue_exit(&s->ring);
    free(s->bufs);
    free(s->blen);
    free(s->bnext);
}

/* The ring, and the buffer ring full of buffers; on error, nothing. */
static int
setup(struct server *s, const struct uio_echo_config *cfg)
{
    s->nbufs = cfg->nbufs != 0 ? cfg->nbufs : UIO_ECHO_NBUFS;
    s->bsize = cfg->buf_size != 0 ? cfg->buf_size : UIO_ECHO_BUF_SIZE;
    s->max_held = cfg->max_held != 0 ? cfg->max_held : UIO_ECHO_MAX_HELD;
    if ((s->nbufs & (s->nbufs - 1)) != 0 || s->nbufs > UIO_ECHO_MAX_NBUFS ||
        s->bsize > UIO_ECHO_MAX_BUF_SIZE)
        return -EINVAL;
    int err = io_uring_queue_init(
        cfg->entries != 0 ? cfg->entries : UIO_ECHO_ENTRIES, &s->ring, 0);
    if (err < 0)
        return err;
    s->br_len = s->nbufs * sizeof(struct io_uring_buf);
    s->br = mmap(NULL, s->br_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->br == MAP_FAILED)
        s->br = NULL;
    s->bufs = malloc((size_t)s->nbufs * s->bsize);
    s->blen = calloc(s->nbufs, sizeof(*s->blen));
    s->bnext = calloc(s->nbufs, sizeof(*s->bnext));
    err = -ENOMEM;
    if (s->br != NULL && s->bufs != NULL && s->blen != NULL &&
        s->bnext != NULL) {
        io_uring_buf_ring_init(s->br);
        struct io_uring_buf_reg reg = {
            .ring_addr = (uint64_t)(uintptr_t)s->br,
            .ring_entries = s->nbufs,
            .bgid = BGID,
        };
        err = io_uring_register_buf_ring(&s->ring, &reg, 0);
    }
    if (err < 0) {
        teardown(s);
        return err;
    }
    s->registered = true;
    for (unsigned i = 0; i < s->nbufs; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * s->bsize, s->bsize,
                              (unsigned short)i,
                              io_uring_buf_ring_mask(s->nbufs), (int)i);
    io_uring_buf_ring_advance(s->br, (int)s->nbufs);
    return 0;
}

// SOLUTION-STUB
// SOLUTION-END

int
uio_echo_serve(int listen_fd, int stop_fd, const struct uio_echo_config *cfg,
               struct uio_echo_stats *stats)
{
    // SOLUTION-BEGIN
    static const struct uio_echo_config defaults;
    struct uio_echo_stats own = {0};
    struct server s = {.listen_fd = listen_fd,
                       .stop_fd = stop_fd,
                       .st = stats != NULL ? stats : &own};
    int err = setup(&s, cfg != NULL ? cfg : &defaults);

    if (err < 0)
        return err;
    arm_accept(&s);
    io_uring_prep_poll_add(sqe_for(&s, NULL, OP_STOP), stop_fd, POLLIN);
    while (!(s.stopping && s.flight == 0)) {
        err = io_uring_submit_and_wait(&s.ring, 1);
        if (err < 0 && err != -EINTR)
            break;
        err = 0;
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&s.ring, head, cqe)
        {
            dispatch(&s, cqe);
            seen++;
        }
        io_uring_cq_advance(&s.ring, seen);
        if (s.returned && s.waiters > 0)
            wake_waiters(&s);
    }
    teardown(&s);
    return err;
    // SOLUTION-STUB
    // (void)listen_fd;
    // (void)stop_fd;
    // (void)cfg;
    // (void)stats;
    // return -ENOSYS;
    // SOLUTION-END
}
