/*
 * uv_echo.c - a minimal libuv echo server, only to compare chapter 02's
 * epoll server with a production event loop (README, "Reference
 * performance"). It is NOT part of the course's build or grading, and
 * libuv is not a course dependency. Built by hand:
 *
 *   apt-get install -y libuv1-dev
 *   cc -O2 -o /tmp/uv_echo chapters/02-multiplexing/bench/extra/uv_echo.c -luv
 *   /tmp/uv_echo 7000
 *
 * It uses the same strategy as the chapter's server, so that the two
 * event loops are compared and not two buffering schemes: every read
 * lands in one static buffer (the loop is single-threaded, and libuv calls
 * on_read right after on_alloc), uv_try_write sends what the socket takes
 * at once, and only a remainder is copied into a buffer of its own and
 * queued with uv_write, freed when the write completes. Ctrl-C ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t *loop;

static char scratch[64 * 1024];

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void
on_close(uv_handle_t *h)
{
    free(h);
}

struct echo_req {
    uv_write_t req; /* first: the callback gets this pointer back */
    char *data;
};

static void
on_written(uv_write_t *w, int status)
{
    struct echo_req *r = (struct echo_req *)w;

    if (status < 0 && !uv_is_closing((uv_handle_t *)w->handle))
        uv_close((uv_handle_t *)w->handle, on_close);
    free(r->data);
    free(r);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_close); /* UV_EOF or an error */
        return;
    }
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
    int sent = uv_stream_get_write_queue_size(s) == 0
                   ? uv_try_write(s, &out, 1)
                   : UV_EAGAIN; /* keep the order behind queued writes */
    if (sent == UV_EAGAIN)
        sent = 0;
    if (sent < 0) {
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (sent == n)
        return;
    struct echo_req *r = malloc(sizeof(*r));
    char *rest = malloc((size_t)(n - sent));
    if (r == NULL || rest == NULL) {
        free(r);
        free(rest);
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    memcpy(rest, buf->base + sent, (size_t)(n - sent));
    r->data = rest;
    out = uv_buf_init(rest, (unsigned)(n - sent));
    uv_write(&r->req, s, &out, 1, on_written);
}

static void
on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *c = malloc(sizeof(*c));
    if (c == NULL)
        return;
    uv_tcp_init(loop, c);
    if (uv_accept(server, (uv_stream_t *)c) == 0) {
        uv_tcp_nodelay(c, 1);
        uv_read_start((uv_stream_t *)c, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)c, on_close);
    }
}

int
main(int argc, char **argv)
{
    struct sockaddr_in addr;
    uv_tcp_t server;

    loop = uv_default_loop();
    uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 7000, &addr);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 4096, on_connection) != 0) {
        fprintf(stderr, "uv_echo: cannot listen on port %s\n",
                argc > 1 ? argv[1] : "7000");
        return 1;
    }
    printf("listening on 127.0.0.1:%s (libuv %s)\n",
           argc > 1 ? argv[1] : "7000", uv_version_string());
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
