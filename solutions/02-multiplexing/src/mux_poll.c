/*
 * mux_poll.c - the poll(2) backend of chapter 02.
 *
 * poll takes an array of struct pollfd: no limit on descriptor numbers,
 * and the interests (events) survive the call because the answer goes to
 * a separate field (revents). But the whole array still crosses into the
 * kernel on every call, the kernel still checks every entry, and the
 * answer is still found by scanning every entry: O(watched) per wait.
 *
 * The array is kept dense: a watch's slot is its index, and deleting
 * moves the last entry into the hole, so nothing is ever searched.
 */
#include "mux_loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

/* The backend's state: parallel arrays, entries [0, n) live. */
struct pl {
    struct pollfd *pfd;     /* what poll reads and answers in */
    struct mux_watch **who; /* who[i] is the watch of pfd[i] */
    size_t n, cap;
};

static int
pl_init(struct mux_loop *l)
{
    struct pl *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return -ENOMEM;
    l->priv = p;
    return 0;
}

static void
pl_fini(struct mux_loop *l)
{
    struct pl *p = l->priv;

    if (p != NULL) {
        free(p->pfd);
        free(p->who);
        free(p);
    }
    l->priv = NULL;
}

/* Makes room for one more entry in both arrays. */
static int
pl_grow(struct pl *p)
{
    if (p->n < p->cap)
        return 0;
    size_t cap = p->cap ? 2 * p->cap : 64;
    struct pollfd *pfd = realloc(p->pfd, cap * sizeof(*pfd));
    if (pfd == NULL)
        return -ENOMEM;
    p->pfd = pfd;
    struct mux_watch **who = realloc(p->who, cap * sizeof(*who));
    if (who == NULL)
        return -ENOMEM;
    p->who = who;
    p->cap = cap;
    return 0;
}

/* The poll events for an interest. */
static short
pl_events(unsigned interest)
{
    return (short)((interest & MUX_EV_READ ? POLLIN : 0) |
                   (interest & MUX_EV_WRITE ? POLLOUT : 0));
}

/* TODO(poll.1): append an entry for w and remember its slot in w->slot. */
static int
pl_add(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct pl *p = l->priv;
    int err = pl_grow(p);

    if (err != 0)
        return err;
    p->pfd[p->n] =
        (struct pollfd){.fd = w->fd, .events = pl_events(w->interest)};
    p->who[p->n] = w;
    w->slot = (int)p->n++;
    return 0;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // (void)pl_grow;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(poll.2): change the events of w's entry. */
static int
pl_update(struct mux_loop *l, struct mux_watch *w, unsigned interest)
{
    // SOLUTION-BEGIN
    struct pl *p = l->priv;

    w->interest = interest;
    p->pfd[w->slot].events = pl_events(interest);
    return 0;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // (void)interest;
    // (void)pl_events;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(poll.3): remove w's entry, moving the last entry into its slot. */
static void
pl_del(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct pl *p = l->priv;
    size_t i = (size_t)w->slot, last = --p->n;

    if (i != last) {
        p->pfd[i] = p->pfd[last];
        p->who[i] = p->who[last];
        p->who[i]->slot = (int)i;
    }
    w->slot = -1;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // SOLUTION-END
}

/*
 * TODO(poll.4): poll every entry, retrying EINTR [MUX-10], and report the
 * entries whose revents are set. POLLHUP and POLLERR come whatever the
 * events asked for: report them as both readable and writable, so that
 * the next recv or send returns the error. Returns the count or -errno.
 */
static int
pl_wait(struct mux_loop *l, int timeout_ms)
{
    // SOLUTION-BEGIN
    struct pl *p = l->priv;
    int n;

    /* Ends with poll's answer or a real error; EINTR is retried [MUX-10]. */
    do
        n = poll(p->pfd, p->n, timeout_ms);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        return -errno;

    /*
     * poll counted the entries with revents set. Invariant: fired[0..got)
     * are those among pfd[0..i), each once; the scan stops at the n-th.
     */
    int got = 0;
    for (size_t i = 0; i < p->n && got < n; i++) {
        short re = p->pfd[i].revents;
        if (re == 0)
            continue;
        unsigned ev = 0;
        if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            ev |= MUX_EV_READ;
        if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            ev |= MUX_EV_WRITE;
        l->fired[got++] = (struct mux_fired){.w = p->who[i], .events = ev};
    }
    return got;
    // SOLUTION-STUB
    // (void)l;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
}

const struct mux_ops mux_poll_ops = {
    .name = "poll",
    .edge_triggered = false,
    .init = pl_init,
    .fini = pl_fini,
    .add = pl_add,
    .update = pl_update,
    .del = pl_del,
    .wait = pl_wait,
};
