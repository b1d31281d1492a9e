/*
 * run.h - runs one program (a test binary, a benchmark, make) in a child
 * process and collects what it did.
 *
 * Every child gets its own process group, so a timeout kills it and every
 * process it started; limits, so a runaway cannot take the machine down;
 * and a cap on how much of its output is kept. Its stdout and stderr are
 * for people only: results travel through a channel the grader chose (a
 * descriptor only the trusted side of the child keeps, see
 * grade_tests.c),
 * never through output.
 *
 * Untrusted code (a submission's build, tests and benchmark) runs in the
 * sandbox when spec->sandbox is set. What the sandbox gives depends on the
 * machine; run_sandbox_init() finds out once, run_sandbox_describe() says
 * which protections are on:
 * - as root, the child drops to an unprivileged user of its own first
 *   (a uid from 65533 down, one per grader on the machine, held with a
 *   lock), so it cannot write the course, signal the grader or
 *   escape RLIMIT_NPROC, and every process it leaves can be killed;
 * - with user namespaces (unshare(2), user_namespaces(7)), the child gets
 *   a PID namespace (when its first process ends, every process it left
 *   behind is killed, setsid() and double forks included, and the grader's
 *   processes are invisible to it), a network namespace with loopback only,
 *   a mount namespace in which the course is read-only, the solutions are
 *   hidden, and /tmp and /dev/shm are private;
 * - without them, the grader is a child subreaper (PR_SET_CHILD_SUBREAPER,
 *   prctl(2)): whatever a child leaves behind is reparented to the grader
 *   and killed when the run ends.
 *
 * The runner is run.c, the sandbox sandbox.c. A child calls only
 * async-signal-safe functions between fork and exec (the grader forks
 * from several threads): its program path, argv, environment, limits and
 * sandbox settings are all made before fork.
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
    unsigned long nofile;   /* with limits: open descriptors; 0: default */
    unsigned long nproc;    /* with limits: the user's processes; 0: default */
    /*
     * A channel: the child gets the write end of a pipe as fd 3, and the
     * environment variable named here says so ("NAME=3"). NULL: none.
     */
    const char *channel;
    /*
     * With a channel: seconds it may stay silent before the group is
     * killed as hung (as at the timeout, with run_result.silent set); 0:
     * no such limit. A runner that writes as it goes (a line a finished
     * test) is stopped soon after its last sign of life.
     */
    double silence;
    bool sandbox;                /* contain it (see above) */
    const char *const *writable; /* sandbox: directories it may write */
    /*
     * sandbox: a build (make running the compiler and linker on the
     * submission), which sees the hidden tests: the link needs their
     * objects, and no code under test runs (the build's inputs are
     * inspected: sub_inspect.c). Tests, benches and demos never do.
     */
    bool build;
};

struct run_result {
    int status;     /* waitpid status of the program */
    bool timed_out; /* killed by the timeout */
    char *output;   /* stdout and stderr, interleaved, capped */
    bool truncated; /* output went past out_cap */
    char *channel;  /* what the child wrote to the channel (capped) */
    bool lost;      /* the sandbox could not report the program's status */
    bool silent;    /* timed_out because the channel fell silent */
};

/*
 * run_sandbox_init - decides, once, what the sandbox can do here. course
 * is the course's root (made read-only); hidden lists directories to hide
 * from every sandboxed run (the solutions), hidden_at_run those to hide
 * from every run but builds (the hidden tests); each list NULL-terminated,
 * each entry a glob(3) pattern relative to the current directory (up to
 * 32 directories in all). Also makes
 * the grader a subreaper and undumpable (so code under test cannot read or
 * write its memory).
 */
void run_sandbox_init(const char *course, const char *const *hidden,
                      const char *const *hidden_at_run);

/* One paragraph: which protections are on, and which are off and why. */
const char *run_sandbox_describe(void);

/* True when untrusted children run as another user (the grader is root). */
bool run_sandbox_drops_user(void);

/* May sandboxed runs overlap? Not as root without namespaces, where a
 * run ends by killing every process of the sandbox's user. */
bool run_sandbox_parallel(void);

/* chown -R path to the sandbox's user, when it drops to one. */
void run_sandbox_give(const char *path);

/* chown -R path back to the grader's user (after a sandboxed build). */
void run_sandbox_take(const char *path);

/*
 * run_child - runs spec->argv and waits for it (and everything it
 * started). Returns 0 when the child was started and reaped, -errno when
 * it could not be started. res->output and res->channel are always
 * allocated (possibly empty) on success; run_result_free releases them.
 * Safe to call from several threads at once.
 */
int run_child(const struct run_spec *spec, struct run_result *res);
void run_result_free(struct run_result *res);

/* A one-line description of a wait status: "exit 1", "signal 11 (...)". */
void run_describe(int status, char *buf, size_t len);

#endif /* IOLAB_RUN_H */
