/*
 * run.h - runs one untrusted program (a test binary, a benchmark, make)
 * in a child process and collects what it did.
 *
 * The child gets its own process group, so a timeout kills it and every
 * process it started; resource limits, so a runaway test cannot take the
 * machine down; and a cap on how much of its output is kept. Its stdout and
 * stderr are for people only: results travel through files or a separate
 * descriptor that the grader chose (see grade.c), never through output.
 */
#ifndef IOLAB_RUN_H
#define IOLAB_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct run_spec {
    const char *const *argv; /* argv[0] is looked up in PATH */
    const char *const *env; /* "NAME=value" added to the environment, or NULL */
    double timeout;         /* seconds before the group is killed; 0: none */
    size_t out_cap;         /* bytes of output kept; the rest is discarded */
    bool limits;            /* apply the limits for untrusted code */
    size_t mem_limit;       /* with limits: address-space bytes; 0: none */
    bool metrics;           /* give the child a metrics pipe as fd 3 */
};

struct run_result {
    int status;     /* waitpid status of the child */
    bool timed_out; /* killed by the timeout */
    char *output;   /* stdout and stderr, interleaved, capped */
    bool truncated; /* output went past out_cap */
    char *metrics;  /* what the child wrote to fd 3 (capped) */
};

/*
 * run_child - runs spec->argv and waits for it (and its process group).
 * Returns 0 when the child was started and reaped, -errno when it could
 * not be started. res->output and res->metrics are always allocated
 * (possibly empty) on success; run_result_free releases them.
 */
int run_child(const struct run_spec *spec, struct run_result *res);
void run_result_free(struct run_result *res);

/* A one-line description of a wait status: "exit 1", "signal 11 (...)". */
void run_describe(int status, char *buf, size_t len);

#endif /* IOLAB_RUN_H */
