/*
 * kvd_conn.h - the server's internals: the server (struct kvd), one
 * client connection (struct kconn), and what kvd_conn.c does with a
 * connection: register it, read it, run its commands, send its replies,
 * hold them on the timer list, close it.
 *
 * Layering, one way only: kvd_server.c (the loop, the controls, the
 * public API) calls kvd_conn.c; kvd_conn.c calls the parser (kvd_req.h),
 * the reply buffer (kvd_out.h) and the commands (kvd_cmd.h), and reaches
 * the server's operations only through kv->ops. kvd_conn.c never calls
 * into kvd_server.c. Nothing here is part of the course's API (that is
 * iolab/kvd.h).
 *
 * Threads: everything here runs in the server's loop thread, except the
 * fields marked "under stats_mu" and "ctl", which other threads read and
 * write under those mutexes.
 */
#ifndef KVD_CONN_H
#define KVD_CONN_H

#include "iolab/kvd.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kvd_cmd.h"
#include "kvd_out.h"
#include "kvd_req.h"
#include "kvd_store.h"

/* Buffers larger than this are given back when they empty. */
#define KVD_KEEP_BUF (64 * 1024)

/* What an epoll event's data.ptr points at: a struct source says. */
enum kind { K_LISTEN, K_CONTROL, K_TIMER, K_SIGNAL, K_CONN };

struct source {
    enum kind kind; /* K_LISTEN, K_CONTROL, K_TIMER, K_SIGNAL or K_CONN */
};

/*
 * One client connection. Input: ibuf[ipos, ilen) is received and not yet
 * executed; req remembers how far the request at ipos is parsed (its
 * offsets are from ipos, so the bytes may move to the front). Output: out
 * holds the replies produced and not yet sent.
 */
struct kconn {
    struct source src;           /* K_CONN: epoll's data.ptr points here */
    int fd;                      /* the socket, non-blocking, owned */
    struct kvd *kv;              /* the server */
    struct kconn *prev, *next;   /* every live connection */
    struct kconn *tprev, *tnext; /* the timer list, while on it */
    struct kconn *again;         /* the again list (more input to read) */
    int64_t deadline;            /* timer: ns, CLOCK_MONOTONIC */
    bool on_timer;               /* on the timer list */
    bool on_again;               /* on the again list */
    bool accept_wait;            /* accept delay not over yet */
    bool held;                   /* replies held for the round-trip delay */
    bool readable;               /* input may be waiting (edge-triggered) */
    bool closing;                /* close once the output is sent */
    bool dead;                   /* closed; freed at the end of the pass */
    bool more;                   /* complete commands wait in ibuf */
    long close_after;            /* commands left before closing; -1: no */

    char *ibuf;      /* input buffer */
    size_t icap;     /* its size */
    size_t ipos;     /* first byte not yet executed */
    size_t ilen;     /* end of received bytes */
    size_t ineed;    /* bytes from ipos the current request needs */
    struct kreq req; /* the request parser */
    struct kout out; /* replies not yet sent (out.oom: one was lost) */
};

/* Requests from other threads, applied by the loop (kvd_server.c). */
struct ctl_req {
    bool stop;
    bool set_delays;
    unsigned rtt_us, accept_us;
    bool drop_all;
    bool refuse;
    unsigned refuse_ms;
    bool close_after;
    unsigned close_n;
};

/* Invariant: done <= req; every request up to done has been applied. */
struct control {
    pthread_mutex_t mu; /* guards the rest */
    pthread_cond_t cv;  /* signalled when done moves */
    uint64_t req;       /* requests made */
    uint64_t done;      /* requests applied */
    struct ctl_req r;   /* what they asked for, not yet applied */
};

struct kvd {
    struct source listen_src;   /* K_LISTEN */
    struct source control_src;  /* K_CONTROL */
    struct source timer_src;    /* K_TIMER */
    struct source signal_src;   /* K_SIGNAL */
    int lfd;                    /* listening socket */
    int epfd;                   /* the epoll set */
    int evfd;                   /* eventfd: wakes the loop for control */
    int tfd;                    /* timerfd: the timer list's head */
    int sigfd;                  /* signalfd in a spawned child; else -1 */
    unsigned short port;        /* where lfd listens */
    size_t max_frame;           /* largest request frame */
    uint64_t rtt_ns;            /* round-trip delay */
    uint64_t accept_ns;         /* accept delay */
    int64_t refuse_until;       /* ns: refuse connections until then */
    bool accept_paused;         /* out of descriptors: accept later */
    int64_t next_cron;          /* ns: next housekeeping pass */
    int64_t armed;              /* the deadline tfd is set for; 0: none */
    bool stopping;              /* leave the loop */
    const struct kcmd_ops *ops; /* what commands may ask of the server */

    struct kconn *conns;         /* live connections */
    struct kconn *thead, *ttail; /* timer list, by deadline */
    struct kconn *again;         /* connections with input still to read */
    struct kconn *dead;          /* closed, to free after this pass */
    struct kstore store;         /* the keys */

    pthread_t thread;         /* the loop, for kvd_start */
    bool threaded;            /* thread was started */
    struct control ctl;       /* requests from other threads */
    pthread_mutex_t stats_mu; /* guards stats and refused */
    struct kvd_stats stats;   /* counters (under stats_mu) */
    uint64_t refused;         /* connections refused (under stats_mu) */
    uint64_t expired_seen;    /* store.expired already in stats */
};

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Adds to the counters (under stats_mu) and refreshes the keys gauge and
 * the expired count from the store.
 */
void stats_add(struct kvd *kv, uint64_t cmds, uint64_t rts, uint64_t in,
               uint64_t out);

/*
 * The timer list, sorted by deadline (ns): a connection waits on it for
 * its accept delay or while its replies are held. timer_remove is a no-op
 * for a connection not on it; timer_arm points the timerfd at the head.
 */
void timer_add(struct kvd *kv, struct kconn *c, int64_t deadline);
void timer_remove(struct kvd *kv, struct kconn *c);
void timer_arm(struct kvd *kv);

/*
 * Makes fd (accepted, non-blocking) a connection of kv: registered
 * edge-triggered for input and output, counted, and put on the timer list
 * when there is an accept delay. On failure fd is closed.
 */
void conn_new(struct kvd *kv, int fd, int64_t now);

/*
 * Closes c's socket and moves it to the dead list, to be freed with
 * conn_free once the loop's pass is over (an event or list may still name
 * it). Closing twice is harmless.
 */
void conn_close(struct kconn *c);
void conn_free(struct kconn *c);

/*
 * Sends what is unsent. Returns true when all of it is gone, false when
 * the socket is full (an EPOLLOUT edge will call again) or the connection
 * failed and was closed.
 */
bool conn_flush(struct kconn *c);

/*
 * Serves c as far as it can go now: reads, executes, replies, until the
 * input is drained, the replies are held or unsent, or the read budget is
 * spent (then c goes on kv's again list, after the other connections).
 */
void conn_serve(struct kconn *c);

#endif /* KVD_CONN_H */
