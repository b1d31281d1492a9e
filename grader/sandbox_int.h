/*
 * sandbox_int.h - what sandbox.c and sandbox_clean.c share: the machine's
 * sandbox as run_sandbox_init found it, and the user untrusted code runs
 * as. Not for the rest of the grader (run.h and sandbox.h are).
 */
#ifndef IOLAB_SANDBOX_INT_H
#define IOLAB_SANDBOX_INT_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * The user untrusted code runs as when the grader is root: a number of its
 * own (no account needs to exist), so that "every process of this user" is
 * exactly the sandbox's processes, and kill(-1) as that user ends them all.
 * Each grader takes a number of its own from a pool, held with a lock for
 * its lifetime: two graders on one machine (a batch run, two CI jobs) must
 * not share one, or one grader's kill(-1) would end the other's runs, and
 * their processes would count against one RLIMIT_NPROC.
 */
#define SANDBOX_UID_TOP 65533 /* the pool: 65533 down to 65533 - 63 */
#define SANDBOX_UID_POOL 64
#define SANDBOX_UID (sandbox_machine.uid)

/* Set once by run_sandbox_init, before any run; read-only afterwards (a
 * child reads it after fork: plain memory, no lock). */
struct sandbox_machine {
    bool drop;        /* root: children become SANDBOX_UID */
    uid_t uid;        /* this grader's sandbox user (when drop) */
    int uid_lock;     /* held for the grader's lifetime */
    bool userns;      /* namespaces work */
    bool private_tmp; /* /tmp can be replaced (the course is moved back in
                       * when it is under /tmp; not for the course in
                       * /dev/shm) */
    char course[4096];
    char *hidden[32];
    int nhidden;
    int nhidden_always; /* hidden[0..nhidden_always) are hidden from builds
                         * too; the rest only from code under test */
    char describe[2048];
};
extern struct sandbox_machine sandbox_machine;

#endif /* IOLAB_SANDBOX_INT_H */
