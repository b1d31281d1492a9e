/*
 * helpers.c - the shared helpers of chapter 02's tests (see helpers.h).
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mux_backend mt_backend;
struct mux_config mt_cfg;
struct mux_stats mt_stats;

static int
serve_cb(int listen_fd, int stop_fd)
{
    return mux_serve(listen_fd, stop_fd, mt_backend, &mt_cfg, &mt_stats);
}

void
mt_start(struct tk_server *srv, enum mux_backend b,
         const struct mux_config *cfg)
{
    mt_backend = b;
    mt_cfg = cfg != NULL ? *cfg : (struct mux_config){0};
    tk_server_start(srv, serve_cb);
}

const char *
mt_name(void)
{
    const char *n = mux_backend_name(mt_backend);

    return n != NULL ? n : "?";
}

void
mt_stop(struct tk_server *srv)
{
    int r = tk_server_stop(srv, STOP_MS);

    cr_assert_eq(r, 0,
                 "%s: mux_serve returned %d (%s) after a stop; "
                 "expected 0",
                 mt_name(), r, r < 0 ? strerror(-r) : "?");
}

void
mt_read_check(int fd, const char *want, size_t len, int timeout_ms,
              const char *who)
{
    char *got = tk_xmalloc(len);
    ssize_t n = tk_read_exact(fd, got, len, timeout_ms);

    cr_assert_eq(
        n, (ssize_t)len, "%s, %s: expected %zu bytes of echo, got %s%zd",
        mt_name(), who, len,
        n == -ETIMEDOUT ? "none for a while (timed out), -110: " : "EOF after ",
        n);
    size_t i = 0;
    while (i < len && got[i] == want[i])
        i++;
    cr_assert_eq(i, len,
                 "%s, %s: the echo differs from what was sent, first at "
                 "byte %zu of %zu (bytes lost, reordered or duplicated)",
                 mt_name(), who, i, len);
    free(got);
}

void
mt_echo(int fd, const void *buf, size_t len, const char *who)
{
    tk_write_all(fd, buf, len);
    mt_read_check(fd, buf, len, REPLY_MS, who);
}

void
mt_echo_str(int fd, const char *s, const char *who)
{
    mt_echo(fd, s, strlen(s), who);
}

void
mt_expect_closed(int fd, const char *who)
{
    char what[256];

    snprintf(what, sizeof(what), "%s, %s", mt_name(), who);
    tk_expect_closed_drain(fd, REPLY_MS, what);
}

void
mt_fill(void *buf, size_t len, unsigned long seed)
{
    unsigned char *p = buf;
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

    for (size_t i = 0; i < len; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545f4914f6cdd1dULL;
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(p + i, &v, n);
    }
}

static void *
pump_main(void *arg)
{
    struct mt_pump *p = arg;

    for (size_t off = 0; off < p->len;) {
        size_t n = p->len - off < p->chunk ? p->len - off : p->chunk;
        ssize_t k = send(p->fd, p->data + off, n, MSG_NOSIGNAL);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* the reader side reports what went missing */
        off += (size_t)k;
        __atomic_store_n(&p->written, off, __ATOMIC_RELEASE);
    }
    return NULL;
}

void
mt_pump_start(struct mt_pump *p)
{
    pthread_t *t = tk_xmalloc(sizeof(*t));

    if (p->chunk == 0)
        p->chunk = 16 * 1024;
    p->written = 0;
    if (pthread_create(t, NULL, pump_main, p) != 0)
        cr_assert_fail("pthread_create failed");
    p->thread = t;
}

void
mt_pump_join(struct mt_pump *p)
{
    pthread_t *t = p->thread;

    if (t == NULL)
        return;
    pthread_join(*t, NULL);
    free(t);
    p->thread = NULL;
}

size_t
mt_wait_stall(struct mt_pump *p)
{
    return tk_wait_stall(&p->written, p->len, 300, 30000);
}
