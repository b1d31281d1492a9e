/*
 * perfkit.h - what every chapter's benchmark shares.
 *
 * A benchmark prints human-readable progress on stdout and hands its
 * metrics to the grader through pk_metric(), which writes to the
 * descriptor named by $IOLAB_METRICS_FD (or to stdout when run by hand).
 * Metrics are either counted (system calls, bytes, connections: exact and
 * repeatable) or timed ratios measured in the same run against a baseline,
 * as the median of several runs. Never an absolute time.
 */
#ifndef IOLAB_PERFKIT_H
#define IOLAB_PERFKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- clocks and resources --------------------------------------------- */

uint64_t pk_now_ns(void);        /* CLOCK_MONOTONIC */
uint64_t pk_cpu_ns(void);        /* user + system CPU of this process */
uint64_t pk_thread_cpu_ns(void); /* user + system CPU of the calling thread */
long pk_peak_rss_kib(void);      /* VmHWM: the most resident memory so far */
long pk_rss_kib(void);           /* VmRSS: resident memory now */

/* Median of v[0..n); sorts v in place. n must be at least 1. */
double pk_median(double *v, size_t n);

/* ---- sockets ------------------------------------------------------------ */

/*
 * pk_send_all - sends all of buf on a blocking socket (MSG_NOSIGNAL,
 * retrying EINTR). Returns 0, or -errno (-EPIPE when send returned 0).
 */
int pk_send_all(int fd, const void *buf, size_t len);

/*
 * pk_listen_tcp - listens on 127.0.0.1 at a port the kernel picks (never
 * a fixed one: two benches may run at once), with the given backlog, and
 * stores the port in *port. Returns the socket; exits with a message if
 * the machine refuses.
 */
int pk_listen_tcp(unsigned short *port, int backlog);

/*
 * pk_dial_tcp - connects a blocking socket to 127.0.0.1:port, with
 * TCP_NODELAY (a request goes out at once, not held back to be merged).
 * Its connect, sends and receives each give up after timeout_ms
 * (SO_SNDTIMEO, which Linux applies to connect(2), and SO_RCVTIMEO: see
 * socket(7)), so a server that stopped accepting or answering cannot hang
 * the bench. Returns the socket, or -errno (-EAGAIN or -EINPROGRESS: the
 * time ran out).
 */
int pk_dial_tcp(unsigned short port, int timeout_ms);

/* ---- metrics ------------------------------------------------------------ */

/*
 * pk_init - reads the bench's options (--runs N, --chart DIR) and takes
 * the metrics descriptor from the environment before any code under test
 * runs. Returns the number of runs for timed metrics (default def_runs).
 * Also sets die()'s program name. --help prints the usage and exits 0;
 * any other argument, or a --runs that is not a number from 1 to
 * PK_MAX_RUNS, prints the usage and exits 2.
 */
int pk_init(int argc, char **argv, int def_runs);

/* The largest --runs pk_init accepts. */
#define PK_MAX_RUNS 1000

/* ---- charts ------------------------------------------------------------- */

/*
 * pk_chart_dir - the DIR of --chart DIR given to pk_init, or NULL. A bench
 * run so (by make charts: grader/charts.sh) measures only its curves and
 * writes them to DIR with pk_chart_open; graded runs never pass it.
 */
const char *pk_chart_dir(void);

/*
 * pk_chart_open - creates DIR/NAME.tsv for one curve and writes its first
 * line, "# " and the column names (space-separated) given in columns; the
 * caller writes one row per line, fields separated by TABs, and closes
 * it. dir NULL: returns NULL (no chart wanted). Exits with a message if
 * the file cannot be created.
 */
FILE *pk_chart_open(const char *dir, const char *name, const char *columns);

/*
 * pk_tmpdir - creates a private directory for the bench's files,
 * $TMPDIR/iolab-TAG-XXXXXX (or under /tmp), and returns its path (static
 * storage: one directory per bench). Exits with a message if it cannot.
 * The grader runs each bench with a TMPDIR of its own that it removes
 * afterwards, so even a bench killed at its time limit leaves nothing
 * behind; a bench run by hand removes its files itself.
 */
const char *pk_tmpdir(const char *tag);

/* pk_metric - reports one metric: "name value". */
void pk_metric(const char *name, double value);

/* ---- system calls, counted at the kernel boundary ----------------------- */

#define PK_MAX_SYSCALL 512 /* syscall numbers at or above this are lumped */

struct pk_syscalls {
    unsigned long total;                 /* every syscall in the region */
    unsigned long by_nr[PK_MAX_SYSCALL]; /* per syscall number */
};

/*
 * pk_count_syscalls - runs fn(arg) in a child process traced with ptrace,
 * and counts the system calls made between its pk_region_begin() and
 * pk_region_end() calls, by every thread of the child. When fn marks no
 * region, the whole of fn is counted. Stdio, malloc and the library can
 * hide nothing: the count is taken in the kernel's syscall entry path.
 *
 * Returns 0, or -errno if tracing is impossible (then *out is zeroed and
 * the bench should report the metric as missing, not as zero).
 * fn's return value becomes the child's exit status; a non-zero status
 * makes this function return -ECHILD.
 */
int pk_count_syscalls(int (*fn)(void *), void *arg, struct pk_syscalls *out);

/* Marks the start and end of the counted region inside fn. */
void pk_region_begin(void);
void pk_region_end(void);

#endif /* IOLAB_PERFKIT_H */
