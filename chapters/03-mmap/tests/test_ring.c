/*
 * test_ring.c - exercise 4 of chapter 03: the shared-memory ring.
 *
 * The single-process tests drive both sides from one thread with timeout 0
 * (no waiting), so each promise is checked deterministically. The others
 * put the two sides in two processes, as the ring is meant to be used, or
 * in two threads when the test must watch a side fall asleep.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iolab/testkit.h"
#include "mm.h"
#include "helpers.h"

static struct mm_ring *
make_ring(size_t capacity)
{
    struct mm_ring *ring = NULL;
    int err = mm_ring_create(capacity, &ring);

    cr_assert_eq(err, 0, "mm_ring_create(%zu) returned %d (%s)", capacity, err,
                 strerror(-err));
    cr_assert_not_null(ring);
    return ring;
}

/* Message i: len bytes, its first 4 its number, the rest from a seed. */
static void
make_msg(unsigned char *buf, size_t len, uint32_t i)
{
    tk_fill(buf, len, 1000 + i);
    memcpy(buf, &i, len < 4 ? len : 4);
}

TK_TEST(ring, create_checks_capacity,
        .description = "[MM-15] capacity must be a power of two in 64..2^30")
{
    size_t bad[] = {0, 32, 63, 100, 4095, (size_t)1 << 31};
    struct mm_ring *ring = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int err = mm_ring_create(bad[i], &ring);
        cr_assert_eq(err, -EINVAL,
                     "mm_ring_create(%zu) returned %d, expected -EINVAL",
                     bad[i], err);
    }
    ring = make_ring(64);
    cr_assert_eq(mm_ring_max_msg(ring), 60);
    mm_ring_destroy(ring);
    ring = make_ring(1 << 16);
    cr_assert_eq(mm_ring_max_msg(ring), (1 << 16) - 4);
    mm_ring_destroy(ring);
    mm_ring_destroy(NULL);
}

TK_TEST(ring, round_trip_with_wrap_around,
        .description = "[MM-18] messages of every size come back whole and "
                       "in order, across the end of the ring")
{
    struct mm_ring *ring = make_ring(64);
    unsigned char msg[64], got[64];
    struct tk_rng rng;
    size_t wraps = 0;

    tk_rng_seed(&rng, 3);
    for (uint32_t i = 0; i < 3000; i++) {
        size_t len = 1 + tk_rng_below(&rng, mm_ring_max_msg(ring));
        make_msg(msg, len, i);
        int err = mm_ring_send(ring, msg, len, 0);
        cr_assert_eq(err, 0,
                     "message %u (%zu bytes) into an empty 64-byte ring: "
                     "send returned %d (%s)",
                     i, len, err, strerror(-err));
        memset(got, 0, sizeof(got));
        ssize_t n = mm_ring_recv(ring, got, sizeof(got), 0);
        cr_assert_eq(n, (ssize_t)len,
                     "message %u: sent %zu bytes, recv returned %zd", i, len,
                     n);
        cr_assert_arr_eq(got, msg, len,
                         "message %u (%zu bytes) came back altered; the "
                         "ring had wrapped %zu times",
                         i, len, wraps);
        wraps = ring->head / ring->capacity;
    }
    cr_assert_gt(wraps, 100, "the test did not wrap the ring");
    /* Several messages in flight at once, with wrap. */
    for (uint32_t round = 0; round < 200; round++) {
        uint32_t sent = 0;
        size_t lens[16];
        while (sent < 16) {
            lens[sent] = 1 + tk_rng_below(&rng, 20);
            make_msg(msg, lens[sent], sent);
            if (mm_ring_send(ring, msg, lens[sent], 0) != 0)
                break;
            sent++;
        }
        cr_assert_geq(sent, 2,
                      "a 64-byte ring took fewer than two small "
                      "messages");
        for (uint32_t i = 0; i < sent; i++) {
            ssize_t n = mm_ring_recv(ring, got, sizeof(got), 0);
            make_msg(msg, lens[i], i);
            cr_assert_eq(n, (ssize_t)lens[i],
                         "with %u messages in the ring, message %u: "
                         "expected %zu bytes, got %zd",
                         sent, i, lens[i], n);
            cr_assert_arr_eq(got, msg, lens[i],
                             "message %u of %u came back altered", i, sent);
        }
    }
    mm_ring_destroy(ring);
}

TK_TEST(ring, refuses_what_cannot_fit,
        .description = "[MM-16] a message longer than the ring gives "
                       "-EMSGSIZE; length 0 gives -EINVAL")
{
    struct mm_ring *ring = make_ring(256);
    unsigned char msg[300], got[300];

    memset(msg, 'm', sizeof(msg));
    int err = mm_ring_send(ring, msg, 253, 1000);
    cr_assert_eq(err, -EMSGSIZE,
                 "a 253-byte message into a 256-byte ring (at most 252) "
                 "returned %d; expected -EMSGSIZE at once, not a wait",
                 err);
    cr_assert_eq(mm_ring_send(ring, msg, 300, 1000), -EMSGSIZE);
    cr_assert_eq(mm_ring_send(ring, msg, 0, 0), -EINVAL,
                 "an empty message should give -EINVAL");
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 0), -ETIMEDOUT,
                 "a refused message must leave the ring empty");
    cr_assert_eq(mm_ring_send(ring, msg, 252, 0), 0,
                 "a 252-byte message fills a 256-byte ring exactly");
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 0), 252);
    mm_ring_destroy(ring);
}

TK_TEST(ring, full_ring_times_out,
        .description = "[MM-17] a full ring makes send wait, then "
                       "-ETIMEDOUT")
{
    struct mm_ring *ring = make_ring(128);
    unsigned char msg[20] = {0}, got[20];
    int sent = 0;

    while (mm_ring_send(ring, msg, sizeof(msg), 0) == 0)
        sent++;
    cr_assert_eq(sent, 5,
                 "a 128-byte ring holds 5 frames of 24 bytes; "
                 "send accepted %d",
                 sent);
    long long t0 = tk_now_ms();
    int err = mm_ring_send(ring, msg, sizeof(msg), 200);
    long long waited = tk_now_ms() - t0;
    cr_assert_eq(err, -ETIMEDOUT,
                 "send into a full ring with a 200 ms timeout returned %d, "
                 "expected -ETIMEDOUT",
                 err);
    cr_assert_geq(waited, 190, "send gave up after %lld ms of 200", waited);
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 0), 20);
    cr_assert_eq(mm_ring_send(ring, msg, sizeof(msg), 0), 0,
                 "once a frame was received, there is room again");
    mm_ring_destroy(ring);
}

TK_TEST(ring, empty_ring_times_out,
        .description = "[MM-19] an empty ring makes recv wait, then "
                       "-ETIMEDOUT")
{
    struct mm_ring *ring = make_ring(128);
    char got[8];

    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 0), -ETIMEDOUT,
                 "recv on an empty ring with timeout 0 should return "
                 "-ETIMEDOUT at once");
    long long t0 = tk_now_ms();
    ssize_t n = mm_ring_recv(ring, got, sizeof(got), 200);
    long long waited = tk_now_ms() - t0;
    cr_assert_eq(n, -ETIMEDOUT, "expected -ETIMEDOUT, got %zd", n);
    cr_assert_geq(waited, 190, "recv gave up after %lld ms of 200", waited);
    mm_ring_destroy(ring);
}

TK_TEST(ring, small_buffer_keeps_the_message,
        .description = "[MM-21] a buffer too small gives -EMSGSIZE and "
                       "the message stays")
{
    struct mm_ring *ring = make_ring(256);
    unsigned char msg[100], got[100];

    make_msg(msg, sizeof(msg), 7);
    cr_assert_eq(mm_ring_send(ring, msg, sizeof(msg), 0), 0);
    ssize_t n = mm_ring_recv(ring, got, 50, 0);
    cr_assert_eq(n, -EMSGSIZE,
                 "recv of a 100-byte message into 50 bytes returned %zd, "
                 "expected -EMSGSIZE",
                 n);
    n = mm_ring_recv(ring, got, sizeof(got), 0);
    cr_assert_eq(n, 100,
                 "after -EMSGSIZE the message must still be there: recv "
                 "with room for it returned %zd",
                 n);
    cr_assert_arr_eq(got, msg, sizeof(msg));
    mm_ring_destroy(ring);
}

TK_TEST(ring, close_drains_then_zero,
        .description = "[MM-20] after close, recv drains the ring, then "
                       "returns 0")
{
    struct mm_ring *ring = make_ring(256);
    char got[16];

    cr_assert_eq(mm_ring_send(ring, "one", 3, 0), 0);
    cr_assert_eq(mm_ring_send(ring, "two", 3, 0), 0);
    cr_assert_eq(mm_ring_close(ring), 0);
    cr_assert_eq(mm_ring_send(ring, "three", 5, 0), -EPIPE,
                 "send after close should return -EPIPE");
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 1000), 3,
                 "the messages sent before close must still arrive");
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 1000), 3);
    ssize_t n = mm_ring_recv(ring, got, sizeof(got), 1000);
    cr_assert_eq(n, 0, "a closed, drained ring should give 0, got %zd", n);
    cr_assert_eq(mm_ring_recv(ring, got, sizeof(got), 0), 0,
                 "0 again on every later call");
    mm_ring_destroy(ring);
}

/* ---- two processes ----------------------------------------------------------
 */

#define STRESS_MSGS 20000
/*
 * A wait this long while the other side is busy means a lost wake-up: the
 * waiter noticed only at its own timeout. Far above any scheduling delay,
 * under Valgrind too.
 */
#define LATE_MS 2500

/* The producer child: random sizes, then close. Exit 0 on success. */
static int
produce(struct mm_ring *ring, uint64_t seed)
{
    unsigned char msg[1024];
    struct tk_rng rng;

    tk_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < STRESS_MSGS; i++) {
        /* Mostly small, some large: frames of every alignment. */
        size_t len = tk_rng_below(&rng, 8) == 0
                         ? 1 + tk_rng_below(&rng, sizeof(msg))
                         : 1 + tk_rng_below(&rng, 40);
        make_msg(msg, len, i);
        if (mm_ring_send(ring, msg, len, 10000) != 0)
            return 1;
    }
    return mm_ring_close(ring) == 0 ? 0 : 2;
}

TK_TEST(ring, stress_two_processes,
        .description = "[MM-18] 20000 random-size messages from a child "
                       "process: all arrive, whole and in order")
{
    struct mm_ring *ring = make_ring(4096);
    unsigned char want[1024], got[1024];
    struct tk_rng rng;
    int status;

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(produce(ring, 99));

    tk_rng_seed(&rng, 99);
    uint32_t i = 0;
    for (;; i++) {
        long long t0 = tk_now_ms();
        ssize_t n = mm_ring_recv(ring, got, sizeof(got), 10000);
        cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                     "message %u took %lld ms to arrive while the producer "
                     "was sending: the consumer slept through it (is it "
                     "woken when a message is published? see H4.8)",
                     i, tk_now_ms() - t0);
        if (n <= 0) {
            cr_assert_eq(n, 0,
                         "recv of message %u returned %zd (%s) while the "
                         "producer was sending",
                         i, n, strerror((int)-n));
            break;
        }
        cr_assert_lt(i, STRESS_MSGS, "more messages arrived than were sent");
        size_t len = tk_rng_below(&rng, 8) == 0
                         ? 1 + tk_rng_below(&rng, sizeof(want))
                         : 1 + tk_rng_below(&rng, 40);
        make_msg(want, len, i);
        uint32_t seq = 0;
        memcpy(&seq, got, n < 4 ? (size_t)n : 4);
        cr_assert_eq(n, (ssize_t)len,
                     "message %u should have %zu bytes, got %zd (it "
                     "starts like message %u)",
                     i, len, n, seq);
        cr_assert_arr_eq(got, want, len,
                         "message %u arrived altered (it starts like "
                         "message %u)",
                         i, seq);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the producer process failed (status 0x%x): a send or the "
              "close returned an error",
              status);
    cr_assert_eq(i, STRESS_MSGS, "%u messages arrived of %u", i, STRESS_MSGS);
    mm_ring_destroy(ring);
}

/* ---- a lost wake-up only a long run provokes ----------------------------- */

#define EDGE_MSGS 300000 /* at most; the producer also stops after EDGE_MS */
#define EDGE_MS 3000
#define ASLEEP_NS 1500 /* a message taken later than this found it asleep */

/* Waits until the consumer has taken everything (tail == head). */
static bool
wait_taken(struct mm_ring *ring, long long deadline_ns)
{
    uint64_t head = atomic_load(&ring->head);

    for (int i = 0; atomic_load(&ring->tail) != head; i++) {
        if (i > 100000) /* the consumer does not run: let it have the CPU */
            sched_yield();
        if (tk_now_ns() > deadline_ns)
            return false;
    }
    return true;
}

/*
 * Puts the calling process on the first (which 0) or second (which 1) CPU
 * it may use, so that producer and consumer run at the same time instead
 * of taking turns on one CPU. With fewer than two CPUs it does nothing.
 */
static void
pin_to_cpu(int which)
{
    cpu_set_t allowed, one;
    int seen = 0;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) == -1 ||
        CPU_COUNT(&allowed) < 2)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &allowed) && seen++ == which) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            (void)sched_setaffinity(0, sizeof(one), &one);
            return;
        }
    }
}

/*
 * The producer child. After the consumer takes a message, it waits delay
 * ns, then sends the next one, and times how long the consumer takes to
 * take it: quickly if it was still polling, slowly if it was asleep. The
 * delay is steered towards the boundary between the two (a step that
 * halves at each change of direction), so message after message arrives
 * just as the consumer stops polling and goes to sleep: the moment a
 * consumer that checks the ring before it announces its sleep misses its
 * wake-up.
 */
static int
edge_producer(struct mm_ring *ring)
{
    long long start = tk_now_ns(), delay = 0, step = 1024;
    int dir = 0;
    uint32_t i;

    pin_to_cpu(1);
    for (i = 0; i < EDGE_MSGS && tk_now_ns() - start < EDGE_MS * 1000000LL;
         i++) {
        /* 10 s: the consumer reports a lost wake-up long before that. */
        if (!wait_taken(ring, tk_now_ns() + 10000000000LL))
            return 3;
        long long t0 = tk_now_ns();
        while (tk_now_ns() - t0 < delay)
            ;
        t0 = tk_now_ns();
        if (mm_ring_send(ring, &i, sizeof(i), 0) != 0)
            return 4;
        if (!wait_taken(ring, tk_now_ns() + 10000000000LL))
            return 3;
        /* +1: it was polling, come later; -1: it was asleep, sooner. */
        int d = tk_now_ns() - t0 < ASLEEP_NS ? 1 : -1;
        if (dir != 0 && d != dir && step > 16)
            step /= 2;
        dir = d;
        delay = delay + d * step < 0 ? 0 : delay + d * step;
    }
    return mm_ring_close(ring) == 0 ? 0 : 5;
}

TK_TEST(ring, never_loses_a_wakeup,
        .description = "[MM-19] messages timed to arrive just as the "
                       "consumer goes to sleep, for seconds: every one "
                       "wakes it")
{
    struct mm_ring *ring = make_ring(4096);
    uint32_t got;
    int status;

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(edge_producer(ring));
    pin_to_cpu(0);

    uint32_t i;
    for (i = 0;; i++) {
        long long t0 = tk_now_ms();
        ssize_t n = mm_ring_recv(ring, &got, sizeof(got), 5000);
        cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                     "message %u came %lld ms after the previous one, sent "
                     "at once: the consumer slept through it (a lost "
                     "wake-up: announce the sleep before the last check of "
                     "the ring, see H4.13)",
                     i, tk_now_ms() - t0);
        if (n == 0)
            break;
        cr_assert_eq(n, (ssize_t)sizeof(got), "message %u: recv returned %zd",
                     i, n);
        cr_assert_eq(got, i, "message %u arrived as number %u", i, got);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the producer process failed (status 0x%x) after %u messages",
              status, i);
    cr_assert_gt(i, 0, "no message arrived");
    mm_ring_destroy(ring);
}

/* ---- sleeping sides
 * ----------------------------------------------------------- */

struct side {
    struct mm_ring *ring;
    pid_t tid;      /* the waiting thread, for tk_wait_sleeping */
    ssize_t result; /* what its call returned */
    unsigned char buf[64];
};

static void *
recv_main(void *arg)
{
    struct side *s = arg;

    s->tid = tk_gettid();
    s->result = mm_ring_recv(s->ring, s->buf, sizeof(s->buf), 5000);
    return NULL;
}

static void *
send_main(void *arg)
{
    struct side *s = arg;

    s->tid = tk_gettid();
    s->result = mm_ring_send(s->ring, "late", 4, 5000);
    return NULL;
}

static pid_t
started_tid(struct side *s)
{
    long long deadline = tk_now_ms() + 5000;

    while (__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE) == 0 &&
           tk_now_ms() < deadline)
        sched_yield();
    cr_assert_neq(s->tid, 0, "the thread did not start");
    return s->tid;
}

TK_TEST(ring, idle_consumer_sleeps_and_wakes,
        .description = "[MM-19] a consumer waiting on an empty ring sleeps "
                       "in the kernel and wakes for a message")
{
    struct side s = {.ring = make_ring(256)};
    pthread_t th;

    pthread_create(&th, NULL, recv_main, &s);
    /* Fails unless the consumer stops polling and blocks (state S). */
    tk_wait_sleeping(started_tid(&s), 3000);
    long long t0 = tk_now_ms();
    cr_assert_eq(mm_ring_send(s.ring, "hello", 5, 0), 0);
    pthread_join(th, NULL);
    cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                 "the sleeping consumer returned %lld ms after the message "
                 "was sent: it noticed only at its timeout, so the send did "
                 "not wake it",
                 tk_now_ms() - t0);
    cr_assert_eq(s.result, 5,
                 "the sleeping consumer should have woken with the 5-byte "
                 "message; recv returned %zd%s",
                 s.result,
                 s.result == -ETIMEDOUT ? " (-ETIMEDOUT: it was never woken)"
                                        : "");
    cr_assert_arr_eq(s.buf, "hello", 5);
    mm_ring_destroy(s.ring);
}

TK_TEST(ring, blocked_producer_sleeps_and_wakes,
        .description = "[MM-17] a producer waiting on a full ring sleeps in "
                       "the kernel and wakes when room is made")
{
    struct side s = {.ring = make_ring(64)};
    unsigned char got[64];
    pthread_t th;

    cr_assert_eq(mm_ring_send(s.ring, got, 60, 0), 0);
    pthread_create(&th, NULL, send_main, &s);
    tk_wait_sleeping(started_tid(&s), 3000);
    long long t0 = tk_now_ms();
    cr_assert_eq(mm_ring_recv(s.ring, got, sizeof(got), 0), 60);
    pthread_join(th, NULL);
    cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                 "the sleeping producer returned %lld ms after room was "
                 "made: it noticed only at its timeout, so the recv did not "
                 "wake it",
                 tk_now_ms() - t0);
    cr_assert_eq(s.result, 0,
                 "the sleeping producer should have woken and sent; send "
                 "returned %zd%s",
                 s.result,
                 s.result == -ETIMEDOUT ? " (-ETIMEDOUT: it was never woken)"
                                        : "");
    cr_assert_eq(mm_ring_recv(s.ring, got, sizeof(got), 0), 4);
    cr_assert_arr_eq(got, "late", 4);
    mm_ring_destroy(s.ring);
}

/* Times thread tid of this process has blocked (voluntary switches). */
static long
blocked_count(pid_t tid)
{
    char path[64], line[256];
    long n = -1;

    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void *
send_big_main(void *arg)
{
    struct side *s = arg;

    memset(s->buf, 'B', sizeof(s->buf));
    s->tid = tk_gettid();
    s->result = mm_ring_send(s->ring, s->buf, 60, 10000);
    return NULL;
}

TK_TEST(ring, producer_sleeps_again_announced,
        .description = "[MM-17] a producer woken with too little room goes "
                       "back to sleep announced, so the next free wakes it")
{
    struct side s = {.ring = make_ring(128)};
    unsigned char msg[12] = {0}, got[64];
    pthread_t th;

    /* 8 frames of 16 bytes fill the ring; the 60-byte message needs 64. */
    for (int i = 0; i < 8; i++)
        cr_assert_eq(mm_ring_send(s.ring, msg, sizeof(msg), 0), 0);
    pthread_create(&th, NULL, send_big_main, &s);
    pid_t tid = started_tid(&s);
    tk_wait_sleeping(tid, 3000);
    /*
     * Free one frame at a time. Each of the first three wakes the producer
     * with too little room: it must sleep again, announced as before. The
     * test waits until it has (it blocked once more), so the next free
     * finds it asleep; a producer that slept again unannounced is never
     * woken by the fourth, and returns only at its 10 s timeout.
     */
    long long t0 = 0;
    for (int i = 0; i < 4; i++) {
        long before = blocked_count(tid);
        t0 = tk_now_ms();
        cr_assert_eq(mm_ring_recv(s.ring, got, sizeof(got), 0), 12);
        while (i < 3 && tk_now_ms() - t0 < 1000 &&
               (blocked_count(tid) == before || tk_proc_state(tid) != 'S'))
            sched_yield();
    }
    pthread_join(th, NULL);
    cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                 "the producer, woken three times with too little room, "
                 "returned %lld ms after the fourth free made room: it "
                 "slept again without announcing it (set the waiting flag "
                 "before every sleep, not once), so nobody woke it",
                 tk_now_ms() - t0);
    cr_assert_eq(s.result, 0, "the producer's send returned %zd (%s)", s.result,
                 strerror((int)-s.result));
    for (int i = 0; i < 4; i++)
        cr_assert_eq(mm_ring_recv(s.ring, got, sizeof(got), 0), 12);
    cr_assert_eq(mm_ring_recv(s.ring, got, sizeof(got), 0), 60);
    mm_ring_destroy(s.ring);
}

TK_TEST(ring, wakes_across_processes,
        .description = "[MM-19] a consumer process asleep on the ring is "
                       "woken by the producer process")
{
    struct mm_ring *ring = make_ring(256);
    int status;

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char got[16];
        ssize_t n = mm_ring_recv(ring, got, sizeof(got), 5000);
        _exit(n == 4 && memcmp(got, "ping", 4) == 0 ? 0
              : n == -ETIMEDOUT                     ? 3
                                                    : 4);
    }
    tk_wait_state(pid, 'S', 5000);
    cr_assert_eq(tk_proc_state(pid), 'S',
                 "the consumer process never went to sleep on the empty "
                 "ring (state %c)",
                 tk_proc_state(pid));
    long long t0 = tk_now_ms();
    cr_assert_eq(mm_ring_send(ring, "ping", 4, 0), 0);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_lt(tk_now_ms() - t0, LATE_MS,
                 "the consumer process finished %lld ms after the message "
                 "was sent: it noticed only at its timeout, so it was not "
                 "woken (a futex shared by two processes must not be "
                 "FUTEX_PRIVATE)",
                 tk_now_ms() - t0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 3,
              "the consumer process slept through the message and timed "
              "out: was it woken? (a futex shared by two processes must "
              "not be FUTEX_PRIVATE)");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the consumer process did not receive \"ping\" (status "
              "0x%x)",
              status);
    mm_ring_destroy(ring);
}

/* ---- a futex wait that fails ------------------------------------------- */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * Makes every futex wait of this process fail at once with EPERM, as a
 * sandbox (a seccomp filter) that forbids them would: FUTEX_WAIT and
 * FUTEX_WAIT_BITSET, private or not. Wakes and everything else pass.
 * Returns 0, or -1 if the kernel refuses the filter.
 */
static int
forbid_futex_waits(void)
{
#ifdef TEST_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* The low 32 bits of the operation (little-endian). */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, args[1])),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, FUTEX_CMD_MASK),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAIT, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAIT_BITSET, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
        return -1;
    return 0;
#else
    return -1;
#endif
}

#define CHILD_NO_FILTER 5 /* the child could not install the filter */

/*
 * Runs one side in a child whose futex waits fail with EPERM, and returns
 * what send or recv returned there (as an exit code: 0 for -EPERM, 1 for
 * 0, 2 for -ETIMEDOUT, 3 otherwise). A side that retries the failing wait
 * spins and never returns: the child is killed after SPIN_MS.
 */
#define SPIN_MS 5000

static int
side_without_futex(struct mm_ring *ring, bool producer, const char *what)
{
    int status;
    pid_t pid = fork();

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        unsigned char buf[20] = {0};
        if (forbid_futex_waits() != 0)
            _exit(CHILD_NO_FILTER);
        /* No timeout: only the failing futex can end the wait. */
        long r = producer ? mm_ring_send(ring, buf, sizeof(buf), -1)
                          : (long)mm_ring_recv(ring, buf, sizeof(buf), -1);
        _exit(r == -EPERM ? 0 : r == 0 ? 1 : r == -ETIMEDOUT ? 2 : 3);
    }
    long long deadline = tk_now_ms() + SPIN_MS;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
           tk_now_ms() < deadline)
        sched_yield();
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_fail("%s: every futex wait failed at once with EPERM, and "
                       "the wait retried it for %d ms (a spin): return the "
                       "error instead",
                       what, SPIN_MS);
    }
    cr_assert(WIFEXITED(status), "%s: the child died (status 0x%x)", what,
              status);
    if (WEXITSTATUS(status) == CHILD_NO_FILTER)
        tk_skip("the kernel refused a seccomp filter, so futex errors "
                "cannot be injected here");
    return WEXITSTATUS(status);
}

TK_TEST(ring, futex_errors_end_the_wait,
        .description = "[MM-22] a futex wait that fails (not a wake-up, "
                       "not the deadline) ends send and recv with its error")
{
    struct mm_ring *ring = make_ring(128);
    unsigned char msg[20] = {0};
    static const char *const said[] = {"-EPERM", "0", "-ETIMEDOUT",
                                       "something else"};

    int r = side_without_futex(ring, false, "recv on an empty ring");
    cr_assert_eq(r, 0,
                 "recv on an empty ring, whose futex wait fails with EPERM, "
                 "returned %s; expected the futex's error, -EPERM",
                 said[r < 4 ? r : 3]);
    while (mm_ring_send(ring, msg, sizeof(msg), 0) == 0)
        ;
    r = side_without_futex(ring, true, "send into a full ring");
    cr_assert_eq(r, 0,
                 "send into a full ring, whose futex wait fails with EPERM, "
                 "returned %s; expected the futex's error, -EPERM",
                 said[r < 4 ? r : 3]);
    mm_ring_destroy(ring);
}
