/*
 * test_sched_io.c - exercise 2 of chapter 07: the scheduler's IO calls
 * (co_read, co_write, co_accept, co_connect), co_wait's registration, and
 * cancellation of a coroutine parked on a descriptor. Same suite as
 * test_sched.c (sched); the shared helpers are in helpers.c.
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
    struct co *r = ct_spawn_ok(body_bulk_reader, arg);
    struct co *w = ct_spawn_ok(body_bulk_writer, arg);
    co_join(w);
    co_join(r);
}

TK_TEST(sched, pipe_bulk_both_ways_park,
        .description = "[CO-19] 1 MiB through a pipe: writer and reader park "
                       "on EAGAIN, nothing lost")
{
    struct bulk b = {{-1, -1}, NULL, NULL, 0, 0, 0};
    ct_nb_pipe(b.p);
    b.src = tk_xmalloc(BULK);
    b.dst = tk_xmalloc(BULK + 1000); /* room for the last read's 1000 */
    tk_fill(b.src, BULK, 7);
    ct_run(main_bulk, &b);
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
    ct_nb_pipe(c.p);
    tk_fill(want, sizeof(want), 3);
    tk_write_all(c.p[1], want, sizeof(want));
    /* Every other read says EAGAIN though the pipe holds data. */
    fi_plan(FI_READ, "eagain pass eagain pass eagain pass");
    ct_run(main_chunks, &c);
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
    ct_run(main_chunks, &c);
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
        co_detach(ct_spawn_ok(body_echo, (void *)(intptr_t)c));
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
    struct co *acc = ct_spawn_ok(body_acceptor, n);
    struct co *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = ct_spawn_ok(body_client, n);
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
    ct_nonblock(n.lfd);
    ct_run(main_net, &n);
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
    struct co *r = ct_spawn_ok(body_cancel_reader, c);
    co_yield(); /* r parks in co_read */
    c->cancel_r = co_cancel(r);
    co_join(r);
    int ran = 0;
    struct co *q = ct_spawn_ok(ct_body_quick, &ran);
    co_yield(); /* q finishes */
    c->cancel_done_r = co_cancel(q);
    co_join(q);
    struct co *w = ct_spawn_ok(body_second_waiter, c);
    co_yield();
    co_write(c->p[1], "x", 1);
    co_join(w);
}

TK_TEST(sched, cancel_blocked_reader,
        .description = "[CO-15] cancelling a parked reader: -ECANCELED, "
                       "sticky, and its descriptor is free")
{
    struct cancel c = {{-1, -1}, 1, 1, 1, 1, 0};
    ct_nb_pipe(c.p);
    ct_run(main_cancel, &c);
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
    uint64_t t0 = (uint64_t)tk_now_ms();
    s->sleep_r = co_sleep(200);
    s->slept_ms = (uint64_t)tk_now_ms() - t0;
}

static void
main_stale(void *arg)
{
    struct stale *s = arg;
    struct co *c = ct_spawn_ok(body_stale, s);
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
    ct_nb_pipe(s.p);
    fi_reset();
    ct_run(main_stale, &s);
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
    ct_nb_pipe(p1);
    u->num = p1[0];
    struct co *a = ct_spawn_ok(body_reuse_first, u);
    co_yield(); /* a parks on num */
    /* b is queued before a is woken, so b runs first: it waits on num
     * (another pipe's by then) before a runs again. */
    struct co *b = ct_spawn_ok(body_reuse_second, u);
    /* Cancel a and close its descriptor before a runs again; the number
     * is at once another pipe's, and b waits on it. */
    co_cancel(a);
    co_close(p1[0]);
    co_close(p1[1]);
    ct_nb_pipe(u->p2);
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
    ct_run(main_reuse, &u);
    cr_assert_eq(u.first_r, -ECANCELED);
    cr_assert_eq(u.second_r, 0,
                 "a wait on a reused descriptor number returned %d: the "
                 "cancelled coroutine's late clean-up removed the new "
                 "waiter's interest",
                 u.second_r);
    close(u.p2[0]);
    close(u.p2[1]);
}

struct closer {
    int p[2];
    int wait_r;
    int close_r;
};

static void
body_parked_reader(void *arg)
{
    struct closer *c = arg;
    c->wait_r = co_wait(c->p[0], CO_READABLE, 2000);
}

static void
main_closer(void *arg)
{
    struct closer *c = arg;
    struct co *r = ct_spawn_ok(body_parked_reader, c);
    co_yield(); /* r parks on p[0] */
    c->close_r = co_close(c->p[0]);
    c->p[0] = -1;
    co_join(r);
}

TK_TEST(sched, close_wakes_waiter,
        .description = "[CO-29] co_close of a descriptor a coroutine is "
                       "parked on wakes it with -EBADF")
{
    struct closer c = {{-1, -1}, 1, 1};
    ct_nb_pipe(c.p);
    ct_run(main_closer, &c);
    cr_assert_eq(c.close_r, 0, "co_close returned %d", c.close_r);
    cr_assert_eq(c.wait_r, -EBADF,
                 "a coroutine parked on a descriptor another co_closed "
                 "returned %d from co_wait, expected -EBADF (-9): it was "
                 "left waiting on a descriptor that is gone",
                 c.wait_r);
    close(c.p[1]);
}
