/*
 * test_fault.c - unit tests of the fault-injection layer (shared/src/fault.c).
 *
 * Chapter tests trust this layer to do exactly what a plan says: a step
 * that silently passed through would turn a fault test into one that can
 * never fail. These tests call the fi_* replacements directly, on real
 * pipes and sockets, and check each step's effect and the call counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ===================================================================== */
/* Plans                                                                 */
/* ===================================================================== */

TK_TEST(fault, malformed_plans_are_refused,
        .description = "a typo in a plan is an error, never a silent pass")
{
    const char *bad[] = {"shrt:3",     "short:0", "short:x",
                         "err:EBOGUS", "err:",    "pass * eintr"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(fi_plan(FI_READ, bad[i]), -EINVAL, "plan \"%s\"", bad[i]);
    cr_assert_eq(fi_plan(FI_NOPS, "pass"), -EINVAL);
    cr_assert_eq(fi_plan_random(FI_READ, 1, 60, 4, 30, 20), -EINVAL,
                 "percentages over 100 in total");
}

TK_TEST(fault, read_steps_in_order,
        .description = "short, eintr, err:NAME, zero, then pass-through")
{
    int fds[2];
    char buf[16];

    tk_pipe(fds);
    tk_write_all(fds[1], "abcdefghij", 10);
    fi_reset();
    cr_assert_eq(fi_plan(FI_READ, "short:3 eintr err:ENOSPC zero"), 0);

    cr_assert_eq(fi_read(fds[0], buf, sizeof(buf)), 3);
    cr_assert_eq(memcmp(buf, "abc", 3), 0);
    errno = 0;
    cr_assert_eq(fi_read(fds[0], buf, sizeof(buf)), -1);
    cr_assert_eq(errno, EINTR);
    cr_assert_eq(fi_read(fds[0], buf, sizeof(buf)), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_eq(fi_read(fds[0], buf, sizeof(buf)), 0, "the zero step");
    cr_assert_eq(fi_read(fds[0], buf, sizeof(buf)), 7, "then pass-through");
    cr_assert_eq(memcmp(buf, "defghij", 7), 0, "no byte lost to a fault");
    cr_assert_eq(fi_calls(FI_READ), 5);
    close(fds[0]);
    close(fds[1]);
}

TK_TEST(fault, repeating_plan_wraps,
        .description = "a final * repeats the script forever")
{
    int fds[2];
    char buf[4];

    tk_pipe(fds);
    fi_reset();
    cr_assert_eq(fi_plan(FI_WRITE, "eagain short:1 *"), 0);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(fi_write(fds[1], "xy", 2), -1);
        cr_assert_eq(errno, EAGAIN);
        cr_assert_eq(fi_write(fds[1], "xy", 2), 1, "round %d", round);
    }
    cr_assert_eq(tk_read_exact(fds[0], buf, 3, 1000), 3);
    cr_assert_eq(fi_calls(FI_WRITE), 6);
    close(fds[0]);
    close(fds[1]);
}

TK_TEST(fault, writev_short_trims_without_touching_caller,
        .description = "a short writev moves a prefix; the iovec is unchanged")
{
    int fds[2];
    char a[] = "hello", b[] = "world", got[8];
    struct iovec iov[2] = {{a, 5}, {b, 5}};

    tk_pipe(fds);
    fi_reset();
    cr_assert_eq(fi_plan(FI_WRITEV, "short:7"), 0);
    cr_assert_eq(fi_writev(fds[1], iov, 2), 7);
    cr_assert_eq(iov[0].iov_len, 5);
    cr_assert_eq(iov[1].iov_len, 5);
    cr_assert_eq(tk_read_exact(fds[0], got, 7, 1000), 7);
    cr_assert_eq(memcmp(got, "hellowo", 7), 0);
    close(fds[0]);
    close(fds[1]);
}

TK_TEST(fault, random_plan_is_reproducible,
        .description = "the same seed gives the same faults")
{
    int outcome[2][200];
    int fds[2];
    char buf[64];

    tk_socketpair(fds);
    for (int pass = 0; pass < 2; pass++) {
        fi_reset();
        cr_assert_eq(fi_plan_random(FI_SEND, 42, 30, 8, 20, 20), 0);
        for (int i = 0; i < 200; i++) {
            ssize_t n = fi_send(fds[0], buf, sizeof(buf), MSG_DONTWAIT);
            outcome[pass][i] = n >= 0 ? (int)n : -errno;
            if (n > 0)
                cr_assert_eq(tk_read_exact(fds[1], buf, (size_t)n, 1000), n);
        }
    }
    cr_assert_eq(memcmp(outcome[0], outcome[1], sizeof(outcome[0])), 0);
    int faults = 0;
    for (int i = 0; i < 200; i++)
        faults += outcome[0][i] != (int)sizeof(buf);
    cr_assert(faults > 40 && faults < 160, "about 70%% faults, got %d / 200",
              faults);
    close(fds[0]);
    close(fds[1]);
}

/* ===================================================================== */
/* Calls that move no bytes                                              */
/* ===================================================================== */

TK_TEST(fault, waits_fail_without_waiting,
        .description = "FI_WAIT: eintr fails poll and epoll_wait at once")
{
    int fds[2];
    struct epoll_event ev = {.events = EPOLLIN};

    tk_pipe(fds);
    fi_reset();
    cr_assert_eq(fi_plan(FI_WAIT, "eintr err:ENOMEM"), 0);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    /* Had it reached the kernel, this poll would block forever. */
    cr_assert_eq(fi_poll(&pfd, 1, -1), -1);
    cr_assert_eq(errno, EINTR);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    cr_assert_geq(ep, 0);
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev), 0);
    cr_assert_eq(fi_epoll_wait(ep, &ev, 1, -1), -1);
    cr_assert_eq(errno, ENOMEM);
    cr_assert_eq(fi_epoll_wait(ep, &ev, 1, 0), 0, "then pass-through");
    cr_assert_eq(fi_calls(FI_WAIT), 3);
    close(ep);
    close(fds[0]);
    close(fds[1]);
}

TK_TEST(fault, accept_and_sync_faults,
        .description = "FI_ACCEPT: reset is ECONNABORTED; FI_FSYNC: err:EIO")
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);

    fi_reset();
    cr_assert_eq(fi_plan(FI_ACCEPT, "reset err:EMFILE"), 0);
    cr_assert_eq(fi_accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
    cr_assert_eq(errno, ECONNABORTED);
    cr_assert_eq(fi_accept(lfd, NULL, NULL), -1);
    cr_assert_eq(errno, EMFILE);
    int c = tk_connect_tcp(port);
    int a = fi_accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(a, 0, "then a real accept: %s", strerror(errno));

    char *path = tk_make_file("f", "x", 1);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fi_plan(FI_FSYNC, "err:EIO pass eintr"), 0);
    cr_assert_eq(fi_fdatasync(fd), -1);
    cr_assert_eq(errno, EIO);
    cr_assert_eq(fi_fsync(fd), 0);
    cr_assert_eq(fi_fsync(fd), -1);
    cr_assert_eq(errno, EINTR);
    cr_assert_eq(fi_calls(FI_FSYNC), 3);
    close(fd);
    close(a);
    close(c);
    close(lfd);
}

TK_TEST(fault, offset_and_message_calls_share_plans,
        .description = "pwrite counts as write, sendmsg as send (trimmed)")
{
    char *path = tk_make_file("p", "..........", 10);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int sv[2];
    char got[8];

    cr_assert_geq(fd, 0);
    fi_reset();
    cr_assert_eq(fi_plan(FI_WRITE, "short:2 err:ENOSPC"), 0);
    cr_assert_eq(fi_pwrite(fd, "abcd", 4, 3), 2);
    cr_assert_eq(fi_pwrite(fd, "abcd", 4, 3), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_eq(pread(fd, got, 6, 0), 6);
    cr_assert_eq(memcmp(got, "...ab.", 6), 0, "2 bytes at offset 3");
    cr_assert_eq(fi_calls(FI_WRITE), 2);

    tk_socketpair(sv);
    char a[] = "hello", b[] = "world";
    struct iovec iov[2] = {{a, 5}, {b, 5}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    cr_assert_eq(fi_plan(FI_SEND, "short:6"), 0);
    cr_assert_eq(fi_sendmsg(sv[0], &msg, 0), 6);
    cr_assert_eq(msg.msg_iov, iov, "the caller's header is untouched");
    cr_assert_eq(iov[1].iov_len, 5);
    cr_assert_eq(tk_read_exact(sv[1], got, 6, 1000), 6);
    cr_assert_eq(memcmp(got, "hellow", 6), 0);
    cr_assert_eq(fi_calls(FI_SEND), 1);
    close(sv[0]);
    close(sv[1]);
    close(fd);
}

/* ===================================================================== */
/* Observers                                                             */
/* ===================================================================== */

struct seen_calls {
    int n;  /* calls observed */
    int fd; /* the last call's descriptor */
};

static void
note_call(enum fi_op op, int fd, void *arg)
{
    struct seen_calls *s = arg;

    (void)op;
    s->n++;
    s->fd = fd;
}

TK_TEST(fault, observer_sees_each_call_and_its_descriptor,
        .description = "fi_observe shows every call of its op with the "
                       "call's descriptor, failed ones included; fi_reset "
                       "removes it")
{
    int fds[2];
    struct seen_calls s = {0};

    tk_pipe(fds);
    fi_reset();
    cr_assert_eq(fi_observe(FI_NOPS, note_call, &s), -EINVAL);
    cr_assert_eq(fi_observe(FI_FSYNC, note_call, &s), 0);
    cr_assert_eq(fi_plan(FI_FSYNC, "err:EIO"), 0);
    errno = 0;
    cr_assert_eq(fi_fsync(fds[1]), -1);
    cr_assert_eq(errno, EIO);
    cr_assert_eq(s.n, 1, "a call that the plan failed is still observed");
    cr_assert_eq(s.fd, fds[1]);
    fi_fdatasync(fds[0]);
    cr_assert_eq(s.n, 2, "fdatasync belongs to FI_FSYNC too");
    cr_assert_eq(s.fd, fds[0]);
    fi_read(fds[0], NULL, 0);
    cr_assert_eq(s.n, 2, "another op's call is not shown");
    fi_reset();
    fi_fsync(fds[1]);
    cr_assert_eq(s.n, 2, "fi_reset removes the observer");
    close(fds[0]);
    close(fds[1]);
}

/* ===================================================================== */
/* Memory calls                                                          */
/* ===================================================================== */

/* The last memory call shown, and how many were. */
struct seen_mem {
    int n;
    struct fi_mem_call last;
};

static void
note_mem(const struct fi_mem_call *call, void *arg)
{
    struct seen_mem *s = arg;

    s->n++;
    s->last = *call;
}

TK_TEST(fault, memory_calls_observed_and_failed,
        .description = "mmap, madvise, msync and munmap pass through, show "
                       "their arguments and outcome to fi_observe_mem, and "
                       "fail as planned")
{
    struct seen_mem s = {0};
    char *path = tk_make_file("mapped", "0123456789", 10);
    int fd = open(path, O_RDWR | O_CLOEXEC);

    cr_assert_geq(fd, 0);
    fi_reset();
    cr_assert_eq(fi_observe_mem(FI_FSYNC, note_mem, &s), -EINVAL);
    for (enum fi_op op = FI_MMAP; op <= FI_MSYNC; op++)
        cr_assert_eq(fi_observe_mem(op, note_mem, &s), 0);
    char *p = fi_mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_neq(p, MAP_FAILED);
    cr_assert(s.n == 1 && s.last.op == FI_MMAP && s.last.addr == p &&
              s.last.len == 10 && s.last.fd == fd &&
              s.last.flags == MAP_SHARED && s.last.ret == 0);
    cr_assert_eq(fi_madvise(p, 10, MADV_SEQUENTIAL), 0);
    cr_assert(s.n == 2 && s.last.op == FI_MADVISE && s.last.addr == p &&
              s.last.flags == MADV_SEQUENTIAL && s.last.fd == -1);
    p[0] = 'x';
    cr_assert_eq(fi_msync(p, 10, MS_SYNC), 0);
    cr_assert(s.n == 3 && s.last.op == FI_MSYNC && s.last.flags == MS_SYNC);
    cr_assert_eq(fi_munmap(p, 10), 0);
    cr_assert(s.n == 4 && s.last.op == FI_MUNMAP && s.last.len == 10);

    cr_assert_eq(fi_plan(FI_MMAP, "err:ENOMEM"), 0);
    errno = 0;
    cr_assert_eq(fi_mmap(NULL, 10, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
    cr_assert_eq(errno, ENOMEM, "errno survives the observer");
    cr_assert(s.n == 5 && s.last.addr == MAP_FAILED && s.last.ret == -1,
              "a call that the plan failed is still observed");
    cr_assert_eq(fi_calls(FI_MMAP), 2);
    cr_assert_eq(fi_calls(FI_MUNMAP), 1);
    fi_reset();
    fi_madvise(NULL, 0, MADV_NORMAL);
    cr_assert_eq(s.n, 5, "fi_reset removes the memory observers");
    close(fd);
    free(path);
}
