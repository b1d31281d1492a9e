/*
 * mux_select.c - the select(2) backend of chapter 02.
 *
 * select takes three bitmaps (fd_set) indexed by descriptor number, and
 * overwrites them with the answer. So every wait rebuilds them from the
 * interests, the kernel checks every descriptor up to the highest one
 * passed, and the result is found by testing every bit again: the cost of
 * each wait grows with the number of descriptors watched, not with the
 * number that are ready.
 *
 * An fd_set holds exactly FD_SETSIZE (1024) bits. FD_SET on a descriptor
 * at or above that writes outside the object: undefined behaviour, in
 * practice a corrupted stack. This backend refuses such descriptors
 * instead (-ERANGE from add; the loop closes the connection) [MUX-7].
 */
#include "mux_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/select.h>

/* The backend's state: the watches, indexed by descriptor number. */
struct sel {
    struct mux_watch *byfd[FD_SETSIZE]; /* NULL where nothing is watched */
    int maxfd;                          /* highest watched fd, or -1 */
};

static int
sel_init(struct mux_loop *l)
{
    struct sel *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -ENOMEM;
    s->maxfd = -1;
    l->priv = s;
    return 0;
}

static void
sel_fini(struct mux_loop *l)
{
    free(l->priv);
    l->priv = NULL;
}

/*
 * TODO(select.1): watch w. Refuse a descriptor select cannot hold with
 * -ERANGE [MUX-7] (check before touching any array), remember w under its
 * number, and keep maxfd up to date.
 */
static int
sel_add(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct sel *s = l->priv;

    if (w->fd < 0 || w->fd >= FD_SETSIZE)
        return -ERANGE;
    s->byfd[w->fd] = w;
    if (w->fd > s->maxfd)
        s->maxfd = w->fd;
    return 0;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // return -ENOSYS;
    // SOLUTION-END
}

/* select has no kernel-side registration: the interest is read at wait. */
static int
sel_update(struct mux_loop *l, struct mux_watch *w, unsigned interest)
{
    (void)l;
    w->interest = interest;
    return 0;
}

/* TODO(select.2): forget w, and lower maxfd if w held it. */
static void
sel_del(struct mux_loop *l, struct mux_watch *w)
{
    // SOLUTION-BEGIN
    struct sel *s = l->priv;

    s->byfd[w->fd] = NULL;
    /* Afterwards maxfd is the highest watched descriptor, or -1: none. */
    while (s->maxfd >= 0 && s->byfd[s->maxfd] == NULL)
        s->maxfd--;
    // SOLUTION-STUB
    // (void)l;
    // (void)w;
    // SOLUTION-END
}

/*
 * TODO(select.3): build the read and write sets from every watch's
 * interest, select with timeout_ms (-1: a NULL timeout), retry EINTR
 * [MUX-10], then report each ready watch once in l->fired. Returns the
 * number reported or -errno.
 */
static int
sel_wait(struct mux_loop *l, int timeout_ms)
{
    // SOLUTION-BEGIN
    struct sel *s = l->priv;
    fd_set rd, wr;
    int n;

    /*
     * select overwrites both sets (and, on Linux, the timeout), so each
     * try rebuilds them from the interests. The loop ends with select's
     * answer or a real error; EINTR waited for nothing and is retried
     * [MUX-10], with the whole timeout again: the loop's timeouts are 0,
     * -1 or the rest of an accept backoff, which a signal may stretch
     * once, harmlessly.
     */
    do {
        struct timeval tv = {.tv_sec = timeout_ms / 1000,
                             .tv_usec = (timeout_ms % 1000) * 1000};
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        /* After it, every watch wants exactly its interest in rd, wr. */
        for (int fd = 0; fd <= s->maxfd; fd++) {
            const struct mux_watch *w = s->byfd[fd];
            if (w != NULL && (w->interest & MUX_EV_READ))
                FD_SET(fd, &rd);
            if (w != NULL && (w->interest & MUX_EV_WRITE))
                FD_SET(fd, &wr);
        }
        n = select(s->maxfd + 1, &rd, &wr, NULL, timeout_ms < 0 ? NULL : &tv);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        return -errno;

    /*
     * select counted one for each bit left set, a descriptor ready both
     * ways twice. Invariant: fired[0..got) are the ready watches below fd,
     * each once, and n bits are still to be found; so the scan stops at
     * the last ready descriptor instead of walking on to maxfd.
     */
    int got = 0;
    for (int fd = 0; fd <= s->maxfd && n > 0; fd++) {
        unsigned ev = (FD_ISSET(fd, &rd) ? MUX_EV_READ : 0u) |
                      (FD_ISSET(fd, &wr) ? MUX_EV_WRITE : 0u);
        if (ev == 0)
            continue;
        l->fired[got++] = (struct mux_fired){.w = s->byfd[fd], .events = ev};
        n -= (ev & MUX_EV_READ ? 1 : 0) + (ev & MUX_EV_WRITE ? 1 : 0);
    }
    return got;
    // SOLUTION-STUB
    // (void)l;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
}

const struct mux_ops mux_select_ops = {
    .name = "select",
    .edge_triggered = false,
    .init = sel_init,
    .fini = sel_fini,
    .add = sel_add,
    .update = sel_update,
    .del = sel_del,
    .wait = sel_wait,
};
