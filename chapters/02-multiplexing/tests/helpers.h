/*
 * helpers.h - what chapter 02's tests share: running mux_serve in a
 * thread with a chosen backend, echo checks, and clients that flood or
 * read slowly. Every helper fails the test with a message naming the
 * backend, so a report line says which backend misbehaved.
 */
#ifndef MUX_TEST_HELPERS_H
#define MUX_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "iolab/testkit.h"
#include "mux.h"

#define REPLY_MS 5000 /* generous: a correct server answers in microseconds */
#define STOP_MS 10000 /* mux_serve must return this soon after a stop */

/*
 * MUX_TEST_EACH(name, description, body) - one test per backend, named
 * select/name, poll/name, epoll_lt/name and epoll_et/name, each calling
 * body(backend). Each is its own manifest item, so a report shows which
 * backend fails.
 */
#define MUX_TEST_ONE(suite, b, name, desc, body)                               \
    TK_TEST(suite, name, .description = desc)                                  \
    {                                                                          \
        body(b);                                                               \
    }
#define MUX_TEST_EACH(name, desc, body)                                        \
    MUX_TEST_ONE(select, MUX_SELECT, name, desc, body)                         \
    MUX_TEST_ONE(poll, MUX_POLL, name, desc, body)                             \
    MUX_TEST_ONE(epoll_lt, MUX_EPOLL_LT, name, desc, body)                     \
    MUX_TEST_ONE(epoll_et, MUX_EPOLL_ET, name, desc, body)

/* The server under test: which backend, its tunables, its counters. */
extern enum mux_backend mt_backend;
extern struct mux_config mt_cfg;
extern struct mux_stats mt_stats;

/* Starts mux_serve(backend, cfg or defaults) in a thread. */
void mt_start(struct tk_server *srv, enum mux_backend b,
              const struct mux_config *cfg);

/* Stops it and checks that it returned 0; mt_stats is then final. */
void mt_stop(struct tk_server *srv);

/* The backend's name, for messages. */
const char *mt_name(void);

/* Sends buf and checks that exactly the same bytes come back. */
void mt_echo(int fd, const void *buf, size_t len, const char *who);
void mt_echo_str(int fd, const char *s, const char *who);

/*
 * Waits for EOF (or a reset) on fd, reading past what the server still
 * sends (tk_expect_closed_drain); fails naming the backend and who.
 */
void mt_expect_closed(int fd, const char *who);

/*
 * Socket buffers of 64 KiB (the kernel doubles it) for tk_small_buffers:
 * loopback buffers otherwise grow to megabytes, and a server without
 * backpressure would look fine.
 */
#define MT_SMALL_BUF (64 * 1024)

/* Fast deterministic bytes (a word at a time: cheap under Valgrind). */
void mt_fill(void *buf, size_t len, unsigned long seed);

/*
 * A client that sends while the test reads the echo is the kit's
 * struct tk_pump (tk_pump_start, tk_pump_join, tk_pump_wait_stall).
 */

/*
 * Reads len bytes from fd and checks them against want (tk_read_check),
 * naming the backend and who on a failure.
 */
void mt_read_check(int fd, const char *want, size_t len, int timeout_ms,
                   const char *who);

#endif /* MUX_TEST_HELPERS_H */
