/*
 * test_nonblock.c - exercise 2 of chapter 01: nb_set_nonblocking and
 * nb_read_some, on real pipes and sockets, with EINTR injected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "nb.h"

static bool
is_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    cr_assert_neq(fl, -1, "fcntl(F_GETFL): %s", strerror(errno));
    return (fl & O_NONBLOCK) != 0;
}

TK_TEST(nonblock, set_and_clear,
        .description = "[NB-9] O_NONBLOCK is set exactly when asked")
{
    int p[2];

    tk_pipe(p);
    cr_assert_eq(nb_set_nonblocking(p[0], true), 0);
    cr_assert(is_nonblocking(p[0]), "O_NONBLOCK is not set after on=true");
    cr_assert_eq(nb_set_nonblocking(p[0], false), 0);
    cr_assert_not(is_nonblocking(p[0]),
                  "O_NONBLOCK is still set after on=false");
}

TK_TEST(nonblock, preserves_other_flags,
        .description =
            "[NB-10] other status flags (O_APPEND) survive both directions")
{
    char *path = tk_make_file("log", "", 0);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

    cr_assert_geq(fd, 0);
    cr_assert_eq(nb_set_nonblocking(fd, true), 0);
    cr_assert(fcntl(fd, F_GETFL) & O_APPEND,
              "O_APPEND was lost when O_NONBLOCK was set: read the flags "
              "with F_GETFL and change only the one bit");
    cr_assert(is_nonblocking(fd));
    cr_assert_eq(nb_set_nonblocking(fd, false), 0);
    cr_assert(fcntl(fd, F_GETFL) & O_APPEND,
              "O_APPEND was lost when O_NONBLOCK was cleared");
    cr_assert_not(is_nonblocking(fd));
    close(fd);
    free(path);
}

TK_TEST(nonblock, idempotent,
        .description = "[NB-11] setting the same mode twice is harmless")
{
    int p[2];

    tk_pipe(p);
    cr_assert_eq(nb_set_nonblocking(p[1], true), 0);
    cr_assert_eq(nb_set_nonblocking(p[1], true), 0);
    cr_assert(is_nonblocking(p[1]),
              "two calls with on=true must leave it on (no toggling)");
    cr_assert_eq(nb_set_nonblocking(p[1], false), 0);
    cr_assert_eq(nb_set_nonblocking(p[1], false), 0);
    cr_assert_not(is_nonblocking(p[1]),
                  "two calls with on=false must leave it off");
}

TK_TEST(nonblock, bad_descriptor,
        .description = "[NB-9] a descriptor that is not open gives -EBADF")
{
    int p[2];

    tk_pipe(p);
    close(p[0]);
    cr_assert_eq(nb_set_nonblocking(p[0], true), -EBADF);
    cr_assert_eq(nb_set_nonblocking(-1, false), -EBADF);
}

TK_TEST(nonblock, read_some_data_and_eof,
        .description = "[NB-12][NB-13] a count when data is there, 0 at EOF")
{
    char buf[64];
    int p[2];

    tk_pipe(p);
    tk_write_all(p[1], "hello", 5);
    ssize_t n = nb_read_some(p[0], buf, sizeof(buf));
    cr_assert_eq(n, 5, "expected the 5 bytes in the pipe, got %zd", n);
    cr_assert_arr_eq(buf, "hello", 5);
    close(p[1]);
    n = nb_read_some(p[0], buf, sizeof(buf));
    cr_assert_eq(n, 0, "the writer closed: expected 0 (EOF), got %zd", n);
}

TK_TEST(
    nonblock, read_some_would_block,
    .description =
        "[NB-14] an empty non-blocking pipe or socket gives -EAGAIN, then data")
{
    char buf[16];
    int p[2], sp[2];

    tk_pipe(p);
    cr_assert_eq(nb_set_nonblocking(p[0], true), 0);
    ssize_t n = nb_read_some(p[0], buf, sizeof(buf));
    cr_assert_eq(n, -EAGAIN,
                 "empty non-blocking pipe: expected -EAGAIN, got %zd", n);
    tk_write_all(p[1], "x", 1);
    cr_assert_eq(nb_read_some(p[0], buf, sizeof(buf)), 1,
                 "after -EAGAIN, the descriptor must still work");

    tk_socketpair(sp);
    cr_assert_eq(nb_set_nonblocking(sp[0], true), 0);
    n = nb_read_some(sp[0], buf, sizeof(buf));
    cr_assert_eq(n, -EAGAIN,
                 "empty non-blocking socket: expected -EAGAIN, got %zd", n);
}

TK_TEST(nonblock, read_some_errors,
        .description =
            "[NB-15] real errors: EBADF, and ECONNRESET from a reset peer")
{
    char buf[16];
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    int cfd = tk_connect_tcp(port);
    int sfd = accept(lfd, NULL, NULL);

    cr_assert_eq(nb_read_some(-1, buf, sizeof(buf)), -EBADF);
    cr_assert_geq(sfd, 0);
    tk_reset_close(sfd); /* SO_LINGER 0: the peer gets RST, not FIN */
    cr_assert(tk_readable(cfd, 2000), "the reset never arrived");
    ssize_t n = nb_read_some(cfd, buf, sizeof(buf));
    cr_assert_eq(n, -ECONNRESET,
                 "a reset peer should give -ECONNRESET, got %zd", n);
    close(cfd);
    close(lfd);
}

TK_TEST(nonblock, read_some_retries_eintr,
        .description = "[NB-5] nb_read_some retries EINTR (injected)")
{
    char buf[16];
    int p[2];

    tk_pipe(p);
    tk_write_all(p[1], "abc", 3);
    cr_assert_eq(fi_plan(FI_READ, "eintr eintr eintr"), 0);
    ssize_t n = nb_read_some(p[0], buf, sizeof(buf));
    cr_assert_eq(n, 3, "three EINTRs then data: expected 3, got %zd", n);
    cr_assert_eq(fi_calls(FI_READ), 4, "expected 4 read() calls, got %lu",
                 fi_calls(FI_READ));
}
