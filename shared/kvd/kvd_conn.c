/*
 * kvd_conn.c - kvd's connections: read, parse, execute, reply, hold,
 * close (kvd_conn.h). The loop in kvd_server.c calls in here when a
 * connection's socket or timer is ready; nothing here calls back into it.
 *
 * Organisation: 1. counters and timers; 2. a connection's life (new,
 * close, free); 3. output; 4. input and execution; 5. conn_serve, which
 * ties them together.
 *
 * The life of a round trip. A connection is registered edge-triggered for
 * input and output. When input arrives, one read takes what is there; every
 * complete command in the buffer is executed in order, each appending its
 * reply to the connection's output buffer; then the whole batch goes out
 * with one send (or, with a round-trip delay, the connection goes on the
 * timer list and its batch goes out when the timer fires). While a batch
 * is held or unsent the connection is not read, so replies keep their
 * order and a slow client's backlog stays bounded by one read's worth.
 */
#include "kvd_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Each read asks for at least this much (and takes all that is there). */
#ifndef KVD_READ_CHUNK
#define KVD_READ_CHUNK (16 * 1024) /* a 16-deep pipeline of small commands */
#endif
/* Reads one connection may do per event before the others get a turn. */
#define KVD_READ_BUDGET 8

/* ===================================================================== */
/* 1. Counters and timers                                                */
/* ===================================================================== */

void
stats_add(struct kvd *kv, uint64_t cmds, uint64_t rts, uint64_t in,
          uint64_t out)
{
    pthread_mutex_lock(&kv->stats_mu);
    kv->stats.commands += cmds;
    kv->stats.round_trips += rts;
    kv->stats.bytes_in += in;
    kv->stats.bytes_out += out;
    kv->stats.keys = kv->store.count;
    kv->stats.expired += kv->store.expired - kv->expired_seen;
    kv->expired_seen = kv->store.expired;
    pthread_mutex_unlock(&kv->stats_mu);
}

/*
 * The timer list is sorted by deadline. Every entry gets now + a delay,
 * and the delay rarely changes, so a new entry almost always belongs at
 * the tail: inserting from the tail backwards is O(1) in practice.
 */
void
timer_add(struct kvd *kv, struct kconn *c, int64_t deadline)
{
    struct kconn *after = kv->ttail;

    c->deadline = deadline;
    while (after != NULL && after->deadline > deadline)
        after = after->tprev;
    c->tprev = after;
    c->tnext = after ? after->tnext : kv->thead;
    if (c->tnext != NULL)
        c->tnext->tprev = c;
    else
        kv->ttail = c;
    if (after != NULL)
        after->tnext = c;
    else
        kv->thead = c;
    c->on_timer = true;
}

void
timer_remove(struct kvd *kv, struct kconn *c)
{
    if (!c->on_timer)
        return;
    if (c->tprev != NULL)
        c->tprev->tnext = c->tnext;
    else
        kv->thead = c->tnext;
    if (c->tnext != NULL)
        c->tnext->tprev = c->tprev;
    else
        kv->ttail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->on_timer = false;
}

/* Points the timerfd at the head's deadline, if it is not already. */
void
timer_arm(struct kvd *kv)
{
    if (kv->thead == NULL || kv->thead->deadline == kv->armed)
        return; /* an armed timer with nothing due just fires once, idle */
    int64_t d = kv->thead->deadline;
    struct itimerspec its = {
        .it_value = {.tv_sec = d / 1000000000, .tv_nsec = d % 1000000000},
    };
    if (timerfd_settime(kv->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        kv->armed = d;
}

/* ===================================================================== */
/* 2. A connection's life                                                */
/* ===================================================================== */

void
conn_new(struct kvd *kv, int fd, int64_t now)
{
    struct kconn *c = calloc(1, sizeof(*c));
    int one = 1;

    if (c == NULL) {
        close(fd);
        return;
    }
    *c = (struct kconn){
        .src = {.kind = K_CONN}, .fd = fd, .kv = kv, .close_after = -1};
    kreq_init(&c->req, kv->max_frame);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = &c->src,
    };
    if (epoll_ctl(kv->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        close(fd);
        free(c);
        return;
    }
    c->next = kv->conns;
    if (kv->conns != NULL)
        kv->conns->prev = c;
    kv->conns = c;
    pthread_mutex_lock(&kv->stats_mu);
    kv->stats.connected++;
    pthread_mutex_unlock(&kv->stats_mu);
    if (kv->accept_ns > 0) {
        c->accept_wait = true;
        timer_add(kv, c, now + (int64_t)kv->accept_ns);
    }
}

void
conn_close(struct kconn *c)
{
    struct kvd *kv = c->kv;

    if (c->dead)
        return;
    timer_remove(kv, c);
    /* On the again list it stays (dead entries are skipped there). */
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        kv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->dead = true;
    c->closing = true; /* stops run_input if a command closed it */
    c->next = kv->dead;
    kv->dead = c;
    pthread_mutex_lock(&kv->stats_mu);
    kv->stats.connected--;
    pthread_mutex_unlock(&kv->stats_mu);
}

void
conn_free(struct kconn *c)
{
    free(c->ibuf);
    kreq_free(&c->req);
    out_free(&c->out);
    free(c);
}

/* ===================================================================== */
/* 3. Output                                                             */
/* ===================================================================== */

bool
conn_flush(struct kconn *c)
{
    struct kout *o = &c->out;

    while (out_pending(o) > 0) {
        ssize_t n = send(c->fd, o->data + o->off, out_pending(o), MSG_NOSIGNAL);
        if (n > 0) {
            out_consume(o, (size_t)n, KVD_KEEP_BUF);
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        conn_close(c); /* the client vanished (EPIPE, ECONNRESET) */
        return false;
    }
    out_consume(o, 0, KVD_KEEP_BUF); /* empty: give back a big buffer */
    return true;
}

/* ===================================================================== */
/* 4. Input and execution                                                */
/* ===================================================================== */

/*
 * Executes one complete command and counts it against close_after.
 * Returns false when no further command may run.
 */
static bool
run_one(struct kconn *c, int argc, const struct karg *argv, int64_t now_ms,
        uint64_t *ncmds)
{
    struct kvd *kv = c->kv;
    const struct kcmd_ctx x = {.ops = kv->ops,
                               .kv = kv,
                               .conn = c,
                               .store = &kv->store,
                               .out = &c->out,
                               .now = now_ms};
    /* KVD CLOSEAFTER itself is not one of the commands it counts. */
    bool counted = c->close_after > 0;

    kvd_exec(&x, argc, argv);
    (*ncmds)++;
    if (counted && c->close_after > 0 && --c->close_after == 0)
        c->closing = true;
    return !c->closing;
}

/*
 * Parses and runs the request at ipos. Returns 1 when one was consumed,
 * 0 when it is not complete, -1 to stop (protocol error, out of memory,
 * closing).
 */
static int
run_request(struct kconn *c, int64_t now_ms, uint64_t *ncmds)
{
    struct kreq_cmd cmd;
    int r = kreq_parse(&c->req, c->ibuf + c->ipos, c->ilen - c->ipos, &cmd);

    if (r == 0) {
        c->ineed = cmd.need;
        return 0;
    }
    if (r == -ENOMEM) {
        c->out.oom = true; /* the connection is closed after this batch */
        return -1;
    }
    if (r < 0) {
        /* The stream is out of step: answer, then hang up. */
        out_error(&c->out, "ERR Protocol error: %s", cmd.error);
        c->closing = true;
        return -1;
    }
    c->ipos += cmd.used;
    if (cmd.error != NULL) { /* a bad inline line: consumed, in step */
        out_error(&c->out, "ERR Protocol error: %s", cmd.error);
        (*ncmds)++;
        return 1;
    }
    if (cmd.argc == 0) /* a blank line, "*0": no reply, as in Redis */
        return 1;
    return run_one(c, cmd.argc, cmd.argv, now_ms, ncmds) ? 1 : -1;
}

/* Executes every complete command in the input; returns how many. */
static uint64_t
run_input(struct kconn *c)
{
    int64_t now_ms = now_ns() / 1000000;
    uint64_t ncmds = 0;

    c->more = false;
    while (!c->closing && c->ipos < c->ilen) {
        /* Enough replies for one batch: the rest wait for this one. */
        if (kreq_idle(&c->req) && out_pending(&c->out) >= KVD_BATCH_OUT) {
            c->more = true;
            break;
        }
        c->ineed = 0;
        if (run_request(c, now_ms, &ncmds) <= 0)
            break;
    }
    if (c->ipos == c->ilen && kreq_idle(&c->req)) {
        c->ipos = c->ilen = 0;
        if (c->icap > KVD_KEEP_BUF) {
            free(c->ibuf);
            c->ibuf = NULL;
            c->icap = 0;
        }
    }
    return ncmds;
}

/*
 * Makes room for the next read: at least KVD_READ_CHUNK free, and the
 * whole of the request in progress (ineed bytes from ipos). The partial
 * request moves to the front at most once per request; the parser's
 * offsets are from its first byte, so they stay right.
 */
static bool
in_make_room(struct kconn *c)
{
    size_t have = c->ilen - c->ipos;
    size_t want = have + KVD_READ_CHUNK;

    if (c->ineed + KVD_READ_CHUNK / 4 > want)
        want = c->ineed + KVD_READ_CHUNK / 4;
    if (c->icap - c->ilen >= KVD_READ_CHUNK && c->ipos + want <= c->icap)
        return true;
    if (c->ipos > 0) {
        memmove(c->ibuf, c->ibuf + c->ipos, have);
        c->ipos = 0;
        c->ilen = have;
    }
    if (want <= c->icap)
        return true;
    size_t cap = c->icap ? c->icap : KVD_READ_CHUNK;
    while (cap < want)
        cap *= 2;
    char *p = realloc(c->ibuf, cap);
    if (p == NULL)
        return false;
    c->ibuf = p;
    c->icap = cap;
    return true;
}

/* ===================================================================== */
/* 5. Serving a connection                                               */
/* ===================================================================== */

static void
again_push(struct kvd *kv, struct kconn *c)
{
    if (!c->on_again) {
        c->on_again = true;
        c->again = kv->again;
        kv->again = c;
    }
}

void
conn_serve(struct kconn *c)
{
    struct kvd *kv = c->kv;

    for (int budget = KVD_READ_BUDGET; !c->dead; budget--) {
        if (c->accept_wait || c->held || out_pending(&c->out) > 0)
            return;
        if (c->closing) {
            conn_close(c);
            return;
        }
        if (!c->readable && !c->more)
            return;
        if (budget == 0) {
            again_push(kv, c);
            return;
        }
        ssize_t n = 0;
        if (!c->more) { /* else: commands left from the last read first */
            if (!in_make_room(c)) {
                conn_close(c);
                return;
            }
            size_t space = c->icap - c->ilen;
            n = read(c->fd, c->ibuf + c->ilen, space);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    c->readable = false;
                else
                    conn_close(c);
                continue;
            }
            if (n == 0) { /* EOF: every reply owed has been sent */
                conn_close(c);
                return;
            }
            /*
             * A short read took everything there was; with edge-triggered
             * events, more data arriving later raises a new event.
             */
            if ((size_t)n < space)
                c->readable = false;
            c->ilen += (size_t)n;
        }
        uint64_t ncmds = run_input(c);
        bool hold = ncmds > 0 && kv->rtt_ns > 0 && !c->dead && !c->out.oom;
        /* Counted before the replies leave, so a client that has read
         * its reply sees them in the statistics. */
        stats_add(kv, ncmds, ncmds > 0, (uint64_t)n,
                  hold || c->dead ? 0 : out_pending(&c->out));
        if (c->dead) /* KVD DROP closes its own connection too */
            return;
        if (c->out.oom) {
            conn_close(c);
            return;
        }
        if (hold) {
            c->held = true;
            timer_add(kv, c, now_ns() + (int64_t)kv->rtt_ns);
            return;
        }
        if (c->out.len > 0 && !conn_flush(c))
            return;
    }
}
