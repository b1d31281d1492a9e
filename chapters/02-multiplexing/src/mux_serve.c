/*
 * mux_serve.c - the event loop of chapter 02: one thread, any backend.
 *
 * Organisation: the backends' table and names (given); connections coming
 * and going, and the run queue's list operations (given); the loop itself
 * (yours: a turn, accepting, the backoff, the wait's timeout, one pass);
 * starting and stopping (given). The contract is mux_serve in
 * include/mux.h; the pieces the loop calls, and what one pass of the loop
 * must do, are described in include/mux_loop.h.
 *
 * The loop never touches select, poll or epoll: it asks srv->loop.ops to
 * watch descriptors and to wait, and hands every ready connection to the
 * core (mux_conn_run). Swapping the backend changes nothing else.
 */
#include "mux.h"
#include "mux_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ===================================================================== */
/* Backends (given)                                                       */
/* ===================================================================== */

static const struct mux_ops *const backends[MUX_NBACKENDS] = {
    [MUX_SELECT] = &mux_select_ops,
    [MUX_POLL] = &mux_poll_ops,
    [MUX_EPOLL_LT] = &mux_epoll_lt_ops,
    [MUX_EPOLL_ET] = &mux_epoll_et_ops,
};

const char *
mux_backend_name(enum mux_backend backend)
{
    if ((unsigned)backend >= MUX_NBACKENDS)
        return NULL;
    return backends[backend]->name;
}

int
mux_backend_parse(const char *name)
{
    /* Returns the first backend whose name matches; none: -EINVAL. */
    for (int b = 0; b < MUX_NBACKENDS; b++)
        if (strcasecmp(name, backends[b]->name) == 0)
            return b;
    return -EINVAL;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ===================================================================== */
/* Connections and the run queue (given)                                  */
/* ===================================================================== */

/* Adds w to the backend, first making sure a wait can report it. */
static int
watch_add(struct mux_loop *l, struct mux_watch *w)
{
    if (l->nwatch + 1 > l->fired_cap) {
        size_t cap = l->fired_cap ? 2 * l->fired_cap : 64;
        struct mux_fired *f = realloc(l->fired, cap * sizeof(*f));
        if (f == NULL)
            return -ENOMEM;
        l->fired = f;
        l->fired_cap = cap;
    }
    int err = l->ops->add(l, w);
    if (err == 0)
        l->nwatch++;
    return err;
}

static void
watch_del(struct mux_loop *l, struct mux_watch *w)
{
    l->ops->del(l, w);
    l->nwatch--;
}

/*
 * Serves the new connection fd: 0, or -ERANGE when the backend cannot
 * watch it (select: fd >= FD_SETSIZE), or -ENOMEM. On failure fd is left
 * open for the caller to close.
 */
static int
conn_open(struct mux_server *srv, int fd)
{
    struct mux_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -ENOMEM;
    c->w = (struct mux_watch){.fd = fd, .interest = MUX_EV_READ, .slot = -1};
    c->ready = MUX_EV_WRITE; /* a new socket has room to send */
    int err = watch_add(&srv->loop, &c->w);
    if (err != 0) {
        free(c);
        return err;
    }
    c->next_all = srv->all;
    if (srv->all != NULL)
        srv->all->prev_all = c;
    srv->all = c;
    return 0;
}

static void
run_unlink(struct mux_server *srv, struct mux_conn *c)
{
    if (!c->queued)
        return;
    if (c->prev_run != NULL)
        c->prev_run->next_run = c->next_run;
    else
        srv->run = c->next_run;
    if (c->next_run != NULL)
        c->next_run->prev_run = c->prev_run;
    c->prev_run = c->next_run = NULL;
    c->queued = false;
}

/* Appends c to the run queue (it still has work its budget did not allow). */
static void
run_push(struct mux_server *srv, struct mux_conn *c)
{
    if (c->queued)
        return;
    c->queued = true;
    c->next_run = NULL;
    c->prev_run = NULL;
    if (srv->run == NULL) {
        srv->run = c;
        return;
    }
    struct mux_conn *t = srv->run;
    /* Ends at the last queued connection. Short: only flooders are here. */
    while (t->next_run != NULL)
        t = t->next_run;
    t->next_run = c;
    c->prev_run = t;
}

/* Stops watching c, then closes and frees it: del before close. */
static void
conn_close(struct mux_server *srv, struct mux_conn *c)
{
    run_unlink(srv, c);
    if (c->prev_all != NULL)
        c->prev_all->next_all = c->next_all;
    else
        srv->all = c->next_all;
    if (c->next_all != NULL)
        c->next_all->prev_all = c->prev_all;
    watch_del(&srv->loop, &c->w);
    close(c->w.fd);
    mux_conn_release(c);
    free(c);
    srv->st->closed++;
}

/* The connection whose watch is w (w is some c->w), found from the
 * member's offset: a plain cast would assume w is the first field. */
static struct mux_conn *
conn_of(struct mux_watch *w)
{
    return (struct mux_conn *)(void *)((char *)w -
                                       offsetof(struct mux_conn, w));
}

/* ===================================================================== */
/* The loop (yours)                                                       */
/* ===================================================================== */

/*
 * TODO(loop.1): give c one turn (mux_conn_run) and act on its answer.
 *  - MUX_CLOSE: close c with conn_close; c is freed, do not touch it again.
 *  - MUX_MORE: the read budget ended the turn with work left; count it in
 *    srv->st->budget_cuts and put c on the run queue (run_push), because
 *    an edge-triggered backend will not report that work again [MUX-9].
 *  - MUX_IDLE: nothing more until the backend reports c.
 * Unless c was closed, ask the core what c must be watched for now
 * (mux_conn_interest) and tell the backend, only when it changed (the
 * backend's update is a system call for epoll-lt).
 * Returns 0, or the backend's -errno from update (fatal for the loop).
 */
static int
conn_turn(struct mux_server *srv, struct mux_conn *c)
{
    (void)srv;
    (void)c;
    (void)run_push;
    return -ENOSYS;
}

/*
 * TODO(loop.2): pause accepting [MUX-12]. Note in srv->accept_resume the
 * time (now_ms) at which accepting starts again, srv->backoff_ms from
 * now, and stop watching the listener (interest 0), so that a listener
 * that stays readable wakes nobody. It may already be paused: EMFILE can
 * come again on the accept that ends a pause. Returns 0 or the backend's
 * -errno.
 */
static int
accept_pause(struct mux_server *srv)
{
    (void)srv;
    (void)now_ms;
    return -ENOSYS;
}

/*
 * TODO(loop.3): accept every connection waiting on the listening socket,
 * until EAGAIN [MUX-6], each with accept4 and SOCK_NONBLOCK |
 * SOCK_CLOEXEC, and serve it with conn_open (counting it in
 * srv->st->accepted). A connection the backend cannot watch (-ERANGE)
 * is closed and counted in srv->st->refused_fd_setsize [MUX-7]; one
 * there is no memory for is closed. Errors:
 *  - EINTR, ECONNABORTED and the network errors accept(2) passes on
 *    (EPROTO, ENETDOWN, EHOSTUNREACH, ...): try the next one;
 *  - EMFILE, ENFILE, ENOBUFS, ENOMEM: count in srv->st->accept_errors and
 *    call accept_pause (loop.2) [MUX-12];
 *  - EBADF, ENOTSOCK, EINVAL, EFAULT: fatal, return -errno.
 * Returns 0 or that fatal -errno.
 */
static int
accept_ready(struct mux_server *srv)
{
    (void)srv;
    (void)conn_open;
    (void)accept_pause;
    return -ENOSYS;
}

/*
 * TODO(loop.4): how long the next wait may sleep, in milliseconds.
 *  - 0 while the run queue is not empty: unfinished turns must run soon,
 *    and nothing may wake the wait for them [MUX-9][MUX-15];
 *  - while accepting is paused (srv->accept_resume != 0), what is left of
 *    the pause (0 if it is over): a longer sleep would miss the end of
 *    the pause, a zero one would spin [MUX-12];
 *  - otherwise -1, "until something happens": an idle server sleeps in
 *    the kernel [MUX-11].
 */
static int
wait_timeout(const struct mux_server *srv)
{
    (void)srv;
    return -1; /* sleep until something happens: never a spin */
}

/*
 * TODO(loop.5): one pass of the loop. Sets *stop when asked to stop.
 *  1. Wait (srv->loop.ops->wait) with wait_timeout's timeout, and count
 *     the call in srv->st->waits. A negative answer is fatal: return it.
 *  2. Serve each of the n watches the wait reported in l->fired[0..n),
 *     once each, in order: the stop descriptor sets *stop (finish the
 *     pass; mux_serve stops after it); the listener calls accept_ready;
 *     any other watch is a connection (conn_of): add the reported events
 *     to what it already knows (c->ready) and give it a turn (conn_turn).
 *     A fatal error ends the pass with that error.
 *  3. When a pause of accepting is over, clear accept_resume, watch the
 *     listener again and accept at once: an edge-triggered listener does
 *     not report a connection that was already waiting [MUX-12].
 *  4. Give every connection that was on the run queue when this step
 *     began exactly one more turn, in queue order. A turn cut short again
 *     waits for the next pass (after a wait), never for a second turn in
 *     this one: between two turns of one connection the loop looks at
 *     every other descriptor [MUX-15].
 * Returns 0 or the first fatal -errno.
 */
static int
loop_once(struct mux_server *srv, bool *stop)
{
    (void)srv;
    (void)stop;
    (void)conn_of;
    (void)conn_turn;
    (void)accept_ready;
    (void)wait_timeout;
    return -ENOSYS;
}

/* ===================================================================== */
/* Starting and stopping (given)                                          */
/* ===================================================================== */

/* Checks listen_fd and makes it non-blocking [MUX-13: no other change]. */
static int
prepare_listener(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1)
        return -errno; /* -EBADF, -ENOTSOCK */
    if (!on)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -errno;
    return 0;
}

int
mux_serve(int listen_fd, int stop_fd, enum mux_backend backend,
          const struct mux_config *cfg, struct mux_stats *stats)
{
    struct mux_stats dummy;
    struct mux_server srv = {0};
    bool stop = false;
    int err;

    if ((unsigned)backend >= MUX_NBACKENDS)
        return -EINVAL;
    if ((err = prepare_listener(listen_fd)) != 0)
        return err;
    srv.st = stats != NULL ? stats : &dummy;
    *srv.st = (struct mux_stats){0};
    srv.out_cap = cfg && cfg->out_cap ? cfg->out_cap : MUX_OUT_CAP;
    srv.read_budget =
        cfg && cfg->read_budget ? cfg->read_budget : MUX_READ_BUDGET;
    srv.backoff_ms = cfg && cfg->accept_backoff_ms ? cfg->accept_backoff_ms
                                                   : MUX_ACCEPT_BACKOFF_MS;
    srv.lsn = (struct mux_watch){
        .fd = listen_fd, .interest = MUX_EV_READ, .slot = -1};
    srv.stop =
        (struct mux_watch){.fd = stop_fd, .interest = MUX_EV_READ, .slot = -1};
    srv.loop.ops = backends[backend];

    srv.scratch = malloc(MUX_SCRATCH);
    if (srv.scratch == NULL)
        return -ENOMEM;
    if ((err = srv.loop.ops->init(&srv.loop)) != 0)
        goto out_fini;
    if ((err = watch_add(&srv.loop, &srv.stop)) != 0)
        goto out_fini;
    if ((err = watch_add(&srv.loop, &srv.lsn)) != 0) {
        watch_del(&srv.loop, &srv.stop);
        goto out_fini;
    }

    /* Ends on a stop request or on the first fatal error. */
    while (err == 0 && !stop)
        err = loop_once(&srv, &stop);

    /*
     * [MUX-13] Close every connection, then the loop's own watches. Each
     * conn_close unlinks the head of srv.all, so the list shrinks by one
     * each time and ends empty.
     */
    while (srv.all != NULL)
        conn_close(&srv, srv.all);
    watch_del(&srv.loop, &srv.lsn);
    watch_del(&srv.loop, &srv.stop);
out_fini:
    if (err == -ERANGE)
        err = -EINVAL; /* select: our own descriptors are too high */
    srv.loop.ops->fini(&srv.loop);
    free(srv.loop.fired);
    free(srv.scratch);
    return err;
}
