/*
 * helpers.h - what chapter 07's server tests (test_echo.c) share: running
 * co_echo_serve in a thread, echo checks, and a client thread that sends
 * while the test reads. Modelled on chapter 02's helpers (mt_), with the
 * chapter's own prefix (ct_) so the two never collide.
 */
#ifndef CO_TEST_HELPERS_H
#define CO_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "co.h"
#include "iolab/testkit.h"

/* Generous limits: a correct server answers, and stops, at once. */
#define CT_REPLY_MS 5000 /* for an echo */
#define CT_STOP_MS 10000 /* for co_echo_serve to return after a stop */

/* The server under test: its tunables and, after ct_stop, its counters. */
extern struct co_echo_config ct_cfg;
extern struct co_echo_stats ct_stats;

/* Starts co_echo_serve(cfg, or every default) in a thread. */
void ct_start(struct tk_server *srv, const struct co_echo_config *cfg);

/* Stops it and checks that it returned 0; ct_stats is then final. */
void ct_stop(struct tk_server *srv);

/* Reads len bytes from fd and checks them against want; who names fd. */
void ct_read_check(int fd, const char *want, size_t len, int timeout_ms,
                   const char *who);

/* Sends buf (or the string s) and checks that the same bytes come back. */
void ct_echo(int fd, const void *buf, size_t len, const char *who);
void ct_echo_str(int fd, const char *s, const char *who);

/* Reads and drops whatever echo is left, then expects EOF or a reset. */
void ct_expect_closed(int fd, const char *who);

/*
 * Waits up to timeout_ms until the process has exactly want descriptors
 * open (the server closes a connection when it gets to it, not when the
 * client does); returns the last count seen.
 */
int ct_wait_open_fds(int want, int timeout_ms);

/*
 * A client thread that sends len bytes of data in chunks while the test
 * reads the echo: ct_pump_start, read, ct_pump_join. written is its
 * progress (atomic), for tk_wait_stall.
 */
struct ct_pump {
    int fd;
    const char *data;
    size_t len;
    size_t chunk;   /* bytes per send; 0: 16 KiB */
    size_t written; /* progress (atomic) */
    void *thread;   /* pthread_t, hidden to keep this header light */
};
void ct_pump_start(struct ct_pump *p);
void ct_pump_join(struct ct_pump *p);

#endif /* CO_TEST_HELPERS_H */
