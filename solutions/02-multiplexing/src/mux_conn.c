/*
 * mux_conn.c - the connection core of chapter 02: what happens to one
 * client's bytes, whichever backend reported that its socket is ready.
 *
 * Organisation: pending output (buffering), then one turn of a connection
 * (reading, echoing, backpressure, end of file), then the interest the
 * loop must register for it. Everything here is yours: the contract is
 * mux_conn_run and mux_conn_interest in include/mux_loop.h, and promises
 * [MUX-1] to [MUX-5], [MUX-8] and [MUX-9] in include/mux.h.
 *
 * The idea to own: readiness is a hint that something can be done now,
 * not a promise of how much. The core does as much as the socket allows,
 * keeps what it could not send, stops reading from a client that does not
 * read its echoes, and never waits for anything.
 */
#include "mux_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Bytes read from c and not yet sent back. */
static size_t
pending(const struct mux_conn *c)
{
    return c->len - c->off;
}

/* ===================================================================== */
/* Pending output                                                         */
/* ===================================================================== */

/*
 * TODO(core.1): keep n bytes at p as pending output of c, after the bytes
 * already pending. The caller never keeps more than srv->out_cap bytes in
 * all [MUX-3]. Allocate the buffer only when it is needed (an idle
 * connection holds none), make room by moving the pending bytes to the
 * front when the tail is full, and record the most bytes one connection
 * ever held in srv->st->peak_pending. Returns 0 or -ENOMEM.
 */
static int
keep(struct mux_server *srv, struct mux_conn *c, const char *p, size_t n)
{
    // SOLUTION-BEGIN
    if (c->out == NULL) {
        c->out = malloc(srv->out_cap);
        if (c->out == NULL)
            return -ENOMEM;
        c->off = c->len = 0;
    }
    if (c->len + n > srv->out_cap) {
        memmove(c->out, c->out + c->off, pending(c));
        c->len -= c->off;
        c->off = 0;
    }
    memcpy(c->out + c->len, p, n);
    c->len += n;
    if (pending(c) > srv->st->peak_pending)
        srv->st->peak_pending = pending(c);
    return 0;
    // SOLUTION-STUB
    // (void)srv;
    // (void)c;
    // (void)p;
    // (void)n;
    // return -ENOMEM;
    // SOLUTION-END
}

/*
 * TODO(core.2): send bytes p[0..n) to c while its socket is known to be
 * writable (c->ready has MUX_EV_WRITE). Returns how many were sent (0..n)
 * or -errno for a broken connection. EAGAIN is not an error: it means the
 * socket buffer is full, so forget the writability. A short send is not
 * EAGAIN: try again, because only EAGAIN proves the buffer full, and
 * edge-triggered nothing guarantees another report while it is not. A
 * send that returns 0 made no progress and gave no reason: -EIO, as in
 * chapter 01 [MUX-14]. A client that vanished must not raise SIGPIPE
 * [MUX-5]. Count what was sent in srv->st->bytes_echoed.
 */
static ssize_t
send_some(struct mux_server *srv, struct mux_conn *c, const char *p, size_t n)
{
    // SOLUTION-BEGIN
    size_t done = 0;

    /*
     * Invariant: p[0..done) has been sent, in order. Each pass sends more
     * and grows done, or ends the loop: everything sent, EAGAIN (the
     * writability is used up and forgotten), or an error, a send of 0
     * included. EINTR sent nothing and is retried.
     */
    while (done < n && (c->ready & MUX_EV_WRITE)) {
        ssize_t k = send(c->w.fd, p + done, n - done, MSG_NOSIGNAL);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->ready &= ~MUX_EV_WRITE;
                break;
            }
            return -errno;
        }
        if (k == 0)
            return -EIO; /* no progress, no reason: retrying could spin */
        done += (size_t)k;
    }
    srv->st->bytes_echoed += done;
    return (ssize_t)done;
    // SOLUTION-STUB
    // (void)srv;
    // (void)c;
    // (void)p;
    // (void)n;
    // return -ENOSYS;
    // SOLUTION-END
}

/* Sends as much pending output as the socket takes; frees an empty buffer. */
static int
flush(struct mux_server *srv, struct mux_conn *c)
{
    if (pending(c) == 0)
        return 0;
    ssize_t k = send_some(srv, c, c->out + c->off, pending(c));
    if (k < 0)
        return (int)k;
    c->off += (size_t)k;
    if (pending(c) == 0)
        mux_conn_release(c); /* idle again: hold no buffer */
    return 0;
}

void
mux_conn_release(struct mux_conn *c)
{
    free(c->out);
    c->out = NULL;
    c->off = c->len = 0;
}

/* ===================================================================== */
/* One turn                                                               */
/* ===================================================================== */

/*
 * TODO(core.3): one turn of connection c (see mux_conn_run in
 * mux_loop.h). Repeat until nothing more can be done now:
 *  - send pending output first (flush); an error closes the connection;
 *  - after the client's end of file, close once nothing is pending
 *    [MUX-4], else wait for writability;
 *  - read only while c->ready has MUX_EV_READ, and never more than
 *    out_cap minus the pending bytes (so pending never passes out_cap:
 *    backpressure [MUX-3]; count a stop in srv->st->paused), and at most
 *    srv->read_budget bytes in this turn: past it, return MUX_MORE so the
 *    loop comes back without waiting for a new report [MUX-9];
 *  - recv into srv->scratch (at most MUX_SCRATCH bytes): EAGAIN forgets
 *    the readability, 0 is end of file, another error closes;
 *    level-triggered (srv->loop.ops->edge_triggered is false), one recv
 *    uses the report up; edge-triggered, only EAGAIN does, since a new
 *    report comes only when more data arrives, and none may [MUX-8];
 *  - echo what arrived: straight from scratch when nothing is pending,
 *    keeping whatever the socket did not take, in order [MUX-1].
 */
enum mux_step
mux_conn_run(struct mux_server *srv, struct mux_conn *c)
{
    // SOLUTION-BEGIN
    size_t budget = srv->read_budget;

    /*
     * Each pass first sends what is pending, then reads at most once. It
     * ends the turn when the connection must close, when it can do nothing
     * more now (nothing readable, or reading paused by backpressure), or
     * when the budget is spent. Otherwise the pass consumed something: a
     * recv moved bytes (budget shrinks), met end of file (eof is set, so
     * the next pass ends the turn), or said EAGAIN (c->ready loses
     * MUX_EV_READ, so the next pass ends the turn). Hence the loop ends,
     * and pending bytes never pass out_cap [MUX-3].
     */
    for (;;) {
        if (flush(srv, c) < 0)
            return MUX_CLOSE;
        if (c->eof)
            return pending(c) == 0 ? MUX_CLOSE : MUX_IDLE;
        size_t room = srv->out_cap - pending(c);
        if (room == 0) {
            srv->st->paused++; /* resumed by a flush, with c->ready kept */
            return MUX_IDLE;
        }
        if (!(c->ready & MUX_EV_READ))
            return MUX_IDLE;
        if (budget == 0)
            return MUX_MORE;
        if (room > MUX_SCRATCH)
            room = MUX_SCRATCH;
        if (room > budget)
            room = budget;

        ssize_t n = recv(c->w.fd, srv->scratch, room, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->ready &= ~MUX_EV_READ;
                continue;
            }
            return MUX_CLOSE; /* ECONNRESET and friends */
        }
        if (!srv->loop.ops->edge_triggered)
            c->ready &= ~MUX_EV_READ; /* the kernel will report it again */
        if (n == 0) {
            c->eof = true;
            continue;
        }
        budget -= (size_t)n;

        size_t sent = 0;
        if (pending(c) == 0) {
            ssize_t k = send_some(srv, c, srv->scratch, (size_t)n);
            if (k < 0)
                return MUX_CLOSE;
            sent = (size_t)k;
        }
        if (sent < (size_t)n &&
            keep(srv, c, srv->scratch + sent, (size_t)n - sent) != 0)
            return MUX_CLOSE;
    }
    // SOLUTION-STUB
    // (void)srv;
    // (void)c;
    // (void)keep;
    // (void)flush;
    // return MUX_CLOSE;
    // SOLUTION-END
}

/*
 * TODO(core.4): what c must be watched for now. Watching for readability
 * after end of file, or while reading is paused, or for writability with
 * nothing to send, makes a level-triggered backend report the connection
 * on every wait: a busy loop [MUX-11].
 */
unsigned
mux_conn_interest(const struct mux_server *srv, const struct mux_conn *c)
{
    // SOLUTION-BEGIN
    unsigned in = 0;

    if (!c->eof && pending(c) < srv->out_cap)
        in |= MUX_EV_READ;
    if (pending(c) > 0)
        in |= MUX_EV_WRITE;
    return in;
    // SOLUTION-STUB
    // (void)srv;
    // (void)c;
    // return 0;
    // SOLUTION-END
}
