/*
 * kit_net.h - the loopback sockets that the test kit (testkit.c) and the
 * perf kit (perfkit.c) both make. Each kit wraps them in its own way of
 * failing: the test kit fails the test, the perf kit dies or hands the
 * error back. Not for tests or benches: they use iolab/testkit.h and
 * iolab/perfkit.h.
 *
 * Static functions in a header, because the two kits are linked into
 * different programs (tests and benches) from separate object lists.
 */
#ifndef IOLAB_KIT_NET_H
#define IOLAB_KIT_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * Listens on 127.0.0.1 at a port the kernel picks, with the given
 * backlog, and stores that port in *port. Returns the socket (close on
 * exec), or -errno with nothing left open.
 */
static inline int
kit_listen_loopback(unsigned short *port, int backlog)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        .sin_port = 0, /* the kernel picks a free port */
    };
    socklen_t alen = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -errno;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
        listen(fd, backlog) == -1 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) == -1) {
        int err = -errno;
        close(fd);
        return err;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

/*
 * Connects a blocking socket to 127.0.0.1:port and sets TCP_NODELAY.
 * rcvbuf > 0 sets SO_RCVBUF before the connection exists, so the window
 * it advertises is small from the start (set later, it only shrinks what
 * the kernel grows next). timeout_ms > 0 sets SO_SNDTIMEO and SO_RCVTIMEO
 * before connecting; Linux applies SO_SNDTIMEO to connect(2) too (see
 * socket(7)), so a listener whose backlog is full cannot hang the caller.
 * Returns the socket (close on exec), or -errno with nothing left open.
 */
static inline int
kit_dial_loopback(unsigned short port, int rcvbuf, int timeout_ms)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        .sin_port = htons(port),
    };
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (timeout_ms % 1000) * 1000L};
    int one = 1, err = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -errno;
    if (rcvbuf > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == -1)
        err = -errno;
    if (err == 0 && timeout_ms > 0 &&
        (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
         setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1))
        err = -errno;
    if (err == 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1)
        err = -errno;
    if (err != 0) {
        close(fd);
        return err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

#endif /* IOLAB_KIT_NET_H */
