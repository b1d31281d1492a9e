/*
 * resp.c - the RESP2 client library declared in iolab/resp.h: encoding
 * commands (resp_buf) and the connection (read buffer, timeouts, round
 * trips). Replies are parsed by resp_parse.c, whose resumable scanner
 * (resp_scan.h) a connection drives as bytes arrive.
 */
#include "iolab/resp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp_scan.h"
#include "wire.h"

/* The most arguments resp_encode_cmd and resp_call take. */
#define RESP_MAX_VARARGS 64
/* A connection's first read buffer; it doubles as replies need. */
#ifndef RESP_RBUF_INIT
#define RESP_RBUF_INIT (16 * 1024) /* a few hundred small replies */
#endif
/* Read at least this much at a time, so small free tails are not used. */
#define RESP_READ_MIN 4096

/* ===================================================================== */
/* Encoding                                                              */
/* ===================================================================== */

void
resp_buf_init(struct resp_buf *b)
{
    *b = (struct resp_buf){0};
}

void
resp_buf_free(struct resp_buf *b)
{
    free(b->data);
    *b = (struct resp_buf){0};
}

void
resp_buf_reset(struct resp_buf *b)
{
    b->len = 0;
}

/* Makes room for extra more bytes; b is unchanged on failure. */
static int
buf_reserve(struct resp_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : 256;

    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    while (cap - b->len < extra)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int
resp_encode(struct resp_buf *b, int argc, const char *const argv[],
            const size_t lens[])
{
    size_t total = WIRE_HEADER_MAX;

    if (argc < 1 || argv == NULL)
        return -EINVAL;
    for (int i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return -EINVAL;
        size_t len = lens ? lens[i] : strlen(argv[i]);
        if (len > SIZE_MAX / 4 - total)
            return -ENOMEM;
        total += WIRE_HEADER_MAX + len + 2;
    }
    int err = buf_reserve(b, total);
    if (err < 0)
        return err;
    char *p = b->data + b->len;
    p += wire_put_header(p, '*', argc);
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        p += wire_put_header(p, '$', (long long)len);
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->data);
    return 0;
}

/* Collects a NULL-terminated argument list; returns argc or -EINVAL. */
static int
collect_args(const char *argv[RESP_MAX_VARARGS], const char *arg0, va_list ap)
{
    int argc = 0;

    for (const char *a = arg0; a != NULL; a = va_arg(ap, const char *)) {
        if (argc == RESP_MAX_VARARGS)
            return -EINVAL;
        argv[argc++] = a;
    }
    return argc > 0 ? argc : -EINVAL;
}

int
resp_encode_cmd(struct resp_buf *b, const char *arg0, ...)
{
    const char *argv[RESP_MAX_VARARGS];
    va_list ap;

    va_start(ap, arg0);
    int argc = collect_args(argv, arg0, ap);
    va_end(ap);
    if (argc < 0)
        return argc;
    return resp_encode(b, argc, argv, NULL);
}

/* ===================================================================== */
/* Connections                                                           */
/* ===================================================================== */

/*
 * Invariants: rbuf[rstart, rend) are received bytes not yet returned as
 * replies; the scanner's offsets are relative to rstart; rend <= rcap.
 */
struct resp_conn {
    int fd;                /* connected socket, blocking, owned */
    char *rbuf;            /* read buffer */
    size_t rcap;           /* its size */
    size_t rstart;         /* first byte of the next reply */
    size_t rend;           /* end of received bytes */
    struct resp_scan scan; /* progress through the reply at rstart */
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none) for poll; 0 when past. */
static int
ms_left(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int64_t
deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Waits for events on fd until deadline; 0, -ETIMEDOUT or -errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    for (;;) {
        int left = ms_left(deadline);
        if (left == 0)
            return -ETIMEDOUT;
        int n = poll(&pfd, 1, left);
        if (n > 0)
            return 0; /* POLLERR/POLLHUP too: the next call reports it */
        if (n == -1 && errno != EINTR)
            return -errno;
    }
}

/* One connect attempt to ai, bounded by deadline; the socket or -errno. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = 0, one = 1;
    socklen_t elen = sizeof(err);

    if (fd == -1)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        if (errno != EINPROGRESS) {
            err = -errno;
            goto out_close_fd;
        }
        err = wait_fd(fd, POLLOUT, deadline);
        if (err < 0)
            goto out_close_fd;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
            err = errno;
        if (err != 0) {
            err = -err;
            goto out_close_fd;
        }
    }
    /* Blocking for the caller's writes; our own IO uses MSG_DONTWAIT. */
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
        err = -errno;
        goto out_close_fd;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;

out_close_fd:
    close(fd);
    return err;
}

int
resp_connect(const char *host, unsigned short port, int timeout_ms,
             struct resp_conn **out)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    int64_t deadline = deadline_after(timeout_ms);
    int fd = -ECONNREFUSED;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};

    if (host == NULL)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        /* The common case, without the resolver: a pool that opens many
         * connections should measure connecting, not name lookup. */
        struct addrinfo ai = {.ai_family = AF_INET,
                              .ai_socktype = SOCK_STREAM,
                              .ai_addr = (struct sockaddr *)&sin,
                              .ai_addrlen = sizeof(sin)};
        fd = connect_one(&ai, deadline);
    } else {
        snprintf(service, sizeof(service), "%u", port);
        int gai = getaddrinfo(host, service, &hints, &res);
        if (gai != 0)
            return gai == EAI_MEMORY   ? -ENOMEM
                   : gai == EAI_SYSTEM ? -errno
                                       : -EINVAL;
        for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            fd = connect_one(ai, deadline);
            if (fd >= 0 || fd == -ETIMEDOUT)
                break;
        }
        freeaddrinfo(res);
    }
    if (fd < 0)
        return fd;

    struct resp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    resp_scan_init(&c->scan);
    *out = c;
    return 0;
}

int
resp_conn_fd(const struct resp_conn *c)
{
    return c->fd;
}

size_t
resp_conn_buffered(const struct resp_conn *c)
{
    return c->rend - c->rstart;
}

/*
 * Makes room to read into: at least RESP_READ_MIN free bytes, and room for
 * the whole bulk string the scanner waits for. The partial reply is moved
 * to the front at most once per reply (rstart is 0 afterwards).
 */
static int
make_room(struct resp_conn *c)
{
    size_t have = c->rend - c->rstart;
    size_t want = have + RESP_READ_MIN;

    if (c->scan.need > want)
        want = c->scan.need;
    if (c->rcap - c->rend >= RESP_READ_MIN && c->rstart + want <= c->rcap)
        return 0;
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, have);
        c->rstart = 0;
        c->rend = have;
    }
    if (want <= c->rcap)
        return 0;
    size_t cap = c->rcap ? c->rcap : RESP_RBUF_INIT;
    while (cap < want)
        cap *= 2;
    char *p = realloc(c->rbuf, cap);
    if (p == NULL)
        return -ENOMEM;
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

int
resp_read_reply(struct resp_conn *c, struct resp_reply *out, int timeout_ms)
{
    int64_t deadline = deadline_after(timeout_ms);

    *out = (struct resp_reply){.type = RESP_NIL};
    for (;;) {
        long n = 0;
        /* An empty buffer holds no reply, and rbuf is NULL until the first
         * read: NULL + 0 is undefined behaviour, so it is not scanned. */
        if (c->rend > c->rstart)
            n = resp_scan_run(&c->scan, c->rbuf + c->rstart,
                              c->rend - c->rstart);
        if (n < 0)
            return (int)n;
        if (n > 0) {
            size_t pos = 0;
            int err = resp_build(c->rbuf + c->rstart, &pos, out);
            if (err < 0)
                return err; /* the reply stays buffered: may retry */
            c->rstart += (size_t)n;
            if (c->rstart == c->rend)
                c->rstart = c->rend = 0;
            resp_scan_init(&c->scan);
            return 0;
        }
        int err = make_room(c);
        if (err < 0)
            return err;
        ssize_t nread =
            recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, MSG_DONTWAIT);
        if (nread > 0) {
            c->rend += (size_t)nread;
            continue;
        }
        if (nread == 0)
            return -ECONNRESET; /* EOF: the server is gone */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        err = wait_fd(c->fd, POLLIN, deadline);
        if (err < 0)
            return err;
    }
}

/* Sends all of buf before deadline; 0 or -errno (-ETIMEDOUT). */
static int
send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        /* n == 0 cannot happen for len > 0 on a stream socket; wait. */
        int err = wait_fd(fd, POLLOUT, deadline);
        if (err < 0)
            return err;
    }
    return 0;
}

int
resp_command(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
             int argc, const char *const argv[], const size_t lens[])
{
    struct resp_buf b;
    int64_t deadline = deadline_after(timeout_ms);

    *out = (struct resp_reply){.type = RESP_NIL};
    resp_buf_init(&b);
    int err = resp_encode(&b, argc, argv, lens);
    if (err == 0)
        err = send_all(c->fd, b.data, b.len, deadline);
    resp_buf_free(&b);
    if (err < 0)
        return err;
    return resp_read_reply(c, out, timeout_ms < 0 ? -1 : ms_left(deadline));
}

int
resp_call(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
          const char *arg0, ...)
{
    const char *argv[RESP_MAX_VARARGS];
    va_list ap;

    va_start(ap, arg0);
    int argc = collect_args(argv, arg0, ap);
    va_end(ap);
    if (argc < 0) {
        *out = (struct resp_reply){.type = RESP_NIL};
        return argc;
    }
    return resp_command(c, out, timeout_ms, argc, argv, NULL);
}

void
resp_close(struct resp_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c->rbuf);
    free(c);
}
