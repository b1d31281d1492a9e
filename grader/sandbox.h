/*
 * sandbox.h - the sandbox's side of run.c: what run_child needs to put a
 * child into the sandbox and to clean up after it. Private to run.c and
 * sandbox.c; the grader's interface is run.h (run_sandbox_*).
 *
 * Fork safety: the grader forks from several threads, so a child may call
 * only async-signal-safe functions until it execs. Everything a child
 * needs is therefore prepared in the parent (sandbox_prepare), and
 * sandbox_enter and sandbox_say make system calls only.
 */
#ifndef IOLAB_SANDBOX_H
#define IOLAB_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

/* What a child needs to enter the sandbox, prepared before fork. */
struct sandbox_prep {
    const char *const *writable; /* directories it may write, or NULL */
    bool userns;                 /* enter namespaces (else: drop user only) */
    bool build; /* a build: the hidden tests stay in sight (see run.h) */
    char uid_map[64], gid_map[64]; /* "inside outside 1\n" */
    char cwd[4096]; /* re-entered after the mounts; "" for none */
};

/* Fills sp for a sandboxed run that may write writable[] (build: see
 * struct run_spec). Parent only. */
void sandbox_prepare(struct sandbox_prep *sp, const char *const *writable,
                     bool build);

/*
 * sandbox_enter - puts the calling child into the sandbox: drops to the
 * sandbox's user (as root), then, with sp->userns, new user, mount, PID,
 * network and IPC namespaces, the course read-only, the solutions and
 * hidden tests out of sight, a private /tmp, loopback up. Async-signal-safe:
 * system calls only. Returns 0, or -1 with errno set and *step naming the step
 * that failed.
 */
int sandbox_enter(const struct sandbox_prep *sp, const char **step);

/*
 * sandbox_pid1 - after sandbox_enter with namespaces: makes the first
 * process of the new PID namespace, which reports the program's wait
 * status (an int) on status_fd when it ends; when pid 1 exits, the kernel
 * kills everything left in the namespace. Returns only in the process
 * that is to exec the program; exits with fail_status when it cannot
 * fork. Async-signal-safe: system calls only.
 */
void sandbox_pid1(int status_fd, int fail_status);

/* True when sandboxed runs use namespaces on this machine. */
bool sandbox_userns(void);

/* Marks pid as a live child of run_child (on) or no longer (off), so the
 * orphan sweep spares the runs of other threads. Thread-safe. */
void sandbox_live(pid_t pid, bool on);

/*
 * sandbox_cleanup - after a run has been reaped: as root without
 * namespaces, ends every process of the sandbox's user (sandboxed runs
 * only); then kills and reaps whatever was reparented to the grader (its
 * subreaper) that no live run owns.
 */
void sandbox_cleanup(bool sandboxed);

/* Writes a, b and a newline on stderr with write(2) alone: for a child. */
void sandbox_say(const char *a, const char *b);

#endif /* IOLAB_SANDBOX_H */
