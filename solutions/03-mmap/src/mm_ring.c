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

// SOLUTION-BEGIN
/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* Bytes a message of len bytes takes in the ring. */
static size_t
frame_size(size_t len)
{
    return MM_RING_FRAME_HDR + ((len + 3) & ~(size_t)3);
}

/* Copies len bytes into the ring at position pos, wrapping at the end. */
static void
copy_in(struct mm_ring *ring, uint64_t pos, const void *src, size_t len)
{
    size_t at = (size_t)(pos & (ring->capacity - 1));
    size_t first = len < ring->capacity - at ? len : ring->capacity - at;

    memcpy(ring->data + at, src, first);
    memcpy(ring->data, (const unsigned char *)src + first, len - first);
}

/* Copies len bytes out of the ring from position pos, wrapping. */
static void
copy_out(const struct mm_ring *ring, uint64_t pos, void *dst, size_t len)
{
    size_t at = (size_t)(pos & (ring->capacity - 1));
    size_t first = len < ring->capacity - at ? len : ring->capacity - at;

    memcpy(dst, ring->data + at, first);
    memcpy((unsigned char *)dst + first, ring->data, len - first);
}

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* tells the core this is a spin-wait */
#endif
}

/*
 * Can this side go on? The producer needs need bytes of room; the consumer
 * needs a message, or the news that none will come.
 *
 * Each side first asks its own view of the partner's index (tail_seen,
 * head_seen: see mm.h) and reads the real one, a cache miss, only when the
 * view says no. When the consumer runs behind, the producer reads tail
 * once per ring's worth of room instead of once per message, and the
 * consumer reads head once per batch of messages waiting.
 */
static bool
ready(struct mm_ring *ring, bool producer, size_t need)
{
    if (producer) {
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
        if (ring->capacity - (head - ring->tail_seen) >= need)
            return true;
        ring->tail_seen = atomic_load(&ring->tail);
        return ring->capacity - (head - ring->tail_seen) >= need;
    }
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    if (ring->head_seen != tail)
        return true;
    ring->head_seen = atomic_load(&ring->head);
    if (ring->head_seen != tail)
        return true;
    if (!atomic_load(&ring->closed))
        return false;
    /* Closed after its last publish: this head is the final one. */
    ring->head_seen = atomic_load(&ring->head);
    return true;
}

/*
 * Waits until ready() holds: a short spin, then sleeps on the futex word
 * the other side bumps. Returns 0, -ETIMEDOUT, or the error of a futex
 * wait that failed for another reason [MM-22].
 *
 * The lost wake-up this avoids: we check, find nothing, and the other side
 * publishes and looks for sleepers before we are asleep. So we read the
 * futex word s first, then announce ourselves (waiting = 1), then check
 * again; the other side stores its index, then loads our flag. That is
 * the store-buffering pattern: each side stores one location, then loads
 * the other's. Release and acquire do not order a store before a later
 * load of a different location, so both loads could miss (x86 lets a load
 * pass an earlier store to another address, Intel SDM vol. 3A, 8.2.3.4),
 * and we would sleep beside a message nobody wakes us for. Only seq_cst
 * forbids that outcome (C11 7.17.3: one total order of seq_cst
 * operations): the flag store, the index store and both loads are
 * seq_cst, so either the other side sees our flag (and bumps the word,
 * and wakes us), or we see its work. If the bump came after we read s,
 * the futex sees a value other than s and returns at once instead of
 * sleeping.
 */
static int
wait_until(struct mm_ring *ring, bool producer, size_t need, int timeout_ms)
{
    _Atomic uint32_t *seq = producer ? &ring->space_seq : &ring->data_seq;
    _Atomic uint32_t *waiting =
        producer ? &ring->producer_waiting : &ring->consumer_waiting;
    struct timespec ts, *deadline = NULL;

    if (ready(ring, producer, need))
        return 0;
    if (timeout_ms == 0)
        return -ETIMEDOUT;
    for (int i = 0; i < MM_RING_SPIN; i++) {
        cpu_relax();
        if (ready(ring, producer, need))
            return 0;
    }
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        deadline = &ts;
    }
    /*
     * Each pass ends in one of three ways: ready (return 0); woken, a
     * signal, or the word already moved (0 or -EAGAIN: look again); or any
     * other answer, the deadline or an error, which a retry would get
     * again at once, so the loop ends rather than spins [MM-22].
     */
    for (;;) {
        uint32_t s = atomic_load(seq);
        atomic_store(waiting, 1);
        bool ok = ready(ring, producer, need);
        int err = ok ? 0 : mm_futex_wait(seq, s, deadline);
        atomic_store(waiting, 0);
        if (ok)
            return 0;
        if (err != 0 && err != -EAGAIN)
            return ready(ring, producer, need) ? 0 : err;
    }
}

/* Tells a sleeping partner there is something for it. */
static void
wake(_Atomic uint32_t *seq, _Atomic uint32_t *waiting)
{
    /*
     * Most of the time the partner is awake, and this costs one load: no
     * system call, and no write to the flags' cache line, which both sides
     * read for every message (an exchange here, taken unconditionally,
     * bounces that line between the cores and halves the ring's speed).
     * The load is seq_cst, and so is our store to head or tail before it:
     * with release and acquire the load could be satisfied before the
     * store is visible, and miss a partner that is about to sleep (see
     * wait_until). Taking the flag (1 -> 0) means one wake-up per sleep:
     * without it, a partner that has been woken but not yet run would cost
     * us a futex call for every message.
     */
    if (atomic_load(waiting) && atomic_exchange(waiting, 0)) {
        atomic_fetch_add(seq, 1);
        mm_futex_wake(seq);
    }
}
// SOLUTION-STUB
// /*
//  * Your static helpers go here: copying into and out of the ring across
//  * its end, the size of a frame, and the wait (spin, then futex) that
//  * send and receive share.
//  */
// SOLUTION-END

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
    // SOLUTION-BEGIN
    if (capacity < 64 || capacity > ((size_t)1 << 30) ||
        (capacity & (capacity - 1)) != 0)
        return -EINVAL;
    size_t map_len = sizeof(struct mm_ring) + capacity;
    struct mm_ring *ring = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ring == MAP_FAILED)
        return -errno;
    ring->capacity = (uint32_t)capacity;
    ring->map_len = map_len;
    *out = ring;
    return 0;
    // SOLUTION-STUB
    // (void)capacity;
    // *out = NULL;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(ring.1): unmap what mm_ring_create mapped; NULL is ignored. */
void
mm_ring_destroy(struct mm_ring *ring)
{
    // SOLUTION-BEGIN
    if (ring != NULL)
        munmap(ring, ring->map_len);
    // SOLUTION-STUB
    // (void)ring;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    if (len == 0)
        return -EINVAL;
    if (len > mm_ring_max_msg(ring))
        return -EMSGSIZE;
    if (atomic_load_explicit(&ring->closed, memory_order_relaxed))
        return -EPIPE;
    size_t need = frame_size(len);
    int err = wait_until(ring, true, need, timeout_ms);
    if (err != 0)
        return err;

    /* Only this process writes head, so a relaxed load is exact. */
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint32_t len32 = (uint32_t)len;
    copy_in(ring, head, &len32, sizeof(len32));
    copy_in(ring, head + MM_RING_FRAME_HDR, msg, len);
    /*
     * The frame is complete before the consumer can see the new head
     * (release would do for that); seq_cst, because wake() loads the
     * consumer's flag next (see wait_until).
     */
    atomic_store(&ring->head, head + need);
    wake(&ring->data_seq, &ring->consumer_waiting);
    return 0;
    // SOLUTION-STUB
    // (void)ring;
    // (void)msg;
    // (void)len;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    int err = wait_until(ring, false, 0, timeout_ms);
    if (err != 0)
        return err;

    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    /*
     * head_seen came from a seq_cst (acquire) load of head in ready(), so
     * every frame below it is visible here.
     */
    if (ring->head_seen == tail)
        return 0; /* woken by the close, and everything before it is read */
    uint32_t len;
    copy_out(ring, tail, &len, sizeof(len));
    if (len > cap)
        return -EMSGSIZE;
    copy_out(ring, tail + MM_RING_FRAME_HDR, buf, len);
    /* seq_cst, not only release: wake() loads the producer's flag next. */
    atomic_store(&ring->tail, tail + frame_size(len));
    wake(&ring->space_seq, &ring->producer_waiting);
    return (ssize_t)len;
    // SOLUTION-STUB
    // (void)ring;
    // (void)buf;
    // (void)cap;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(ring.3): mark the ring closed and wake a sleeping consumer [MM-20]. */
int
mm_ring_close(struct mm_ring *ring)
{
    // SOLUTION-BEGIN
    /* Stored after every head update: a consumer that sees it sees all. */
    atomic_store(&ring->closed, 1);
    atomic_fetch_add(&ring->data_seq, 1);
    mm_futex_wake(&ring->data_seq);
    return 0;
    // SOLUTION-STUB
    // (void)ring;
    // return -ENOSYS;
    // SOLUTION-END
}
