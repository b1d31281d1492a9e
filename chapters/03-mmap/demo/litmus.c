/*
 * litmus.c - the store-buffering litmus test, in the ring's own words.
 *
 * Usage: litmus [ROUNDS]    (default 1000000 rounds for each memory order)
 *
 * The ring's sleep and wake-up (exercise 4) come down to two threads
 * doing this, each round, at the same moment:
 *
 *     producer                        consumer, about to sleep
 *     store head = i                  store consumer_waiting = i
 *     w = load consumer_waiting       h = load head
 *
 * If w misses the consumer's store AND h misses the producer's, the
 * producer sees no sleeper (it does not wake anyone) and the consumer sees
 * no message (it goes to sleep): a lost wake-up. The demo runs the round
 * many times with three choices of memory order and counts how often both
 * loads missed:
 *
 *   release/acquire  stores memory_order_release, loads memory_order_acquire;
 *   seq_cst          stores and loads memory_order_seq_cst (atomic_store,
 *                    atomic_load);
 *   seq_cst fences   relaxed stores and loads, with
 *                    atomic_thread_fence(memory_order_seq_cst) between.
 *
 * C11 (7.17.3) allows the outcome under release/acquire and forbids it
 * under the other two; x86 lets a load pass an earlier store to another
 * address (Intel SDM vol. 3A, 8.2.3.4), so the first count is usually far
 * from 0 on a machine where the two threads really run at once. A count of
 * 0 there proves nothing: the threads may simply not have overlapped.
 *
 * Build it with `make demos CH=03` and run the path it prints.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "iolab/die.h"

enum order { ACQ_REL, SEQ_CST, FENCES, NORDERS };

static const char *const order_name[NORDERS] = {
    [ACQ_REL] = "release/acquire",
    [SEQ_CST] = "seq_cst",
    [FENCES] = "seq_cst fences",
};

/* The two locations, on lines of their own, as in struct mm_ring. */
static _Alignas(64) _Atomic uint64_t head;
static _Alignas(64) _Atomic uint64_t consumer_waiting;
/* The rendezvous both threads pass twice a round, and the round's loads. */
static _Alignas(64) _Atomic uint64_t arrived;
static _Alignas(64) uint64_t seen_w, seen_h;

static enum order mode;
static uint64_t rounds;

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until both threads have arrived n times in all. */
static void
rendezvous(uint64_t n)
{
    atomic_fetch_add(&arrived, 1);
    while (atomic_load_explicit(&arrived, memory_order_acquire) < n)
        cpu_relax();
}

/* One side of round i: store mine = i, then load theirs. */
static uint64_t
store_then_load(_Atomic uint64_t *mine, _Atomic uint64_t *theirs, uint64_t i)
{
    switch (mode) {
    case ACQ_REL:
        atomic_store_explicit(mine, i, memory_order_release);
        return atomic_load_explicit(theirs, memory_order_acquire);
    case SEQ_CST:
        atomic_store(mine, i);
        return atomic_load(theirs);
    default:
        atomic_store_explicit(mine, i, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        return atomic_load_explicit(theirs, memory_order_relaxed);
    }
}

static void
pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *
consumer(void *arg)
{
    (void)arg;
    pin(1);
    for (uint64_t i = 1; i <= rounds; i++) {
        rendezvous(4 * i - 2);
        seen_h = store_then_load(&consumer_waiting, &head, i);
        rendezvous(4 * i);
    }
    return NULL;
}

/* Runs the producer side here; returns the rounds where both missed. */
static uint64_t
producer(void)
{
    uint64_t lost = 0;

    pin(0);
    for (uint64_t i = 1; i <= rounds; i++) {
        rendezvous(4 * i - 2);
        seen_w = store_then_load(&head, &consumer_waiting, i);
        rendezvous(4 * i);
        /* The consumer's seen_h was written before the rendezvous. */
        if (seen_w < i && seen_h < i)
            lost++;
    }
    return lost;
}

int
main(int argc, char **argv)
{
    die_init(argv[0]);
    if (argc > 2)
        die("usage: litmus [ROUNDS]");
    rounds = argc > 1 ? die_number("ROUNDS", argv[1], 1, 1000000000) : 1000000;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    printf("store buffering: %llu rounds per memory order, two threads%s\n",
           (unsigned long long)rounds,
           ncpu >= 2 ? " pinned to CPUs 0 and 1" : " on ONE cpu (no overlap)");
    printf("  %-16s %s\n", "order",
           "rounds where both loads missed "
           "(a lost wake-up)");
    for (mode = 0; mode < NORDERS; mode++) {
        pthread_t th;
        atomic_store(&head, 0);
        atomic_store(&consumer_waiting, 0);
        atomic_store(&arrived, 0);
        if (pthread_create(&th, NULL, consumer, NULL) != 0)
            die("cannot start a thread");
        uint64_t lost = producer();
        pthread_join(th, NULL);
        printf("  %-16s %llu\n", order_name[mode], (unsigned long long)lost);
    }
    return 0;
}
