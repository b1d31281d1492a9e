/*
 * mm_ring.c - exercise 4 of chapter 03: a single-producer single-consumer
 * message queue in memory shared by two processes.
 *
 * Organisation: the given futex helpers and mm_ring_max_msg, then your
 * TODOs: creating the ring, then sending, receiving and closing. The
 * contract is in include/mm.h, promises [MM-15] to [MM-21]; the layout of
 * struct mm_ring there is fixed.
 *
 * The idea to own: once two processes share pages, a message costs two
 * memcpy calls and a few atomic operations, with no system call at all,
 * as long as neither side has to wait. Waiting is where the kernel comes
 * back in: a side with nothing to do polls briefly, then sleeps on a futex
 * until the other side says there is work, so an idle side burns no CPU.
 */
#include "mm.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The ring's atomics are used by two processes: they must not be locks. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "the ring needs lock-free 32- and 64-bit atomics");

/* ===================================================================== */
/* Given: futexes and the message size limit                             */
/* ===================================================================== */

int
mm_futex_wait(_Atomic uint32_t *word, uint32_t expect,
              const struct timespec *deadline)
{
    /*
     * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
     * caller that loops needs no arithmetic on the time left. No
     * FUTEX_PRIVATE_FLAG: the sleeper and the waker are different
     * processes, and a private futex is keyed by one address space.
     */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expect, deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno == EINTR)
        return 0;
    return -errno;
}

void
mm_futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

size_t
mm_ring_max_msg(const struct mm_ring *ring)
{
    return ring->capacity - MM_RING_FRAME_HDR;
}

/*
 * Your static helpers go here: copying into and out of the ring across
 * its end, the size of a frame, and the wait (spin, then futex) that
 * send and receive share.
 */

/* ===================================================================== */
/* Creating and destroying the ring                                      */
/* ===================================================================== */

/*
 * TODO(ring.1): map sizeof(struct mm_ring) + capacity bytes shared and
 * anonymous, so that a child created by fork() shares them, and fill in
 * the read-only fields. Check capacity as [MM-15] says. A fresh anonymous
 * mapping is zero-filled: every counter and flag starts at 0.
 */
int
mm_ring_create(size_t capacity, struct mm_ring **out)
{
    (void)capacity;
    *out = NULL;
    return -ENOSYS;
}

/* TODO(ring.1): unmap what mm_ring_create mapped; NULL is ignored. */
void
mm_ring_destroy(struct mm_ring *ring)
{
    (void)ring;
}

/* ===================================================================== */
/* Sending, receiving, closing                                           */
/* ===================================================================== */

/*
 * TODO(ring.2): write one frame (length word, payload, padding) at head,
 * wrapping around the end of data[], then publish it by advancing head.
 * Refuse what can never fit [MM-16]; while the ring is full, spin a
 * little, then sleep on a futex until the consumer makes room or the
 * timeout expires [MM-17]. Wake the consumer only if it sleeps. A futex
 * wait that fails for another reason than a wake-up, a signal, a changed
 * word or the deadline is returned, not retried [MM-22].
 */
int
mm_ring_send(struct mm_ring *ring, const void *msg, size_t len, int timeout_ms)
{
    (void)ring;
    (void)msg;
    (void)len;
    (void)timeout_ms;
    return -ENOSYS;
}

/*
 * TODO(ring.3): take the frame at tail: its length, then its payload,
 * wrapping; then free it by advancing tail and wake the producer if it
 * sleeps [MM-18]. An empty ring is waited for as in send [MM-19]; a closed
 * and drained one gives 0 [MM-20]; a message too big for buf stays where
 * it is [MM-21].
 */
ssize_t
mm_ring_recv(struct mm_ring *ring, void *buf, size_t cap, int timeout_ms)
{
    (void)ring;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    return -ENOSYS;
}

/* TODO(ring.3): mark the ring closed and wake a sleeping consumer [MM-20]. */
int
mm_ring_close(struct mm_ring *ring)
{
    (void)ring;
    return -ENOSYS;
}
