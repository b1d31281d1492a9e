/*
 * bench.c - chapter 07's benchmark: what a switch and a stack cost, and
 * whether an idle scheduler sleeps.
 *
 * Metrics (the manifest sets their thresholds):
 *  - syscalls_per_switch (counted): system calls made while 100,000
 *    resume/yield pairs run, per switch, counted with ptrace by the perf
 *    kit (pk_count_syscalls) at the kernel's syscall entry. 0 for a
 *    switch in user space; 1 for one that saves the signal mask as
 *    swapcontext does.
 *  - switch_speedup (timed ratio): time of a swapcontext round trip over
 *    a co_resume/co_yield round trip, median of the runs, in the same run.
 *  - rss_kib_per_coroutine (counted): growth of VmRSS over 20,000 idle
 *    coroutines with 64 KiB stacks, each run to its first yield, per
 *    coroutine.
 *  - idle_epoll_waits (counted): epoll_wait calls while 100 coroutines
 *    sleep 200 ms (counted with ptrace too): a few, not thousands.
 *  - thread_switch_over_co (shown): a round trip between two threads
 *    through pipes over a coroutine round trip. Boost.Context's
 *    jump_fcontext is timed too when its library is installed, and shown
 *    on the run lines only (fcontext.c: it is not a course dependency).
 *  - syscalls_per_echo (counted): system calls co_echo_serve makes per
 *    64-byte message, 8 clients (another process) each making 1,000
 *    round trips; epoll_ctl_per_echo (counted), the epoll_ctl calls among
 *    them (a scheduler that adds and removes a descriptor at every park
 *    makes about 2).
 *  - baseline_syscalls_per_echo (shown): the same count for a small epoll
 *    server in chapter 02's design, written in this file (the bench
 *    cannot link the student's chapter 02).
 *  - echo_throughput_over_baseline (shown): the baseline's time for the
 *    same load over co_echo_serve's, alternating, median of the runs:
 *    above 1 when the coroutines are faster.
 *  - kv_* (exercise 4): in bench_kv.c, which says what each one counts.
 *
 * Sections: the switch; memory; the scheduler; the echo server; main.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench_kv.h"
#include "fcontext.h"
#include "co.h"
#include "iolab/die.h"
#include "iolab/perfkit.h"

#define COUNT_PAIRS 100000  /* resume/yield pairs counted with ptrace */
#define TIMED_PAIRS 1000000 /* round trips timed per run and method */
#define RSS_N 20000         /* idle coroutines (4 GiB address-space cap) */
#define RSS_STACK (64 * 1024)
#define IDLE_N 100  /* sleeping coroutines */
#define IDLE_MS 200 /* how long they sleep */
#define PIPE_TRIPS 20000
#define ECHO_CONNS 8    /* clients of the counted echo server */
#define ECHO_TRIPS 1000 /* round trips per client */
#define ECHO_MSG 64     /* bytes per message */

/* ===================================================================== */
/* The switch                                                            */
/* ===================================================================== */

static void
body_forever(void *arg)
{
    (void)arg;
    for (;;)
        co_yield();
}

static int
count_switches(void *arg)
{
    (void)arg;
    struct co *co = co_create(body_forever, NULL, 0);
    if (co == NULL)
        return 1;
    if (co_resume(co) != 0) /* the first entry: outside the region */
        return 2;
    pk_region_begin();
    for (int i = 0; i < COUNT_PAIRS; i++)
        if (co_resume(co) != 0)
            return 3;
    pk_region_end();
    co_destroy(co);
    return 0;
}

static ucontext_t uc_main, uc_co;

static void
uc_body(void)
{
    for (;;)
        swapcontext(&uc_co, &uc_main);
}

/* ns per swapcontext round trip (two swaps). */
static double
time_ucontext(void)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    if (getcontext(&uc_co) != 0)
        die_errno("getcontext", "");
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = sizeof(stack);
    uc_co.uc_link = NULL;
    makecontext(&uc_co, uc_body, 0);
    swapcontext(&uc_main, &uc_co);
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < TIMED_PAIRS; i++)
        swapcontext(&uc_main, &uc_co);
    return (double)(pk_now_ns() - t0) / TIMED_PAIRS;
}

/*
 * ns per rt_sigprocmask system call, the one swapcontext makes per switch
 * to restore the signal mask: what a system call costs on this machine,
 * which is most of what a swapcontext round trip costs.
 */
static double
time_sigprocmask(void)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < TIMED_PAIRS / 4; i++)
        sigprocmask(SIG_SETMASK, &now, NULL);
    return (double)(pk_now_ns() - t0) / (TIMED_PAIRS / 4);
}

/* ns per co_resume/co_yield round trip. */
static double
time_co(struct co *co)
{
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < TIMED_PAIRS; i++)
        if (co_resume(co) != 0)
            die("co_resume failed");
    return (double)(pk_now_ns() - t0) / TIMED_PAIRS;
}

/*
 * ns per round trip of co_switch alone, without co_resume's and co_yield's
 * bookkeeping (the checks, the current coroutine, the states): what
 * Boost.Context's jump_fcontext does, for a like-for-like comparison. The
 * body is entered once through its initial frame, then the two stacks
 * switch straight to each other.
 */
static void *raw_main_sp, *raw_co_sp;

static void
raw_body(void *arg)
{
    (void)arg;
    for (;;)
        co_switch(&raw_co_sp, raw_main_sp);
}

static double
time_raw_switch(void)
{
    struct co *co = co_create(raw_body, NULL, 0);
    if (co == NULL)
        die("co_create failed");
    co_switch(&raw_main_sp, co->sp); /* the first entry */
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < TIMED_PAIRS; i++)
        co_switch(&raw_main_sp, raw_co_sp);
    double ns = (double)(pk_now_ns() - t0) / TIMED_PAIRS;
    co_destroy(co); /* never resumed: suspended, so it may be freed */
    return ns;
}

/* A round trip between two threads: a byte each way through pipes. */
static int ping[2], pong[2];

static void *
pong_thread(void *arg)
{
    (void)arg;
    char b;
    while (read(ping[0], &b, 1) == 1 && b != 'q')
        if (write(pong[1], &b, 1) != 1)
            break;
    return NULL;
}

static double
time_threads(void)
{
    pthread_t t;
    char b = 'p';
    if (pipe(ping) != 0 || pipe(pong) != 0)
        die_errno("pipe", "");
    if (pthread_create(&t, NULL, pong_thread, NULL) != 0)
        die("pthread_create failed");
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < PIPE_TRIPS; i++)
        if (write(ping[1], &b, 1) != 1 || read(pong[0], &b, 1) != 1)
            die_errno("ping", "pipe");
    double ns = (double)(pk_now_ns() - t0) / PIPE_TRIPS;
    b = 'q';
    if (write(ping[1], &b, 1) != 1)
        die_errno("write", "pipe");
    pthread_join(t, NULL);
    close(ping[0]);
    close(ping[1]);
    close(pong[0]);
    close(pong[1]);
    return ns;
}

static void
bench_switch(int runs)
{
    struct pk_syscalls sc;

    printf("switch: %d resume/yield pairs, system calls counted\n",
           COUNT_PAIRS);
    int err = pk_count_syscalls(count_switches, NULL, &sc);
    if (err != 0) {
        printf("  not measured: %s\n", err == -ECHILD
                                           ? "co_create or co_resume failed"
                                           : strerror(-err));
        return;
    }
    double per = (double)sc.total / (2.0 * COUNT_PAIRS);
    printf("  %lu system calls: %.4f per switch\n", sc.total, per);
    pk_metric("syscalls_per_switch", per);

    struct co *co = co_create(body_forever, NULL, 0);
    if (co == NULL || co_resume(co) != 0)
        die("co_create or the first co_resume failed");
    double *ratio = calloc((size_t)runs, sizeof(double));
    double *thr = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL || thr == NULL)
        die("out of memory");
    for (int r = 0; r < runs; r++) {
        double uc = time_ucontext();
        double mine = time_co(co);
        double th = time_threads();
        double fc = time_fcontext(TIMED_PAIRS);
        ratio[r] = uc / mine;
        thr[r] = th / mine;
        printf("  run %d: round trip: swapcontext %.1f ns, co %.1f ns, "
               "threads through pipes %.0f ns; swapcontext/co %.1f\n",
               r + 1, uc, mine, th, ratio[r]);
        double raw = time_raw_switch();
        printf("  run %d: one rt_sigprocmask %.0f ns; round trip: co_switch "
               "alone %.1f ns",
               r + 1, time_sigprocmask(), raw);
        if (fc > 0)
            printf(", Boost.Context's jump_fcontext %.1f ns; fcontext over "
                   "co_switch alone %.2f",
                   fc, fc / raw);
        else if (r == 0)
            printf("; jump_fcontext not timed: libboost_context.so not "
                   "found (Debian: libboost-context-dev)");
        printf("\n");
    }
    pk_metric("switch_speedup", pk_median(ratio, (size_t)runs));
    pk_metric("thread_switch_over_co", pk_median(thr, (size_t)runs));
    free(ratio);
    free(thr);
    co_destroy(co);
}

/* ===================================================================== */
/* Memory                                                                */
/* ===================================================================== */

static void
bench_memory(void)
{
    struct co **v = calloc(RSS_N, sizeof(*v));
    if (v == NULL)
        die("out of memory");
    printf("memory: %d idle coroutines with %d KiB stacks\n", RSS_N,
           RSS_STACK / 1024);
    long before = pk_rss_kib();
    for (int i = 0; i < RSS_N; i++) {
        v[i] = co_create(body_forever, NULL, RSS_STACK);
        if (v[i] == NULL) {
            printf("  not measured: co_create failed after %d: %s\n", i,
                   strerror(errno));
            for (int k = 0; k < i; k++)
                co_destroy(v[k]);
            free(v);
            return;
        }
        if (co_resume(v[i]) != 0)
            die("co_resume failed");
    }
    long after = pk_rss_kib();
    double per = (double)(after - before) / RSS_N;
    printf("  VmRSS %ld KiB -> %ld KiB: %.2f KiB per coroutine\n", before,
           after, per);
    pk_metric("rss_kib_per_coroutine", per);
    for (int i = 0; i < RSS_N; i++)
        co_destroy(v[i]);
    free(v);
}

/* ===================================================================== */
/* The scheduler                                                         */
/* ===================================================================== */

static void
body_sleep(void *arg)
{
    (void)arg;
    co_sleep(IDLE_MS);
}

static void
main_idle(void *arg)
{
    struct co *v[IDLE_N];
    (void)arg;
    for (int i = 0; i < IDLE_N; i++)
        v[i] = co_spawn(body_sleep, NULL, 0);
    for (int i = 0; i < IDLE_N; i++)
        if (v[i] != NULL)
            co_join(v[i]);
}

static int
count_idle(void *arg)
{
    (void)arg;
    pk_region_begin();
    int r = co_sched_run(main_idle, NULL);
    pk_region_end();
    return r == 0 ? 0 : 1;
}

static void
bench_idle(void)
{
    struct pk_syscalls sc;

    printf("scheduler: %d coroutines sleep %d ms\n", IDLE_N, IDLE_MS);
    int err = pk_count_syscalls(count_idle, NULL, &sc);
    if (err != 0) {
        printf("  not measured: %s\n",
               err == -ECHILD ? "co_sched_run failed" : strerror(-err));
        return;
    }
    unsigned long waits = sc.by_nr[SYS_epoll_wait] + sc.by_nr[SYS_epoll_pwait];
#ifdef SYS_epoll_pwait2
    waits += sc.by_nr[SYS_epoll_pwait2];
#endif
    printf("  %lu epoll_wait calls, %lu system calls in all\n", waits,
           sc.total);
    pk_metric("idle_epoll_waits", (double)waits);
}

/* ===================================================================== */
/* The echo server                                                       */
/* ===================================================================== */

/* The clients, in a process of their own: each round, every connection
 * sends a message, then every connection reads its echo back. Exits 0
 * when every echo came back whole; a byte on stop_wr ends the server. */
static void
echo_clients(unsigned short port, int stop_wr)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons(port)};
    int fd[ECHO_CONNS];
    char msg[ECHO_MSG], got[ECHO_MSG];
    int ok = 1;

    memset(msg, 'e', sizeof(msg));
    for (int i = 0; i < ECHO_CONNS; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd[i] == -1 ||
            connect(fd[i], (struct sockaddr *)&a, sizeof(a)) == -1)
            _exit(1);
    }
    for (int t = 0; t < ECHO_TRIPS && ok; t++) {
        for (int i = 0; i < ECHO_CONNS; i++)
            ok &= pk_send_all(fd[i], msg, sizeof(msg)) == 0;
        for (int i = 0; i < ECHO_CONNS && ok; i++)
            for (size_t off = 0; off < sizeof(got) && ok;) {
                ssize_t n = read(fd[i], got + off, sizeof(got) - off);
                ok = n > 0;
                off += n > 0 ? (size_t)n : 0;
            }
    }
    for (int i = 0; i < ECHO_CONNS; i++)
        close(fd[i]);
    _exit(ok && write(stop_wr, "x", 1) == 1 ? 0 : 1);
}

/*
 * The baseline: chapter 02's epoll server in the shape of that chapter's
 * reference, written here by the course so that the same run can compare
 * against it. Level-triggered, each connection added once for EPOLLIN
 * when accepted; one read per event, and what it read written back at
 * once. It keeps no output queue: under this load (one 64-byte message
 * in flight per connection) a socket buffer never fills, and a short
 * write ends the run as a failure rather than going unnoticed.
 * Returns 0 when stop_fd becomes readable, 1 on any failure.
 */
static int
baseline_serve(int lfd, int stop_fd)
{
    struct epoll_event ev[64];
    char buf[CO_ECHO_BUF];
    int ep = epoll_create1(EPOLL_CLOEXEC), rc = 1;

    if (ep == -1)
        return 1;
    struct epoll_event l = {.events = EPOLLIN, .data.fd = lfd};
    struct epoll_event st = {.events = EPOLLIN, .data.fd = stop_fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &l) == -1 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &st) == -1)
        goto out;
    for (;;) {
        int n = epoll_wait(ep, ev, 64, -1);
        if (n == -1 && errno != EINTR)
            goto out;
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == stop_fd) {
                rc = 0;
                goto out;
            }
            if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                if (c != -1 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce) == -1)
                    goto out;
                continue;
            }
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r == -1 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                close(fd); /* the last reference: epoll forgets it */
                continue;
            }
            if (write(fd, buf, (size_t)r) != r)
                goto out;
        }
    }
out:
    /* Connections still open at a stop are the process's to drop. */
    close(ep);
    return rc;
}

/* Which server a run measures. */
enum echo_server_kind { ECHO_CO, ECHO_BASELINE };

struct echo_run {
    enum echo_server_kind kind;
    int lfd, stop_fd;
};

static int
serve_one(void *arg)
{
    struct echo_run *t = arg;

    pk_region_begin();
    int r = t->kind == ECHO_CO ? co_echo_serve(t->lfd, t->stop_fd, NULL, NULL)
                               : baseline_serve(t->lfd, t->stop_fd);
    pk_region_end();
    return r == 0 ? 0 : 1;
}

/*
 * One run of the clients against one server: counted with ptrace when sc
 * is not NULL (the server in a traced child), else timed (the server on
 * this process, the clients' whole run measured). Returns the seconds the
 * run took, or -1 with a message when it failed.
 */
static double
echo_once(enum echo_server_kind kind, struct pk_syscalls *sc)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int stop[2], status = 0, err;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
        listen(lfd, 64) == -1 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) == -1)
        die_errno("listen", "127.0.0.1:0");
    if (pipe2(stop, O_CLOEXEC) == -1)
        die_errno("pipe", "stop");
    fflush(NULL);
    uint64_t t0 = pk_now_ns();
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork", "clients");
    if (pid == 0)
        echo_clients(ntohs(a.sin_port), stop[1]);
    struct echo_run t = {.kind = kind, .lfd = lfd, .stop_fd = stop[0]};
    err = sc != NULL ? pk_count_syscalls(serve_one, &t, sc)
                     : (serve_one(&t) == 0 ? 0 : -ECHILD);
    waitpid(pid, &status, 0);
    double secs = (double)(pk_now_ns() - t0) / 1e9;
    close(lfd);
    close(stop[0]);
    close(stop[1]);
    if (err != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  %s not measured: %s\n",
               kind == ECHO_CO ? "co_echo_serve" : "the baseline",
               err == -ECHILD ? "the server returned an error"
               : err != 0     ? strerror(-err)
                              : "the clients got wrong echoes");
        return -1;
    }
    return secs;
}

static void
bench_echo(int runs)
{
    struct pk_syscalls co, base;
    double msgs = (double)ECHO_CONNS * ECHO_TRIPS;

    printf("echo: %d clients, %d round trips of %d bytes each\n", ECHO_CONNS,
           ECHO_TRIPS, ECHO_MSG);
    if (echo_once(ECHO_CO, &co) < 0 || echo_once(ECHO_BASELINE, &base) < 0)
        return;
    printf("  co_echo_serve: %lu system calls for %.0f echoes: %.2f per echo "
           "(%.3f of them epoll_ctl)\n",
           co.total, msgs, (double)co.total / msgs,
           (double)co.by_nr[SYS_epoll_ctl] / msgs);
    printf("  baseline (chapter 02's design, level-triggered): %.2f per "
           "echo\n",
           (double)base.total / msgs);
    pk_metric("syscalls_per_echo", (double)co.total / msgs);
    pk_metric("epoll_ctl_per_echo", (double)co.by_nr[SYS_epoll_ctl] / msgs);
    pk_metric("baseline_syscalls_per_echo", (double)base.total / msgs);

    /* Throughput: the two servers alternate, run after run, so that the
     * machine's load falls on both alike; the median of the ratios. */
    double *ratio = calloc((size_t)runs, sizeof(double));
    if (ratio == NULL)
        die_errno("calloc", "ratios");
    for (int r = 0; r < runs; r++) {
        double tc = echo_once(ECHO_CO, NULL);
        double tb = echo_once(ECHO_BASELINE, NULL);
        if (tc <= 0 || tb <= 0) {
            free(ratio);
            return;
        }
        ratio[r] = tb / tc; /* above 1: the coroutines are faster */
    }
    pk_metric("echo_throughput_over_baseline", pk_median(ratio, (size_t)runs));
    free(ratio);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);

    bench_switch(runs);
    bench_memory();
    bench_idle();
    bench_echo(runs);
    bench_kv(runs);
    return 0;
}
