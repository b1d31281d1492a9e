/*
 * echo_server.c - chapter 02's server on a real port, for nc, socat and
 * the load generator. Built by `make demos CH=02` from your code.
 *
 *   echo_server [-b select|poll|epoll-lt|epoll-et] [-p PORT] [-a ADDR]
 *
 * Prints the address it listens on (PORT 0, the default, lets the kernel
 * choose), serves until SIGINT or SIGTERM, then prints the server's
 * counters. The signal handler only writes a byte to a pipe: that pipe is
 * mux_serve's stop_fd, so stopping needs no other machinery.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/die.h"
#include "mux.h"

static int stop_wr = -1;

static void
on_signal(int sig)
{
    int saved = errno;

    (void)sig;
    if (write(stop_wr, "x", 1) == -1) {
        /* nothing to do: the pipe already holds a byte */
    }
    errno = saved;
}

static void
usage(void)
{
    die("usage: echo_server [-b select|poll|epoll-lt|epoll-et] [-p PORT] "
        "[-a ADDR]");
}

int
main(int argc, char **argv)
{
    const char *addr_s = "127.0.0.1";
    int backend = MUX_EPOLL_LT, port = 0, opt, one = 1, stop[2];

    die_init(argv[0]);
    while ((opt = getopt(argc, argv, "b:p:a:h")) != -1) {
        switch (opt) {
        case 'b':
            backend = mux_backend_parse(optarg);
            if (backend < 0)
                usage();
            break;
        case 'p':
            port = (int)die_number("-p", optarg, 0, 65535);
            break;
        case 'a':
            addr_s = optarg;
            break;
        default:
            usage();
        }
    }

    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)port)};
    socklen_t alen = sizeof(a);
    if (inet_pton(AF_INET, addr_s, &a.sin_addr) != 1)
        die("not an IPv4 address: '%s'", addr_s);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die_errno("socket", addr_s);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
        die_errno("bind", addr_s);
    if (listen(fd, 4096) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) == -1)
        die_errno("listen", addr_s);

    if (pipe2(stop, O_CLOEXEC | O_NONBLOCK) == -1)
        die_errno("pipe", "stop");
    stop_wr = stop[1];
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("listening on %s:%u (%s)\n", addr_s, ntohs(a.sin_port),
           mux_backend_name((enum mux_backend)backend));
    fflush(stdout);

    struct mux_stats st;
    int r = mux_serve(fd, stop[0], (enum mux_backend)backend, NULL, &st);
    if (r != 0)
        die_neg("serve", addr_s, r);
    printf("accepted %lu, closed %lu, refused (FD_SETSIZE) %lu, accept "
           "errors %lu, waits %lu, paused %lu, budget cuts %lu, echoed %llu "
           "bytes, peak pending %zu\n",
           st.accepted, st.closed, st.refused_fd_setsize, st.accept_errors,
           st.waits, st.paused, st.budget_cuts, st.bytes_echoed,
           st.peak_pending);
    close(fd);
    return 0;
}
