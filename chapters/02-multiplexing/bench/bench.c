/*
 * bench.c - chapter 02's benchmark. Prints what it does and reports, for
 * each backend B (select, poll, epoll_lt, epoll_et):
 *
 *  idle_cpu_ms_B      (counted) CPU milliseconds the server thread used in
 *                     one second with 1000 idle connections open (thread
 *                     CPU clock). A server that sleeps in the kernel uses
 *                     none; one that polls burns the whole second.
 *  syscalls_per_msg_B (counted) system calls the server made per echoed
 *                     message, counted in the kernel with ptrace, for 8
 *                     clients making 1000 round trips each.
 *  scaling_B          (timed ratio) median round-trip time of one active
 *                     client with many idle connections open (5000; 1000
 *                     for select, which cannot hold more) divided by the
 *                     same with 10 idle connections; median of --runs + 2.
 *  tput_vs_threads    (timed ratio) echoes per second of the epoll-lt
 *                     server over those of a thread-per-connection server
 *                     (given below), 300 connections, same run; median
 *                     of --runs + 2.
 *  cpu_per_echo_vs_threads (info) the thread-per-connection server's CPU
 *                     time per echo over epoll-lt's, in the same runs.
 *
 * The clients always live in another process (loadgen.c): the server has
 * the descriptor table to itself, as select needs.
 *
 * Run by hand: build/grade/chapters/02-multiplexing/bench [--runs N]
 * With MUX_BENCH_DEBUG=1 in the environment it also prints, for the
 * system-call counts, every system call number made more than 100 times
 * (ausyscall NUMBER, from the auditd package, names them).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "loadgen.h"
#include "mux.h"

#define IDLE_CONNS 1000  /* idle efficiency: what select can still hold */
#define FEW 10           /* scaling: idle connections, the small case */
#define MANY 5000        /* scaling: idle connections, the large case */
#define RTT_ROUNDS 500   /* round trips per latency measurement */
#define SC_CONNS 8       /* syscall count: clients */
#define SC_PER_CONN 1000 /* syscall count: round trips per client */
#define TPUT_CONNS 300   /* throughput: concurrent connections */
#define TPUT_MS 1000     /* throughput: duration of one measurement */
#define MSG 64           /* bytes per request */

static const char *const metric_name[MUX_NBACKENDS] = {
    [MUX_SELECT] = "select",
    [MUX_POLL] = "poll",
    [MUX_EPOLL_LT] = "epoll_lt",
    [MUX_EPOLL_ET] = "epoll_et",
};

/* ===================================================================== */
/* Servers in threads, clients in child processes                         */
/* ===================================================================== */

struct server {
    pthread_t thread;
    int backend; /* an enum mux_backend, or -1: thread per connection */
    int lfd, stop[2];
    unsigned short port;
    struct mux_stats st;
    int result;
    bool done; /* the server returned (atomic) */
};

static int tpc_serve(int lfd, int stop_fd);

static void *
server_main(void *arg)
{
    struct server *s = arg;

    s->result = s->backend < 0
                    ? tpc_serve(s->lfd, s->stop[0])
                    : mux_serve(s->lfd, s->stop[0],
                                (enum mux_backend)s->backend, NULL, &s->st);
    __atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* Makes the listening socket (clients may connect at once). */
static void
server_prepare(struct server *s, int backend)
{
    *s = (struct server){.backend = backend};
    s->lfd = pk_listen_tcp(&s->port, 4096);
    if (pipe2(s->stop, O_CLOEXEC) == -1)
        die_errno("pipe", "stop");
}

static void
server_run(struct server *s)
{
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        die("pthread_create failed");
}

static int
server_stop(struct server *s)
{
    if (write(s->stop[1], "x", 1) != 1)
        die_errno("write", "stop pipe");
    pthread_join(s->thread, NULL);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
    return s->result;
}

/*
 * Forks a client process, first flushing stdio so that the child does not
 * print the parent's buffered lines again; what names it if fork fails.
 * Returns 0 in the child, its pid in the parent.
 */
static pid_t
fork_child(const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork", what);
    return pid;
}

/*
 * A child process that holds n idle connections: it reports how many it
 * opened on *ready_fd, then waits until the parent closes *go_fd.
 */
static pid_t
spawn_holder(unsigned short port, int n, int *ready_fd, int *go_fd)
{
    int ready[2], go[2];

    if (pipe2(ready, O_CLOEXEC) == -1 || pipe2(go, O_CLOEXEC) == -1)
        die_errno("pipe", "holder");
    pid_t pid = fork_child("holder");
    if (pid == 0) {
        int *fds = malloc((size_t)n * sizeof(int));
        char c;
        close(ready[0]);
        close(go[1]);
        int got = fds != NULL ? lg_hold(port, fds, n) : 0;
        if (write(ready[1], &got, sizeof(got)) != sizeof(got))
            _exit(1);
        while (read(go[0], &c, 1) == -1 && errno == EINTR)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    *ready_fd = ready[0];
    *go_fd = go[1];
    return pid;
}

/*
 * Waits for the holder's count, then until the server has accepted that
 * many connections (a bounded wait on the server's own counter).
 */
static int
holder_ready(int ready_fd, struct server *s)
{
    int got = 0;

    if (read(ready_fd, &got, sizeof(got)) != sizeof(got))
        die("the idle-connection holder failed");
    close(ready_fd);
    for (int i = 0; i < 10000; i++) {
        if (__atomic_load_n(&s->st.accepted, __ATOMIC_RELAXED) >=
            (unsigned long)got)
            return got;
        if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
            return -1; /* the server gave up (a stub, an error) */
        struct timespec ts = {.tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    return -1; /* the server did not accept them within 10 s */
}

static void
holder_release(pid_t pid, int go_fd)
{
    close(go_fd);
    waitpid(pid, NULL, 0);
}

/* A child process running lg_run; its result comes back through a pipe. */
static pid_t
spawn_load(const struct lg_opts *o, int *result_fd)
{
    int res[2];

    if (pipe2(res, O_CLOEXEC) == -1)
        die_errno("pipe", "load");
    pid_t pid = fork_child("load");
    if (pid == 0) {
        struct lg_result r;
        close(res[0]);
        int err = lg_run(o, &r);
        if (err != 0)
            r.errors++;
        if (write(res[1], &r, sizeof(r)) != sizeof(r))
            _exit(1);
        _exit(0);
    }
    close(res[1]);
    *result_fd = res[0];
    return pid;
}

static struct lg_result
load_result(pid_t pid, int result_fd)
{
    struct lg_result r = {.errors = 1};

    if (read(result_fd, &r, sizeof(r)) != sizeof(r))
        r.errors = 1;
    close(result_fd);
    waitpid(pid, NULL, 0);
    return r;
}

/* ===================================================================== */
/* The baseline: one thread per connection (given, complete)              */
/* ===================================================================== */

static void *
tpc_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t k = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (k == -1 && errno == EINTR)
                continue;
            if (k <= 0)
                goto out;
            off += k;
        }
    }
out:
    close(fd);
    return NULL;
}

/*
 * Accepts until stop_fd is readable, starting a detached thread with a
 * small stack for each connection. Connections end when their clients
 * close them (the load generator has exited before the stop).
 */
static int
tpc_serve(int lfd, int stop_fd)
{
    struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
                          {.fd = stop_fd, .events = POLLIN}};
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    while (poll(p, 2, -1) >= 0 && !(p[1].revents & POLLIN)) {
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_t t;
        if (fd >= 0 &&
            pthread_create(&t, &attr, tpc_conn, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
    pthread_attr_destroy(&attr);
    return 0;
}

/* ===================================================================== */
/* Idle efficiency                                                        */
/* ===================================================================== */

static void
bench_idle(enum mux_backend b)
{
    struct server s;
    int ready, go;
    clockid_t cid;
    struct timespec t0, t1, nap = {.tv_sec = 1};
    char name[64];

    server_prepare(&s, (int)b);
    pid_t pid = spawn_holder(s.port, IDLE_CONNS, &ready, &go);
    server_run(&s);
    int held = holder_ready(ready, &s);
    if (held != IDLE_CONNS) {
        holder_release(pid, go);
        int r = server_stop(&s);
        printf("  %-8s not measured: %d of %d connections accepted, server "
               "returned %d\n",
               mux_backend_name(b), held, IDLE_CONNS, r);
        return;
    }
    if (pthread_getcpuclockid(s.thread, &cid) != 0)
        die("pthread_getcpuclockid failed");
    unsigned long w0 = __atomic_load_n(&s.st.waits, __ATOMIC_RELAXED);
    clock_gettime(cid, &t0);
    while (nanosleep(&nap, &nap) == -1 && errno == EINTR)
        ;
    clock_gettime(cid, &t1);
    unsigned long w1 = __atomic_load_n(&s.st.waits, __ATOMIC_RELAXED);
    holder_release(pid, go);
    int r = server_stop(&s);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("  %-8s %d idle connections: %.3f ms of CPU, %lu waits in 1 s\n",
           mux_backend_name(b), held, ms, w1 - w0);
    if (held != IDLE_CONNS || r != 0) {
        printf("  not measured: %d of %d connections held, server "
               "returned %d\n",
               held, IDLE_CONNS, r);
        return;
    }
    snprintf(name, sizeof(name), "idle_cpu_ms_%s", metric_name[b]);
    pk_metric(name, ms);
}

/* ===================================================================== */
/* System calls per message                                               */
/* ===================================================================== */

struct traced {
    int lfd, stop_fd;
    enum mux_backend b;
};

static int
serve_traced(void *arg)
{
    struct traced *t = arg;

    pk_region_begin();
    int r = mux_serve(t->lfd, t->stop_fd, t->b, NULL, NULL);
    pk_region_end();
    return r == 0 ? 0 : 1;
}

/* The load child, then a byte on the stop pipe when it is done. */
static pid_t
spawn_counted_load(unsigned short port, int stop_wr)
{
    pid_t pid = fork_child("load");
    if (pid == 0) {
        struct lg_opts o = {.port = port,
                            .conns = SC_CONNS,
                            .msg = MSG,
                            .per_conn = SC_PER_CONN};
        struct lg_result r;
        int err = lg_run(&o, &r);
        if (write(stop_wr, "x", 1) != 1)
            _exit(1);
        _exit(err == 0 && r.errors == 0 &&
                      r.requests == (unsigned long long)SC_CONNS * SC_PER_CONN
                  ? 0
                  : 1);
    }
    return pid;
}

static void
bench_syscalls(enum mux_backend b)
{
    struct pk_syscalls sc;
    unsigned short port;
    int stop[2], status = 0;
    char name[64];

    int lfd = pk_listen_tcp(&port, 4096);
    if (pipe2(stop, O_CLOEXEC) == -1)
        die_errno("pipe", "stop");
    pid_t load = spawn_counted_load(port, stop[1]);
    struct traced t = {.lfd = lfd, .stop_fd = stop[0], .b = b};
    int err = pk_count_syscalls(serve_traced, &t, &sc);
    waitpid(load, &status, 0);
    close(lfd);
    close(stop[0]);
    close(stop[1]);
    double msgs = (double)SC_CONNS * SC_PER_CONN;
    if (err != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  %-8s not measured: %s\n", mux_backend_name(b),
               err == -ECHILD ? "mux_serve returned an error"
               : err != 0     ? strerror(-err)
                              : "the clients got wrong echoes");
        return;
    }
    if (getenv("MUX_BENCH_DEBUG"))
        for (int i = 0; i < PK_MAX_SYSCALL; i++)
            if (sc.by_nr[i] > 100)
                printf("    syscall %d: %lu\n", i, sc.by_nr[i]);
    printf("  %-8s %lu system calls for %.0f echoes: %.2f per echo\n",
           mux_backend_name(b), sc.total, msgs, (double)sc.total / msgs);
    snprintf(name, sizeof(name), "syscalls_per_msg_%s", metric_name[b]);
    pk_metric(name, (double)sc.total / msgs);
}

/* ===================================================================== */
/* Scaling: latency with few and with many idle connections               */
/* ===================================================================== */

/* Median round trip (ns) of one client with idle connections open. */
static double
rtt_with_idle(enum mux_backend b, int idle, int *held)
{
    struct server s;
    int ready, go;

    server_prepare(&s, (int)b);
    pid_t pid = spawn_holder(s.port, idle, &ready, &go);
    server_run(&s);
    *held = holder_ready(ready, &s);
    double rtt = *held == idle ? lg_rtt(s.port, RTT_ROUNDS, MSG) : 0;
    holder_release(pid, go);
    if (server_stop(&s) != 0)
        return 0;
    return rtt;
}

static void
bench_scaling(enum mux_backend b, int runs, int many)
{
    double *ratio = calloc((size_t)runs, sizeof(double));
    char name[64];
    int held = 0, few_held = 0;

    if (ratio == NULL)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        double few = rtt_with_idle(b, FEW, &few_held);
        double lots = rtt_with_idle(b, many, &held);
        if (few == 0 || lots == 0 || held != many) {
            printf("  %-8s not measured: %d of %d idle connections held\n",
                   mux_backend_name(b), held, many);
            free(ratio);
            return;
        }
        ratio[i] = lots / few;
        printf("  %-8s run %d: round trip %.1f us with %d idle, %.1f us "
               "with %d idle: ratio %.2f\n",
               mux_backend_name(b), i + 1, few / 1e3, FEW, lots / 1e3, many,
               ratio[i]);
    }
    snprintf(name, sizeof(name), "scaling_%s", metric_name[b]);
    pk_metric(name, pk_median(ratio, (size_t)runs));
    free(ratio);
}

/*
 * The scaling curve, for make charts (--chart DIR): the median round trip
 * of one client against the number of idle connections, for every
 * backend, into DIR/scaling.tsv; "?" where a backend cannot hold that
 * many (select: FD_SETSIZE).
 */
static void
chart_scaling(const char *dir, int runs, int many)
{
    static const int idle[] = {10, 100, 250, 500, 1000, 2000, 3500, 5000};
    FILE *d = pk_chart_open(dir, "scaling",
                            "idle select_us poll_us epoll_lt_us epoll_et_us");
    double *rtt = calloc((size_t)runs, sizeof(double));

    if (rtt == NULL)
        die("out of memory");
    printf("scaling curve: median round trip of %d runs against idle "
           "connections\n",
           runs);
    for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++) {
        if (idle[i] > many)
            break;
        fprintf(d, "%d", idle[i]);
        printf("  %5d idle:", idle[i]);
        for (int b = 0; b < MUX_NBACKENDS; b++) {
            int held = 0, limit = b == MUX_SELECT ? IDLE_CONNS : many;
            size_t got = 0;
            for (int r = 0; r < runs && idle[i] <= limit; r++) {
                double t = rtt_with_idle((enum mux_backend)b, idle[i], &held);
                if (t > 0 && held == idle[i])
                    rtt[got++] = t;
            }
            if (got == 0) {
                fprintf(d, "\t?");
                printf(" %s -", mux_backend_name((enum mux_backend)b));
            } else {
                double us = pk_median(rtt, got) / 1e3;
                fprintf(d, "\t%.1f", us);
                printf(" %s %.1f us", mux_backend_name((enum mux_backend)b),
                       us);
            }
        }
        fprintf(d, "\n");
        printf("\n");
    }
    free(rtt);
    if (fclose(d) != 0)
        die_errno("write", "scaling.tsv");
}

/* ===================================================================== */
/* Throughput against a thread per connection                             */
/* ===================================================================== */

/*
 * Echoes per second through one server, or 0 when the clients saw errors;
 * *cpu_per_echo gets the server's CPU nanoseconds per echo (this process's
 * CPU: the clients run in a child).
 */
static double
tput_once(int backend, double *cpu_per_echo)
{
    struct server s;
    int res;

    server_prepare(&s, backend);
    struct lg_opts o = {.port = s.port,
                        .conns = TPUT_CONNS,
                        .msg = MSG,
                        .duration_ms = TPUT_MS};
    pid_t pid = spawn_load(&o, &res);
    uint64_t cpu0 = pk_cpu_ns();
    server_run(&s);
    struct lg_result r = load_result(pid, res);
    uint64_t cpu = pk_cpu_ns() - cpu0;
    server_stop(&s);
    if (r.errors != 0 || r.seconds <= 0 || r.requests == 0)
        return 0;
    *cpu_per_echo = (double)cpu / (double)r.requests;
    return (double)r.requests / r.seconds;
}

static void
bench_tput(int runs)
{
    double *ratio = calloc((size_t)runs, sizeof(double));
    double *cpu = calloc((size_t)runs, sizeof(double));

    if (ratio == NULL || cpu == NULL)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        double th_cpu = 0, ep_cpu = 0, th, ep;
        /* Alternate the order, so a change in the machine's load during
         * the bench does not always favour the same server. */
        if (i % 2 == 0) {
            th = tput_once(-1, &th_cpu);
            ep = tput_once(MUX_EPOLL_LT, &ep_cpu);
        } else {
            ep = tput_once(MUX_EPOLL_LT, &ep_cpu);
            th = tput_once(-1, &th_cpu);
        }
        if (th == 0 || ep == 0) {
            printf("  not measured: the clients saw wrong echoes\n");
            free(ratio);
            free(cpu);
            return;
        }
        ratio[i] = ep / th;
        cpu[i] = th_cpu / ep_cpu;
        printf("  run %d: thread per connection %.0f/s (%.1f us CPU each), "
               "epoll-lt %.0f/s (%.1f us CPU each): ratio %.2f\n",
               i + 1, th, th_cpu / 1e3, ep, ep_cpu / 1e3, ratio[i]);
    }
    pk_metric("tput_vs_threads", pk_median(ratio, (size_t)runs));
    pk_metric("cpu_per_echo_vs_threads", pk_median(cpu, (size_t)runs));
    free(ratio);
    free(cpu);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 3);
    long nofile = lg_raise_nofile();
    int many = nofile >= 2 * MANY + 100 ? MANY : (int)(nofile / 2 - 50);

    signal(SIGPIPE, SIG_IGN);
    if (pk_chart_dir() != NULL) {
        chart_scaling(pk_chart_dir(), runs, many);
        return 0;
    }
    printf("idle efficiency: %d idle connections, server CPU over 1 s\n",
           IDLE_CONNS);
    for (int b = 0; b < MUX_NBACKENDS; b++)
        bench_idle((enum mux_backend)b);
    printf("system calls per echo: %d clients x %d round trips of %d "
           "bytes\n",
           SC_CONNS, SC_PER_CONN, MSG);
    for (int b = 0; b < MUX_NBACKENDS; b++)
        bench_syscalls((enum mux_backend)b);
    /* Latency ratios are noisy on a loaded machine: two more runs. */
    printf("scaling: median round trip with %d versus %d idle connections "
           "(select: %d, its limit), %d runs\n",
           FEW, many, IDLE_CONNS, runs + 2);
    for (int b = 0; b < MUX_NBACKENDS; b++)
        bench_scaling((enum mux_backend)b, runs + 2,
                      b == MUX_SELECT ? IDLE_CONNS : many);
    printf("throughput: %d connections, %d-byte requests, %d ms each, %d "
           "runs\n",
           TPUT_CONNS, MSG, TPUT_MS, runs + 2);
    bench_tput(runs + 2); /* the noisiest measurement: two more runs */
    return 0;
}
