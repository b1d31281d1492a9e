/*
 * helpers.h - what chapter 07's test files share, with the chapter's own
 * prefix (ct_) so that nothing collides with the kit or another chapter:
 * a trace of the order things ran in and a coroutine that records it
 * (the switch and scheduler tests); making coroutines and pipes and
 * running a scheduler, failing the test on error; running co_echo_serve
 * in a thread, echo checks, and a client thread that sends while the test
 * reads (the server tests, modelled on chapter 02's mt_ helpers).
 */
#ifndef CO_TEST_HELPERS_H
#define CO_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "co.h"
#include "iolab/testkit.h"

/* ---- order of events, coroutines, pipes --------------------------------- */

/* What ran, in order: one letter each (the rest dropped when full). */
struct ct_trace {
    char log[128];
    int n;
};
void ct_note(struct ct_trace *t, char c);

/* A body (arg: a struct ct_trace) that notes 'a', yields, 'b', yields, 'c'. */
void ct_body_abc(void *arg);

/* A body (arg: an int) that sets it to 1 and returns. */
void ct_body_quick(void *arg);

/* co_create and co_spawn (default stack for co_spawn) that fail the test
 * instead of returning NULL. */
struct co *ct_create_ok(co_entry_cb fn, void *arg, size_t stack);
struct co *ct_spawn_ok(co_entry_cb fn, void *arg);

/* co_sched_run(fn, arg), which must return 0. */
void ct_run(co_entry_cb fn, void *arg);

/* Sets O_NONBLOCK on fd; ct_nb_pipe: a pipe with both ends so. */
void ct_nonblock(int fd);
void ct_nb_pipe(int p[2]);

/* ---- the echo server ----------------------------------------------------- */

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

/* Sends buf (or the string s) and checks that the same bytes come back. */
void ct_echo(int fd, const void *buf, size_t len, const char *who);
void ct_echo_str(int fd, const char *s, const char *who);

/*
 * Waits up to timeout_ms until the process has exactly want descriptors
 * open (the server closes a connection when it gets to it, not when the
 * client does); returns the last count seen.
 */
int ct_wait_open_fds(int want, int timeout_ms);

/*
 * The echo checks and the client that pumps bytes are the kit's:
 * tk_read_check, tk_expect_closed_drain, struct tk_pump.
 */

#endif /* CO_TEST_HELPERS_H */
