/*
 * kvd.c - the kvd server: one thread, one epoll set, many connections.
 *
 * Organisation:
 *   1. types: the server, a connection, the control block
 *   2. replies: the out_* functions commands append with
 *   3. timers: the sorted list of connections waiting for a deadline
 *   4. connections: accept, read, parse, execute, write, close
 *   5. the event loop and the run-time controls
 *   6. the public API: start, stop, stats, controls, spawn
 *
 * The life of a round trip. A connection is registered edge-triggered for
 * input and output. When input arrives, one read takes what is there; every
 * complete command in the buffer is executed in order, each appending its
 * reply to the connection's output buffer; then the whole batch goes out
 * with one send (or, with a round-trip delay, the connection goes on the
 * timer list and its batch goes out when the timer fires). While a batch
 * is held or unsent the connection is not read, so replies keep their
 * order and a slow client's backlog stays bounded by one read's worth.
 *
 * Threads: the loop runs in its own thread (kvd_start) or in a forked
 * child's only thread (kvd_spawn). Other threads reach it only through
 * the control block (a mutex, a condition variable and an eventfd that
 * wakes the loop) and the statistics (their own mutex).
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvd_int.h"
#include "wire.h"

/* Each read asks for at least this much (and takes all that is there). */
#ifndef KVD_READ_CHUNK
#define KVD_READ_CHUNK (16 * 1024) /* a 16-deep pipeline of small commands */
#endif
/* Reads one connection may do per event before the others get a turn. */
#define KVD_READ_BUDGET 8
/* An inline (telnet-style) command line, at most. */
#ifndef KVD_MAX_INLINE
#define KVD_MAX_INLINE (64 * 1024) /* Redis's own limit */
#endif
/* A multibulk or bulk header line ("*123\r\n"), at most. */
#define KVD_MAX_HEADER 32
/* Period of the housekeeping pass (expiry sweep, accept resume). */
#define KVD_CRON_MS 100
/* Buckets the expiry sweep looks at per pass. */
#define KVD_SWEEP_BUCKETS 1024
/* Buffers larger than this are given back when they empty. */
#define KVD_KEEP_BUF (64 * 1024)
#define KVD_MAX_EVENTS 256

/* ===================================================================== */
/* 1. Types                                                              */
/* ===================================================================== */

/* What an epoll event's data.ptr points at: a struct source says. */
enum kind { K_LISTEN, K_CONTROL, K_TIMER, K_SIGNAL, K_CONN };

struct source {
    enum kind kind; /* K_LISTEN, K_CONTROL, K_TIMER, K_SIGNAL or K_CONN */
};

/*
 * One client connection. Input: ibuf[ipos, ilen) is received and not yet
 * executed; while a multibulk command is only partly there, m_argc >= 0
 * and its first m_argn arguments are at aoff/alen (offsets into ibuf).
 * Output: obuf[ooff, olen) is produced and not yet sent.
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
    bool oom;                    /* a reply could not be stored */
    bool more;                   /* complete commands wait in ibuf */
    long close_after;            /* commands left before closing; -1: no */

    char *ibuf;        /* input buffer */
    size_t icap;       /* its size */
    size_t ipos;       /* first byte not yet executed */
    size_t ilen;       /* end of received bytes */
    size_t ineed;      /* bytes from ipos the current command needs */
    long m_argc;       /* arguments of the partial command; -1: none */
    long m_argn;       /* of them, parsed */
    size_t m_scan;     /* next argument header starts here */
    size_t *aoff;      /* argument offsets in ibuf */
    size_t *alen;      /* argument lengths */
    struct karg *args; /* the same as pointers, for kvd_exec */
    long acap;         /* entries in aoff, alen, args */
    char *scratch;     /* an inline command's unquoted arguments */
    size_t scap;       /* its size */

    char *obuf;  /* output buffer */
    size_t ocap; /* its size */
    size_t ooff; /* first byte not yet sent */
    size_t olen; /* end of produced bytes */
};

/* Requests from other threads, applied by the loop (section 5). */
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

struct control {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t req;     /* requests made */
    uint64_t done;    /* requests applied */
    struct ctl_req r; /* what they asked for, not yet applied */
};

struct kvd {
    struct source listen_src;  /* K_LISTEN */
    struct source control_src; /* K_CONTROL */
    struct source timer_src;   /* K_TIMER */
    struct source signal_src;  /* K_SIGNAL */
    int lfd;                   /* listening socket */
    int epfd;                  /* the epoll set */
    int evfd;                  /* eventfd: wakes the loop for control */
    int tfd;                   /* timerfd: the timer list's head */
    int sigfd;                 /* signalfd in a spawned child; else -1 */
    unsigned short port;       /* where lfd listens */
    size_t max_frame;          /* largest request frame */
    uint64_t rtt_ns;           /* round-trip delay */
    uint64_t accept_ns;        /* accept delay */
    int64_t refuse_until;      /* ns: refuse connections until then */
    bool accept_paused;        /* out of descriptors: accept later */
    int64_t next_cron;         /* ns: next housekeeping pass */
    int64_t armed;             /* the deadline tfd is set for; 0: none */
    bool stopping;             /* leave the loop */

    struct kconn *conns;         /* live connections */
    struct kconn *thead, *ttail; /* timer list, by deadline */
    struct kconn *again;         /* connections with input still to read */
    struct kconn *dead;          /* closed, to free after this pass */
    struct kstore store;         /* the keys */

    pthread_t thread;         /* the loop, for kvd_start */
    bool threaded;            /* thread was started */
    struct control ctl;       /* requests from other threads */
    pthread_mutex_t stats_mu; /* guards stats */
    struct kvd_stats stats;   /* counters (keys, expired filled on read) */
    uint64_t refused;         /* connections refused (under stats_mu) */
    uint64_t expired_seen;    /* store.expired already in stats */
};

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ===================================================================== */
/* 2. Replies                                                            */
/* ===================================================================== */

/* Room for n more output bytes, or NULL (and c->oom) when out of memory. */
static char *
out_reserve(struct kconn *c, size_t n)
{
    if (c->oom)
        return NULL;
    if (c->ocap - c->olen < n) {
        size_t cap = c->ocap ? c->ocap : 16 * 1024;
        while (cap - c->olen < n)
            cap *= 2;
        char *p = realloc(c->obuf, cap);
        if (p == NULL) {
            c->oom = true; /* the connection is closed after this batch */
            return NULL;
        }
        c->obuf = p;
        c->ocap = cap;
    }
    return c->obuf + c->olen;
}

void
out_raw(struct kconn *c, const char *p, size_t len)
{
    char *d = out_reserve(c, len);

    if (d != NULL) {
        memcpy(d, p, len);
        c->olen += len;
    }
}

void
out_simple(struct kconn *c, const char *s)
{
    size_t len = strlen(s);
    char *d = out_reserve(c, len + 3);

    if (d != NULL) {
        d[0] = '+';
        memcpy(d + 1, s, len);
        memcpy(d + 1 + len, "\r\n", 2);
        c->olen += len + 3;
    }
}

void
out_error(struct kconn *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    /* A reply line must not contain CR or LF: they would end it early. */
    for (int i = 0; i < n; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            msg[i] = ' ';
    char *d = out_reserve(c, (size_t)n + 3);
    if (d != NULL) {
        d[0] = '-';
        memcpy(d + 1, msg, (size_t)n);
        memcpy(d + 1 + n, "\r\n", 2);
        c->olen += (size_t)n + 3;
    }
}

void
out_int(struct kconn *c, long long n)
{
    char *d = out_reserve(c, WIRE_HEADER_MAX);

    if (d != NULL)
        c->olen += wire_put_header(d, ':', n);
}

void
out_bulk(struct kconn *c, const char *p, size_t len)
{
    char *d = out_reserve(c, len + WIRE_HEADER_MAX + 2);

    if (d != NULL) {
        size_t h = wire_put_header(d, '$', (long long)len);
        memcpy(d + h, p, len);
        memcpy(d + h + len, "\r\n", 2);
        c->olen += h + len + 2;
    }
}

void
out_nil(struct kconn *c)
{
    out_raw(c, "$-1\r\n", 5);
}

void
out_array(struct kconn *c, size_t n)
{
    char *d = out_reserve(c, WIRE_HEADER_MAX);

    if (d != NULL)
        c->olen += wire_put_header(d, '*', (long long)n);
}

/* ===================================================================== */
/* 3. Timers                                                             */
/* ===================================================================== */

/*
 * The timer list is sorted by deadline. Every entry gets now + a delay,
 * and the delay rarely changes, so a new entry almost always belongs at
 * the tail: inserting from the tail backwards is O(1) in practice.
 */
static void
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

static void
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
static void
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
/* 4. Connections                                                        */
/* ===================================================================== */

static void
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

static void
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

static void
conn_free(struct kconn *c)
{
    free(c->ibuf);
    free(c->aoff);
    free(c->alen);
    free(c->args);
    free(c->scratch);
    free(c->obuf);
    free(c);
}

/*
 * Sends what is unsent. Returns true when all of it is gone, false when
 * the socket is full (an EPOLLOUT edge will call again) or the connection
 * failed and was closed.
 */
static bool
conn_flush(struct kconn *c)
{
    while (c->ooff < c->olen) {
        ssize_t n =
            send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (n > 0) {
            c->ooff += (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        conn_close(c); /* the client vanished (EPIPE, ECONNRESET) */
        return false;
    }
    c->ooff = c->olen = 0;
    if (c->ocap > KVD_KEEP_BUF) {
        free(c->obuf);
        c->obuf = NULL;
        c->ocap = 0;
    }
    return true;
}

/* Grows the argument arrays to hold n; false when out of memory. */
static bool
args_reserve(struct kconn *c, long n)
{
    if (n <= c->acap)
        return true;
    long cap = c->acap ? c->acap * 2 : 16;
    while (cap < n)
        cap *= 2;
    size_t *off = realloc(c->aoff, (size_t)cap * sizeof(*off));
    if (off != NULL)
        c->aoff = off;
    size_t *len = realloc(c->alen, (size_t)cap * sizeof(*len));
    if (len != NULL)
        c->alen = len;
    struct karg *args = realloc(c->args, (size_t)cap * sizeof(*args));
    if (args != NULL)
        c->args = args;
    if (off == NULL || len == NULL || args == NULL)
        return false;
    c->acap = cap;
    return true;
}

/* A protocol error: the stream is out of step, so answer and hang up. */
static void
protocol_error(struct kconn *c, const char *what)
{
    out_error(c, "ERR Protocol error: %s", what);
    c->closing = true;
}

/*
 * A count or length from a header, or LLONG_MIN when it is not one. The
 * field is at most 19 bytes ('-' and 18 digits): anything longer is out
 * of every limit anyway.
 */
static long long
parse_len(const char *p, size_t len)
{
    long long v;

    return len <= 19 && wire_parse_ll(p, len, &v) ? v : LLONG_MIN;
}

/*
 * Finds the header line at ibuf[at...]: returns the offset of its '\n',
 * or 0 if it is not complete yet (a header never starts at 0's '\n').
 * Sets *bad when it cannot be a header (too long, no '\r').
 */
static size_t
header_end(struct kconn *c, size_t at, bool *bad)
{
    const char *nl = memchr(c->ibuf + at, '\n', c->ilen - at);

    *bad = false;
    if (nl == NULL) {
        *bad = c->ilen - at > KVD_MAX_HEADER;
        return 0;
    }
    size_t end = (size_t)(nl - c->ibuf);
    *bad = end - at < 2 || c->ibuf[end - 1] != '\r';
    return end;
}

/* The value of a hexadecimal digit, or -1. */
static int
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/*
 * Splits an inline command line into arguments, Redis-style: blanks
 * separate; "..." allows \n \r \t \\ \" and \xHH escapes; '...' allows \'.
 * Returns argc (0 for a blank line) or -1 for unbalanced quotes.
 */
static long
split_inline(struct kconn *c, const char *p, size_t len)
{
    char *out = c->scratch;
    long argc = 0;
    size_t i = 0, o = 0;

    for (;;) {
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == len)
            return argc;
        if (!args_reserve(c, argc + 1))
            return -1;
        size_t start = o;
        char q = 0;
        for (; i < len; i++) {
            char ch = p[i];
            if (q == 0 && (ch == ' ' || ch == '\t'))
                break;
            if (q == 0 && (ch == '"' || ch == '\'')) {
                q = ch;
                continue;
            }
            if (q != 0 && ch == q) {
                q = 0;
                /* A closing quote must end the argument. */
                if (i + 1 < len && p[i + 1] != ' ' && p[i + 1] != '\t')
                    return -1;
                continue;
            }
            if (q == '"' && ch == '\\' && i + 1 < len) {
                char e = p[++i];
                int hi = i + 2 < len ? hex_digit(p[i + 1]) : -1;
                int lo = i + 2 < len ? hex_digit(p[i + 2]) : -1;
                if (e == 'x' && hi >= 0 && lo >= 0) {
                    ch = (char)(hi * 16 + lo);
                    i += 2;
                } else {
                    ch = e == 'n'   ? '\n'
                         : e == 'r' ? '\r'
                         : e == 't' ? '\t'
                         : e == 'b' ? '\b'
                         : e == 'a' ? '\a'
                                    : e;
                }
            } else if (q == '\'' && ch == '\\' && i + 1 < len &&
                       p[i + 1] == '\'') {
                ch = p[++i];
            }
            out[o++] = ch;
        }
        if (q != 0)
            return -1;
        c->args[argc++] = (struct karg){.p = out + start, .len = o - start};
    }
}

/*
 * Executes one complete command from args[0..argc) and counts it against
 * close_after. Returns false when no further command may run.
 */
static bool
run_one(struct kconn *c, long argc, int64_t now_ms, uint64_t *ncmds)
{
    /* KVD CLOSEAFTER itself is not one of the commands it counts. */
    bool counted = c->close_after > 0;

    kvd_exec(c->kv, c, (int)argc, c->args, now_ms);
    (*ncmds)++;
    if (counted && c->close_after > 0 && --c->close_after == 0)
        c->closing = true;
    return !c->closing;
}

/*
 * Handles an inline command at ipos. Returns 1 when it ran (or was
 * skipped), 0 when the line is not complete, -1 to stop.
 */
static int
parse_inline(struct kconn *c, int64_t now_ms, uint64_t *ncmds)
{
    const char *p = c->ibuf + c->ipos;
    size_t avail = c->ilen - c->ipos;
    const char *nl = memchr(p, '\n', avail);

    if (nl == NULL) {
        if (avail > KVD_MAX_INLINE || avail > c->kv->max_frame) {
            protocol_error(c, "too big inline request");
            return -1;
        }
        c->ineed = avail + 1;
        return 0;
    }
    size_t len = (size_t)(nl - p);
    c->ipos += len + 1;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (c->scap < len + 1) {
        char *s = realloc(c->scratch, len + 1);
        if (s == NULL) {
            c->oom = true;
            return -1;
        }
        c->scratch = s;
        c->scap = len + 1;
    }
    long argc = split_inline(c, p, len);
    if (argc == 0)
        return 1; /* a blank line: no reply, as in Redis */
    if (argc < 0) {
        /* The line is consumed, so the stream stays in step. */
        out_error(c, "ERR Protocol error: unbalanced quotes in request");
        (*ncmds)++;
        return 1;
    }
    return run_one(c, argc, now_ms, ncmds) ? 1 : -1;
}

/*
 * Continues the multibulk command at ipos. Returns 1 when it ran, 0 when
 * more input is needed, -1 to stop (protocol error, closing).
 */
static int
parse_multibulk(struct kconn *c, int64_t now_ms, uint64_t *ncmds)
{
    size_t max = c->kv->max_frame;
    bool bad;

    if (c->m_argc < 0) {
        size_t end = header_end(c, c->ipos, &bad);
        long long n =
            bad   ? LLONG_MIN
            : end ? parse_len(c->ibuf + c->ipos + 1, end - 1 - (c->ipos + 1))
                  : 0;
        if (bad || (end && (n == LLONG_MIN || n > (long long)(max / 6)))) {
            protocol_error(c, "invalid multibulk length");
            return -1;
        }
        if (end == 0) {
            c->ineed = c->ilen - c->ipos + 1;
            return 0;
        }
        if (n <= 0) { /* "*0" and "*-1": an empty command, ignored */
            c->ipos = end + 1;
            return 1;
        }
        c->m_argc = (long)n;
        c->m_argn = 0;
        c->m_scan = end + 1;
    }
    while (c->m_argn < c->m_argc) {
        size_t at = c->m_scan;
        if (at >= c->ilen) {
            c->ineed = at - c->ipos + 1;
            return 0;
        }
        if (c->ibuf[at] != '$') {
            char what[40];
            unsigned char ch = (unsigned char)c->ibuf[at];
            snprintf(what, sizeof(what), "expected '$', got '%c'",
                     ch >= 32 && ch < 127 ? ch : '?');
            protocol_error(c, what);
            return -1;
        }
        size_t end = header_end(c, at, &bad);
        long long n = bad   ? LLONG_MIN
                      : end ? parse_len(c->ibuf + at + 1, end - 1 - (at + 1))
                            : 0;
        if (bad || (end && (n < 0 || (unsigned long long)n > max))) {
            protocol_error(c, "invalid bulk length");
            return -1;
        }
        if (end == 0) {
            c->ineed = c->ilen - c->ipos + 1;
            return 0;
        }
        size_t stop = end + 1 + (size_t)n + 2;
        if (stop - c->ipos > max + KVD_MAX_HEADER) {
            protocol_error(c, "command larger than the frame limit");
            return -1;
        }
        if (stop > c->ilen) {
            c->ineed = stop - c->ipos;
            return 0;
        }
        if (c->ibuf[stop - 2] != '\r' || c->ibuf[stop - 1] != '\n') {
            protocol_error(c, "bulk string not followed by CRLF");
            return -1;
        }
        if (!args_reserve(c, c->m_argn + 1)) {
            c->oom = true;
            return -1;
        }
        c->aoff[c->m_argn] = end + 1;
        c->alen[c->m_argn] = (size_t)n;
        c->m_argn++;
        c->m_scan = stop;
    }
    for (long i = 0; i < c->m_argc; i++)
        c->args[i] = (struct karg){c->ibuf + c->aoff[i], c->alen[i]};
    long argc = c->m_argc;
    c->ipos = c->m_scan;
    c->m_argc = -1;
    return run_one(c, argc, now_ms, ncmds) ? 1 : -1;
}

/* Executes every complete command in the input; returns how many. */
static uint64_t
run_input(struct kconn *c)
{
    int64_t now_ms = now_ns() / 1000000;
    uint64_t ncmds = 0;

    c->more = false;
    while (!c->closing && c->ipos < c->ilen) {
        int r;
        /* Enough replies for one batch: the rest wait for this one. */
        if (c->m_argc < 0 && c->olen - c->ooff >= KVD_BATCH_OUT) {
            c->more = true;
            break;
        }
        c->ineed = 0;
        if (c->m_argc >= 0 || c->ibuf[c->ipos] == '*')
            r = parse_multibulk(c, now_ms, &ncmds);
        else
            r = parse_inline(c, now_ms, &ncmds);
        if (r <= 0)
            break;
    }
    if (c->ipos == c->ilen && c->m_argc < 0) {
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
 * whole of the command in progress (ineed bytes from ipos). The partial
 * command moves to the front at most once per command.
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
        for (long i = 0; i < c->m_argn && c->m_argc >= 0; i++)
            c->aoff[i] -= c->ipos;
        if (c->m_argc >= 0)
            c->m_scan -= c->ipos;
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

static void
again_push(struct kvd *kv, struct kconn *c)
{
    if (!c->on_again) {
        c->on_again = true;
        c->again = kv->again;
        kv->again = c;
    }
}

/*
 * Serves c as far as it can go now: reads, executes, replies, until the
 * input is drained, the replies are held or unsent, or the read budget is
 * spent (then c goes on the again list, after the other connections).
 */
static void
conn_serve(struct kconn *c)
{
    struct kvd *kv = c->kv;

    for (int budget = KVD_READ_BUDGET; !c->dead; budget--) {
        if (c->accept_wait || c->held || c->ooff < c->olen)
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
        bool hold = ncmds > 0 && kv->rtt_ns > 0 && !c->dead && !c->oom;
        /* Counted before the replies leave, so a client that has read
         * its reply sees them in the statistics. */
        stats_add(kv, ncmds, ncmds > 0, (uint64_t)n,
                  hold || c->dead ? 0 : c->olen - c->ooff);
        if (c->dead) /* KVD DROP closes its own connection too */
            return;
        if (c->oom) {
            conn_close(c);
            return;
        }
        if (hold) {
            c->held = true;
            timer_add(kv, c, now_ns() + (int64_t)kv->rtt_ns);
            return;
        }
        if (c->olen > 0 && !conn_flush(c))
            return;
    }
}

static void
conn_new(struct kvd *kv, int fd, int64_t now)
{
    struct kconn *c = calloc(1, sizeof(*c));
    int one = 1;

    if (c == NULL) {
        close(fd);
        return;
    }
    *c = (struct kconn){.src = {.kind = K_CONN},
                        .fd = fd,
                        .kv = kv,
                        .close_after = -1,
                        .m_argc = -1};
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

static void
set_listening(struct kvd *kv, bool on)
{
    struct epoll_event ev = {.events = on ? EPOLLIN : 0,
                             .data.ptr = &kv->listen_src};

    epoll_ctl(kv->epfd, EPOLL_CTL_MOD, kv->lfd, &ev);
    kv->accept_paused = !on;
}

static void
do_accept(struct kvd *kv)
{
    int64_t now = now_ns();

    for (int i = 0; i < 64; i++) {
        int fd = accept4(kv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)
                set_listening(kv, false); /* the cron turns it back on */
            return;
        }
        bool refuse = now < kv->refuse_until;
        pthread_mutex_lock(&kv->stats_mu);
        kv->stats.accepted++;
        kv->refused += refuse;
        pthread_mutex_unlock(&kv->stats_mu);
        if (refuse)
            close(fd);
        else
            conn_new(kv, fd, now);
    }
}

/* Releases every connection whose deadline has passed. */
static void
timers_fire(struct kvd *kv)
{
    int64_t now = now_ns();

    while (kv->thead != NULL && kv->thead->deadline <= now) {
        struct kconn *c = kv->thead;
        timer_remove(kv, c);
        if (c->accept_wait) {
            c->accept_wait = false;
            c->readable = true; /* it may have written before we looked */
        }
        if (c->held)
            stats_add(kv, 0, 0, 0, c->olen - c->ooff);
        c->held = false;
        if (c->olen > c->ooff && !conn_flush(c))
            continue;
        conn_serve(c);
    }
}

/* ===================================================================== */
/* 5. The event loop and the run-time controls                           */
/* ===================================================================== */

void
kvd_apply_delays(struct kvd *kv, unsigned rtt_us, unsigned accept_us)
{
    kv->rtt_ns = (uint64_t)rtt_us * 1000;
    kv->accept_ns = (uint64_t)accept_us * 1000;
}

void
kvd_apply_drop_all(struct kvd *kv)
{
    while (kv->conns != NULL)
        conn_close(kv->conns);
}

void
kvd_apply_refuse(struct kvd *kv, unsigned ms)
{
    kv->refuse_until = ms ? now_ns() + (int64_t)ms * 1000000 : 0;
}

void
kvd_apply_close_after(struct kvd *kv, unsigned ncommands, struct kconn *self)
{
    struct kconn *next;

    for (struct kconn *c = kv->conns; c != NULL; c = next) {
        next = c->next;
        c->close_after = ncommands;
        if (ncommands == 0) {
            c->closing = true;
            /* Closes it now unless replies are owed; the connection that
             * sent the KVD command is closed by its own loop. */
            if (c != self)
                conn_serve(c);
        }
    }
}

/* Applies what other threads asked for, then tells them it is done. */
static void
control_apply(struct kvd *kv)
{
    uint64_t v;
    struct control *ctl = &kv->ctl;

    (void)!read(kv->evfd, &v, sizeof(v));
    pthread_mutex_lock(&ctl->mu);
    struct ctl_req req = ctl->r;
    uint64_t upto = ctl->req;
    ctl->r = (struct ctl_req){0};
    pthread_mutex_unlock(&ctl->mu);

    if (req.set_delays)
        kvd_apply_delays(kv, req.rtt_us, req.accept_us);
    if (req.refuse)
        kvd_apply_refuse(kv, req.refuse_ms);
    if (req.drop_all)
        kvd_apply_drop_all(kv);
    if (req.close_after)
        kvd_apply_close_after(kv, req.close_n, NULL);
    if (req.stop)
        kv->stopping = true;

    pthread_mutex_lock(&ctl->mu);
    ctl->done = upto;
    pthread_cond_broadcast(&ctl->cv);
    pthread_mutex_unlock(&ctl->mu);
}

/* Expiry sweep and accept resume, every KVD_CRON_MS. */
static void
cron(struct kvd *kv, int64_t now)
{
    if (now < kv->next_cron)
        return;
    kv->next_cron = now + (int64_t)KVD_CRON_MS * 1000000;
    if (store_sweep(&kv->store, now / 1000000, KVD_SWEEP_BUCKETS) > 0)
        stats_add(kv, 0, 0, 0, 0);
    if (kv->accept_paused)
        set_listening(kv, true);
}

/* The epoll timeout: 0 with work waiting, the cron's if it has any. */
static int
loop_timeout(struct kvd *kv, int64_t now)
{
    if (kv->again != NULL)
        return 0;
    if (kv->store.nvolatile == 0 && !kv->accept_paused)
        return -1;
    int64_t left = (kv->next_cron - now + 999999) / 1000000;
    return left <= 0 ? 0 : (int)left;
}

static void
handle_event(struct kvd *kv, struct epoll_event *ev)
{
    struct source *src = ev->data.ptr;
    uint64_t v;
    struct signalfd_siginfo si;

    switch (src->kind) {
    case K_LISTEN:
        do_accept(kv);
        return;
    case K_CONTROL:
        control_apply(kv);
        return;
    case K_TIMER:
        (void)!read(kv->tfd, &v, sizeof(v));
        kv->armed = 0;
        timers_fire(kv);
        return;
    case K_SIGNAL:
        (void)!read(kv->sigfd, &si, sizeof(si));
        kv->stopping = true;
        return;
    case K_CONN:
        break;
    }
    /* The connection that holds src, found from the member's offset (a
     * cast of src itself would assume the layout and the alignment). */
    struct kconn *c =
        (struct kconn *)(void *)((char *)src - offsetof(struct kconn, src));
    if (c->dead)
        return;
    /* Errors and hang-ups count as readable: the next read reports them. */
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        c->readable = true;
    if ((ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !c->held &&
        c->ooff < c->olen && !conn_flush(c))
        return;
    conn_serve(c);
}

static void
loop(struct kvd *kv)
{
    struct epoll_event evs[KVD_MAX_EVENTS];

    kv->next_cron = now_ns() + (int64_t)KVD_CRON_MS * 1000000;
    while (!kv->stopping) {
        int n = epoll_wait(kv->epfd, evs, KVD_MAX_EVENTS,
                           loop_timeout(kv, now_ns()));
        for (int i = 0; i < n; i++)
            handle_event(kv, &evs[i]);
        /* Connections that used their read budget: their next turn. */
        struct kconn *again = kv->again;
        kv->again = NULL;
        while (again != NULL) {
            struct kconn *c = again;
            again = c->again;
            c->on_again = false;
            conn_serve(c);
        }
        cron(kv, now_ns());
        timer_arm(kv);
        struct kconn *keep = NULL;
        while (kv->dead != NULL) {
            struct kconn *c = kv->dead;
            kv->dead = c->next;
            if (c->on_again) { /* still listed: free it next pass */
                c->next = keep;
                keep = c;
            } else {
                conn_free(c);
            }
        }
        kv->dead = keep;
    }
}

/* ===================================================================== */
/* 6. The public API                                                     */
/* ===================================================================== */

/* Frees everything a server holds; any of it may be missing. */
static void
server_free(struct kvd *kv)
{
    kvd_apply_drop_all(kv);
    while (kv->dead != NULL) {
        struct kconn *c = kv->dead;
        kv->dead = c->next;
        conn_free(c);
    }
    store_free(&kv->store);
    if (kv->sigfd >= 0)
        close(kv->sigfd);
    if (kv->tfd >= 0)
        close(kv->tfd);
    if (kv->evfd >= 0)
        close(kv->evfd);
    if (kv->epfd >= 0)
        close(kv->epfd);
    if (kv->lfd >= 0)
        close(kv->lfd);
    pthread_cond_destroy(&kv->ctl.cv);
    pthread_mutex_destroy(&kv->ctl.mu);
    pthread_mutex_destroy(&kv->stats_mu);
    free(kv);
}

static int
listen_on(unsigned short port, unsigned short *bound)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons(port)};
    socklen_t alen = sizeof(addr);
    int one = 1, err;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -errno;
    /* A fixed port is free again at once after a restart. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
        listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) == -1) {
        err = -errno;
        close(fd);
        return err;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

static int
watch(struct kvd *kv, int fd, struct source *src, enum kind kind)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};

    src->kind = kind;
    return epoll_ctl(kv->epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ? -errno : 0;
}

/* Everything but the thread: a listening, ready-to-loop server. */
static int
server_new(const struct kvd_config *cfg, bool with_signals, struct kvd **out)
{
    struct kvd_config zero = {0};
    struct kvd *kv;
    int err;

    if (cfg == NULL)
        cfg = &zero;
    size_t max_frame = cfg->max_frame ? cfg->max_frame : KVD_DEFAULT_MAX_FRAME;
    if (max_frame < 64 || max_frame > (1u << 30) ||
        cfg->rtt_delay_us > KVD_MAX_DELAY_US ||
        cfg->accept_delay_us > KVD_MAX_DELAY_US)
        return -EINVAL;
    kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return -ENOMEM;
    kv->lfd = kv->epfd = kv->evfd = kv->tfd = kv->sigfd = -1;
    kv->max_frame = max_frame;
    kvd_apply_delays(kv, cfg->rtt_delay_us, cfg->accept_delay_us);
    pthread_mutex_init(&kv->ctl.mu, NULL);
    pthread_cond_init(&kv->ctl.cv, NULL);
    pthread_mutex_init(&kv->stats_mu, NULL);
    store_init(&kv->store);

    err = kv->lfd = listen_on(cfg->port, &kv->port);
    if (err < 0)
        goto out_free;
    kv->epfd = epoll_create1(EPOLL_CLOEXEC);
    kv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    kv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (kv->epfd == -1 || kv->evfd == -1 || kv->tfd == -1) {
        err = -errno;
        goto out_free;
    }
    if (with_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        kv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (kv->sigfd == -1) {
            err = -errno;
            goto out_free;
        }
        err = watch(kv, kv->sigfd, &kv->signal_src, K_SIGNAL);
        if (err < 0)
            goto out_free;
    }
    if ((err = watch(kv, kv->lfd, &kv->listen_src, K_LISTEN)) < 0 ||
        (err = watch(kv, kv->evfd, &kv->control_src, K_CONTROL)) < 0 ||
        (err = watch(kv, kv->tfd, &kv->timer_src, K_TIMER)) < 0)
        goto out_free;
    *out = kv;
    return 0;

out_free:
    server_free(kv);
    return err;
}

static void *
server_main(void *arg)
{
    loop(arg);
    return NULL;
}

int
kvd_start(const struct kvd_config *cfg, struct kvd **out)
{
    struct kvd *kv;
    sigset_t all, old;
    int err = server_new(cfg, false, &kv);

    if (err < 0)
        return err;
    /* The thread inherits this mask: no signal is ever delivered to it. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&kv->thread, NULL, server_main, kv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        server_free(kv);
        return -err;
    }
    kv->threaded = true;
    *out = kv;
    return 0;
}

unsigned short
kvd_port(const struct kvd *kv)
{
    return kv->port;
}

void
kvd_stats(struct kvd *kv, struct kvd_stats *out)
{
    pthread_mutex_lock(&kv->stats_mu);
    *out = kv->stats;
    pthread_mutex_unlock(&kv->stats_mu);
}

void
kvd_reset_stats(struct kvd *kv)
{
    pthread_mutex_lock(&kv->stats_mu);
    kv->stats = (struct kvd_stats){.connected = kv->stats.connected,
                                   .keys = kv->stats.keys};
    kv->refused = 0;
    pthread_mutex_unlock(&kv->stats_mu);
}

/* Hands a filled-in request to the loop and waits until it is applied. */
static void
control_submit(struct kvd *kv)
{
    struct control *ctl = &kv->ctl;
    uint64_t one = 1;
    uint64_t mine = ++ctl->req; /* called with ctl->mu held */

    (void)!write(kv->evfd, &one, sizeof(one));
    while (ctl->done < mine)
        pthread_cond_wait(&ctl->cv, &ctl->mu);
    pthread_mutex_unlock(&ctl->mu);
}

int
kvd_set_delays(struct kvd *kv, unsigned rtt_delay_us, unsigned accept_delay_us)
{
    if (rtt_delay_us > KVD_MAX_DELAY_US || accept_delay_us > KVD_MAX_DELAY_US)
        return -EINVAL;
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.set_delays = true;
    kv->ctl.r.rtt_us = rtt_delay_us;
    kv->ctl.r.accept_us = accept_delay_us;
    control_submit(kv);
    return 0;
}

int
kvd_drop_all(struct kvd *kv)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.drop_all = true;
    control_submit(kv);
    return 0;
}

int
kvd_refuse_for(struct kvd *kv, unsigned ms)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.refuse = true;
    kv->ctl.r.refuse_ms = ms;
    control_submit(kv);
    return 0;
}

int
kvd_close_after(struct kvd *kv, unsigned ncommands)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.close_after = true;
    kv->ctl.r.close_n = ncommands;
    control_submit(kv);
    return 0;
}

void
kvd_stop(struct kvd *kv)
{
    if (kv == NULL)
        return;
    if (kv->threaded) {
        pthread_mutex_lock(&kv->ctl.mu);
        kv->ctl.r.stop = true;
        control_submit(kv);
        pthread_join(kv->thread, NULL);
    }
    server_free(kv);
}

/* ---- the server in a child process ----------------------------------- */

/* What the child tells the parent: its port, or why it could not start. */
struct spawn_msg {
    int err;
    unsigned short port;
};

/*
 * In the child: closes every descriptor but 0, 1, 2 and keep. Without
 * this the child would hold the caller's sockets open (fork copies them
 * all, O_CLOEXEC or not, since nothing is executed), and a connection the
 * caller closes would never see its EOF.
 */
static void
close_inherited(int keep)
{
    if (close_range(3, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX); /* old kernel: one by one */
    for (int fd = 3; fd < max && fd < 65536; fd++)
        if (fd != keep)
            close(fd);
}

int
kvd_spawn(const struct kvd_config *cfg, pid_t *pid, unsigned short *port)
{
    int p[2];
    struct spawn_msg msg = {0};

    if (pipe2(p, O_CLOEXEC) == -1)
        return -errno;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == -1) {
        int err = -errno;
        close(p[0]);
        close(p[1]);
        return err;
    }
    if (child == 0) {
        struct kvd *kv = NULL;
        close(p[0]);
        close_inherited(p[1]);
        /* A caller that dies (a failed test) takes its server with it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        msg.err = server_new(cfg, true, &kv);
        if (kv != NULL)
            msg.port = kv->port;
        (void)!write(p[1], &msg, sizeof(msg));
        close(p[1]);
        if (msg.err == 0) {
            loop(kv);
            server_free(kv);
        }
        _exit(msg.err == 0 ? 0 : 1);
    }
    close(p[1]);
    ssize_t n;
    do
        n = read(p[0], &msg, sizeof(msg));
    while (n == -1 && errno == EINTR);
    close(p[0]);
    if (n != sizeof(msg) || msg.err != 0) {
        waitpid(child, NULL, 0);
        return n != sizeof(msg) ? -EIO : msg.err;
    }
    *pid = child;
    *port = msg.port;
    return 0;
}

int
kvd_reap(pid_t pid, int sig)
{
    int status;

    if (sig != 0 && kill(pid, sig) == -1)
        return -errno;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -errno;
    return status;
}

/* ---- what commands ask of the server ----------------------------------- */

struct kstore *
kvd_store(struct kvd *kv)
{
    return &kv->store;
}

void
kvd_conn_quit(struct kconn *c)
{
    c->closing = true;
}

/* Case-insensitive: is the section s[0..len) named name? */
static bool
section_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

void
kvd_info(struct kvd *kv, struct kconn *c, const char *section, size_t slen)
{
    struct kvd_stats st;
    uint64_t refused;
    char text[2048];
    size_t len = 0;
    bool all = section == NULL || section_is(section, slen, "all") ||
               section_is(section, slen, "default") ||
               section_is(section, slen, "everything");

    pthread_mutex_lock(&kv->stats_mu);
    st = kv->stats;
    refused = kv->refused;
    pthread_mutex_unlock(&kv->stats_mu);
#define INFO(...)                                                              \
    len += (size_t)snprintf(text + len, sizeof(text) - len, __VA_ARGS__)
    if (all || section_is(section, slen, "server")) {
        /* Clients read redis_version to pick features: claim a known one. */
        INFO("# Server\r\nredis_version:7.0.0\r\nkvd_version:1.0\r\n"
             "process_id:%ld\r\ntcp_port:%u\r\n\r\n",
             (long)getpid(), kv->port);
    }
    if (all || section_is(section, slen, "clients"))
        INFO("# Clients\r\nconnected_clients:%llu\r\n\r\n",
             (unsigned long long)st.connected);
    if (all || section_is(section, slen, "stats"))
        INFO("# Stats\r\ntotal_connections_received:%llu\r\n"
             "total_commands_processed:%llu\r\n"
             "total_net_input_bytes:%llu\r\n"
             "total_net_output_bytes:%llu\r\n"
             "rejected_connections:%llu\r\n"
             "expired_keys:%llu\r\n"
             "kvd_round_trips:%llu\r\n"
             "kvd_rtt_delay_us:%llu\r\n"
             "kvd_accept_delay_us:%llu\r\n\r\n",
             (unsigned long long)st.accepted, (unsigned long long)st.commands,
             (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
             (unsigned long long)refused, (unsigned long long)kv->store.expired,
             (unsigned long long)st.round_trips,
             (unsigned long long)(kv->rtt_ns / 1000),
             (unsigned long long)(kv->accept_ns / 1000));
    if (all || section_is(section, slen, "keyspace")) {
        INFO("# Keyspace\r\n");
        if (kv->store.count > 0)
            INFO("db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", kv->store.count,
                 kv->store.nvolatile);
    }
#undef INFO
    if (len > sizeof(text) - 1)
        len = sizeof(text) - 1;
    /* No trailing blank line, as Redis. */
    while (len >= 2 && text[len - 1] == '\n' && text[len - 3] == '\n')
        len -= 2;
    out_bulk(c, text, len);
}
