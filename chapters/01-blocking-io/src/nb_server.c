/*
 * nb_server.c - exercise 3 of chapter 01: one thread serving many clients
 * with non-blocking sockets and a polling loop.
 *
 * Organisation: the connection table (given), then the per-connection
 * work (your TODOs), then the polling loop (given). The contract is nb_serve in
 * include/nb.h, promises [NB-16] to [NB-21].
 *
 * The idea to own: a non-blocking server can never wait for "the rest" of
 * anything. Every connection carries its own state (the partial line read
 * so far, the replies not yet sent), and each pass of the loop gives every
 * connection one chance to make progress, whatever the others are doing.
 */
#include "nb.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ===================================================================== */
/* Connections (given)                                                   */
/* ===================================================================== */

/*
 * One client. Invariants: in[0..in_len) is a partial line with no '\n';
 * out[out_off..out_len) is reply data not yet sent, and out_len never
 * exceeds NB_OUT_MAX + NB_LINE_MAX, because reading stops once
 * NB_OUT_MAX bytes are pending and one read adds at most NB_LINE_MAX.
 */
struct conn {
    int fd;                             /* non-blocking client socket */
    bool eof;                           /* the client sent EOF */
    size_t in_len;                      /* bytes of partial line */
    size_t out_off, out_len;            /* unsent replies: [off, len) */
    char in[NB_LINE_MAX];               /* the partial line */
    char out[NB_OUT_MAX + NB_LINE_MAX]; /* replies waiting to be sent */
};

/* The set of live connections: a growable array of pointers. */
struct conn_table {
    struct conn **v; /* v[0..n) are live */
    size_t n, cap;
};

/* Adds a connection for fd; -ENOMEM (and fd untouched) when out of memory. */
static int
table_add(struct conn_table *t, int fd)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct conn **v = realloc(t->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    struct conn *c = malloc(sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    *c = (struct conn){.fd = fd};
    t->v[t->n++] = c;
    return 0;
}

/* Closes and frees connection i; the last one takes its slot. */
static void
table_drop(struct conn_table *t, size_t i)
{
    close(t->v[i]->fd);
    free(t->v[i]);
    t->v[i] = t->v[--t->n];
}

/* Closes every connection and frees the table itself. */
static void
table_free(struct conn_table *t)
{
    while (t->n > 0)
        table_drop(t, t->n - 1);
    free(t->v);
    *t = (struct conn_table){0};
}

/* ===================================================================== */
/* Per-connection work                                                   */
/* ===================================================================== */

/* What one chance to run did to a connection. */
enum step {
    STEP_IDLE,     /* nothing to do right now */
    STEP_PROGRESS, /* moved some bytes */
    STEP_CLOSE,    /* done or broken: drop it */
};

/*
 * TODO(serve.1): send as much pending output as the socket takes now.
 * A full socket buffer (EAGAIN) is normal: keep the rest for the next pass.
 * A vanished client (EPIPE, ECONNRESET) must not raise SIGPIPE [NB-18].
 * A send that returns 0 for a non-zero length made no progress and gave no
 * reason: the connection is broken [NB-23], as in nb_write_full [NB-8].
 */
static enum step
flush_out(struct conn *c)
{
    (void)c;
    return STEP_CLOSE;
}

/*
 * TODO(serve.2): read what has arrived, and queue a reply for every
 * complete line [NB-16], keeping a partial line for later. Stop reading
 * while NB_OUT_MAX bytes of replies are pending [NB-19]; a line that
 * cannot fit in NB_LINE_MAX ends the connection [NB-20]; EOF means: send
 * what is pending, then close.
 */
static enum step
read_in(struct conn *c)
{
    (void)c;
    return STEP_CLOSE;
}

/* ===================================================================== */
/* The loop                                                              */
/* ===================================================================== */

/*
 * TODO(serve.3): accept every connection waiting in the backlog, until
 * EAGAIN, as non-blocking sockets. Returns true if any came; a fatal error
 * (not a socket, ...) is returned through *err as -errno.
 */
static bool
accept_all(int listen_fd, struct conn_table *t, int *err)
{
    (void)listen_fd;
    (void)t;
    (void)table_add; /* given above: call it for each new client */
    *err = -ENOSYS;
    return false;
}

/*
 * Has the caller asked us to stop? 1 for a byte or end of file on stop_fd,
 * 0 when nothing is there yet (-EAGAIN), or the -errno of a read that
 * failed: the server cannot tell whether a stop was asked, and it must not
 * swallow the error by calling it one [NB-24].
 */
static int
stop_requested(int stop_fd)
{
    char c;
    ssize_t n = nb_read_some(stop_fd, &c, 1);

    if (n == -EAGAIN)
        return 0;
    return n >= 0 ? 1 : (int)n;
}

int
nb_serve(int listen_fd, int stop_fd)
{
    struct conn_table t = {0};
    int err = 0;

    if ((err = nb_set_nonblocking(listen_fd, true)) != 0 ||
        (err = nb_set_nonblocking(stop_fd, true)) != 0)
        return err;

    /*
     * The polling loop (given). Until a stop is requested [NB-21]: accept
     * new clients, then give every connection one chance to send and to
     * read. Finished or broken connections are dropped without disturbing
     * the others [NB-17, NB-18]. A pass that moved nothing yields the CPU:
     * sleeping instead would add the sleep to every reply's latency.
     * Each pass ends with err set (a fatal accept error, or a failed read
     * of stop_fd [NB-24]) or with every connection given its chance.
     */
    for (;;) {
        int stop = stop_requested(stop_fd);
        if (stop != 0) {
            if (stop < 0)
                err = stop;
            break;
        }
        bool progress = accept_all(listen_fd, &t, &err);
        if (err != 0)
            break;

        for (size_t i = 0; i < t.n;) {
            struct conn *c = t.v[i];
            enum step out = flush_out(c);
            enum step in = out == STEP_CLOSE ? STEP_CLOSE : read_in(c);
            if (in == STEP_PROGRESS)
                out = flush_out(c); /* answer now, not on the next pass */
            bool finished = c->eof && c->out_len == c->out_off;
            if (in == STEP_CLOSE || out == STEP_CLOSE || finished) {
                table_drop(&t, i); /* the last entry moves into slot i */
                progress = true;
                continue;
            }
            progress |= in == STEP_PROGRESS || out == STEP_PROGRESS;
            i++;
        }
        if (!progress)
            sched_yield();
    }
    table_free(&t);
    return err;
}
