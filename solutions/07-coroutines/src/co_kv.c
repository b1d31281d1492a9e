/*
 * co_kv.c - exercise 4 of chapter 07: a kvd client for many coroutines
 * over a small pool of connections.
 *
 * A thousand coroutines could each open a connection of their own: the
 * scheduler would not mind, but the server would (a thousand sockets,
 * buffers and accepts), and each connection would carry one request at a
 * time anyway. So they share a few. The pool has three parts:
 *  - the idle connections, a stack (the most recently used is warmest);
 *  - the slots: `open` counts the connections that exist or are being
 *    opened, lent or idle, and never exceeds max_conns;
 *  - the waiters, a FIFO of coroutines parked in co_wait(-1, 0, timeout).
 *    Each waiter is a struct on its own stack; whoever frees a connection
 *    or a slot takes the head waiter off the list, records the gift in it
 *    and co_wakes it. The gift is recorded before the waiter runs, so a
 *    waiter that wakes for another reason (its timer, a cancellation)
 *    still finds it, and passes it on rather than losing it.
 *
 * Requests go through co_write and co_read on a non-blocking socket: a
 * coroutine waiting for its reply is parked, and the others run.
 */
#include "co.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/resp.h"

/* Bytes a connection reads at a time; a longer reply grows the buffer. */
#define KV_READ 4096

struct co_kv_conn {
    int fd;                  /* non-blocking, registered as co_wait sees it */
    bool broken;             /* a call failed: never lend it again */
    unsigned long uses;      /* calls made on it */
    struct resp_buf out;     /* the command being sent */
    char *in;                /* bytes read and not yet parsed */
    size_t in_len, in_cap;   /* bytes in `in`, bytes allocated */
    struct co_kv_conn *next; /* the idle stack */
};

/* A coroutine parked in co_kv_acquire; lives on that coroutine's stack. */
struct kv_waiter {
    struct co *co;
    struct kv_waiter *next;
    bool granted;            /* a slot or a connection was handed over */
    struct co_kv_conn *conn; /* the connection, or NULL: open a new one */
};

struct co_kv_pool {
    unsigned short port;
    unsigned max;                  /* max_conns */
    struct co_kv_conn *idle;       /* the idle connections */
    struct kv_waiter *head, *tail; /* the waiters, oldest first */
    struct co_kv_stats st;         /* counters; gauges kept up to date */
};

/* ---- connections -------------------------------------------------------- */

static void
conn_free(struct co_kv_conn *c)
{
    if (c->fd >= 0)
        co_close(c->fd);
    resp_buf_free(&c->out);
    free(c->in);
    free(c);
}

/*
 * Opens a connection to the pool's kvd, parking while it is in progress,
 * for at most timeout_ms (negative: no bound). Returns 0 and *out or
 * -errno; nothing is left open on failure.
 */
static int
conn_open(struct co_kv_pool *p, int timeout_ms, struct co_kv_conn **out)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(p->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct co_kv_conn *c = calloc(1, sizeof(*c));
    int one = 1, err = 0;
    socklen_t len = sizeof(err);

    if (c == NULL)
        return -ENOMEM;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        err = -errno;
        free(c);
        return err;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
        if (errno != EINPROGRESS && errno != EINTR)
            err = -errno;
        else if ((err = co_wait(c->fd, CO_WRITABLE, timeout_ms)) == 0 &&
                 getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
            err = -err;
    }
    if (err != 0) {
        conn_free(c);
        return err;
    }
    p->st.opened++;
    *out = c;
    return 0;
}

/* ---- the waiters and the slots ------------------------------------------ */

/* Takes w off the waiters, wherever it is. */
static void
waiter_unlink(struct co_kv_pool *p, struct kv_waiter *w)
{
    struct kv_waiter **pp = &p->head, *prev = NULL;

    while (*pp != NULL && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    *pp = w->next;
    if (p->tail == w)
        p->tail = prev;
    p->st.waiting--;
}

/*
 * A slot is free, with the connection c in it (NULL: none yet). It goes
 * to the longest waiter, which is woken; with no waiter, c becomes idle
 * (or the slot simply stays free).
 */
static void
hand_over(struct co_kv_pool *p, struct co_kv_conn *c)
{
    // SOLUTION-BEGIN
    struct kv_waiter *w = p->head;

    if (w == NULL) {
        if (c != NULL) {
            c->next = p->idle;
            p->idle = c;
            p->st.idle++;
        } else {
            p->st.open--;
        }
        return;
    }
    waiter_unlink(p, w);
    w->granted = true;
    w->conn = c;
    co_wake(w->co); /* -EALREADY: it is leaving, and will pass it on */
    // SOLUTION-STUB
    // /* TODO(CO-S18): with a waiter, give it the slot and c (the oldest
    //  * waiter first) and wake it; with none, c becomes idle, or the slot
    //  * is free. */
    // (void)c;
    // (void)p;
    // (void)waiter_unlink;
    // SOLUTION-END
}

/* ---- the public calls ---------------------------------------------------- */

int
co_kv_open(const struct co_kv_config *cfg, struct co_kv_pool **out)
{
    if (cfg == NULL || out == NULL || cfg->port == 0)
        return -EINVAL;
    struct co_kv_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->port = cfg->port;
    p->max = cfg->max_conns != 0 ? cfg->max_conns : CO_KV_DEFAULT_CONNS;
    *out = p;
    return 0;
}

void
co_kv_close(struct co_kv_pool *p)
{
    if (p == NULL)
        return;
    while (p->idle != NULL) {
        struct co_kv_conn *c = p->idle;
        p->idle = c->next;
        conn_free(c);
    }
    free(p);
}

int
co_kv_acquire(struct co_kv_pool *p, int timeout_ms, struct co_kv_conn **out)
{
    struct co *self = co_current();

    if (p == NULL || out == NULL)
        return -EINVAL;
    if (self == NULL || !self->scheduled)
        return -EPERM;
    if (self->cancelled)
        return -ECANCELED;
    // SOLUTION-BEGIN
    struct kv_waiter w = {.co = self};

    if (p->idle != NULL) {
        w.conn = p->idle;
        p->idle = w.conn->next;
        p->st.idle--;
    } else if (p->st.open < p->max) {
        p->st.open++; /* the slot is ours while we connect */
    } else {
        if (p->tail != NULL)
            p->tail->next = &w;
        else
            p->head = &w;
        p->tail = &w;
        p->st.waiting++;
        p->st.parked++;
        int r = co_wait(-1, 0, timeout_ms);
        if (!w.granted) { /* timed out or cancelled, nothing given */
            waiter_unlink(p, &w);
            if (r == -ETIMEDOUT)
                p->st.timeouts++;
            return r != 0 ? r : -ECANCELED;
        }
        if (self->cancelled) { /* given, then cancelled: pass it on */
            hand_over(p, w.conn);
            return -ECANCELED;
        }
    }
    if (w.conn == NULL) {
        int r = conn_open(p, timeout_ms, &w.conn);
        if (r != 0) {
            hand_over(p, NULL); /* the slot to the next waiter */
            return r;
        }
    }
    w.conn->next = NULL;
    *out = w.conn;
    return 0;
    // SOLUTION-STUB
    // /* TODO(CO-S19): an idle connection; else a new one if a slot is
    //  * free (conn_open); else wait in line (co_wait(-1, 0, timeout_ms))
    //  * for hand_over to give you a slot, with or without a connection.
    //  * Mind what the wait may return, and what was handed to you anyway. */
    // (void)timeout_ms;
    // (void)conn_open;
    // return -ENOSYS;
    // SOLUTION-END
}

void
co_kv_release(struct co_kv_pool *p, struct co_kv_conn *c, bool broken)
{
    if (p == NULL || c == NULL)
        return;
    // SOLUTION-BEGIN
    if (broken || c->broken) {
        conn_free(c);
        p->st.discarded++;
        hand_over(p, NULL); /* the slot, for a fresh connection */
        return;
    }
    hand_over(p, c);
    // SOLUTION-STUB
    // /* TODO(CO-S20): a broken connection is closed and only its slot
    //  * handed over; a healthy one is handed over itself. */
    // (void)broken;
    // (void)conn_free;
    // (void)hand_over;
    // SOLUTION-END
}

/* Writes all of c->out; 0 or -errno. */
static int
send_all(struct co_kv_conn *c)
{
    size_t off = 0;

    while (off < c->out.len) {
        ssize_t n = co_write(c->fd, c->out.data + off, c->out.len - off);
        if (n < 0)
            return n == -EPIPE ? -ECONNRESET : (int)n;
        off += (size_t)n;
    }
    return 0;
}

/* Reads until c->in holds one whole reply, parses it into *out. */
static int
recv_reply(struct co_kv_conn *c, struct resp_reply *out)
{
    for (;;) {
        long used = resp_parse(c->in, c->in_len, out);
        if (used < 0)
            return (int)used;
        if (used > 0) {
            c->in_len -= (size_t)used;
            memmove(c->in, c->in + used, c->in_len);
            return 0;
        }
        if (c->in_cap - c->in_len < KV_READ) {
            size_t cap = c->in_cap ? c->in_cap * 2 : KV_READ;
            char *in = realloc(c->in, cap);
            if (in == NULL)
                return -ENOMEM;
            c->in = in;
            c->in_cap = cap;
        }
        ssize_t n = co_read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == 0)
            return -ECONNRESET; /* the server closed it */
        if (n < 0)
            return (int)n;
        c->in_len += (size_t)n;
    }
}

int
co_kv_call(struct co_kv_conn *c, struct resp_reply *out, int argc,
           const char *const argv[], const size_t lens[])
{
    if (c == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->type = RESP_NIL;
    if (c->broken)
        return -ECONNRESET;
    resp_buf_reset(&c->out);
    int r = resp_encode(&c->out, argc, argv, lens);
    if (r != 0)
        return r; /* nothing sent: the connection is as it was */
    c->uses++;
    // SOLUTION-BEGIN
    r = send_all(c);
    if (r == 0)
        r = recv_reply(c, out);
    if (r != 0)
        c->broken = true; /* a reply may be owed, or the stream is gone */
    return r;
    // SOLUTION-STUB
    // /* TODO(CO-S21): write all of the command (co_write), then read
    //  * (co_read) until resp_parse finds a whole reply. Any failure
    //  * breaks the connection: mark it. */
    // (void)send_all;
    // (void)recv_reply;
    // return -ENOSYS;
    // SOLUTION-END
}

int
co_kv_request(struct co_kv_pool *p, int timeout_ms, struct resp_reply *out,
              int argc, const char *const argv[], const size_t lens[])
{
    /* At most max_conns connections can have gone stale at once. */
    for (unsigned retries = 0;; retries++) {
        struct co_kv_conn *c = NULL;
        int r = co_kv_acquire(p, timeout_ms, &c);
        if (r != 0)
            return r;
        bool reused = c->uses > 0;
        r = co_kv_call(c, out, argc, argv, lens);
        /* Served before, and not a byte of this reply came: the server
         * closed it while it was idle. */
        bool stale = r == -ECONNRESET && reused && c->in_len == 0;
        co_kv_release(p, c, false); /* co_kv_call marked it if broken */
        if (!stale || retries == p->max)
            return r;
        p->st.retries++;
    }
}

void
co_kv_stats(const struct co_kv_pool *p, struct co_kv_stats *out)
{
    *out = p->st;
}
