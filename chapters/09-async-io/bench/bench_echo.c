/*
 * bench_echo.c - chapter 09's echo bench (exercise 2): uio_echo_serve
 * against a level-triggered epoll server in chapter 02's design, the same
 * clients for both, in the same run. Reports:
 *
 *  echo_syscalls_over_epoll (counted) uio_echo_serve's system calls per
 *                           echo over the epoll server's, both counted
 *                           with ptrace between the region marks.
 *  uring_syscalls_per_echo  (info) uio_echo_serve's count per echo.
 *  epoll_syscalls_per_echo  (info) the epoll server's.
 *  echo_speed_over_epoll    (info) the epoll server's time for the load
 *                           over uio_echo_serve's, the two alternating,
 *                           median of --runs runs: above 1, io_uring is
 *                           faster.
 *
 * The load: CONNS connections, each making TRIPS round trips of MSG
 * bytes; every round, every connection sends, then every one reads its
 * echo back, so that a server sees many connections ready at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "uio.h"

void bench_echo(int runs, const char *uring_off);

#define CONNS 32
#define TRIPS 500
#define MSG 100

/* The clients, in a process of their own; exit 0 when every echo came
 * back right. A byte on stop_wr then tells the server to stop. */
static _Noreturn void
clients(unsigned short port, int stop_wr)
{
    int fd[CONNS], bad = 0;
    char out[MSG], in[MSG];

    for (int i = 0; i < CONNS; i++)
        if ((fd[i] = pk_dial_tcp(port, 10000)) < 0)
            _exit(1);
    for (int t = 0; t < TRIPS && !bad; t++) {
        for (int i = 0; i < CONNS && !bad; i++) {
            memset(out, 'a' + (i + t) % 26, sizeof(out));
            bad = pk_send_all(fd[i], out, sizeof(out)) != 0;
        }
        for (int i = 0; i < CONNS && !bad; i++) {
            size_t got = 0;
            while (got < sizeof(in) && !bad) {
                ssize_t n = read(fd[i], in + got, sizeof(in) - got);
                bad = n <= 0;
                got += n > 0 ? (size_t)n : 0;
            }
            bad |= in[0] != 'a' + (i + t) % 26 || in[MSG - 1] != in[0];
        }
    }
    for (int i = 0; i < CONNS; i++)
        close(fd[i]);
    _exit(!bad && write(stop_wr, "s", 1) == 1 ? 0 : 1);
}

/*
 * The epoll server, in chapter 02's design: level-triggered, a
 * connection registered once for input, one read per readiness and what
 * it brought written back at once. Under this load (one message in
 * flight per connection) no socket buffer fills, so it needs no output
 * queue; a short write fails the run instead of passing unseen.
 */
static int
epoll_serve(int lfd, int stop_fd)
{
    struct epoll_event evs[64];
    char buf[4096];
    int ep = epoll_create1(EPOLL_CLOEXEC), done = 0, failed = ep < 0;
    struct epoll_event on_l = {.events = EPOLLIN, .data.fd = lfd};
    struct epoll_event on_s = {.events = EPOLLIN, .data.fd = stop_fd};

    failed |= !failed && (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &on_l) < 0 ||
                          epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &on_s) < 0);
    while (!done && !failed) {
        int n = epoll_wait(ep, evs, 64, -1);
        failed = n < 0 && errno != EINTR;
        for (int i = 0; i < n && !done && !failed; i++) {
            int fd = evs[i].data.fd;
            if (fd == stop_fd) {
                done = 1;
            } else if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct epoll_event on_c = {.events = EPOLLIN, .data.fd = c};
                failed = c >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &on_c) < 0;
            } else {
                ssize_t r = read(fd, buf, sizeof(buf));
                if (r > 0)
                    failed = write(fd, buf, (size_t)r) != r;
                else if (r == 0 || errno != EAGAIN)
                    close(fd); /* epoll drops it with its last reference */
            }
        }
    }
    if (ep >= 0)
        close(ep);
    return failed;
}

struct server_run {
    bool uring;
    int lfd, stop_fd;
};

static int
serve(void *arg)
{
    struct server_run *r = arg;

    pk_region_begin();
    int err = r->uring ? uio_echo_serve(r->lfd, r->stop_fd, NULL, NULL)
                       : epoll_serve(r->lfd, r->stop_fd);
    pk_region_end();
    return err != 0;
}

/*
 * One run of the load against one server: its system calls counted
 * (sc not NULL: the server in a traced child), or its time taken (the
 * server on this process). Returns the seconds, or -1 after saying why.
 */
static double
run_once(bool uring, struct pk_syscalls *sc)
{
    unsigned short port;
    int stop[2], status = 0;
    int lfd = pk_listen_tcp(&port, 128);

    if (pipe2(stop, O_CLOEXEC) < 0)
        die_errno("pipe", "the stop pipe");
    fflush(NULL);
    uint64_t t0 = pk_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork", "the clients");
    if (pid == 0)
        clients(port, stop[1]);
    struct server_run r = {.uring = uring, .lfd = lfd, .stop_fd = stop[0]};
    int err = sc != NULL ? pk_count_syscalls(serve, &r, sc)
                         : (serve(&r) == 0 ? 0 : -ECHILD);
    waitpid(pid, &status, 0);
    double secs = (double)(pk_now_ns() - t0) / 1e9;
    close(lfd);
    close(stop[0]);
    close(stop[1]);
    if (err != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  %s not measured: %s\n",
               uring ? "uio_echo_serve" : "the epoll server",
               err == -ECHILD ? "the server failed"
               : err != 0     ? strerror(-err)
                              : "the clients got wrong echoes");
        return -1;
    }
    return secs;
}

void
bench_echo(int runs, const char *uring_off)
{
    struct pk_syscalls ur, ep;
    double echoes = (double)CONNS * TRIPS;

    printf("echo: %d connections, %d round trips of %d bytes each\n", CONNS,
           TRIPS, MSG);
    if (uring_off != NULL) {
        printf("  not measured: %s\n", uring_off);
        return;
    }
    if (run_once(true, &ur) < 0 || run_once(false, &ep) < 0)
        return;
    printf("  uio_echo_serve: %.3f system calls per echo (%.3f of them "
           "io_uring_enter)\n",
           (double)ur.total / echoes,
           (double)ur.by_nr[__NR_io_uring_enter] / echoes);
    printf("  epoll server:   %.3f system calls per echo\n",
           (double)ep.total / echoes);
    pk_metric("uring_syscalls_per_echo", (double)ur.total / echoes);
    pk_metric("epoll_syscalls_per_echo", (double)ep.total / echoes);
    if (ep.total > 0)
        pk_metric("echo_syscalls_over_epoll",
                  (double)ur.total / (double)ep.total);

    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        double tu = run_once(true, NULL), te = run_once(false, NULL);
        if (tu <= 0 || te <= 0) {
            free(ratio);
            return;
        }
        ratio[i] = te / tu;
        printf("  run %d: io_uring %.3f s, epoll %.3f s\n", i + 1, tu, te);
    }
    pk_metric("echo_speed_over_epoll", pk_median(ratio, (size_t)runs));
    free(ratio);
}
