/*
 * mux_loop.h - inside the chapter 02 server: the one small interface that
 * every readiness backend implements, and the connection core that runs on
 * top of it.
 *
 * The design follows the classic event-loop split (Redis's ae.c is the
 * best-known example): the loop in mux_serve.c knows nothing about select,
 * poll or epoll. It asks a backend, through struct mux_ops, to watch a
 * descriptor for reading and/or writing, and to wait until some of them
 * are ready. Each backend translates that into its own system calls.
 *
 *   mux_serve.c   the loop: one pass, a turn, the run queue's use, accepting
 *                 and its backoff (yours); opening, closing and the list
 *                 operations (given)
 *   mux_conn.c    the connection core: echo, buffering, backpressure (yours)
 *   mux_select.c  the select backend (yours)
 *   mux_poll.c    the poll backend (yours)
 *   mux_epoll.c   both epoll backends, level- and edge-triggered (yours)
 *
 * Tests use only mux.h; this header is the contract between your files.
 */
#ifndef IOLAB_MUX_LOOP_H
#define IOLAB_MUX_LOOP_H

#include "mux.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Readiness, as the loop speaks of it (each backend maps its own flags). */
#define MUX_EV_READ 1u  /* readable, end of file, or an error pending */
#define MUX_EV_WRITE 2u /* writable, or an error pending */

/*
 * Something a backend watches: a client connection, the listening socket
 * or the stop descriptor. Owned by the loop; a backend only keeps
 * pointers to it between add and del.
 */
struct mux_watch {
    int fd;            /* the descriptor; open from add until after del */
    unsigned interest; /* MUX_EV_* the loop wants to hear about; may be 0 */
    int slot;          /* the backend's own index (poll array), or -1 */
};

/* One result of a wait: a watch and what it is ready for. */
struct mux_fired {
    struct mux_watch *w; /* the watch, as passed to add */
    unsigned events;     /* MUX_EV_*; an error or hang-up reports both */
};

struct mux_loop;

/*
 * A readiness backend. Every function returns 0 (or a count) or -errno.
 *
 *  init    sets up l->priv (an epoll instance, arrays, ...).
 *  fini    releases everything init and add allocated; safe after a failed
 *          init, and with watches still added.
 *  add     starts watching w->fd for w->interest. -ERANGE: this backend
 *          cannot watch this descriptor (select: fd >= FD_SETSIZE).
 *  update  changes the interest of an added watch to interest (and sets
 *          w->interest). Called only when the interest really changes.
 *  del     stops watching w. Called before w->fd is closed: an epoll set
 *          holds the open file description, not the descriptor number.
 *  wait    sleeps until at least one watch is ready, or timeout_ms passes
 *          (-1: no limit, 0: just look), and fills l->fired[0..n) with the
 *          ready watches, each at most once. Returns n (0 on timeout) or
 *          -errno; EINTR is retried, never returned.
 *
 * Level-triggered backends report a watch on every wait for as long as
 * it is ready for something in its interest. The edge-triggered backend
 * reports a watch when something new happens to it (data arrives, room
 * appears: on Linux each new chunk may bring a new report, see epoll(7)),
 * never for what is already there: bytes left unread are not reported
 * again unless more arrive, and more may never come. So the core must
 * remember readiness (struct mux_conn.ready) until read or write says
 * EAGAIN.
 */
struct mux_ops {
    const char *name;    /* "select", "poll", "epoll-lt", "epoll-et" */
    bool edge_triggered; /* see above */
    int (*init)(struct mux_loop *l);
    void (*fini)(struct mux_loop *l);
    int (*add)(struct mux_loop *l, struct mux_watch *w);
    int (*update)(struct mux_loop *l, struct mux_watch *w, unsigned interest);
    void (*del)(struct mux_loop *l, struct mux_watch *w);
    int (*wait)(struct mux_loop *l, int timeout_ms);
};

extern const struct mux_ops mux_select_ops;
extern const struct mux_ops mux_poll_ops;
extern const struct mux_ops mux_epoll_lt_ops;
extern const struct mux_ops mux_epoll_et_ops;

/*
 * The state a backend shares with the loop. Invariant: fired_cap >=
 * nwatch, so a wait can always report every watch (the loop grows fired
 * before each add).
 */
struct mux_loop {
    const struct mux_ops *ops; /* the backend */
    void *priv;                /* the backend's own state; NULL before init */
    struct mux_fired *fired;   /* wait's results: fired[0..n) */
    size_t fired_cap;          /* entries fired can hold */
    size_t nwatch;             /* watches added and not yet deleted */
};

/* ===================================================================== */
/* The connection core                                                    */
/* ===================================================================== */

/*
 * One client. Invariants:
 *  - out[off..len) are the bytes read from the client and not yet sent
 *    back; len - off <= srv->out_cap. out is NULL when nothing is pending
 *    (an idle connection costs no buffer).
 *  - ready holds readiness the backend reported that has not been used
 *    up: MUX_EV_WRITE stays until a send says EAGAIN; MUX_EV_READ stays
 *    until a recv says EAGAIN (edge-triggered) or until one recv
 *    (level-triggered: the kernel will say so again). A send or recv that
 *    fails (a send of 0 included [MUX-14]) ends the connection.
 */
struct mux_conn {
    struct mux_watch w;        /* the loop finds c from &c->w */
    unsigned ready;            /* MUX_EV_* known and not used up */
    bool eof;                  /* the client shut down its write side */
    char *out;                 /* pending echo data, or NULL */
    size_t off, len;           /* pending bytes are out[off..len) */
    struct mux_conn *prev_all; /* every live connection (for stop) */
    struct mux_conn *next_all;
    struct mux_conn *prev_run; /* the run queue: unfinished turns */
    struct mux_conn *next_run;
    bool queued; /* on the run queue */
};

/* The server: the loop, its tunables, shared buffers and counters. */
struct mux_server {
    struct mux_loop loop;   /* the backend and its results */
    struct mux_watch lsn;   /* the listening socket */
    struct mux_watch stop;  /* the stop descriptor */
    size_t out_cap;         /* [MUX-3] */
    size_t read_budget;     /* [MUX-9] */
    int backoff_ms;         /* [MUX-12] */
    uint64_t accept_resume; /* ms (monotonic) to accept again; 0: now */
    char *scratch;          /* MUX_SCRATCH bytes every recv lands in */
    struct mux_stats *st;   /* counters (never NULL inside the server) */
    struct mux_conn *all;   /* every live connection */
    struct mux_conn *run;   /* the run queue's head */
};

/*
 * The loop (mux_serve.c). mux_serve sets the server up, then runs one pass
 * after another until a stop is asked for or an error is fatal, then
 * closes every connection [MUX-13]. One pass:
 *  1. waits: timeout 0 while the run queue is not empty [MUX-15], what is
 *     left of an accept pause while there is one [MUX-12], else -1 (no
 *     limit) [MUX-11]; each call is counted in stats->waits;
 *  2. serves each reported watch once, in order: the stop descriptor ends
 *     the loop after this pass; the listener is accepted from until
 *     EAGAIN [MUX-6]; a connection has the reported events ORed into
 *     c->ready and gets one turn;
 *  3. ends an accept pause that is over, accepting at once (an edge-
 *     triggered listener does not report connections already waiting);
 *  4. gives each connection queued before this step one more turn.
 * After each turn: MUX_CLOSE closes c; MUX_MORE counts a budget cut and
 * queues c; then c's interest is updated if it changed.
 */

/* The scratch buffer every recv lands in before it is sent or kept. */
#ifndef MUX_SCRATCH
#define MUX_SCRATCH (64 * 1024)
#endif

/* What one turn did to a connection. */
enum mux_step {
    MUX_IDLE,  /* waiting for the backend to report readiness */
    MUX_MORE,  /* budget used up with work left: run again soon */
    MUX_CLOSE, /* finished or broken: close it */
};

/*
 * mux_conn_run - gives connection c one turn: send what is pending, read
 * what has arrived and echo it, within srv->read_budget bytes read.
 * Uses and clears c->ready as it learns (EAGAIN). Returns what the loop
 * should do next with c. Never blocks.
 */
enum mux_step mux_conn_run(struct mux_server *srv, struct mux_conn *c);

/*
 * mux_conn_interest - what c must be watched for now: MUX_EV_READ while
 * more input is welcome (before end of file, and while fewer than out_cap
 * bytes are pending), MUX_EV_WRITE while output is pending. The loop asks
 * after each turn, and a turn sends while c->ready says the socket is
 * writable, so output still pending then means a send said EAGAIN: the
 * socket is not known to be writable, and only a report can say it is.
 */
unsigned mux_conn_interest(const struct mux_server *srv,
                           const struct mux_conn *c);

/* Frees c's pending output (the loop closes and frees c itself). */
void mux_conn_release(struct mux_conn *c);

#endif /* IOLAB_MUX_LOOP_H */
