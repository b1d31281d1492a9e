/*
 * uiot.c - chapter 09's test helpers (uiot.h).
 */
#include "uiot.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iolab/testkit.h"

/* kernel.io_uring_disabled (0, 1 or 2), or -1 where the file is missing. */
static int
uring_sysctl(void)
{
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
    int v = -1;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%d", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

void
uiot_need_uring(void)
{
    const char *off = getenv("IOLAB_NO_IO_URING");
    if (off != NULL && strcmp(off, "1") == 0)
        tk_skip("io_uring not available: IOLAB_NO_IO_URING=1 is set");

    struct io_uring ring;
    int err = io_uring_queue_init(2, &ring, 0);
    if (err == 0) {
        io_uring_queue_exit(&ring);
        return;
    }
    int sysctl = uring_sysctl();
    if (sysctl == 2)
        tk_skip("io_uring not available: %s (kernel.io_uring_disabled = 2: "
                "off for every process)",
                strerror(-err));
    if (sysctl == 1)
        tk_skip("io_uring not available: %s (kernel.io_uring_disabled = 1: "
                "only root and kernel.io_uring_group may use it)",
                strerror(-err));
    tk_skip("io_uring not available: io_uring_setup failed with %s and no "
            "sysctl disables it: a seccomp filter (a container's default "
            "profile) or a kernel without io_uring",
            strerror(-err));
}

int
uiot_file(const char *name, size_t len, unsigned seed, char **data)
{
    char *bytes = tk_xmalloc(len + 1);
    tk_fill(bytes, len, seed);
    char *path = tk_make_file(name, bytes, len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    free(path);
    if (data != NULL)
        *data = bytes;
    else
        free(bytes);
    return fd;
}

int
uiot_out(const char *name)
{
    char *path = tk_path(name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    free(path);
    return fd;
}

void
uiot_expect_file(int fd, const char *want, size_t len)
{
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    cr_assert_eq((size_t)st.st_size, len,
                 "the output holds %lld bytes, expected %zu",
                 (long long)st.st_size, len);
    char *got = tk_xmalloc(len + 1);
    size_t have = 0;
    while (have < len) {
        ssize_t n = pread(fd, got + have, len - have, (off_t)have);
        cr_assert(n > 0, "pread of the output: %s", strerror(errno));
        have += (size_t)n;
    }
    for (size_t i = 0; i < len; i++)
        cr_assert(got[i] == want[i],
                  "the output differs from the input at byte %zu of %zu", i,
                  len);
    free(got);
}

/* ---- the receiver ------------------------------------------------------ */

static void *
rx_main(void *arg)
{
    struct uiot_rx *rx = arg;
    char spill[4096];

    for (;;) {
        if (rx->reset_at != 0 && rx->got >= rx->reset_at) {
            tk_reset_close(rx->recv_fd);
            rx->recv_fd = -1;
            return NULL;
        }
        char *to = rx->got < rx->cap ? rx->buf + rx->got : spill;
        size_t room = rx->got < rx->cap ? rx->cap - rx->got : sizeof(spill);
        if (room > rx->piece)
            room = rx->piece;
        ssize_t n = read(rx->recv_fd, to, room);
        if (n == 0)
            return NULL;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rx->err = -errno;
            return NULL;
        }
        rx->got += (size_t)n;
    }
}

void
uiot_rx_start(struct uiot_rx *rx, size_t cap, size_t piece, bool small)
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);

    rx->send_fd = tk_connect_tcp_rcvbuf(port, small ? 1 : 0);
    rx->recv_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(rx->recv_fd >= 0, "accept: %s", strerror(errno));
    close(lfd);
    if (small) {
        tk_small_buffers(rx->send_fd, 4096);
        tk_small_buffers(rx->recv_fd, 4096);
    }
    rx->buf = tk_xmalloc(cap + 1);
    rx->cap = cap;
    rx->got = 0;
    rx->piece = piece;
    rx->err = 0;
    cr_assert(pthread_create(&rx->thread, NULL, rx_main, rx) == 0);
}

void
uiot_rx_finish(struct uiot_rx *rx)
{
    if (rx->send_fd >= 0)
        close(rx->send_fd);
    rx->send_fd = -1;
    pthread_join(rx->thread, NULL);
    if (rx->recv_fd >= 0)
        close(rx->recv_fd);
    rx->recv_fd = -1;
}

void
uiot_rx_expect(struct uiot_rx *rx, const char *want, size_t len)
{
    uiot_rx_finish(rx);
    cr_assert_eq(rx->err, 0, "the receiver's read failed: %s",
                 strerror(-rx->err));
    cr_assert_eq(rx->got, len, "the receiver got %zu bytes, expected %zu",
                 rx->got, len);
    for (size_t i = 0; i < len; i++)
        cr_assert(rx->buf[i] == want[i],
                  "the receiver's byte %zu of %zu is not the file's", i, len);
    free(rx->buf);
    rx->buf = NULL;
}
