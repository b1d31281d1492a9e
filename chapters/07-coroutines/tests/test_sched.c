/*
 * test_sched.c - exercise 2 of chapter 07: the scheduler.
 *
 * Each test runs a body as the first coroutine of co_sched_run and checks
 * what it recorded once co_sched_run has returned (a failed assertion is
 * best raised on the thread's own stack). Idle time is checked by
 * counting epoll_wait calls through the fault layer and by the thread's
 * CPU time, never by hoping a sleep is long enough; faults (EINTR from
 * epoll_wait, a spurious EAGAIN) are injected deterministically. This
 * file has the run queue, join and the timers; the IO calls and
 * cancellation are in test_sched_io.c (same suite, sched).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "co.h"
#include "helpers.h"
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

static uint64_t
thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ===================================================================== */
/* The run queue and join                                                */
/* ===================================================================== */

struct rr {
    struct ct_trace *t;
    char name;
};

static void
body_rr(void *arg)
{
    struct rr *r = arg;
    for (int i = 0; i < 3; i++) {
        ct_note(r->t, r->name);
        co_yield();
    }
}

struct rr_main {
    struct ct_trace t;
    struct rr r[3];
    int joins[3];
};

static void
main_rr(void *arg)
{
    struct rr_main *m = arg;
    struct co *c[3];
    for (int i = 0; i < 3; i++) {
        m->r[i] = (struct rr){&m->t, (char)('A' + i)};
        c[i] = ct_spawn_ok(body_rr, &m->r[i]);
    }
    ct_note(&m->t, 'm');
    for (int i = 0; i < 3; i++)
        m->joins[i] = co_join(c[i]);
}

TK_TEST(sched, fifo_round_robin,
        .description = "[CO-12] spawned and yielding coroutines run in FIFO "
                       "order")
{
    struct rr_main m;
    memset(&m, 0, sizeof(m));
    ct_run(main_rr, &m);
    m.t.log[m.t.n] = '\0';
    cr_assert_str_eq(m.t.log, "mABCABCABC",
                     "the order of events was %s: a coroutine that yields "
                     "goes to the tail of the run queue",
                     m.t.log);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(m.joins[i], 0, "co_join returned %d", m.joins[i]);
}

struct join_main {
    int ran, join, again, self, twice;
};

static void
main_join_finished(void *arg)
{
    struct join_main *m = arg;
    struct co *c = ct_spawn_ok(ct_body_quick, &m->ran);
    /* Let c run to its end before anyone waits for it. */
    co_yield();
    co_yield();
    m->join = co_join(c);
    m->self = co_join(co_current());
    struct co *d = ct_spawn_ok(ct_body_quick, &m->ran);
    m->again = co_detach(d);
    m->twice = co_join(d);
}

TK_TEST(sched, join_after_finish_returns_at_once,
        .description = "[CO-14] joining a coroutine that already finished "
                       "returns 0 without waiting")
{
    struct join_main m = {0, 1, 1, 0, 0};
    int r = co_sched_run(main_join_finished, &m);
    cr_assert_eq(r, 0,
                 "co_sched_run returned %d: joining a finished coroutine "
                 "waited for a wake-up that was sent before anyone waited "
                 "(a lost wake-up)",
                 r);
    cr_assert_eq(m.ran, 1);
    cr_assert_eq(m.join, 0, "co_join returned %d", m.join);
    cr_assert_eq(m.self, -EDEADLK, "joining oneself must be -EDEADLK");
    cr_assert_eq(m.again, 0);
    cr_assert_eq(m.twice, -EINVAL, "joining a detached coroutine: -EINVAL");
}

struct cycle {
    struct co *a, *b;
};

static void
body_join_b(void *arg)
{
    struct cycle *c = arg;
    co_yield();
    co_join(c->b);
}

static void
body_join_a(void *arg)
{
    struct cycle *c = arg;
    co_yield();
    co_join(c->a);
}

static void
main_cycle(void *arg)
{
    struct cycle *c = arg;
    c->a = ct_spawn_ok(body_join_b, c);
    c->b = ct_spawn_ok(body_join_a, c);
}

static void
body_nested_run(void *arg)
{
    int *r = arg;
    *r = co_sched_run(ct_body_quick, NULL);
}

TK_TEST(sched, deadlock_detected,
        .description = "[CO-21] co_sched_run returns -EDEADLK when nobody can "
                       "ever run")
{
    struct cycle c = {NULL, NULL};
    int r = co_sched_run(main_cycle, &c);
    cr_assert_eq(r, -EDEADLK,
                 "two coroutines joining each other: co_sched_run returned "
                 "%d, expected -EDEADLK (-35)",
                 r);
    int nested = 0;
    ct_run(body_nested_run, &nested);
    cr_assert_eq(nested, -EBUSY, "a scheduler inside a scheduler: -EBUSY");
    errno = 0;
    cr_assert_null(co_spawn(ct_body_quick, NULL, 0));
    cr_assert_eq(errno, EPERM, "co_spawn outside a scheduler: EPERM");
    cr_assert_eq(co_wait(-1, 0, 1), -EPERM);
}

/* ===================================================================== */
/* Timers                                                                */
/* ===================================================================== */

#define SLEEPERS 40

struct sleeper {
    unsigned ms;
    uint64_t due_us;  /* when it asked, plus ms */
    uint64_t woke_us; /* when it woke */
    int order;        /* position in the order of wake-ups */
    int r;
    int *next;
};

static void
body_sleeper(void *arg)
{
    struct sleeper *s = arg;
    s->due_us = (uint64_t)(tk_now_ns() / 1000) + s->ms * 1000u;
    s->r = co_sleep(s->ms);
    s->woke_us = (uint64_t)(tk_now_ns() / 1000);
    s->order = (*s->next)++;
}

struct sleep_main {
    struct sleeper s[SLEEPERS];
    int next;
};

static void
main_sleepers(void *arg)
{
    struct sleep_main *m = arg;
    for (int i = 0; i < SLEEPERS; i++)
        co_detach(ct_spawn_ok(body_sleeper, &m->s[i]));
}

TK_TEST(sched, sleepers_wake_in_deadline_order,
        .description = "[CO-18][CO-13] sleepers wake earliest deadline "
                       "first, never early")
{
    struct sleep_main m;
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < SLEEPERS; i++) {
        /* A permutation of 0..39, times 4 ms: 0 to 156 ms. */
        m.s[i].ms = (unsigned)((i * 17) % SLEEPERS) * 4u;
        m.s[i].next = &m.next;
    }
    ct_run(main_sleepers, &m);
    cr_assert_eq(m.next, SLEEPERS);
    struct sleeper *by_order[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++) {
        cr_assert_eq(m.s[i].r, 0);
        cr_assert_geq(m.s[i].woke_us + 1000, m.s[i].due_us,
                      "a sleep of %u ms ended %lu us early", m.s[i].ms,
                      (unsigned long)(m.s[i].due_us - m.s[i].woke_us));
        by_order[m.s[i].order] = &m.s[i];
    }
    /* Slack: the deadline is taken inside co_sleep, a moment later (under
     * Valgrind, which runs one thread at a time, many moments later). */
    uint64_t slack = RUNNING_ON_VALGRIND ? 50000 : 1000;
    for (int k = 1; k < SLEEPERS; k++) {
        cr_assert_geq(
            by_order[k]->due_us + slack, by_order[k - 1]->due_us,
            "wake-up %d slept %u ms and was due %lu us before "
            "wake-up %d, which slept %u ms: the timer heap must "
            "give the earliest deadline first",
            k, by_order[k]->ms,
            (unsigned long)(by_order[k - 1]->due_us - by_order[k]->due_us),
            k - 1, by_order[k - 1]->ms);
    }
}

struct short_sleeps {
    int early;         /* sleeps that ended too soon */
    unsigned worst_ms; /* the one that did */
    int timeout_r;
    uint64_t timeout_ms;
};

static void
main_short_sleeps(void *arg)
{
    struct short_sleeps *s = arg;
    for (unsigned ms = 1; ms <= 12; ms++) {
        uint64_t t0 = (uint64_t)(tk_now_ns() / 1000);
        co_sleep(ms);
        if ((uint64_t)(tk_now_ns() / 1000) - t0 < ms * 1000u) {
            s->early++;
            s->worst_ms = ms;
        }
    }
    int p[2];
    ct_nb_pipe(p);
    uint64_t t0 = (uint64_t)tk_now_ms();
    s->timeout_r = co_wait(p[0], CO_READABLE, 30);
    s->timeout_ms = (uint64_t)tk_now_ms() - t0;
    close(p[0]);
    close(p[1]);
}

TK_TEST(sched, timeouts_never_early_no_spin,
        .description = "[CO-13][CO-16] timeouts are rounded up: never early, "
                       "one epoll_wait each")
{
    struct short_sleeps s = {0, 0, 0, 0};
    fi_reset();
    ct_run(main_short_sleeps, &s);
    unsigned long waits = fi_calls(FI_WAIT);
    cr_assert_eq(s.early, 0, "%d sleeps ended early (one of %u ms)", s.early,
                 s.worst_ms);
    cr_assert_eq(s.timeout_r, -ETIMEDOUT,
                 "co_wait on an idle pipe with a 30 ms timeout returned %d",
                 s.timeout_r);
    cr_assert_geq(s.timeout_ms, 30, "the 30 ms timeout ended after %lu ms",
                  (unsigned long)s.timeout_ms);
    cr_assert_leq(waits, 40,
                  "%lu epoll_wait calls for 13 timers: a timeout rounded "
                  "down wakes before the deadline and spins until it",
                  waits);
}

struct idle {
    int p[2];
    ssize_t got;
    char byte;
};

static void
body_idle_reader(void *arg)
{
    struct idle *d = arg;
    d->got = co_read(d->p[0], &d->byte, 1);
}

static void
main_idle(void *arg)
{
    struct idle *d = arg;
    struct co *r = ct_spawn_ok(body_idle_reader, d);
    co_sleep(300);
    co_write(d->p[1], "x", 1);
    co_join(r);
}

TK_TEST(sched, idle_does_not_spin,
        .description = "[CO-13] an idle scheduler sleeps in epoll_wait: no "
                       "CPU, a few wake-ups")
{
    struct idle d = {{-1, -1}, 0, 0};
    ct_nb_pipe(d.p);
    fi_reset();
    uint64_t cpu0 = thread_cpu_ms();
    ct_run(main_idle, &d);
    uint64_t cpu = thread_cpu_ms() - cpu0;
    unsigned long waits = fi_calls(FI_WAIT);
    cr_assert_eq(d.got, 1);
    cr_assert_eq(d.byte, 'x');
    cr_assert_leq(waits, 10,
                  "%lu epoll_wait calls in 300 ms with nothing to do: the "
                  "wait must block until the timer or an event",
                  waits);
    cr_assert_leq(cpu, 100, "the idle scheduler used %lu ms of CPU",
                  (unsigned long)cpu);
}

static void
main_sleep_eintr(void *arg)
{
    int *r = arg;
    *r = co_sleep(20);
}

TK_TEST(sched, epoll_wait_eintr_retried,
        .description = "[CO-13] EINTR from epoll_wait is retried")
{
    int r = -1;
    fi_plan(FI_WAIT, "eintr eintr");
    uint64_t t0 = (uint64_t)tk_now_ms();
    ct_run(main_sleep_eintr, &r);
    cr_assert_eq(r, 0);
    cr_assert_geq((uint64_t)tk_now_ms() - t0, 20);
}
