/*
 * co_sched.c - exercise 2 of chapter 07: a scheduler for coroutines on one
 * thread, with epoll for readiness and a binary heap of timers.
 *
 * The loop (co_sched_run) resumes every coroutine in the run queue once,
 * in FIFO order; a coroutine comes back either parked (waiting for a
 * descriptor, a timer or another coroutine) or merely yielding, and then
 * goes to the tail of the queue. When the queue is empty the thread
 * sleeps in epoll_wait until the nearest deadline, then wakes whoever is
 * ready or due. A coroutine is woken exactly once per park: wake() takes
 * it off its descriptor's record and the heap before it queues it, so
 * nothing can wake it twice or wake it later for a wait that is over.
 *
 * A descriptor is added to epoll at its first wait and stays there, for
 * the directions of its last wait, until co_close: a coroutine that parks
 * on the same descriptor in the same direction again and again (a
 * connection's reads) costs no epoll_ctl. Each descriptor's record says
 * who waits on it and what epoll watches (see struct fdrec).
 *
 * Sections: the scheduler's state; the run queue and the list of
 * coroutines; the timer heap; parking and waking; the loop; the public
 * calls. The IO calls built on co_wait are in co_io.c.
 */
#include "co.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Events taken from one epoll_wait. More just wait for the next one. */
#define CO_EVENTS 64

/* ===================================================================== */
/* The scheduler's state                                                 */
/* ===================================================================== */

/*
 * What the scheduler knows of one descriptor, indexed by its number.
 * epoll is level-triggered here: it reports a ready descriptor at every
 * epoll_wait for as long as it stays ready, so one that is reported while
 * nobody waits on it is taken off epoll (else the loop would wake for it
 * again and again), and its next wait adds it back.
 */
struct fdrec {
    struct co *waiter; /* parked on this descriptor, or NULL */
    unsigned watched;  /* directions registered with epoll; 0: not added */
};

struct sched {
    int epfd;               /* every descriptor waited on is registered */
    struct fdrec *fds;      /* indexed by descriptor number */
    size_t nfds;            /* entries allocated */
    struct co *head, *tail; /* the run queue, linked through co->next */
    struct co **heap;       /* armed timers: a min-heap on (deadline, seq) */
    size_t nheap, heap_cap; /* entries in use, allocated */
    uint64_t seq;           /* timers armed so far */
    struct co **all;        /* every coroutine the scheduler owns */
    size_t nall, all_cap;   /* entries in use, allocated */
    size_t nlive;           /* spawned and not finished */
    size_t nfd_waits;       /* parked on a descriptor */
};

/* The scheduler running on this thread, or NULL. */
static _Thread_local struct sched *S;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ===================================================================== */
/* The run queue and the list of coroutines                              */
/* ===================================================================== */

static void
runq_push(struct co *co)
{
    co->next = NULL;
    if (S->tail != NULL)
        S->tail->next = co;
    else
        S->head = co;
    S->tail = co;
}

static struct co *
runq_pop(void)
{
    struct co *co = S->head;
    if (co != NULL) {
        S->head = co->next;
        if (S->head == NULL)
            S->tail = NULL;
        co->next = NULL;
    }
    return co;
}

/* Grows *v (of *cap entries) to hold one more; -ENOMEM if it cannot. */
static int
grow(struct co ***v, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    struct co **nv = realloc(*v, ncap * sizeof(**v));
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* Frees a coroutine the scheduler owns (finished, or never to run). */
static void
release(struct co *co)
{
    struct co *last = S->all[--S->nall];
    S->all[co->all_idx] = last;
    last->all_idx = co->all_idx;
    co->scheduled = false; /* co_destroy frees only what is not ours */
    co_destroy(co);
}

/* ===================================================================== */
/* The timer heap                                                        */
/* ===================================================================== */

/* Does a fire before b? Equal deadlines fire in the order they were armed. */
static bool
earlier(const struct co *a, const struct co *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static void
heap_set(size_t i, struct co *co)
{
    S->heap[i] = co;
    co->heap_idx = i;
}

static void
sift_up(size_t i)
{
    /* TODO(CO-S6): move heap[i] up while it fires before its parent. */
    (void)i;
    (void)earlier;
}

static void
sift_down(size_t i)
{
    /* TODO(CO-S6): move heap[i] down while a child fires before it. */
    (void)i;
}

/* Arms co's timer for deadline. Returns 0 or -ENOMEM. */
static int
timer_arm(struct co *co, uint64_t deadline)
{
    if (grow(&S->heap, S->nheap, &S->heap_cap) != 0)
        return -ENOMEM;
    co->deadline = deadline;
    co->seq = S->seq++;
    heap_set(S->nheap++, co);
    sift_up(co->heap_idx);
    return 0;
}

/* Disarms co's timer, wherever it is in the heap. */
static void
timer_disarm(struct co *co)
{
    size_t i = co->heap_idx;

    if (i == SIZE_MAX)
        return;
    co->heap_idx = SIZE_MAX;
    struct co *last = S->heap[--S->nheap];
    if (i == S->nheap)
        return; /* co was the last entry */
    heap_set(i, last);
    /* The entry moved into the hole may belong above or below it. */
    sift_up(i);
    sift_down(last->heap_idx);
}

/*
 * The epoll_wait timeout for the nearest timer: -1 (none), or its
 * distance in milliseconds, rounded up so that the wait never ends before
 * the deadline (rounding down would wake early, find nothing due, and
 * spin with timeout 0 until the deadline passes).
 */
static int
next_timeout(void)
{
    /* TODO(CO-S7): -1 with no timer armed; else the milliseconds until
     * the earliest deadline (heap[0]), never rounded down. */
    return -1;
}

/* ===================================================================== */
/* Parking and waking                                                    */
/* ===================================================================== */

/*
 * Makes a parked coroutine runnable with result res, once: a coroutine
 * already woken (by readiness and its timer in the same round, say) is
 * left alone. Its descriptor and timer are let go here, by the waker, not
 * when it next runs: by then the descriptor may have been closed and its
 * number given to another coroutine's socket, with a waiter of its own.
 */
static void
wake(struct co *co, int res)
{
    /* TODO(CO-S8): once only: stop watching co's descriptor, disarm its
     * timer, record res and queue it. */
    (void)co;
    (void)res;
    (void)timer_disarm;
}

/* Parks the calling coroutine until wake(); returns wake's result. */
static int
park(struct co *self)
{
    self->parked = true;
    co_yield();
    return self->wake_result;
}

/* The record of fd, grown to hold it; NULL if there is no memory. */
static struct fdrec *
fd_record(int fd)
{
    if ((size_t)fd >= S->nfds) {
        size_t n = S->nfds ? S->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdrec *v = realloc(S->fds, n * sizeof(*v));
        if (v == NULL)
            return NULL;
        memset(v + S->nfds, 0, (n - S->nfds) * sizeof(*v));
        S->fds = v;
        S->nfds = n;
    }
    return &S->fds[fd];
}

/* epoll's events for co_wait's directions. */
static uint32_t
epoll_events(unsigned dirs)
{
    return ((dirs & CO_READABLE) ? EPOLLIN : 0u) |
           ((dirs & CO_WRITABLE) ? EPOLLOUT : 0u);
}

/* epoll reported fd: wake its waiter, or stop watching it if none. */
static void
fd_event(int fd)
{
    /* TODO(CO-S9): wake fd's waiter; with none, take fd off epoll. */
    (void)fd;
}

/* The calling coroutine, if it belongs to this thread's scheduler. */
static struct co *
self_or_null(void)
{
    struct co *self = co_current();
    return S != NULL && self != NULL && self->scheduled ? self : NULL;
}

/* ===================================================================== */
/* The loop                                                              */
/* ===================================================================== */

/* co's body returned: its joiner runs next, or it is freed if detached. */
static void
finished(struct co *co)
{
    S->nlive--;
    if (co->joiner != NULL)
        wake(co->joiner, 0);
    else if (co->detached)
        release(co);
}

static int
loop(void)
{
    struct epoll_event ev[CO_EVENTS];

    while (S->nlive > 0) {
        /*
         * One pass over what is queued now: a coroutine that only yields
         * goes to the tail, behind the ones epoll wakes next.
         */
        struct co *stop = S->tail, *co;
        while (stop != NULL && (co = runq_pop()) != NULL) {
            int r = co_resume(co);
            if (r == 1)
                finished(co);
            else if (r == 0 && !co->parked)
                runq_push(co);
            if (co == stop)
                break;
        }
        if (S->nlive == 0)
            break;
        /* TODO(CO-S9): nothing queued, so wait: in epoll_wait with the
         * nearest timer's timeout (0 while coroutines are still queued),
         * then wake each ready coroutine and each whose deadline passed.
         * -EDEADLK when no timer and no descriptor could wake anyone. */
        (void)ev;
        (void)next_timeout;
        (void)fd_event;
        return -ENOSYS;
    }
    return 0;
}

int
co_sched_run(co_entry_cb fn, void *arg)
{
    struct sched s = {.epfd = -1};
    int rc;

    if (S != NULL)
        return -EBUSY;
    if (fn == NULL)
        return -EINVAL;
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd == -1)
        return -errno;
    S = &s;
    struct co *first = co_spawn(fn, arg, 0);
    if (first == NULL) {
        rc = -errno;
    } else {
        first->detached = true;
        rc = loop();
    }
    /* What is left never finished (a deadlock) or was never joined. */
    while (s.nall > 0)
        release(s.all[s.nall - 1]);
    free(s.all);
    free(s.heap);
    free(s.fds); /* closing epfd ends every registration */
    close(s.epfd);
    S = NULL;
    return rc;
}

/* ===================================================================== */
/* The public calls                                                      */
/* ===================================================================== */

struct co *
co_spawn(co_entry_cb fn, void *arg, size_t stack_size)
{
    if (S == NULL) {
        errno = EPERM;
        return NULL;
    }
    if (grow(&S->all, S->nall, &S->all_cap) != 0) {
        errno = ENOMEM;
        return NULL;
    }
    struct co *co = co_create(fn, arg, stack_size);
    if (co == NULL)
        return NULL;
    co->scheduled = true;
    co->all_idx = S->nall;
    S->all[S->nall++] = co;
    S->nlive++;
    runq_push(co);
    return co;
}

int
co_join(struct co *co)
{
    struct co *self = self_or_null();

    if (self == NULL)
        return -EPERM;
    if (co == self)
        return -EDEADLK;
    if (co == NULL || !co->scheduled || co->detached || co->joiner != NULL)
        return -EINVAL;
    /* TODO(CO-S10): wait (park) until co has finished unless it already
     * has, then free it with release(). */
    (void)park;
    return -ENOSYS;
}

int
co_detach(struct co *co)
{
    if (S == NULL || co == NULL || !co->scheduled || co->detached ||
        co->joiner != NULL)
        return -EINVAL;
    if (co->state == CO_FINISHED)
        release(co);
    else
        co->detached = true;
    return 0;
}

int
co_cancel(struct co *co)
{
    if (S == NULL || co == NULL || !co->scheduled)
        return -EINVAL;
    if (co->state == CO_FINISHED)
        return -ESRCH;
    /* TODO(CO-S11): mark co cancelled; if it is parked, wake it with
     * -ECANCELED. */
    return -ENOSYS;
}

int
co_wait(int fd, unsigned events, int timeout_ms)
{
    struct co *self = self_or_null();

    if (self == NULL)
        return -EPERM;
    /* TODO(CO-S12): make epoll watch fd in these directions (data.fd =
     * fd) unless it already does (its record says), become its waiter,
     * arm the timer if timeout_ms >= 0, then park. Mind cancellation,
     * a descriptor another coroutine already waits on (-EBUSY), and one
     * epoll cannot watch (EPERM: a regular file, always ready). */
    (void)fd_record;
    (void)epoll_events;
    (void)events;
    (void)timeout_ms;
    (void)fd;
    (void)timer_arm;
    (void)now_ns;
    return -ENOSYS;
}

int
co_sleep(unsigned ms)
{
    int r = co_wait(-1, 0, ms > INT_MAX ? INT_MAX : (int)ms);
    return r == -ETIMEDOUT ? 0 : r;
}

int
co_close(int fd)
{
    /* TODO(CO-S16): if fd is registered, wake its waiter with -EBADF,
     * take fd off epoll and forget its record; then close it. */
    /* EINTR: the descriptor is closed all the same on Linux (close(2)). */
    return close(fd) == 0 || errno == EINTR ? 0 : -errno;
}

int
co_wake(struct co *co)
{
    if (S == NULL || co == NULL || !co->scheduled)
        return -EINVAL;
    /* TODO(CO-S17): -EALREADY unless co is parked; else wake it with 0. */
    return -ENOSYS;
}
