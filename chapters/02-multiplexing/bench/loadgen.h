/*
 * loadgen.h - echo clients for chapter 02's benchmark and demos: a
 * single-threaded load generator, a holder of idle connections, and a
 * round-trip timer. Each is meant to run in its own process, so that the
 * server under test has the CPU and the descriptor table to itself.
 */
#ifndef MUX_LOADGEN_H
#define MUX_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

struct lg_opts {
    unsigned short port;    /* 127.0.0.1:port */
    int conns;              /* concurrent connections */
    size_t msg;             /* bytes per request (echoed back whole) */
    unsigned long per_conn; /* requests per connection; 0: run for duration */
    unsigned duration_ms;   /* with per_conn 0: how long to run */
};

struct lg_result {
    unsigned long long requests; /* echoes received whole and correct */
    unsigned long long errors;   /* wrong bytes, resets, early EOF */
    double seconds;              /* from the first request to the last */
};

/*
 * lg_run - every connection sends a request, waits for the whole echo,
 * checks it and sends the next, all driven by one epoll loop. Returns 0,
 * or -errno if connecting failed.
 */
int lg_run(const struct lg_opts *o, struct lg_result *r);

/*
 * lg_hold - opens n idle connections, storing them in fds[0..n). Returns
 * the number opened (less than n when the descriptor limit is reached).
 * A connection is open once the kernel completed it, which may be before
 * the server accepted it.
 */
int lg_hold(unsigned short port, int *fds, int n);

/*
 * lg_rtt - one client, rounds round trips of msg bytes; returns the
 * median round-trip time in nanoseconds, or 0 on error.
 */
double lg_rtt(unsigned short port, int rounds, size_t msg);

/* Raises the soft descriptor limit to the hard one; returns the limit. */
long lg_raise_nofile(void);

#endif /* MUX_LOADGEN_H */
