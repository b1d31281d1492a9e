/*
 * test_sched.c - exercise 2 of chapter 07: the scheduler.
 *
 * Each test runs a body as the first coroutine of co_sched_run and checks
 * what it recorded once co_sched_run has returned (a failed assertion is
 * best raised on the thread's own stack). Idle time is checked by
 * counting epoll_wait calls through the fault layer and by the thread's
 * CPU time, never by hoping a sleep is long enough; faults (EINTR from
 * epoll_wait, a spurious EAGAIN) are injected deterministically.
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
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t
thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
run(co_entry_cb fn, void *arg)
{
    int r = co_sched_run(fn, arg);
    cr_assert_eq(r, 0, "co_sched_run returned %d, expected 0", r);
}

static void
nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    cr_assert(fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

/* A pipe whose two ends are non-blocking. */
static void
nb_pipe(int p[2])
{
    tk_pipe(p);
    nonblock(p[0]);
    nonblock(p[1]);
}

static struct co *
spawn_ok(co_entry_cb fn, void *arg)
{
    struct co *co = co_spawn(fn, arg, 0);
    cr_assert_not_null(co, "co_spawn failed: %s", strerror(errno));
    return co;
}

struct trace {
    char log[128];
    int n;
};

static void
note(struct trace *t, char c)
{
    if (t->n < (int)sizeof(t->log) - 1)
        t->log[t->n++] = c;
}

/* ===================================================================== */
/* The run queue and join                                                */
/* ===================================================================== */

struct rr {
    struct trace *t;
    char name;
};

static void
body_rr(void *arg)
{
    struct rr *r = arg;
    for (int i = 0; i < 3; i++) {
        note(r->t, r->name);
        co_yield();
    }
}

struct rr_main {
    struct trace t;
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
        c[i] = spawn_ok(body_rr, &m->r[i]);
    }
    note(&m->t, 'm');
    for (int i = 0; i < 3; i++)
        m->joins[i] = co_join(c[i]);
}

TK_TEST(sched, fifo_round_robin,
        .description = "[CO-12] spawned and yielding coroutines run in FIFO "
                       "order")
{
    struct rr_main m;
    memset(&m, 0, sizeof(m));
    run(main_rr, &m);
    m.t.log[m.t.n] = '\0';
    cr_assert_str_eq(m.t.log, "mABCABCABC",
                     "the order of events was %s: a coroutine that yields "
                     "goes to the tail of the run queue",
                     m.t.log);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(m.joins[i], 0, "co_join returned %d", m.joins[i]);
}

static void
body_quick(void *arg)
{
    int *ran = arg;
    *ran = 1;
}

struct join_main {
    int ran, join, again, self, twice;
};

static void
main_join_finished(void *arg)
{
    struct join_main *m = arg;
    struct co *c = spawn_ok(body_quick, &m->ran);
    /* Let c run to its end before anyone waits for it. */
    co_yield();
    co_yield();
    m->join = co_join(c);
    m->self = co_join(co_current());
    struct co *d = spawn_ok(body_quick, &m->ran);
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
    c->a = spawn_ok(body_join_b, c);
    c->b = spawn_ok(body_join_a, c);
}

static void
body_nested_run(void *arg)
{
    int *r = arg;
    *r = co_sched_run(body_quick, NULL);
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
    run(body_nested_run, &nested);
    cr_assert_eq(nested, -EBUSY, "a scheduler inside a scheduler: -EBUSY");
    errno = 0;
    cr_assert_null(co_spawn(body_quick, NULL, 0));
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
    s->due_us = now_us() + s->ms * 1000u;
    s->r = co_sleep(s->ms);
    s->woke_us = now_us();
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
        co_detach(spawn_ok(body_sleeper, &m->s[i]));
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
    run(main_sleepers, &m);
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
        uint64_t t0 = now_us();
        co_sleep(ms);
        if (now_us() - t0 < ms * 1000u) {
            s->early++;
            s->worst_ms = ms;
        }
    }
    int p[2];
    nb_pipe(p);
    uint64_t t0 = now_ms();
    s->timeout_r = co_wait(p[0], CO_READABLE, 30);
    s->timeout_ms = now_ms() - t0;
    close(p[0]);
    close(p[1]);
}

TK_TEST(sched, timeouts_never_early_no_spin,
        .description = "[CO-13][CO-16] timeouts are rounded up: never early, "
                       "one epoll_wait each")
{
    struct short_sleeps s = {0, 0, 0, 0};
    fi_reset();
    run(main_short_sleeps, &s);
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
    struct co *r = spawn_ok(body_idle_reader, d);
    co_sleep(300);
    co_write(d->p[1], "x", 1);
    co_join(r);
}

TK_TEST(sched, idle_does_not_spin,
        .description = "[CO-13] an idle scheduler sleeps in epoll_wait: no "
                       "CPU, a few wake-ups")
{
    struct idle d = {{-1, -1}, 0, 0};
    nb_pipe(d.p);
    fi_reset();
    uint64_t cpu0 = thread_cpu_ms();
    run(main_idle, &d);
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
    uint64_t t0 = now_ms();
    run(main_sleep_eintr, &r);
    cr_assert_eq(r, 0);
    cr_assert_geq(now_ms() - t0, 20);
}

/* ===================================================================== */
/* IO                                                                    */
/* ===================================================================== */

#define BULK (1024 * 1024)

struct bulk {
    int p[2];
    unsigned char *src, *dst;
    size_t got;
    int werr, rerr;
};

static void
body_bulk_writer(void *arg)
{
    struct bulk *b = arg;
    size_t off = 0;
    while (off < BULK) {
        ssize_t n = co_write(b->p[1], b->src + off, BULK - off);
        if (n <= 0) {
            b->werr = (int)n;
            break;
        }
        off += (size_t)n;
    }
    close(b->p[1]);
}

static void
body_bulk_reader(void *arg)
{
    struct bulk *b = arg;
    for (;;) {
        ssize_t n = co_read(b->p[0], b->dst + b->got, 1000);
        if (n < 0)
            b->rerr = (int)n;
        if (n <= 0)
            break;
        b->got += (size_t)n;
    }
}

static void
main_bulk(void *arg)
{
    struct co *r = spawn_ok(body_bulk_reader, arg);
    struct co *w = spawn_ok(body_bulk_writer, arg);
    co_join(w);
    co_join(r);
}

TK_TEST(sched, pipe_bulk_both_ways_park,
        .description = "[CO-19] 1 MiB through a pipe: writer and reader park "
                       "on EAGAIN, nothing lost")
{
    struct bulk b = {{-1, -1}, NULL, NULL, 0, 0, 0};
    nb_pipe(b.p);
    b.src = tk_xmalloc(BULK);
    b.dst = tk_xmalloc(BULK + 1000); /* room for the last read's 1000 */
    tk_fill(b.src, BULK, 7);
    run(main_bulk, &b);
    cr_assert_eq(b.werr, 0, "co_write failed: %d", b.werr);
    cr_assert_eq(b.rerr, 0, "co_read failed: %d", b.rerr);
    cr_assert_eq(b.got, (size_t)BULK, "read %zu bytes of %d", b.got, BULK);
    cr_assert(memcmp(b.src, b.dst, BULK) == 0, "the bytes differ");
    close(b.p[0]);
    free(b.src);
    free(b.dst);
}

struct chunks {
    int p[2];
    char buf[100];
    size_t got;
    int err;
};

static void
main_chunks(void *arg)
{
    struct chunks *c = arg;
    while (c->got < sizeof(c->buf)) {
        ssize_t n = co_read(c->p[0], c->buf + c->got, 10);
        if (n <= 0) {
            c->err = (int)n;
            return;
        }
        c->got += (size_t)n;
    }
}

TK_TEST(sched, data_already_there_is_read,
        .description = "[CO-19] data that arrived before co_read, and after a "
                       "spurious EAGAIN, is read")
{
    struct chunks c = {{-1, -1}, {0}, 0, 0};
    char want[100];
    nb_pipe(c.p);
    tk_fill(want, sizeof(want), 3);
    tk_write_all(c.p[1], want, sizeof(want));
    /* Every other read says EAGAIN though the pipe holds data. */
    fi_plan(FI_READ, "eagain pass eagain pass eagain pass");
    run(main_chunks, &c);
    cr_assert_eq(c.err, 0, "co_read returned %d", c.err);
    cr_assert_eq(c.got, sizeof(want));
    cr_assert(memcmp(c.buf, want, sizeof(want)) == 0);
    close(c.p[0]);
    close(c.p[1]);
}

TK_TEST(sched, regular_file_always_ready,
        .description = "[CO-22] a regular file is always ready: co_wait "
                       "returns 0 at once")
{
    char *path = tk_make_file("f", "hello", 5);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_neq(fd, -1);
    free(path);
    struct chunks c = {{fd, -1}, {0}, 0, 0};
    run(main_chunks, &c);
    cr_assert_eq(c.err, 0,
                 "co_read on a regular file returned %d at EOF, "
                 "expected 0",
                 c.err);
    cr_assert_eq(c.got, 5);
    cr_assert(memcmp(c.buf, "hello", 5) == 0);
    close(fd);
}

/* ---- sockets ------------------------------------------------------------ */

#define CLIENTS 20

struct net {
    int lfd;
    unsigned short port;
    int ok, accept_r, refused;
};

static void
body_echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        ssize_t n = co_read(fd, buf, sizeof(buf));
        if (n <= 0 || co_write(fd, buf, (size_t)n) != n)
            break;
    }
    co_close(fd);
}

static void
body_acceptor(void *arg)
{
    struct net *n = arg;
    for (;;) {
        int c = co_accept(n->lfd, NULL, NULL);
        if (c < 0) {
            n->accept_r = c;
            return;
        }
        co_detach(spawn_ok(body_echo, (void *)(intptr_t)c));
    }
}

static int
tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_neq(fd, -1);
    return fd;
}

static struct sockaddr_in
loopback(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void
body_client(void *arg)
{
    struct net *n = arg;
    int fd = tcp_socket();
    struct sockaddr_in a = loopback(n->port);
    char msg[32], back[32];
    int len = snprintf(msg, sizeof(msg), "hello %p", (void *)&fd);
    size_t got = 0;

    if (co_connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        co_write(fd, msg, (size_t)len) != len)
        goto out;
    while (got < (size_t)len) {
        ssize_t r = co_read(fd, back + got, (size_t)len - got);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    if (memcmp(msg, back, (size_t)len) == 0)
        n->ok++;
out:
    co_close(fd);
}

static void
main_net(void *arg)
{
    struct net *n = arg;
    struct co *acc = spawn_ok(body_acceptor, n);
    struct co *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = spawn_ok(body_client, n);
    for (int i = 0; i < CLIENTS; i++)
        co_join(c[i]);
    /* The acceptor is parked in co_accept: cancel it. */
    co_cancel(acc);
    co_join(acc);

    /* A port nobody listens on: the connection is refused. */
    int fd = tcp_socket();
    struct sockaddr_in a = loopback(n->port);
    co_close(n->lfd);
    n->lfd = -1;
    n->refused = co_connect(fd, (struct sockaddr *)&a, sizeof(a));
    co_close(fd);
}

TK_TEST(sched, accept_connect_echo,
        .description = "[CO-20][CO-15] 20 clients through co_connect and "
                       "co_accept; refused is -ECONNREFUSED")
{
    struct net n = {-1, 0, 0, 0, 0};
    n.lfd = tk_listen_tcp(&n.port);
    nonblock(n.lfd);
    run(main_net, &n);
    cr_assert_eq(n.ok, CLIENTS, "%d of %d clients got their echo", n.ok,
                 CLIENTS);
    cr_assert_eq(n.accept_r, -ECANCELED,
                 "the cancelled co_accept returned %d, expected -ECANCELED",
                 n.accept_r);
    cr_assert_eq(n.refused, -ECONNREFUSED,
                 "co_connect to a closed port returned %d, expected "
                 "-ECONNREFUSED (-111)",
                 n.refused);
}

/* ---- cancellation and stale interest ------------------------------------ */

struct cancel {
    int p[2];
    ssize_t reader_r;
    int after_r; /* a parking call after the cancel */
    int second_r;
    int cancel_r, cancel_done_r;
};

static void
body_cancel_reader(void *arg)
{
    struct cancel *c = arg;
    char b;
    c->reader_r = co_read(c->p[0], &b, 1);
    c->after_r = co_sleep(1000);
}

static void
body_second_waiter(void *arg)
{
    struct cancel *c = arg;
    c->second_r = co_wait(c->p[0], CO_READABLE, 2000);
}

static void
main_cancel(void *arg)
{
    struct cancel *c = arg;
    struct co *r = spawn_ok(body_cancel_reader, c);
    co_yield(); /* r parks in co_read */
    c->cancel_r = co_cancel(r);
    co_join(r);
    int ran = 0;
    struct co *q = spawn_ok(body_quick, &ran);
    co_yield(); /* q finishes */
    c->cancel_done_r = co_cancel(q);
    co_join(q);
    struct co *w = spawn_ok(body_second_waiter, c);
    co_yield();
    co_write(c->p[1], "x", 1);
    co_join(w);
}

TK_TEST(sched, cancel_blocked_reader,
        .description = "[CO-15] cancelling a parked reader: -ECANCELED, "
                       "sticky, and its descriptor is free")
{
    struct cancel c = {{-1, -1}, 1, 1, 1, 1, 0};
    nb_pipe(c.p);
    run(main_cancel, &c);
    cr_assert_eq(c.cancel_r, 0);
    cr_assert_eq(c.cancel_done_r, -ESRCH,
                 "co_cancel of a finished coroutine returned %d, expected "
                 "-ESRCH",
                 c.cancel_done_r);
    cr_assert_eq(c.reader_r, -ECANCELED,
                 "the cancelled co_read returned %zd, expected -ECANCELED",
                 c.reader_r);
    cr_assert_eq(c.after_r, -ECANCELED,
                 "a cancelled coroutine's next co_sleep returned %d: "
                 "cancellation is sticky",
                 c.after_r);
    cr_assert_eq(c.second_r, 0,
                 "another coroutine waiting on the same descriptor got %d: "
                 "the cancelled wait left its interest registered",
                 c.second_r);
    close(c.p[0]);
    close(c.p[1]);
}

struct stale {
    int p[2];
    int wait_r, sleep_r;
    uint64_t slept_ms;
};

static void
body_stale(void *arg)
{
    struct stale *s = arg;
    s->wait_r = co_wait(s->p[0], CO_READABLE, 20);
    uint64_t t0 = now_ms();
    s->sleep_r = co_sleep(200);
    s->slept_ms = now_ms() - t0;
}

static void
main_stale(void *arg)
{
    struct stale *s = arg;
    struct co *c = spawn_ok(body_stale, s);
    co_sleep(60);
    /* c's wait timed out 40 ms ago; it sleeps now. */
    co_write(s->p[1], "x", 1);
    co_join(c);
}

TK_TEST(sched, timed_out_wait_leaves_no_interest,
        .description = "[CO-17][CO-16] after a timeout nobody waits on the "
                       "descriptor: its readiness wakes nobody")
{
    struct stale s = {{-1, -1}, 1, 1, 0};
    nb_pipe(s.p);
    fi_reset();
    run(main_stale, &s);
    cr_assert_eq(s.wait_r, -ETIMEDOUT, "co_wait returned %d", s.wait_r);
    cr_assert_eq(s.sleep_r, 0);
    cr_assert_geq(s.slept_ms, 200,
                  "a co_sleep(200) ended after %lu ms: readiness of a "
                  "descriptor whose wait had timed out woke it",
                  (unsigned long)s.slept_ms);
    cr_assert_leq(fi_calls(FI_WAIT), 20,
                  "%lu epoll_wait calls: a readable descriptor nobody waits "
                  "for is still registered (level-triggered, it never "
                  "stops reporting)",
                  fi_calls(FI_WAIT));
    close(s.p[0]);
    close(s.p[1]);
}

struct reuse {
    int num;     /* the descriptor number, reused */
    int p2[2];   /* the second pipe, whose read end takes num */
    int first_r; /* the cancelled wait */
    int second_r;
};

static void
body_reuse_first(void *arg)
{
    struct reuse *u = arg;
    u->first_r = co_wait(u->num, CO_READABLE, -1);
}

static void
body_reuse_second(void *arg)
{
    struct reuse *u = arg;
    u->second_r = co_wait(u->num, CO_READABLE, 2000);
}

static void
main_reuse(void *arg)
{
    struct reuse *u = arg;
    int p1[2];
    nb_pipe(p1);
    u->num = p1[0];
    struct co *a = spawn_ok(body_reuse_first, u);
    co_yield(); /* a parks on num */
    /* b is queued before a is woken, so b runs first: it waits on num
     * (another pipe's by then) before a runs again. */
    struct co *b = spawn_ok(body_reuse_second, u);
    /* Cancel a and close its descriptor before a runs again; the number
     * is at once another pipe's, and b waits on it. */
    co_cancel(a);
    co_close(p1[0]);
    co_close(p1[1]);
    nb_pipe(u->p2);
    if (u->p2[0] != u->num) {
        cr_assert_eq(dup2(u->p2[0], u->num), u->num);
        close(u->p2[0]);
        u->p2[0] = u->num;
    }
    co_yield(); /* b parks on num; then a ends */
    co_yield();
    co_write(u->p2[1], "y", 1);
    co_join(b);
    co_join(a);
}

TK_TEST(sched, closed_descriptor_number_reused,
        .description = "[CO-15][CO-29] a cancelled wait lets go of its "
                       "descriptor at once: co_close, a reused number works")
{
    struct reuse u = {-1, {-1, -1}, 1, 1};
    run(main_reuse, &u);
    cr_assert_eq(u.first_r, -ECANCELED);
    cr_assert_eq(u.second_r, 0,
                 "a wait on a reused descriptor number returned %d: the "
                 "cancelled coroutine's late clean-up removed the new "
                 "waiter's interest",
                 u.second_r);
    close(u.p2[0]);
    close(u.p2[1]);
}
