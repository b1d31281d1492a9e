/*
 * co_echo.c - exercise 3 of chapter 07: chapter 02's echo server as one
 * coroutine per connection on the scheduler of exercise 2.
 *
 * Chapter 02's server keeps, for every connection, a struct with the
 * bytes read and not yet written, how far the write has got, whether EOF
 * was seen, and which events to watch; a callback moves it on one step at
 * each readiness event. Here the same facts live in one coroutine's stack
 * frame: the buffer is a local array, how far the write has got is a
 * local, "EOF seen" is where the code is, and the events to watch follow
 * from the call it is parked in. Backpressure and half-close fall out of
 * the code's shape: a connection writes everything it read before it
 * reads again.
 *
 * Sections: the server's state; one connection; accepting; the server.
 */
#include "co.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

/* ===================================================================== */
/* The server's state                                                    */
/* ===================================================================== */

struct echo_conn;

struct echo_server {
    int listen_fd, stop_fd;   /* the caller's; never closed here */
    size_t budget;            /* bytes per turn before a yield */
    struct co_echo_stats *st; /* never NULL: the caller's or a local */
    struct echo_conn *conns;  /* live connections, to cancel at stop */
    bool stopping;            /* stop_fd became readable */
};

/*
 * One connection, on the heap only so that the stop can find it: what
 * the connection is doing is on its coroutine's stack, not here.
 */
struct echo_conn {
    struct echo_server *srv;
    int fd;                        /* the accepted socket, non-blocking */
    struct co *co;                 /* its coroutine (detached) */
    struct echo_conn *prev, *next; /* srv->conns */
};

/* ===================================================================== */
/* One connection                                                        */
/* ===================================================================== */

/*
 * Writes all of buf, parking while the socket is full. Returns 0, or
 * -errno: -EPIPE or -ECONNRESET from a vanished client, -ECANCELED at
 * stop, -EIO for a write that moved nothing and said nothing (which
 * retried would spin for ever).
 */
static int
write_all(int fd, const char *buf, size_t len)
{
    // SOLUTION-BEGIN
    while (len > 0) {
        ssize_t n = co_write(fd, buf, len);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
    // SOLUTION-STUB
    // /* TODO(CO-S15): co_write until all of buf is written; a short write
    //  * is progress, 0 is not. */
    // (void)fd;
    // (void)buf;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * The connection's whole life, as straight-line code: read, write back
 * what was read, read again. Returns 0 at the client's EOF with nothing
 * owed, or -errno (a reset, a cancellation at stop).
 */
static int
echo_loop(struct echo_conn *c)
{
    // SOLUTION-BEGIN
    struct echo_server *srv = c->srv;
    char buf[CO_ECHO_BUF]; /* the whole of what chapter 02 kept per conn */
    size_t turn = 0;       /* bytes moved since the last yield */

    for (;;) {
        /* co_read returns data without parking while there is some, so
         * a cancellation would go unseen: look at the stop first. */
        if (srv->stopping)
            return -ECANCELED;
        ssize_t n = co_read(c->fd, buf, sizeof(buf));
        if (n <= 0)
            return (int)n; /* EOF: everything read was already written */
        int r = write_all(c->fd, buf, (size_t)n);
        if (r < 0)
            return r;
        srv->st->bytes_echoed += (unsigned long long)n;
        turn += (size_t)n;
        if (turn >= srv->budget) {
            srv->st->budget_yields++;
            turn = 0;
            co_yield(); /* to the tail of the run queue */
        }
    }
    // SOLUTION-STUB
    // /* TODO(CO-S15): read into a buffer on this stack, write all of it
    //  * back, repeat until EOF or an error; yield after srv->budget bytes
    //  * (counted in budget_yields) and stop when srv->stopping is set. */
    // (void)c;
    // (void)write_all;
    // return -ENOSYS;
    // SOLUTION-END
}

static void
conn_main(void *arg)
{
    struct echo_conn *c = arg;
    struct echo_server *srv = c->srv;

    echo_loop(c);
    co_close(c->fd); /* off epoll too: its number will be reused */
    srv->st->closed++;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
}

/* ===================================================================== */
/* Accepting                                                             */
/* ===================================================================== */

/* Gives fd a connection coroutine; closes it if there is no room. */
static void
start_conn(struct echo_server *srv, int fd)
{
    struct echo_conn *c = malloc(sizeof(*c));

    if (c != NULL)
        c->co = co_spawn(conn_main, c, 0);
    if (c == NULL || c->co == NULL) {
        free(c);
        close(fd);
        srv->st->accept_errors++;
        return;
    }
    co_detach(c->co);
    *c = (struct echo_conn){.srv = srv, .fd = fd, .co = c->co};
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->st->accepted++;
}

static void
accept_main(void *arg)
{
    struct echo_server *srv = arg;

    for (;;) {
        int fd = co_accept(srv->listen_fd, NULL, NULL);
        if (fd >= 0) {
            start_conn(srv, fd);
            continue;
        }
        if (fd == -ECANCELED)
            return;
        srv->st->accept_errors++;
        /* Out of descriptors or memory: the listener stays readable, so
         * trying again at once would spin. Anything else (a connection
         * aborted in the backlog) concerns that connection only. */
        if ((fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS ||
             fd == -ENOMEM) &&
            co_sleep(CO_ECHO_BACKOFF_MS) < 0)
            return;
    }
}

/* ===================================================================== */
/* The server                                                            */
/* ===================================================================== */

static void
serve_main(void *arg)
{
    struct echo_server *srv = arg;
    struct co *acceptor = co_spawn(accept_main, srv, 0);

    if (acceptor == NULL)
        return; /* nothing to serve with; the stop is not awaited */
    co_wait(srv->stop_fd, CO_READABLE, -1);
    srv->stopping = true;
    co_cancel(acceptor);
    for (struct echo_conn *c = srv->conns; c != NULL; c = c->next)
        co_cancel(c->co);
    co_join(acceptor);
    /* co_sched_run returns when the last connection has closed. */
}

int
co_echo_serve(int listen_fd, int stop_fd, const struct co_echo_config *cfg,
              struct co_echo_stats *stats)
{
    struct co_echo_stats local;
    struct echo_server srv = {
        .listen_fd = listen_fd,
        .stop_fd = stop_fd,
        .budget = cfg != NULL && cfg->budget > 0 ? cfg->budget : CO_ECHO_BUDGET,
        .st = stats != NULL ? stats : &local,
    };
    int listening = 0;
    socklen_t len = sizeof(listening);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;

    *srv.st = (struct co_echo_stats){0};
    if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) ==
        -1)
        return -errno;
    if (!listening)
        return -EINVAL;
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl == -1 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -errno;
    sigaction(SIGPIPE, &ign, &old);
    int rc = co_sched_run(serve_main, &srv);
    sigaction(SIGPIPE, &old, NULL);
    return rc;
}
