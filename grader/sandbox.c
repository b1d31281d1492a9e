/*
 * sandbox.c - the sandbox: what this machine allows (run_sandbox_init and
 * the other run_sandbox_* of run.h), and entering it in a child
 * (sandbox.h). The bookkeeping around runs (live runs, giving and taking
 * directories, cleaning up after a run) is sandbox_clean.c's.
 *
 * Sections: the machine's sandbox; entering (child side, only system
 * calls); probing; the public queries.
 */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <ftw.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "sandbox_int.h"
#include "xalloc.h"

#define PRIVATE_TMP_SIZE "size=2g"

/* ===================================================================== */
/* The machine's sandbox                                                 */
/* ===================================================================== */

struct sandbox_machine sandbox_machine;

void
sandbox_prepare(struct sandbox_prep *sp, const char *const *writable,
                bool build)
{
    unsigned uid = sandbox_machine.drop ? SANDBOX_UID : getuid();
    unsigned gid = sandbox_machine.drop ? SANDBOX_UID : getgid();

    *sp = (struct sandbox_prep){
        .writable = writable, .userns = sandbox_machine.userns, .build = build};
    snprintf(sp->uid_map, sizeof(sp->uid_map), "%u %u 1\n", uid, uid);
    snprintf(sp->gid_map, sizeof(sp->gid_map), "%u %u 1\n", gid, gid);
    if (getcwd(sp->cwd, sizeof(sp->cwd)) == NULL)
        sp->cwd[0] = '\0';
}

bool
sandbox_userns(void)
{
    return sandbox_machine.userns;
}

/* ===================================================================== */
/* Entering the sandbox (in the child: system calls only)                */
/* ===================================================================== */

static int
write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static bool
path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* True when path is in /tmp or /dev/shm, which a private /tmp replaces. */
static bool
in_tmp(const char *path)
{
    return path_under(path, "/tmp") || path_under(path, "/dev/shm");
}

/*
 * mkdir -p for an absolute path, with system calls only (the child between
 * fork and exec). Returns 0, or -1 when a component cannot be made.
 */
static int
make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    return 0;
}

int
sandbox_enter(const struct sandbox_prep *p, const char **step)
{
    *step = "drop to the sandbox user";
    if (sandbox_machine.drop) {
        gid_t g = SANDBOX_UID;
        if (setgroups(1, &g) != 0 ||
            setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0 ||
            setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0)
            return -1;
    }
    /*
     * The grader is undumpable, and so is a process that changed its user:
     * its /proc/self files then belong to root, and it could not write its
     * own uid_map. This process runs only the grader's code until exec.
     */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!p->userns)
        return 0;
    *step = "unshare";
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                CLONE_NEWIPC) != 0)
        return -1;
    *step = "uid and gid maps";
    if (write_file("/proc/self/setgroups", "deny") != 0 ||
        write_file("/proc/self/uid_map", p->uid_map) != 0 ||
        write_file("/proc/self/gid_map", p->gid_map) != 0)
        return -1;
    *step = "private mounts";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    *step = "writable directories";
    for (const char *const *w = p->writable; w && *w; w++)
        if (mount(*w, *w, NULL, MS_BIND | MS_REC, NULL) != 0)
            return -1;
    *step = "read-only course";
    if (mount(sandbox_machine.course, sandbox_machine.course, NULL,
              MS_BIND | MS_REC, NULL) != 0 ||
        mount(NULL, sandbox_machine.course, NULL,
              MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
        return -1;
    *step = "hidden solutions and tests";
    for (int i = 0; i < (p->build ? sandbox_machine.nhidden_always
                                  : sandbox_machine.nhidden);
         i++)
        if (mount("tmpfs", sandbox_machine.hidden[i], "tmpfs",
                  MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k") != 0)
            return -1;
    *step = "private /tmp";
    if (sandbox_machine.private_tmp) {
        bool tmp_ok = true;
        for (const char *const *w = p->writable; w && *w; w++)
            if (in_tmp(*w) && !path_under(*w, sandbox_machine.course))
                tmp_ok = false;
        /*
         * A course under /tmp (a clone in /tmp, as CI and students make)
         * must not cost the private /tmp: two graders' runs would share
         * it, and Criterion's runner, pid 2 in each PID namespace, names
         * its socket /tmp/criterion_2.sock. The course's mounts as set up
         * above are cloned, detached, before the new /tmp hides them, and
         * moved back in at the same path (open_tree(2), move_mount(2)).
         */
        int tree = -1;
        if (tmp_ok && in_tmp(sandbox_machine.course)) {
            *step = "the course's mounts, for the private /tmp";
            tree = (int)syscall(SYS_open_tree, AT_FDCWD, sandbox_machine.course,
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                    AT_RECURSIVE);
            if (tree < 0)
                tmp_ok = false; /* an older kernel: /tmp stays shared */
        }
        *step = "private /tmp";
        if (tmp_ok && (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                             PRIVATE_TMP_SIZE) != 0 ||
                       mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                             PRIVATE_TMP_SIZE) != 0))
            return -1;
        if (tree >= 0) {
            *step = "the course inside the private /tmp";
            if (make_dirs(sandbox_machine.course) != 0 ||
                syscall(SYS_move_mount, tree, "", AT_FDCWD,
                        sandbox_machine.course, MOVE_MOUNT_F_EMPTY_PATH) != 0)
                return -1;
            close(tree);
        }
    }
    *step = "loopback";
    /* Loopback only: the new network namespace has lo, down. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {.ifr_name = "lo"};
    if (s == -1 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        return -1;
    close(s);
    /*
     * The working directory still points into the mounts as they were: a
     * relative path would reach the writable course. Enter it again,
     * through the new (read-only) mounts.
     */
    *step = "working directory";
    if (p->cwd[0] != '\0' && chdir(p->cwd) != 0)
        return -1;
    return 0;
}

/* Writes a message on fd 2 without stdio (after fork). */
void
sandbox_say(const char *a, const char *b)
{
    (void)!write(STDERR_FILENO, a, strlen(a));
    (void)!write(STDERR_FILENO, b, strlen(b));
    (void)!write(STDERR_FILENO, "\n", 1);
}

/*
 * sandbox_pid1 - in a child that entered namespaces: forks the first
 * process of the new PID namespace, which mounts its /proc, forks the
 * program's process and waits for it; when the program ends, pid 1 writes
 * its wait status (an int) to status_fd and exits, and the kernel kills
 * every process left in the namespace. Returns only in the program's
 * process; exits with fail_status when a fork fails. System calls only.
 */
void
sandbox_pid1(int status_fd, int fail_status)
{
    pid_t c = fork(); /* the first process of the PID namespace */
    if (c == -1)
        _exit(fail_status);
    if (c > 0) {
        close(status_fd);
        int st;
        while (waitpid(c, &st, 0) == -1 && errno == EINTR)
            ;
        _exit(0);
    }
    /* pid 1: undumpable, so nothing inside can steer it. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    pid_t prog = fork();
    if (prog == -1)
        _exit(fail_status);
    if (prog > 0) {
        for (;;) {
            int st;
            pid_t w = waitpid(-1, &st, 0);
            if (w == prog) {
                (void)!write(status_fd, &st, sizeof(st));
                _exit(0); /* and the kernel kills the rest */
            }
            if (w == -1 && errno != EINTR)
                _exit(fail_status);
        }
    }
}

/* sandbox_say with ": errno N" after b; async-signal-safe (no strerror). */
static void
say_errno(const char *a, const char *b, int err)
{
    char num[16], *p = num + sizeof(num);

    *--p = '\0';
    do
        *--p = (char)('0' + err % 10);
    while ((err /= 10) > 0 && p > num);
    (void)!write(STDERR_FILENO, a, strlen(a));
    (void)!write(STDERR_FILENO, b, strlen(b));
    (void)!write(STDERR_FILENO, ": errno ", 8);
    sandbox_say(p, "");
}

/* ===================================================================== */
/* Probing what works                                                    */
/* ===================================================================== */

/* Probes the sandbox in a child: 0 when every step works; else says why. */
static int
probe(bool drop_only)
{
    struct sandbox_prep p;
    /* Everything the child uses is ready before fork (sandbox.h). */
    sandbox_prepare(&p, NULL, false);
    p.userns = !drop_only && sandbox_machine.userns;
    bool debug = getenv("IOLAB_DEBUG_SANDBOX") != NULL;
    char mk[4200];
    snprintf(mk, sizeof(mk), "%s/Makefile", sandbox_machine.course);
    pid_t pid = fork();
    if (pid == 0) {
        const char *step = "";
        int rc = sandbox_enter(&p, &step);
        if (rc != 0 && debug)
            say_errno("sandbox probe: ", step, errno);
        /* With namespaces the course must be read-only, also by the
         * relative paths a test would use (it runs in the course). */
        bool ro = drop_only || (access(sandbox_machine.course, W_OK) != 0 &&
                                access("Makefile", W_OK) != 0);
        _exit(rc == 0 && ro && access(mk, R_OK) == 0 ? 0 : 1);
    }
    int st = 0;
    if (pid == -1 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * Takes a sandbox user no other grader holds and no account owns: an
 * exclusive lock on a file named after it, kept open (close-on-exec) until
 * the grader exits, when the kernel drops it. Returns false when every
 * number of the pool is taken.
 */
static bool
take_sandbox_uid(void)
{
    const char *dir = access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp";
    char path[256];

    for (int k = 0; k < SANDBOX_UID_POOL; k++) {
        uid_t uid = SANDBOX_UID_TOP - (uid_t)k;
        if (getpwuid(uid) != NULL)
            continue; /* a real account: kill(-1) would reach its processes */
        snprintf(path, sizeof(path), "%s/iolab-sandbox-%u.lock", dir,
                 (unsigned)uid);
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            sandbox_machine.uid = uid;
            sandbox_machine.uid_lock = fd;
            return true;
        }
        close(fd);
    }
    return false;
}

/* Adds the directories that match the glob(3) patterns to
 * sandbox_machine.hidden. */
static void
hide(const char *const *patterns)
{
    char real[4096];

    for (const char *const *h = patterns; h && *h; h++) {
        glob_t g;
        if (glob(*h, GLOB_ONLYDIR, NULL, &g) != 0)
            continue; /* nothing to hide */
        for (size_t i = 0; i < g.gl_pathc && sandbox_machine.nhidden < 32; i++)
            if (realpath(g.gl_pathv[i], real) != NULL)
                sandbox_machine.hidden[sandbox_machine.nhidden++] =
                    xstrdup(real);
        globfree(&g);
    }
}

void
run_sandbox_init(const char *course, const char *const *hidden,
                 const char *const *hidden_at_run)
{
    char real[4096];
    char off[1024] = "";

    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    snprintf(sandbox_machine.course, sizeof(sandbox_machine.course), "%s",
             realpath(course, real) ? real : course);
    hide(hidden);
    sandbox_machine.nhidden_always = sandbox_machine.nhidden;
    hide(hidden_at_run);
    sandbox_machine.private_tmp =
        !path_under(sandbox_machine.course, "/dev/shm");

    if (geteuid() == 0) {
        sandbox_machine.drop = take_sandbox_uid();
        if (!sandbox_machine.drop)
            strcat(off, "- untrusted code runs as root: every sandbox user "
                        "of the pool is held by another grader on this "
                        "machine\n");
        else if (probe(true) != 0) {
            sandbox_machine.drop = false;
            strcat(off, "- untrusted code runs as root: an unprivileged "
                        "user cannot read the course here (move it out of "
                        "a private directory such as /root)\n");
        }
    }
    /* IOLAB_NO_NAMESPACES=1: as on a machine without them (to test the
     * fallback, or where namespaces misbehave). */
    sandbox_machine.userns = getenv("IOLAB_NO_NAMESPACES") == NULL;
    if (!sandbox_machine.userns || probe(false) != 0) {
        sandbox_machine.userns = false;
        strcat(off, "- no namespaces (unprivileged user namespaces are off): "
                    "the course is writable by code under test (changes are "
                    "detected, not prevented), the network is not limited "
                    "to loopback, and leftover processes are found by the "
                    "grader as their subreaper instead of dying with a PID "
                    "namespace\n");
    }
    char who[96] = "";
    if (sandbox_machine.drop)
        snprintf(who, sizeof(who),
                 "runs untrusted code as an unprivileged user of its own "
                 "(uid %u); ",
                 (unsigned)sandbox_machine.uid);
    snprintf(sandbox_machine.describe, sizeof(sandbox_machine.describe),
             "sandbox: %s%s%s\n%s%s", who,
             sandbox_machine.userns
                 ? "PID, network (loopback only) and mount namespaces "
                   "(course read-only, solutions and hidden tests out of sight"
                 : "process groups, subreaper and limits only",
             sandbox_machine.userns
                 ? (sandbox_machine.private_tmp ? ", private /tmp)" : ")")
                 : "",
             off[0] ? "protections off:\n" : "", off);
}

const char *
run_sandbox_describe(void)
{
    return sandbox_machine.describe[0] ? sandbox_machine.describe
                                       : "sandbox: not initialised\n";
}

bool
run_sandbox_drops_user(void)
{
    return sandbox_machine.drop;
}

bool
run_sandbox_parallel(void)
{
    return sandbox_machine.userns || !sandbox_machine.drop;
}
