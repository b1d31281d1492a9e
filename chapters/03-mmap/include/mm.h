/*
 * mm.h - the contract of chapter 03: memory-mapped files.
 *
 * The specification; conventions: shared/include/iolab/CONVENTIONS.md.
 * A function that fails leaves nothing behind: every descriptor it opened
 * is closed and every mapping it made is unmapped.
 *
 * Sections: given helpers, exercise 1 (scan), exercise 2 (window),
 * exercise 3 (edit), exercise 4 (ring).
 */
#ifndef IOLAB_MM_H
#define IOLAB_MM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ===================================================================== */
/* Given helpers (complete in the skeleton: use them, do not change them) */
/* ===================================================================== */

/*
 * Line, word and byte counts, as wc(1) reports them in the C locale: a line
 * is counted for every '\n'; a word is a maximal run of bytes that are not
 * white space (' ', '\t', '\n', '\v', '\f', '\r').
 */
struct mm_stats {
    uint64_t lines; /* '\n' bytes seen */
    uint64_t words; /* runs of non-space bytes, counted where they start */
    uint64_t bytes; /* bytes seen */
    bool in_word;   /* the last byte fed was part of a word */
};

/*
 * mm_stats_feed - adds len bytes of buf to st. Feeding a text in pieces
 * gives the same counts as feeding it whole: a word split across two
 * pieces is counted once. Start from a zeroed struct.
 */
void mm_stats_feed(struct mm_stats *st, const void *buf, size_t len);

/* ===================================================================== */
/* Exercise 1 (scan): scan a whole file through one mapping              */
/* ===================================================================== */

/*
 * mm_count - counts the lines, words and bytes of the regular file at path
 * by mapping it whole (read-only) and feeding the mapping to
 * mm_stats_feed. The mapping is advised for sequential access.
 *
 * Returns 0 and fills *st (zeroed first), or -errno:
 *  [MM-1]  The counts equal wc's, for any size, including sizes that are
 *          not a multiple of the page size: the bytes of the last page that
 *          lie past the end of the file are not part of it.
 *  [MM-2]  An empty file gives 0 lines, 0 words, 0 bytes. (mmap refuses a
 *          length of 0 with EINVAL: do not map an empty file at all.)
 *  [MM-3]  -ENOENT for a missing file, -EISDIR for a directory, -EINVAL
 *          for anything else that is not a regular file (a device such as
 *          /dev/null), -EACCES for a file the caller may not read.
 *  [MM-4]  On success and on every error, no descriptor stays open and no
 *          mapping stays in the address space.
 *  [MM-5]  The mapping is advised with madvise(MADV_SEQUENTIAL) before it
 *          is read, so the kernel reads ahead aggressively and may drop
 *          pages behind the scan.
 *
 * Thread safety: safe; it shares nothing between calls.
 */
int mm_count(const char *path, struct mm_stats *st);

/*
 * mm_find - finds every offset at which the patlen bytes of pat occur in
 * the regular file at path, by mapping the file whole (read-only).
 *
 * offs: room for max offsets (may be NULL when max is 0). The first max
 *       offsets found are stored there, in ascending order.
 *
 * Returns the number of occurrences in the whole file, which may be larger
 * than max, or -errno:
 *  [MM-6]  Every occurrence counts, overlapping ones included: "aa" occurs
 *          at 0, 1 and 2 in "aaaa". An occurrence at the very start or
 *          ending at the very last byte counts; one that would need bytes
 *          past the end of the file does not, even if those bytes would be
 *          the zeros the kernel shows in the last page.
 *  [MM-7]  Only the first max offsets are stored; nothing is written past
 *          offs[max - 1], and the count returned is still the total.
 *  [MM-2]  An empty file, or a file shorter than patlen, gives 0.
 *  [MM-3]  The errors of mm_count, and -EINVAL when patlen is 0.
 *  [MM-4]  Nothing is left open or mapped. [MM-5] MADV_SEQUENTIAL.
 */
ssize_t mm_find(const char *path, const void *pat, size_t patlen,
                uint64_t *offs, size_t max);

/* ===================================================================== */
/* Exercise 2 (window): a file larger than the memory budget             */
/* ===================================================================== */

/*
 * mm_find_windowed - the same search as mm_find, mapping at most about
 * window bytes of the file at a time.
 *
 * window: the memory budget in bytes: a positive multiple of the page size
 *         (sysconf(_SC_PAGESIZE)), at least patlen.
 *
 * Returns what mm_find returns for the same file and pattern, or -errno:
 *  [MM-8]  The results (count and stored offsets) are exactly mm_find's,
 *          for any window size, including occurrences that straddle the
 *          boundary between two windows.
 *  [MM-9]  The memory used stays within the budget: at no time is more
 *          than window + patlen bytes (rounded up to whole pages) of the
 *          file mapped, and each window is unmapped before the next one is
 *          mapped. Scanning a file many times larger than window makes the
 *          process's peak resident memory grow by about window, not by the
 *          size of the file.
 *  [MM-10] -EINVAL when window is 0, not a multiple of the page size, or
 *          smaller than patlen, or when patlen is 0.
 *  [MM-3]  [MM-4] The errors and the no-leak promise of mm_count.
 */
ssize_t mm_find_windowed(const char *path, const void *pat, size_t patlen,
                         size_t window, uint64_t *offs, size_t max);

/* ===================================================================== */
/* Exercise 3 (edit): edit a file in place through a shared mapping      */
/* ===================================================================== */

/*
 * mm_replace - replaces occurrences of the len bytes of from by the len
 * bytes of to, in place, in the regular file at path, through a shared
 * read-write mapping (MAP_SHARED). The file's size never changes.
 *
 * Returns the number of replacements, or -errno:
 *  [MM-11] Occurrences are found from left to right and do not overlap:
 *          after a replacement, the search goes on after the replaced
 *          bytes. Replacing "aa" by "bb" in "aaaaa" gives "bbbba" and 2.
 *          Afterwards, read(2) on a new descriptor sees the new bytes, and
 *          every byte that was not replaced is unchanged.
 *  [MM-12] The changes are written back with msync(MS_SYNC) over the
 *          mapping before the function returns, so they are in the file on
 *          disk, not only in the page cache.
 *  [MM-13] A file with no occurrence, or an empty one, is not written at
 *          all: 0 is returned and even its modification time stays.
 *  [MM-14] -EINVAL when len is 0; -EACCES when the caller may not write
 *          the file; otherwise the errors of mm_count [MM-3], and nothing
 *          is left open or mapped [MM-4].
 */
ssize_t mm_replace(const char *path, const void *from, const void *to,
                   size_t len);

/* ===================================================================== */
/* Exercise 4 (ring): a shared-memory message queue between processes    */
/* ===================================================================== */

/*
 * The ring is one shared mapping laid out as below, created before fork()
 * so that parent and child see the same physical pages. One process sends
 * (the producer), one receives (the consumer): single producer, single
 * consumer. Messages are 1 to mm_ring_max_msg() bytes long and are
 * received whole, in order, each exactly once.
 *
 * Each message is stored as a frame: a 4-byte length, then the payload,
 * padded to a multiple of 4 bytes. Frames are written at head and read at
 * tail; both count bytes since creation and only grow, so the byte at
 * position p lives in data[p & (capacity - 1)] and a payload may wrap
 * around the end of data. A frame's length word never wraps, because
 * capacity and every frame size are multiples of 4.
 *
 * Invariants: tail <= head <= tail + capacity. Only the producer writes
 * head, data[] between head and tail + capacity, and closed; only the
 * consumer writes tail. The producer publishes a frame by storing head
 * after writing it; the consumer frees it by storing tail after copying it
 * out. For the frames, a release store read by an acquire load is enough.
 *
 * Sleeping needs more. A side about to sleep stores its *_waiting flag and
 * then loads the partner's index; the partner stores its index and then
 * loads the flag. That is the store-buffering pattern, and release and
 * acquire allow both loads to miss (C11 7.17.3 orders only seq_cst
 * operations in one total order; x86 itself lets a load pass an earlier
 * store to another address, Intel SDM vol. 3A, 8.2.3.4): the sleeper sees
 * no message, the partner sees no sleeper, and nobody wakes it. These four
 * accesses (flag store, index load; index store, flag load) must be
 * seq_cst: plain atomic_store and atomic_load, or seq_cst fences between
 * them. The README shows the litmus test.
 *
 * Each side may keep its last view of the other side's index in a field
 * of its own (tail_seen, head_seen): reading the partner's index costs a
 * cache-line transfer between cores, and a stale view is always safe (it
 * shows less room or fewer messages than there are), so a side need only
 * read the real index when its view says it must wait.
 *
 * Do not change this layout: the tests and the bench share it.
 */
struct mm_ring {
    /* Written by the producer. */
    _Alignas(64) _Atomic uint64_t head; /* bytes published so far */
    _Atomic uint32_t data_seq;          /* futex word: bumped on publish */
    _Atomic uint32_t closed;            /* 1 once the producer closed */
    uint64_t tail_seen;                 /* producer's last view of tail */
    /* Written by the consumer. */
    _Alignas(64) _Atomic uint64_t tail; /* bytes consumed so far */
    _Atomic uint32_t space_seq;         /* futex word: bumped on consume */
    uint64_t head_seen;                 /* consumer's last view of head */
    /* Each set by a side about to sleep, read by the other side. */
    _Alignas(64) _Atomic uint32_t consumer_waiting; /* on data_seq */
    _Atomic uint32_t producer_waiting;              /* on space_seq */
    /* Set once by mm_ring_create, read-only afterwards. */
    uint32_t capacity; /* bytes in data[]: a power of two */
    size_t map_len;    /* length of the whole mapping, for munmap */
    _Alignas(64) unsigned char data[];
};

#define MM_RING_FRAME_HDR 4u /* the length word in front of each payload */

#ifndef MM_RING_SPIN
/*
 * Polls of the ring before a blocked side sleeps in the kernel: a partner
 * that is running usually answers within a few hundred nanoseconds, far
 * less than a sleep and wake-up cost (microseconds).
 */
#define MM_RING_SPIN 200
#endif

/*
 * mm_ring_create - creates a ring with capacity bytes of message space in a
 * new shared anonymous mapping (MAP_SHARED | MAP_ANONYMOUS), to be shared
 * by fork().
 *
 * Returns 0 and sets *out, or -errno:
 *  [MM-15] -EINVAL when capacity is not a power of two between 64 and
 *          2^30; -ENOMEM when the mapping fails.
 */
int mm_ring_create(size_t capacity, struct mm_ring **out);

/* The largest message the ring accepts: capacity - MM_RING_FRAME_HDR. */
size_t mm_ring_max_msg(const struct mm_ring *ring);

/*
 * mm_ring_destroy - unmaps the ring from the calling process. Each process
 * that shares the ring calls it once, when it is done; the memory is freed
 * when the last one has. NULL is ignored.
 */
void mm_ring_destroy(struct mm_ring *ring);

/*
 * mm_ring_send - (producer) appends one message of len bytes.
 *
 * timeout_ms: how long to wait for room when the ring is full; -1 waits
 *             for ever, 0 does not wait.
 *
 * Returns 0 once the message is in the ring, or -errno:
 *  [MM-16] -EMSGSIZE when len > mm_ring_max_msg(ring): such a message could
 *          never fit, so it is refused at once. -EINVAL when len is 0.
 *          -EPIPE after mm_ring_close.
 *  [MM-17] While the ring is full the producer waits: it polls for at most
 *          MM_RING_SPIN rounds, then sleeps in the kernel (futex) until
 *          the consumer frees room, using no CPU. -ETIMEDOUT when timeout
 *          expires first; nothing was sent then.
 *  [MM-22] When mm_futex_wait fails with anything but a wake-up (0), a
 *          word that already changed (-EAGAIN) or the deadline, the wait
 *          ends with that -errno (-EPERM where a sandbox forbids futexes,
 *          -EFAULT, -EINVAL, ...), unless the ring is ready by then: a
 *          retry would fail again at once, and the wait would spin.
 */
int mm_ring_send(struct mm_ring *ring, const void *msg, size_t len,
                 int timeout_ms);

/*
 * mm_ring_recv - (consumer) takes the oldest message out of the ring.
 *
 * buf, cap: where to copy it, and the room there.
 * timeout_ms: how long to wait while the ring is empty; -1 waits for ever,
 *             0 does not wait.
 *
 * Returns the message's length (at least 1), or:
 *  [MM-18] Messages arrive whole, in the order they were sent, none lost
 *          and none repeated, whatever their sizes and however they wrap
 *          around the end of the ring.
 *  [MM-19] While the ring is empty the consumer waits as the producer does
 *          [MM-17]: a short poll, then a sleep in the kernel, so an idle
 *          consumer burns no CPU; -ETIMEDOUT when timeout expires.
 *  [MM-22] A failing futex wait ends the wait with its -errno, as for
 *          mm_ring_send.
 *  [MM-20] 0 once the producer has closed the ring and every message sent
 *          before the close has been received.
 *  [MM-21] -EMSGSIZE when the next message is longer than cap; that
 *          message stays in the ring for a call with more room.
 */
ssize_t mm_ring_recv(struct mm_ring *ring, void *buf, size_t cap,
                     int timeout_ms);

/*
 * mm_ring_close - (producer) no more messages. A consumer waiting in
 * mm_ring_recv wakes up; it receives the messages still in the ring, then
 * 0 [MM-20]. Returns 0.
 */
int mm_ring_close(struct mm_ring *ring);

/*
 * Given futex helpers (complete in the skeleton). word must lie in the
 * shared mapping; both use the process-shared form of the futex, because
 * the two sides are different processes.
 *
 * mm_futex_wait - sleeps while *word == expect, until woken or until the
 * absolute CLOCK_MONOTONIC time deadline (NULL: no deadline). Returns 0
 * when woken (or when a signal interrupted the sleep: callers re-check
 * their condition anyway), -EAGAIN when *word != expect already, or
 * -ETIMEDOUT.
 * mm_futex_wake - wakes every process sleeping on word.
 */
struct timespec;
int mm_futex_wait(_Atomic uint32_t *word, uint32_t expect,
                  const struct timespec *deadline);
void mm_futex_wake(_Atomic uint32_t *word);

#endif /* IOLAB_MM_H */
