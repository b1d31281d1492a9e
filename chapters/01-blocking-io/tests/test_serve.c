/*
 * test_serve.c - exercise 3 of chapter 01: nb_serve, one thread serving
 * many clients.
 *
 * The server runs in a thread of the test process (tk_server_start) on a
 * loopback port the kernel chose; the test drives the clients. Waits for
 * replies are bounded (REPLY_MS) so a server that stalls fails with a
 * message instead of hanging; no test sleeps to "let the server catch up".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "nb.h"

#define REPLY_MS 5000 /* generous: a correct server answers in microseconds */

/* Sends line and checks that exactly the same bytes come back. */
static void
echo_ok(int fd, const char *line, const char *who)
{
    size_t len = strlen(line);
    char *got = tk_xmalloc(len);

    tk_write_all(fd, line, len);
    ssize_t n = tk_read_exact(fd, got, len, REPLY_MS);
    cr_assert_eq(n, (ssize_t)len, "%s: sent %zu bytes, got %s%zd back", who,
                 len, n == -ETIMEDOUT ? "no reply within 5 s, " : "", n);
    cr_assert_arr_eq(got, line, len, "%s: the reply differs from the request",
                     who);
    free(got);
}

TK_TEST(serve, one_client_echo,
        .description = "[NB-16] one client gets its line back")
{
    struct tk_server srv;

    tk_server_start(&srv, nb_serve);
    int fd = tk_connect_tcp(srv.port);
    echo_ok(fd, "hello, server\n", "client");
    echo_ok(fd, "second line\n", "client");
    close(fd);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0,
                 "nb_serve should return 0 after a stop");
}

TK_TEST(serve, split_and_batched_lines,
        .description =
            "[NB-16] replies only for complete lines, however bytes are split")
{
    struct tk_server srv;
    char got[64];

    tk_server_start(&srv, nb_serve);
    int fd = tk_connect_tcp(srv.port);

    tk_write_all(fd, "hel", 3);
    cr_assert_not(tk_readable(fd, 100),
                  "the server replied to a partial line "
                  "(no '\\n' yet): keep it until the line is complete");
    tk_write_all(fd, "lo\n", 3);
    cr_assert_eq(tk_read_exact(fd, got, 6, REPLY_MS), 6);
    cr_assert_arr_eq(got, "hello\n", 6);

    const char *batch = "a\nbb\nccc\n";
    tk_write_all(fd, batch, strlen(batch));
    cr_assert_eq(tk_read_exact(fd, got, strlen(batch), REPLY_MS),
                 (ssize_t)strlen(batch),
                 "three lines in one write should get three replies");
    cr_assert_arr_eq(got, batch, strlen(batch));

    for (const char *p = "one byte at a time\n"; *p; p++)
        tk_write_all(fd, p, 1);
    cr_assert_eq(tk_read_exact(fd, got, 19, REPLY_MS), 19);
    cr_assert_arr_eq(got, "one byte at a time\n", 19);
    close(fd);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

TK_TEST(
    serve, idle_client_blocks_nobody,
    .description = "[NB-17] silent and half-line clients do not delay others")
{
    struct tk_server srv;

    tk_server_start(&srv, nb_serve);
    int silent = tk_connect_tcp(srv.port);
    echo_ok(tk_connect_tcp(srv.port), "behind a silent client\n",
            "a client that connected after a silent one");
    int half = tk_connect_tcp(srv.port);
    tk_write_all(half, "half a li", 9);
    echo_ok(tk_connect_tcp(srv.port), "behind a half line\n",
            "a client that connected after one that sent half a line");
    tk_write_all(half, "ne\n", 3);
    char got[12];
    cr_assert_eq(tk_read_exact(half, got, 12, REPLY_MS), 12);
    cr_assert_arr_eq(got, "half a line\n", 12);
    echo_ok(silent, "finally\n", "the silent client");
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- many clients, interleaved ---------------------------------------- */

#define NCLIENTS 20
#define STREAM 12000 /* bytes each client sends in all */

struct stream_client {
    int fd;
    char *stream;    /* everything this client will send: lines */
    size_t sent;     /* bytes of stream sent so far */
    size_t received; /* bytes of replies received so far */
};

/* Printable lines of 1..200 bytes, the last one complete. */
static void
make_lines(char *buf, size_t len, struct tk_rng *rng)
{
    size_t next_nl = 1 + tk_rng_below(rng, 200);

    for (size_t i = 0; i < len; i++) {
        if (i + 1 == len || i == next_nl) {
            buf[i] = '\n';
            next_nl = i + 1 + 1 + tk_rng_below(rng, 200);
        } else {
            buf[i] = (char)('a' + tk_rng_below(rng, 26));
        }
    }
}

/* Bytes of complete lines within stream[0..sent). */
static size_t
complete_prefix(const struct stream_client *c)
{
    size_t n = c->sent;

    while (n > 0 && c->stream[n - 1] != '\n')
        n--;
    return n;
}

TK_TEST(
    serve, many_clients_interleaved,
    .description =
        "[NB-16][NB-17] 20 clients, random splits, every byte echoed in order")
{
    struct tk_server srv;
    struct stream_client cl[NCLIENTS];
    struct tk_rng rng;
    char *got = tk_xmalloc(STREAM);

    tk_rng_seed(&rng, 42);
    tk_server_start(&srv, nb_serve);
    for (int i = 0; i < NCLIENTS; i++) {
        cl[i] = (struct stream_client){.fd = tk_connect_tcp(srv.port),
                                       .stream = tk_xmalloc(STREAM)};
        make_lines(cl[i].stream, STREAM, &rng);
    }
    for (bool busy = true; busy;) {
        busy = false;
        for (int i = 0; i < NCLIENTS; i++) {
            struct stream_client *c = &cl[i];
            size_t chunk = 1 + tk_rng_below(&rng, 700);
            if (chunk > STREAM - c->sent)
                chunk = STREAM - c->sent;
            tk_write_all(c->fd, c->stream + c->sent, chunk);
            c->sent += chunk;
            busy |= c->sent < STREAM;
        }
        for (int i = 0; i < NCLIENTS; i++) {
            struct stream_client *c = &cl[i];
            size_t want = complete_prefix(c) - c->received;
            ssize_t n = tk_read_exact(c->fd, got, want, REPLY_MS);
            cr_assert_eq(n, (ssize_t)want,
                         "client %d: expected %zu bytes of "
                         "replies, got %zd",
                         i, want, n);
            cr_assert_arr_eq(got, c->stream + c->received, want,
                             "client %d: replies differ from its requests", i);
            c->received += want;
        }
    }
    for (int i = 0; i < NCLIENTS; i++) {
        close(cl[i].fd);
        free(cl[i].stream);
    }
    free(got);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- disconnects ----------------------------------------------------------
 */

TK_TEST(serve, abrupt_disconnects,
        .description =
            "[NB-18] resets and vanished readers hurt nobody; no SIGPIPE")
{
    struct tk_server srv;
    char *lines = tk_xmalloc(256 * 1024);

    signal(SIGPIPE, SIG_DFL); /* a server that lets SIGPIPE through dies */
    tk_server_start(&srv, nb_serve);
    int keep = tk_connect_tcp(srv.port);
    echo_ok(keep, "before\n", "the surviving client");

    int a = tk_connect_tcp(srv.port);
    echo_ok(a, "about to reset\n", "client a");
    tk_reset_close(a);

    /* b floods requests and leaves without reading a single reply. */
    memset(lines, 'z', 256 * 1024);
    for (size_t i = 99; i < 256 * 1024; i += 100)
        lines[i] = '\n';
    int b = tk_connect_tcp(srv.port);
    tk_write_all(b, lines, 64 * 1024);
    tk_reset_close(b);

    int c = tk_connect_tcp(srv.port);
    tk_write_all(c, "gone\n", 5);
    close(c);

    echo_ok(keep, "after\n",
            "the surviving client, after three others vanished");
    echo_ok(tk_connect_tcp(srv.port), "newcomer\n", "a new client");
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
    free(lines);
}

TK_TEST(serve, long_line_disconnects,
        .description =
            "[NB-20] a line over NB_LINE_MAX disconnects that client only")
{
    struct tk_server srv;
    char big[NB_LINE_MAX + 200];

    memset(big, 'L', sizeof(big));
    tk_server_start(&srv, nb_serve);
    int other = tk_connect_tcp(srv.port);
    int bad = tk_connect_tcp(srv.port);
    tk_write_all(bad, big, sizeof(big));
    tk_expect_closed_drain(bad, REPLY_MS,
                           "a client that sent a line longer than NB_LINE_MAX");
    echo_ok(other, "still here\n", "the other client");
    close(bad);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

TK_TEST(serve, line_of_exactly_max_is_echoed,
        .description = "[NB-20] a line of exactly NB_LINE_MAX bytes, newline "
                       "included, is echoed; NB_LINE_MAX without one is not")
{
    struct tk_server srv;
    char line[NB_LINE_MAX + 1];

    memset(line, 'M', NB_LINE_MAX - 1);
    line[NB_LINE_MAX - 1] = '\n';
    line[NB_LINE_MAX] = '\0';
    tk_server_start(&srv, nb_serve);
    int fd = tk_connect_tcp(srv.port);
    echo_ok(fd, line,
            "a client that sent a line of exactly NB_LINE_MAX bytes, "
            "newline included (the longest legal line)");
    echo_ok(fd, "and after it\n", "the same client, after the longest line");
    int bad = tk_connect_tcp(srv.port);
    memset(line, 'N', NB_LINE_MAX);
    tk_write_all(bad, line, NB_LINE_MAX);
    tk_expect_closed_drain(bad, REPLY_MS,
                           "a client that sent NB_LINE_MAX bytes without a "
                           "newline");
    close(bad);
    close(fd);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- half-close with replies owed ------------------------------------------
 */

#define HALF (48 * 1024) /* under NB_OUT_MAX: the server reads all of it */

TK_TEST(serve, half_close_gets_every_reply,
        .description = "[NB-16] a client that shuts down its write side with "
                       "replies owed gets all of them, then EOF")
{
    struct tk_server srv;
    struct tk_rng rng;
    char *data = tk_xmalloc(HALF), *got = tk_xmalloc(HALF);
    int small = 4096;
    char tail;

    tk_rng_seed(&rng, 16);
    make_lines(data, HALF, &rng);
    tk_server_start(&srv, nb_serve);
    /* Accepted sockets inherit it: most replies stay in the server. */
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    int fd = tk_connect_tcp_rcvbuf(srv.port, 4096);
    tk_write_all(fd, data, HALF);
    shutdown(fd, SHUT_WR); /* EOF to the server; we still read */
    /*
     * Read nothing for 300 ms, watching the server: it reads every request
     * and the EOF while most replies are still owed (the buffers on the
     * way hold a few KiB). Waiting less only makes the test weaker.
     */
    tk_readable(-1, 300);
    ssize_t n = tk_read_exact(fd, got, HALF, REPLY_MS);
    cr_assert_eq(n, (ssize_t)HALF,
                 "a client sent %d bytes of lines, shut down its write side "
                 "and read the replies late: it got %zd bytes back; at a "
                 "client's EOF, send every reply still owed, then close",
                 HALF, n);
    cr_assert(memcmp(got, data, HALF) == 0,
              "the replies after a half-close differ from the requests");
    n = tk_read_exact(fd, &tail, 1, REPLY_MS);
    cr_assert_eq(n, 0,
                 "after the last reply the server should close the "
                 "connection (EOF); got %s",
                 n == -ETIMEDOUT ? "nothing: it stayed open" : "more bytes");
    close(fd);
    free(data);
    free(got);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- a client that does not read ------------------------------------------
 */

/*
 * Every buffer on the way is fixed at 64 KiB (the kernel doubles it), so
 * all of them together hold well under 1 MiB; FLOOD is far more. A server
 * that applies backpressure therefore holds the flooder back for good until
 * its replies are read; one that drops replies or buffers without limit
 * lets it finish.
 */
#define FLOOD (4u << 20)
#define SMALL_BUF (64 * 1024)
#define CHUNK (16 * 1024)

struct flooder {
    int fd;
    const char *data;
    size_t written; /* bytes accepted so far (atomic) */
};

static void *
flooder_main(void *arg)
{
    struct flooder *f = arg;

    for (size_t off = 0; off < FLOOD; off += CHUNK) {
        tk_write_all(f->fd, f->data + off, CHUNK);
        __atomic_store_n(&f->written, off + CHUNK, __ATOMIC_RELEASE);
    }
    return NULL;
}

TK_TEST(serve, slow_reader_keeps_replies,
        .description = "[NB-19] a client that does not read is held back, its "
                       "replies kept, and nobody else waits")
{
    struct tk_server srv;
    char *data = tk_xmalloc(FLOOD), *got = tk_xmalloc(FLOOD);
    struct tk_rng rng;
    pthread_t th;

    tk_rng_seed(&rng, 7);
    make_lines(data, FLOOD, &rng);
    tk_server_start(&srv, nb_serve);
    tk_small_buffers(srv.listen_fd, SMALL_BUF); /* accepted sockets inherit */
    struct flooder f = {.fd = tk_connect_tcp(srv.port), .data = data};
    tk_small_buffers(f.fd, SMALL_BUF);
    pthread_create(&th, NULL, flooder_main, &f);

    /* Quiet for 300 ms (backpressure) or done; at most 20 s. */
    size_t sent = tk_wait_stall(&f.written, FLOOD, 300, 20000);
    cr_assert_lt(sent, FLOOD,
                 "a client sent all %u bytes of requests without "
                 "reading a single reply: the server must stop reading from a "
                 "client once NB_OUT_MAX bytes of replies are pending, not "
                 "drop them or keep buffering",
                 FLOOD);
    echo_ok(tk_connect_tcp(srv.port), "not stuck\n",
            "a client arriving while another is not reading its replies");

    ssize_t n = tk_read_exact(f.fd, got, FLOOD, 20000);
    pthread_join(th, NULL);
    cr_assert_eq(n, (ssize_t)FLOOD, "the slow reader got %zd of %u bytes back",
                 n, FLOOD);
    cr_assert(memcmp(got, data, FLOOD) == 0,
              "the slow reader's replies were altered, reordered or dropped");
    close(f.fd);
    free(data);
    free(got);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- injected faults
 * --------------------------------------------------------- */

TK_TEST(serve, injected_short_io,
        .description =
            "[NB-16][NB-19] short reads and writes, EAGAIN and EINTR injected")
{
    struct tk_server srv;
    char line[80];

    /*
     * The server may use read/recv and write/send: plan all four. Seeded
     * random faults, because a periodic script shared by every connection
     * could starve one of them (see iolab/fault.h).
     */
    for (enum fi_op op = FI_READ; op < FI_NOPS; op++)
        cr_assert_eq(fi_plan_random(op, 1000 + op, 40, 3, 20, 20), 0);
    tk_server_start(&srv, nb_serve);
    int fds[5];
    for (int i = 0; i < 5; i++)
        fds[i] = tk_connect_tcp(srv.port);
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < 5; i++) {
            snprintf(line, sizeof(line), "client %d says line %d of twenty\n",
                     i, round);
            echo_ok(fds[i], line, "a client under injected faults");
        }
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
    cr_assert_gt(fi_calls(FI_READ) + fi_calls(FI_RECV), 0,
                 "the server never called read() or recv()");
}

TK_TEST(serve, send_of_zero_drops_client,
        .description = "[NB-23] a send that returns 0 drops that client; the "
                       "server does not spin on it")
{
    struct tk_server srv;

    /*
     * Every send and write the server makes returns 0: no progress and no
     * reason. A server that retries it loops for ever inside one pass, and
     * the client below is neither answered nor closed.
     */
    cr_assert_eq(fi_plan(FI_SEND, "zero *"), 0);
    cr_assert_eq(fi_plan(FI_WRITE, "zero *"), 0);
    tk_server_start(&srv, nb_serve);
    int fd = tk_connect_tcp(srv.port);
    tk_write_all(fd, "hello\n", 6);
    tk_expect_closed_drain(
        fd, REPLY_MS,
        "a client whose reply send() returned 0 (no progress, "
        "no error: drop the connection, as nb_write_full "
        "returns -EIO)");
    close(fd);
    cr_assert_gt(fi_calls(FI_SEND) + fi_calls(FI_WRITE), 0,
                 "the server never called send() or write()");

    /* Sends work again: the server must still be serving. */
    cr_assert_eq(fi_plan(FI_SEND, "pass"), 0);
    cr_assert_eq(fi_plan(FI_WRITE, "pass"), 0);
    fd = tk_connect_tcp(srv.port);
    echo_ok(fd, "still here\n", "a client after the dropped one");
    close(fd);
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0);
}

/* ---- stopping
 * ------------------------------------------------------------------ */

TK_TEST(serve, stop_closes_everything,
        .description = "[NB-21] on stop, every accepted connection is closed")
{
    struct tk_server srv;
    int fds[5];
    int before = tk_count_open_fds();

    tk_server_start(&srv, nb_serve);
    for (int i = 0; i < 5; i++) {
        fds[i] = tk_connect_tcp(srv.port);
        echo_ok(fds[i], "hi\n", "a client");
    }
    cr_assert_eq(tk_server_stop(&srv, REPLY_MS), 0,
                 "nb_serve should return 0 after a stop");
    int after = tk_count_open_fds();
    cr_assert_eq(after, before + 5,
                 "after the stop %d descriptors are open; "
                 "expected %d (ours): the server left %d open",
                 after, before + 5, after - before - 5);
    for (int i = 0; i < 5; i++) {
        tk_expect_closed_drain(fds[i], REPLY_MS,
                               "a client after the server stopped");
        close(fds[i]);
    }
}

TK_TEST(
    serve, bad_listen_fd,
    .description = "[NB-22] a listen_fd that is not a socket gives -ENOTSOCK")
{
    int notsock[2], stop[2];

    tk_pipe(notsock);
    tk_pipe(stop);
    int r = nb_serve(notsock[0], stop[0]);
    cr_assert_eq(r, -ENOTSOCK,
                 "nb_serve on a pipe should return -ENOTSOCK, got %d", r);
}

TK_TEST(serve, stop_fd_error_is_returned,
        .description = "[NB-24] a read of stop_fd that fails ends the server "
                       "with that error, not with 0")
{
    int lfd, wonly[2], fds[3];
    unsigned short port;
    int before = tk_count_open_fds();

    /*
     * The write end of a pipe as stop_fd: fcntl accepts it, read(2) fails
     * with EBADF on every call. That is no stop request, and returning 0
     * would tell the caller it asked for one.
     */
    lfd = tk_listen_tcp(&port);
    tk_pipe(wonly);
    for (int i = 0; i < 3; i++)
        fds[i] = tk_connect_tcp(port); /* waiting in the backlog */
    int r = nb_serve(lfd, wonly[1]);
    cr_assert_eq(r, -EBADF,
                 "nb_serve with a stop_fd that cannot be read returned %d; "
                 "expected the read's error, -EBADF (%s)",
                 r,
                 r == 0 ? "0 means a stop was asked for, and none was"
                        : "the error must come back unchanged");
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    close(wonly[0]);
    close(wonly[1]);
    close(lfd);
    cr_assert_eq(tk_count_open_fds(), before,
                 "nb_serve left descriptors open after failing [NB-21]");
}
