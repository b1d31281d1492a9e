/*
 * helpers.c - the shared helpers of chapter 02's tests (see helpers.h).
 */
#include "helpers.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    char what[256];

    snprintf(what, sizeof(what), "%s, %s", mt_name(), who);
    tk_read_check(fd, want, len, timeout_ms, what);
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
