/*
 * nb_prethread.c - exercise 4 of chapter 01: a bounded prethreaded server.
 *
 * A fixed pool of worker threads, created once, fed by a bounded queue of
 * accepted connections. The contract is the exercise 4 section of
 * include/nb.h, promises [NB-25] to [NB-33].
 *
 * Organisation: the pool's state (given), the acceptor's side of the queue
 * and the workers' side (your TODOs), the threads' loops and the echo
 * handler (given), then stopping and starting.
 *
 * The idea to own: threads are bounded by a number chosen in advance, not
 * by the number of clients. The queue between the acceptor and the workers
 * is where the bound is enforced: a full queue makes the acceptor wait,
 * and the kernel's listen backlog holds the clients that come meanwhile.
 */
#include "nb.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ===================================================================== */
/* The pool (given)                                                      */
/* ===================================================================== */

/* One worker thread, and the connection it serves. */
struct worker {
    struct nb_pool *pool; /* the pool it belongs to */
    pthread_t thread;     /* created by nb_pool_start */
    int fd;               /* the connection in its handler, or -1 */
};

/*
 * Invariants, whenever lock is free: the queue holds q[head], q[(head+1) %
 * cap], ... , len descriptors in accept order, and len <= cap;
 * st.queued == len; st.busy is the number of workers whose fd is not -1;
 * st.accepted == st.served + st.queued + st.busy [NB-31]. Once stopping is
 * set it stays set, and no worker takes a new connection.
 */
struct nb_pool {
    pthread_mutex_t lock;     /* guards every field down to st */
    pthread_cond_t not_empty; /* signalled: a connection was queued */
    pthread_cond_t not_full;  /* signalled: a queue slot was freed */
    int *q;                   /* the ring of cap queued descriptors */
    size_t cap, head, len;    /* ring size, oldest entry, entries */
    bool stopping;            /* nb_pool_stop was called */
    struct nb_pool_stats st;  /* the counters nb_pool_stats copies */

    /* Fixed once the pool runs: read without the lock. */
    int listen_fd;          /* the caller's listening socket */
    int wake[2];            /* a pipe: readable once stopping */
    nb_conn_cb handler;     /* serves one connection */
    void *arg;              /* the handler's argument */
    unsigned nthreads;      /* workers[0..nthreads) */
    struct worker *workers; /* the workers */
    pthread_t acceptor;     /* the acceptor thread */
    unsigned started;       /* workers created so far */
    bool acceptor_started;  /* the acceptor was created */
};

/* ===================================================================== */
/* The acceptor's side of the queue                                      */
/* ===================================================================== */

/*
 * TODO(prethread.1): wait until the queue has a free slot [NB-26], and
 * return true; or return false as soon as the pool is stopping [NB-32].
 * Only the acceptor fills the queue, so a free slot stays free until
 * queue_push uses it.
 */
static bool
wait_for_room(struct nb_pool *p)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    while (p->len == p->cap && !p->stopping)
        pthread_cond_wait(&p->not_full, &p->lock);
    bool room = !p->stopping;
    pthread_mutex_unlock(&p->lock);
    return room;
    // SOLUTION-STUB
    // (void)p;
    // return false;
    // SOLUTION-END
}

/*
 * TODO(prethread.1): append fd, a new connection, at the tail of the queue
 * (wait_for_room made room for it), count it as accepted, keep the queue's
 * peak [NB-31], and wake one idle worker for it: one connection needs one
 * worker, and waking them all only to let all but one sleep again costs
 * every one of them a context switch.
 */
static void
queue_push(struct nb_pool *p, int fd)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    p->q[(p->head + p->len) % p->cap] = fd;
    p->len++;
    p->st.accepted++;
    p->st.queued = p->len;
    if (p->len > p->st.peak_queued)
        p->st.peak_queued = p->len;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    // SOLUTION-STUB
    // (void)p;
    // close(fd); /* never queued: do not leak it */
    // SOLUTION-END
}

/* ===================================================================== */
/* The workers' side of the queue                                        */
/* ===================================================================== */

/*
 * TODO(prethread.2): take the oldest queued connection [NB-27] for worker
 * w, waiting while the queue is empty. Record it as w's (w->fd), count w
 * as busy (and the peak), and tell the acceptor a slot is free. Returns
 * the descriptor, or -ECANCELED once the pool is stopping: queued
 * connections are then left for nb_pool_stop to close [NB-32].
 */
static int
queue_pop(struct nb_pool *p, struct worker *w)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    while (p->len == 0 && !p->stopping)
        pthread_cond_wait(&p->not_empty, &p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return -ECANCELED;
    }
    int fd = p->q[p->head];
    p->head = (p->head + 1) % p->cap;
    p->len--;
    p->st.queued = p->len;
    /* Taken and marked busy under one lock: stop sees it in one place. */
    w->fd = fd;
    p->st.busy++;
    if (p->st.busy > p->st.peak_busy)
        p->st.peak_busy = p->st.busy;
    pthread_cond_signal(&p->not_full);
    pthread_mutex_unlock(&p->lock);
    return fd;
    // SOLUTION-STUB
    // (void)p;
    // (void)w;
    // return -ENOSYS;
    // SOLUTION-END
}

/*
 * TODO(prethread.2): the handler of worker w returned result: w is no
 * longer busy, one more connection was served (and failed, if result <
 * 0) [NB-29]. Then close the connection. Clear w->fd before the close, in
 * the same critical section that could see it: nb_pool_stop must never
 * shut down a descriptor number that has been closed and reused.
 */
static void
worker_done(struct nb_pool *p, struct worker *w, int result)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    int fd = w->fd;
    w->fd = -1;
    p->st.busy--;
    p->st.served++;
    if (result < 0)
        p->st.failed++;
    pthread_mutex_unlock(&p->lock);
    close(fd);
    // SOLUTION-STUB
    // (void)p;
    // (void)w;
    // (void)result;
    // SOLUTION-END
}

/* ===================================================================== */
/* The threads (given)                                                   */
/* ===================================================================== */

/*
 * Waits for a connection or for a stop, and accepts one connection.
 * Returns its descriptor; -EAGAIN when there was none after all (another
 * process took it, or it was a transient failure); -ECANCELED once the
 * pool is stopping; another -errno for a listening socket that broke.
 * This is the one poll(2) of chapter 01: two descriptors, so that a stop
 * can wake an acceptor that waits for clients. Chapter 02 polls many.
 */
static int
accept_one(struct nb_pool *p)
{
    struct pollfd pf[2] = {
        {.fd = p->listen_fd, .events = POLLIN},
        {.fd = p->wake[0], .events = POLLIN},
    };

    if (poll(pf, 2, -1) == -1)
        return errno == EINTR ? -EAGAIN : -errno;
    if (pf[1].revents != 0)
        return -ECANCELED;
    /* Blocking, as the handler expects: accept4 does not inherit flags. */
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1) {
        switch (errno) {
        case EAGAIN: /* listen_fd is non-blocking: nothing after all */
        case EINTR:
        case ECONNABORTED:
        case EMFILE: /* out of descriptors or memory: try again later */
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return -EAGAIN;
        default:
            return -errno;
        }
    }
    return fd;
}

/*
 * The acceptor: accepts only when the queue has room, so that a full
 * queue leaves new clients in the kernel's listen backlog [NB-26]. It
 * ends on a stop, or when the listening socket breaks (the workers go on
 * serving what is queued).
 */
static void *
acceptor_main(void *arg)
{
    struct nb_pool *p = arg;

    while (wait_for_room(p)) {
        int fd = accept_one(p);
        if (fd == -EAGAIN)
            continue;
        if (fd < 0)
            break;
        queue_push(p, fd);
    }
    return NULL;
}

/* A worker: one connection at a time, until the pool stops [NB-29]. */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct nb_pool *p = w->pool;
    int fd;

    while ((fd = queue_pop(p, w)) >= 0)
        worker_done(p, w, p->handler(fd, p->arg));
    return NULL;
}

/* The echo handler [NB-34]: the chapter's line protocol needs no more. */
int
nb_echo_conn(int fd, void *arg)
{
    char buf[NB_LINE_MAX];
    ssize_t n;

    (void)arg;
    while ((n = nb_read_some(fd, buf, sizeof(buf))) > 0)
        if ((n = nb_write_full(fd, buf, (size_t)n)) < 0)
            break;
    return n < 0 ? (int)n : 0;
}

void
nb_pool_stats(struct nb_pool *pool, struct nb_pool_stats *st)
{
    pthread_mutex_lock(&pool->lock);
    *st = pool->st;
    pthread_mutex_unlock(&pool->lock);
}

/* ===================================================================== */
/* Stopping                                                              */
/* ===================================================================== */

/*
 * TODO(prethread.3): wake every thread of the pool [NB-32]: the workers
 * waiting for a connection, the acceptor waiting for room or sleeping in
 * poll (on p->wake[0]: write a byte to p->wake[1]), and the handlers
 * blocked on their clients (shutdown(2) their connections; never close
 * them here: their workers do). After this, no worker takes a connection.
 */
static void
wake_all(struct nb_pool *p)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    /* Every waiter must see the change: a signal would wake only one. */
    pthread_cond_broadcast(&p->not_empty);
    pthread_cond_broadcast(&p->not_full);
    for (unsigned i = 0; i < p->started; i++)
        if (p->workers[i].fd != -1)
            shutdown(p->workers[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&p->lock);

    /* The pipe is empty and nobody reads it before this: it cannot fill. */
    while (write(p->wake[1], "", 1) == -1 && errno == EINTR)
        ;
    // SOLUTION-STUB
    // (void)p;
    // SOLUTION-END
}

/*
 * TODO(prethread.4): close every connection still queued, unserved
 * [NB-32], once no thread can touch the queue any more.
 */
static void
close_queued(struct nb_pool *p)
{
    // SOLUTION-BEGIN
    for (; p->len > 0; p->len--) {
        close(p->q[p->head]);
        p->head = (p->head + 1) % p->cap;
    }
    // SOLUTION-STUB
    // (void)p;
    // SOLUTION-END
}

/*
 * Ends the threads started so far and frees everything: nb_pool_stop, and
 * a start that failed half-way [NB-30], the same way.
 */
static void
pool_free(struct nb_pool *p)
{
    if (p->acceptor_started || p->started > 0)
        wake_all(p);
    if (p->acceptor_started)
        pthread_join(p->acceptor, NULL);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->workers[i].thread, NULL);
    close_queued(p);
    if (p->wake[0] != -1) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p->q);
    free(p);
}

int
nb_pool_stop(struct nb_pool *pool)
{
    pool_free(pool);
    return 0;
}

/* ===================================================================== */
/* Starting                                                              */
/* ===================================================================== */

/*
 * TODO(prethread.5): check the arguments [NB-30] (a socket is listening
 * when getsockopt(SO_ACCEPTCONN) says so; that call also tells EBADF and
 * ENOTSOCK apart), make listen_fd non-blocking with your
 * nb_set_nonblocking, allocate the pool (pool_alloc, given), and create
 * the acceptor (acceptor_main) and the nthreads workers (worker_main, each
 * with its struct worker), counting them in p->started and
 * p->acceptor_started. If anything fails, pool_free undoes what was done.
 */

/* Allocates a pool with its queue, workers and wake pipe; NULL if not. */
static struct nb_pool *
pool_alloc(int listen_fd, unsigned nthreads, unsigned queue_cap,
           nb_conn_cb handler, void *arg)
{
    struct nb_pool *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    *p = (struct nb_pool){
        .cap = queue_cap,
        .listen_fd = listen_fd,
        .wake = {-1, -1},
        .handler = handler,
        .arg = arg,
        .nthreads = nthreads,
    };
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    pthread_cond_init(&p->not_full, NULL);
    p->q = calloc(queue_cap, sizeof(*p->q));
    p->workers = calloc(nthreads, sizeof(*p->workers));
    if (p->q == NULL || p->workers == NULL || pipe2(p->wake, O_CLOEXEC) == -1) {
        pool_free(p);
        return NULL;
    }
    for (unsigned i = 0; i < nthreads; i++)
        p->workers[i] = (struct worker){.pool = p, .fd = -1};
    return p;
}

int
nb_pool_start(struct nb_pool **out, int listen_fd, unsigned nthreads,
              unsigned queue_cap, nb_conn_cb handler, void *arg)
{
    // SOLUTION-BEGIN
    int listening = 0;
    socklen_t optlen = sizeof(listening);

    if (out == NULL || handler == NULL || nthreads < 1 ||
        nthreads > NB_POOL_MAX || queue_cap < 1 || queue_cap > NB_POOL_MAX)
        return -EINVAL;
    if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) ==
        -1)
        return -errno;
    if (!listening)
        return -EINVAL;
    int err = nb_set_nonblocking(listen_fd, true);
    if (err != 0)
        return err;

    struct nb_pool *p =
        pool_alloc(listen_fd, nthreads, queue_cap, handler, arg);
    if (p == NULL)
        return -ENOMEM;
    err = pthread_create(&p->acceptor, NULL, acceptor_main, p);
    if (err != 0)
        goto out_free;
    p->acceptor_started = true;
    for (; p->started < nthreads; p->started++) {
        struct worker *w = &p->workers[p->started];
        err = pthread_create(&w->thread, NULL, worker_main, w);
        if (err != 0)
            goto out_free;
    }
    *out = p;
    return 0;

out_free:
    pool_free(p); /* wakes and joins what was started */
    return -err;  /* pthread_create returns a positive errno */
    // SOLUTION-STUB
    // (void)out;
    // (void)listen_fd;
    // (void)nthreads;
    // (void)queue_cap;
    // (void)handler;
    // (void)arg;
    // (void)pool_alloc; /* given above: use them */
    // (void)acceptor_main;
    // (void)worker_main;
    // return -ENOSYS;
    // SOLUTION-END
}
