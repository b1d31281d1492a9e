/*
 * helpers.c - the shared helpers of chapter 07's tests (see helpers.h).
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- order of events, coroutines, pipes --------------------------------- */

void
ct_note(struct ct_trace *t, char c)
{
    if (t->n < (int)sizeof(t->log) - 1)
        t->log[t->n++] = c;
}

void
ct_body_abc(void *arg)
{
    struct ct_trace *t = arg;
    ct_note(t, 'a');
    cr_assert_eq(co_yield(), 0);
    ct_note(t, 'b');
    cr_assert_eq(co_yield(), 0);
    ct_note(t, 'c');
}

void
ct_body_quick(void *arg)
{
    int *ran = arg;
    *ran = 1;
}

struct co *
ct_create_ok(co_entry_cb fn, void *arg, size_t stack)
{
    struct co *co = co_create(fn, arg, stack);
    cr_assert_not_null(co, "co_create failed: %s", strerror(errno));
    return co;
}

struct co *
ct_spawn_ok(co_entry_cb fn, void *arg)
{
    struct co *co = co_spawn(fn, arg, 0);
    cr_assert_not_null(co, "co_spawn failed: %s", strerror(errno));
    return co;
}

void
ct_run(co_entry_cb fn, void *arg)
{
    int r = co_sched_run(fn, arg);
    cr_assert_eq(r, 0, "co_sched_run returned %d, expected 0", r);
}

void
ct_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    cr_assert(fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

void
ct_nb_pipe(int p[2])
{
    tk_pipe(p);
    ct_nonblock(p[0]);
    ct_nonblock(p[1]);
}

/* ---- the echo server ----------------------------------------------------- */

struct co_echo_config ct_cfg;
struct co_echo_stats ct_stats;

static int
serve_cb(int listen_fd, int stop_fd)
{
    return co_echo_serve(listen_fd, stop_fd, &ct_cfg, &ct_stats);
}

void
ct_start(struct tk_server *srv, const struct co_echo_config *cfg)
{
    ct_cfg = cfg != NULL ? *cfg : (struct co_echo_config){0};
    tk_server_start(srv, serve_cb);
}

void
ct_stop(struct tk_server *srv)
{
    int r = tk_server_stop(srv, CT_STOP_MS);

    cr_assert_eq(r, 0,
                 "co_echo_serve returned %d (%s) after a stop; expected 0", r,
                 r < 0 ? strerror(-r) : "?");
}

void
ct_echo(int fd, const void *buf, size_t len, const char *who)
{
    tk_write_all(fd, buf, len);
    tk_read_check(fd, buf, len, CT_REPLY_MS, who);
}

void
ct_echo_str(int fd, const char *s, const char *who)
{
    ct_echo(fd, s, strlen(s), who);
}

int
ct_wait_open_fds(int want, int timeout_ms)
{
    long long end = tk_now_ms() + timeout_ms;
    int n;

    /* A condition polled under a deadline, 10 ms apart: no fixed sleep. */
    while ((n = tk_count_open_fds()) != want && tk_now_ms() < end)
        tk_readable(-1, 10);
    return n;
}
