/*
 * mux_epoll.c - the two epoll(7) backends of chapter 02: level-triggered
 * (the default) and edge-triggered (EPOLLET).
 *
 * An epoll instance is a kernel object that remembers the interest list
 * (epoll_ctl ADD, MOD, DEL), and keeps a ready list that the sockets
 * themselves append to when their state changes. epoll_wait only takes
 * from the ready list: its cost follows the number of ready descriptors,
 * not the number watched. (Not "O(1)": the wake-ups and the copying are
 * per ready descriptor, and every ADD, MOD and DEL is a system call.)
 *
 * Level-triggered, a descriptor stays on the ready list as long as it is
 * ready for its interest, like poll. Edge-triggered, it is reported when
 * its state changes (new data, room to send) and then not again: this
 * backend registers every descriptor once, for everything, and never
 * modifies it; the core remembers what it has been told (mux_conn.ready).
 *
 * The interest list holds open file descriptions, not descriptor numbers:
 * closing a descriptor removes it only if no duplicate (dup, fork) keeps
 * the description open. Hence del before close, always.
 */
#include "mux_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Results one epoll_wait may return; more ready ones wait for the next. */
#ifndef MUX_EPOLL_BATCH
#define MUX_EPOLL_BATCH 256
#endif

/* The backend's state. */
struct ep {
    int epfd;                               /* the epoll instance */
    bool edge;                              /* EPOLLET for everything */
    struct epoll_event ev[MUX_EPOLL_BATCH]; /* epoll_wait's answer */
};

static int
ep_init_mode(struct mux_loop *l, bool edge)
{
    struct ep *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return -ENOMEM;
    e->edge = edge;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd == -1) {
        int err = -errno;
        free(e);
        return err;
    }
    l->priv = e;
    return 0;
}

static int
ep_init_lt(struct mux_loop *l)
{
    return ep_init_mode(l, false);
}

static int
ep_init_et(struct mux_loop *l)
{
    return ep_init_mode(l, true);
}

static void
ep_fini(struct mux_loop *l)
{
    struct ep *e = l->priv;

    if (e != NULL) {
        close(e->epfd);
        free(e);
    }
    l->priv = NULL;
}

/*
 * TODO(epoll.1): the epoll events to register for interest.
 * Level-triggered: EPOLLIN and/or EPOLLOUT as the interest says.
 * Edge-triggered: everything, once, whatever the interest: EPOLLIN,
 * EPOLLOUT, EPOLLRDHUP (the peer's shutdown) and EPOLLET.
 */
static uint32_t
ep_events(const struct ep *e, unsigned interest)
{
    // SOLUTION-BEGIN
    if (e->edge)
        return EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    return (interest & MUX_EV_READ ? EPOLLIN : 0u) |
           (interest & MUX_EV_WRITE ? EPOLLOUT : 0u);
    // SOLUTION-STUB
    // (void)e;
    // (void)interest;
    // return 0;
    // SOLUTION-END
}

/* TODO(epoll.2): register w, with a pointer to it as the event's data. */
static int
ep_add(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct ep *e = l->priv;
    struct epoll_event ev = {.events = ep_events(e, w->interest),
                             .data.ptr = w};

    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1)
        return -errno;
    return 0;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(epoll.3): change w's interest. Level-triggered, that is one
 * EPOLL_CTL_MOD; edge-triggered, the registration never changes, so no
 * system call at all.
 */
static int
ep_update(struct mux_loop *l, struct mux_watch *w, unsigned interest)
{
    // SOLUTION-BEGIN
    struct ep *e = l->priv;

    w->interest = interest;
    if (e->edge)
        return 0;
    struct epoll_event ev = {.events = ep_events(e, interest), .data.ptr = w};
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, w->fd, &ev) == -1)
        return -errno;
    return 0;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // (void)interest;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(epoll.4): unregister w (its descriptor is still open). */
static void
ep_del(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct ep *e = l->priv;

    epoll_ctl(e->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // SOLUTION-END
}

/*
 * TODO(epoll.5): wait for at most MUX_EPOLL_BATCH events (and no more
 * than l->fired_cap), retrying EINTR [MUX-10], and report each. EPOLLIN
 * and EPOLLRDHUP mean readable, EPOLLOUT writable; EPOLLERR and EPOLLHUP,
 * which come unasked, mean both. Returns the count or -errno.
 */
static int
ep_wait(struct mux_loop *l, int timeout_ms)
{
    // SOLUTION-BEGIN
    struct ep *e = l->priv;
    int max =
        l->fired_cap < MUX_EPOLL_BATCH ? (int)l->fired_cap : MUX_EPOLL_BATCH;
    int n;

    /* Ends with epoll_wait's answer or a real error; EINTR is retried. */
    do
        n = epoll_wait(e->epfd, e->ev, max, timeout_ms);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        return -errno;
    /* One event per ready watch: fired[i] translates ev[i], no more. */
    for (int i = 0; i < n; i++) {
        uint32_t re = e->ev[i].events;
        unsigned ev = 0;
        if (re & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
            ev |= MUX_EV_READ;
        if (re & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            ev |= MUX_EV_WRITE;
        l->fired[i] = (struct mux_fired){.w = e->ev[i].data.ptr, .events = ev};
    }
    return n;
    // SOLUTION-STUB
    // (void)l;
    // (void)timeout_ms;
    // (void)ep_events;
    // return -ENOSYS;
    // SOLUTION-END
}

const struct mux_ops mux_epoll_lt_ops = {
    .name = "epoll-lt",
    .edge_triggered = false,
    .init = ep_init_lt,
    .fini = ep_fini,
    .add = ep_add,
    .update = ep_update,
    .del = ep_del,
    .wait = ep_wait,
};

const struct mux_ops mux_epoll_et_ops = {
    .name = "epoll-et",
    .edge_triggered = true,
    .init = ep_init_et,
    .fini = ep_fini,
    .add = ep_add,
    .update = ep_update,
    .del = ep_del,
    .wait = ep_wait,
};
