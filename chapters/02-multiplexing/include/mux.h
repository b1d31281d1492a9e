/*
 * mux.h - the contract of chapter 02: one thread, many connections, with
 * select, poll and epoll.
 *
 * This header is the specification of what the tests check. The server is
 * an echo server: every byte a client sends comes back to it, in order.
 * The same connection core runs over four readiness backends; only the way
 * the thread waits changes. How the pieces fit together inside (the
 * backend interface, the connection record) is in mux_loop.h.
 *
 * The specification; conventions: shared/include/iolab/CONVENTIONS.md.
 */
#ifndef IOLAB_MUX_H
#define IOLAB_MUX_H

#include <stdbool.h>
#include <stddef.h>

/* The readiness backends. The echo behaviour is the same for all four. */
enum mux_backend {
    MUX_SELECT,   /* select(2): fd_set bitmaps, descriptors < FD_SETSIZE */
    MUX_POLL,     /* poll(2): an array of struct pollfd */
    MUX_EPOLL_LT, /* epoll(7), level-triggered (the default mode) */
    MUX_EPOLL_ET, /* epoll(7), edge-triggered (EPOLLET) */
    MUX_NBACKENDS /* number of backends; not a backend */
};

/*
 * Unsent echo data one connection may hold before the server stops
 * reading from it (backpressure). Small enough that ten thousand stalled
 * clients cost at most 640 MiB, large enough for a socket buffer's worth.
 */
#ifndef MUX_OUT_CAP
#define MUX_OUT_CAP (64 * 1024)
#endif

/*
 * Bytes one connection may read in one turn before the others get theirs
 * (the fairness budget that edge-triggered mode needs; see [MUX-9]).
 */
#ifndef MUX_READ_BUDGET
#define MUX_READ_BUDGET (256 * 1024)
#endif

/*
 * How long the server stops accepting after accept(2) fails for lack of
 * descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) [MUX-12].
 */
#ifndef MUX_ACCEPT_BACKOFF_MS
#define MUX_ACCEPT_BACKOFF_MS 100
#endif

/* Tunables of one mux_serve call. A zero field means "the default". */
struct mux_config {
    size_t out_cap;        /* backpressure threshold; 0: MUX_OUT_CAP */
    size_t read_budget;    /* bytes per connection per turn; 0: default */
    int accept_backoff_ms; /* pause after EMFILE and friends; 0: default */
};

/*
 * What the server did, for tests and benchmarks. mux_serve fills it while
 * it runs; read it after mux_serve has returned.
 */
struct mux_stats {
    unsigned long accepted;           /* connections accepted and served */
    unsigned long refused_fd_setsize; /* select: closed, fd >= FD_SETSIZE */
    unsigned long accept_errors;      /* transient accept failures */
    unsigned long closed;             /* served connections closed */
    unsigned long waits;              /* calls to the backend's wait */
    unsigned long paused;             /* times reading stopped (backpressure) */
    unsigned long budget_cuts;        /* turns cut short by read_budget */
    unsigned long long bytes_echoed;  /* bytes sent back, all clients */
    size_t peak_pending;              /* most unsent bytes one conn held */
};

/*
 * mux_serve - run the echo server on listen_fd until stop_fd becomes
 * readable.
 *
 * listen_fd: a listening TCP socket (blocking or not: the server makes it
 *            non-blocking). Owned by the caller: not closed.
 * stop_fd:   a descriptor the caller makes readable (a byte written to a
 *            pipe, or its write end closed) to ask the server to stop.
 *            Owned by the caller: not closed, and not read from.
 * backend:   how the server waits; see enum mux_backend.
 * cfg:       tunables, or NULL for every default.
 * stats:     filled with counters, or NULL.
 *
 * Returns 0 after a stop was requested, or -errno if the server cannot
 * start or go on: -EINVAL for an unknown backend, or for the select
 * backend when listen_fd or stop_fd is FD_SETSIZE or more; -ENOTSOCK,
 * -EINVAL or -EBADF when listen_fd is not a listening socket; -ENOMEM.
 *
 * [MUX-1]  Each client gets back exactly the bytes it sent, in order,
 *          however they were split by the network or by short reads and
 *          writes, and whatever the other clients do.
 * [MUX-2]  Many clients are served at once from one thread: a client that
 *          is idle, or sent part of a message, delays nobody.
 * [MUX-3]  The server never blocks on a write. Echo data a client is not
 *          reading is kept; once cfg->out_cap bytes are pending for one
 *          connection the server stops reading from it until it drains.
 *          Pending bytes per connection never exceed out_cap
 *          (stats->peak_pending <= out_cap), so a client that never reads
 *          cannot grow the server's memory, and other clients are not
 *          slowed by it.
 * [MUX-4]  Half-close: when a client shuts down its write side, the server
 *          sends everything still owed to it, then closes the connection.
 * [MUX-5]  A client that resets the connection (ECONNRESET, EPIPE) is
 *          dropped and counted in stats->closed; nobody else notices, and
 *          SIGPIPE never kills the server.
 * [MUX-6]  Accepting: every connection waiting in the backlog is accepted
 *          on one wake-up (until EAGAIN), with accept4 and
 *          SOCK_NONBLOCK | SOCK_CLOEXEC.
 * [MUX-7]  The select backend refuses a connection whose descriptor is
 *          FD_SETSIZE or more (FD_SET on it would write past the fd_set):
 *          it closes it at once, counts it in stats->refused_fd_setsize,
 *          and goes on serving the others.
 * [MUX-8]  Edge-triggered: one notification may stand for any amount of
 *          data, and data already reported is not reported again unless
 *          more arrives, so the server reads and writes until EAGAIN; data
 *          that arrived before or during a turn is never left unread.
 * [MUX-9]  Fairness: one connection reads at most cfg->read_budget bytes
 *          per turn; a flooding client cannot starve the others, and its
 *          unfinished work resumes without a new notification.
 * [MUX-10] EINTR from the wait call (a signal) is retried: the server
 *          neither stops nor loses a connection.
 * [MUX-11] Idle means asleep: with nothing to do the server sleeps in the
 *          kernel (no busy polling, no zero timeouts).
 * [MUX-12] When accept fails for lack of descriptors or memory (EMFILE,
 *          ENFILE, ENOBUFS, ENOMEM) the server counts it in
 *          stats->accept_errors, stops watching the listening socket for
 *          cfg->accept_backoff_ms, and accepts again after that: it does
 *          not spin on a listener that stays readable.
 * [MUX-13] On stop, every connection is closed and all memory freed; the
 *          process has exactly the descriptors it had before the call.
 * [MUX-14] A send that returns 0 for a non-zero length made no progress
 *          and gave no reason (chapter 01's [NB-8]): that connection is
 *          dropped and counted in stats->closed, like a reset [MUX-5]; the
 *          server never retries it in a loop, which could spin for ever.
 * [MUX-15] The run queue: a turn cut short by the read budget [MUX-9] is
 *          resumed after the next wait, which then does not sleep
 *          (timeout 0), and never before it: between two turns of one
 *          connection the server looks at every other descriptor again,
 *          the listener and the stop descriptor included. So one
 *          connection gets at most two turns per wait (one for its report,
 *          one from the queue), and stats->budget_cuts is at most twice
 *          the number of wait calls.
 *
 * Thread safety: one call per thread; distinct calls share nothing.
 */
int mux_serve(int listen_fd, int stop_fd, enum mux_backend backend,
              const struct mux_config *cfg, struct mux_stats *stats);

/* The backend's name ("select", "poll", "epoll-lt", "epoll-et"), or NULL. */
const char *mux_backend_name(enum mux_backend backend);

/* Parses a backend's name as above; -EINVAL for an unknown one. */
int mux_backend_parse(const char *name);

#endif /* IOLAB_MUX_H */
