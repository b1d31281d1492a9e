/*
 * loadgen.c - the echo clients described in loadgen.h.
 *
 * The clients use plain blocking sends (requests are small and always fit
 * in the socket buffer) and non-blocking receives driven by epoll, so one
 * thread keeps hundreds of requests in flight.
 */
#include "loadgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iolab/perfkit.h"

/*
 * A server that never accepts must not hang a client: once its backlog is
 * full, connect would wait for SYN retries (pk_dial_tcp gives up).
 */
#define DIAL_MS 2000
#define RTT_MS 5000 /* lg_rtt: one round trip, or the server is gone */

long
lg_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

struct lg_conn {
    int fd;
    size_t got; /* bytes of the current echo received */
};

int
lg_run(const struct lg_opts *o, struct lg_result *r)
{
    struct lg_conn *c = calloc((size_t)o->conns, sizeof(*c));
    char *req = malloc(o->msg), *buf = malloc(o->msg);
    struct epoll_event ev[128];
    unsigned long long target = (unsigned long long)o->per_conn * o->conns;
    int epfd = epoll_create1(EPOLL_CLOEXEC), err = 0, live = 0;

    *r = (struct lg_result){0};
    if (c == NULL || req == NULL || buf == NULL || epfd == -1) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->msg; i++)
        req[i] = (char)('a' + i % 26);
    for (int i = 0; i < o->conns; i++) {
        c[i].fd = pk_dial_tcp(o->port, DIAL_MS);
        if (c[i].fd < 0) {
            err = c[i].fd;
            goto out;
        }
        live++;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c[i]};
        epoll_ctl(epfd, EPOLL_CTL_ADD, c[i].fd, &e);
    }
    uint64_t t0 = pk_now_ns();
    uint64_t end = t0 + (uint64_t)o->duration_ms * 1000000u;
    for (int i = 0; i < o->conns; i++)
        if (pk_send_all(c[i].fd, req, o->msg) != 0)
            r->errors++;
    while (target ? r->requests < target : pk_now_ns() < end) {
        int n = epoll_wait(epfd, ev, 128, 1000);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->errors++; /* a second without a single echo */
            break;
        }
        for (int i = 0; i < n; i++) {
            struct lg_conn *k = ev[i].data.ptr;
            ssize_t got =
                recv(k->fd, buf + k->got, o->msg - k->got, MSG_DONTWAIT);
            if (got == -1 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0 ||
                memcmp(buf + k->got, req + k->got, (size_t)got) != 0) {
                r->errors++;
                epoll_ctl(epfd, EPOLL_CTL_DEL, k->fd, NULL);
                continue;
            }
            k->got += (size_t)got;
            if (k->got < o->msg)
                continue;
            k->got = 0;
            r->requests++;
            if (target == 0 ||
                r->requests + (unsigned long long)o->conns <= target)
                if (pk_send_all(k->fd, req, o->msg) != 0)
                    r->errors++;
        }
    }
    r->seconds = (double)(pk_now_ns() - t0) / 1e9;
out:
    for (int i = 0; i < live; i++)
        close(c[i].fd);
    if (epfd != -1)
        close(epfd);
    free(c);
    free(req);
    free(buf);
    return err;
}

int
lg_hold(unsigned short port, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = pk_dial_tcp(port, DIAL_MS);
        if (fds[i] < 0)
            return i;
    }
    return n;
}

double
lg_rtt(unsigned short port, int rounds, size_t msg)
{
    double *t = calloc((size_t)rounds, sizeof(double));
    char *req = calloc(1, msg), *buf = malloc(msg);
    /* A server that stopped answering must not hang the bench. */
    int fd = pk_dial_tcp(port, RTT_MS);
    double med = 0;

    if (t == NULL || req == NULL || buf == NULL || fd < 0)
        goto out;
    for (int i = 0; i < rounds; i++) {
        uint64_t t0 = pk_now_ns();
        if (pk_send_all(fd, req, msg) != 0 ||
            recv(fd, buf, msg, MSG_WAITALL) != (ssize_t)msg)
            goto out;
        t[i] = (double)(pk_now_ns() - t0);
    }
    med = pk_median(t, (size_t)rounds);
out:
    if (fd >= 0)
        close(fd);
    free(t);
    free(req);
    free(buf);
    return med;
}
