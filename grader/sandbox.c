/*
 * sandbox.c - the sandbox: what this machine allows (run_sandbox_init and
 * the other run_sandbox_* of run.h), entering it in a child (sandbox.h),
 * and cleaning up after a run: the sandbox user's processes, orphans.
 *
 * Sections: the machine's sandbox; live runs; entering (child side, only
 * system calls); probing; the public queries; cleaning up.
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
#include "xalloc.h"

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
#define SANDBOX_UID (sb.uid)
#define PRIVATE_TMP_SIZE "size=2g"

/* ===================================================================== */
/* The machine's sandbox                                                 */
/* ===================================================================== */

/* Set once by run_sandbox_init, before any run; read-only afterwards (a
 * child reads it after fork: plain memory, no lock). */
static struct {
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
} sb;

void
sandbox_prepare(struct sandbox_prep *sp, const char *const *writable,
                bool build)
{
    unsigned uid = sb.drop ? SANDBOX_UID : getuid();
    unsigned gid = sb.drop ? SANDBOX_UID : getgid();

    *sp = (struct sandbox_prep){
        .writable = writable, .userns = sb.userns, .build = build};
    snprintf(sp->uid_map, sizeof(sp->uid_map), "%u %u 1\n", uid, uid);
    snprintf(sp->gid_map, sizeof(sp->gid_map), "%u %u 1\n", gid, gid);
    if (getcwd(sp->cwd, sizeof(sp->cwd)) == NULL)
        sp->cwd[0] = '\0';
}

bool
sandbox_userns(void)
{
    return sb.userns;
}

/* ===================================================================== */
/* Live runs                                                             */
/* ===================================================================== */

/* Live children of run_child, so the orphan sweep spares other threads'. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live[64];

void
sandbox_live(pid_t pid, bool on)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (on ? live[i] == 0 : live[i] == pid) {
            live[i] = on ? pid : 0;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

static bool
is_live(pid_t pid)
{
    bool found = false;

    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        found |= live[i] == pid;
    pthread_mutex_unlock(&live_lock);
    return found;
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
    if (sb.drop) {
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
    if (mount(sb.course, sb.course, NULL, MS_BIND | MS_REC, NULL) != 0 ||
        mount(NULL, sb.course, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) !=
            0)
        return -1;
    *step = "hidden solutions and tests";
    for (int i = 0; i < (p->build ? sb.nhidden_always : sb.nhidden); i++)
        if (mount("tmpfs", sb.hidden[i], "tmpfs",
                  MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k") != 0)
            return -1;
    *step = "private /tmp";
    if (sb.private_tmp) {
        bool tmp_ok = true;
        for (const char *const *w = p->writable; w && *w; w++)
            if (in_tmp(*w) && !path_under(*w, sb.course))
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
        if (tmp_ok && in_tmp(sb.course)) {
            *step = "the course's mounts, for the private /tmp";
            tree = (int)syscall(SYS_open_tree, AT_FDCWD, sb.course,
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
            if (make_dirs(sb.course) != 0 ||
                syscall(SYS_move_mount, tree, "", AT_FDCWD, sb.course,
                        MOVE_MOUNT_F_EMPTY_PATH) != 0)
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
    p.userns = !drop_only && sb.userns;
    bool debug = getenv("IOLAB_DEBUG_SANDBOX") != NULL;
    char mk[4200];
    snprintf(mk, sizeof(mk), "%s/Makefile", sb.course);
    pid_t pid = fork();
    if (pid == 0) {
        const char *step = "";
        int rc = sandbox_enter(&p, &step);
        if (rc != 0 && debug)
            say_errno("sandbox probe: ", step, errno);
        /* With namespaces the course must be read-only, also by the
         * relative paths a test would use (it runs in the course). */
        bool ro = drop_only || (access(sb.course, W_OK) != 0 &&
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
            sb.uid = uid;
            sb.uid_lock = fd;
            return true;
        }
        close(fd);
    }
    return false;
}

/* Adds the directories that match the glob(3) patterns to sb.hidden. */
static void
hide(const char *const *patterns)
{
    char real[4096];

    for (const char *const *h = patterns; h && *h; h++) {
        glob_t g;
        if (glob(*h, GLOB_ONLYDIR, NULL, &g) != 0)
            continue; /* nothing to hide */
        for (size_t i = 0; i < g.gl_pathc && sb.nhidden < 32; i++)
            if (realpath(g.gl_pathv[i], real) != NULL)
                sb.hidden[sb.nhidden++] = xstrdup(real);
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
    snprintf(sb.course, sizeof(sb.course), "%s",
             realpath(course, real) ? real : course);
    hide(hidden);
    sb.nhidden_always = sb.nhidden;
    hide(hidden_at_run);
    sb.private_tmp = !path_under(sb.course, "/dev/shm");

    if (geteuid() == 0) {
        sb.drop = take_sandbox_uid();
        if (!sb.drop)
            strcat(off, "- untrusted code runs as root: every sandbox user "
                        "of the pool is held by another grader on this "
                        "machine\n");
        else if (probe(true) != 0) {
            sb.drop = false;
            strcat(off, "- untrusted code runs as root: an unprivileged "
                        "user cannot read the course here (move it out of "
                        "a private directory such as /root)\n");
        }
    }
    /* IOLAB_NO_NAMESPACES=1: as on a machine without them (to test the
     * fallback, or where namespaces misbehave). */
    sb.userns = getenv("IOLAB_NO_NAMESPACES") == NULL;
    if (!sb.userns || probe(false) != 0) {
        sb.userns = false;
        strcat(off, "- no namespaces (unprivileged user namespaces are off): "
                    "the course is writable by code under test (changes are "
                    "detected, not prevented), the network is not limited "
                    "to loopback, and leftover processes are found by the "
                    "grader as their subreaper instead of dying with a PID "
                    "namespace\n");
    }
    char who[96] = "";
    if (sb.drop)
        snprintf(who, sizeof(who),
                 "runs untrusted code as an unprivileged user of its own "
                 "(uid %u); ",
                 (unsigned)sb.uid);
    snprintf(sb.describe, sizeof(sb.describe), "sandbox: %s%s%s\n%s%s", who,
             sb.userns
                 ? "PID, network (loopback only) and mount namespaces "
                   "(course read-only, solutions and hidden tests out of sight"
                 : "process groups, subreaper and limits only",
             sb.userns ? (sb.private_tmp ? ", private /tmp)" : ")") : "",
             off[0] ? "protections off:\n" : "", off);
}

const char *
run_sandbox_describe(void)
{
    return sb.describe[0] ? sb.describe : "sandbox: not initialised\n";
}

bool
run_sandbox_drops_user(void)
{
    return sb.drop;
}

bool
run_sandbox_parallel(void)
{
    return sb.userns || !sb.drop;
}

static int
give_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    lchown(path, SANDBOX_UID, SANDBOX_UID);
    return 0;
}

static int
take_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    lchown(path, getuid(), getgid());
    return 0;
}

void
run_sandbox_give(const char *path)
{
    if (sb.drop)
        nftw(path, give_entry, 16, FTW_PHYS);
}

void
run_sandbox_take(const char *path)
{
    if (sb.drop)
        nftw(path, take_entry, 16, FTW_PHYS);
}

/* ===================================================================== */
/* Cleaning up after a run                                               */
/* ===================================================================== */

/*
 * Without namespaces, as root: ends every process of the sandbox's user
 * (kill(-1) from a child of that user), which no fork bomb or daemon
 * escapes. Only when no other run is live (runs are then one at a time).
 */
static void
kill_sandbox_user(void)
{
    for (int round = 0; round < 5; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) == 0 &&
                setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) == 0)
                kill(-1, SIGKILL);
            _exit(0);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
}

/*
 * Kills whatever the run left behind outside its process group: orphans
 * reparented to the grader (its subreaper) that no other run owns.
 */
static void
sweep_orphans(void)
{
    for (int round = 0; round < 50; round++) {
        DIR *d = opendir("/proc");
        int found = 0;
        if (d == NULL)
            return;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            char path[300], buf[512];
            if (e->d_name[0] < '1' || e->d_name[0] > '9')
                continue;
            snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd == -1)
                continue;
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            close(fd);
            if (n <= 0)
                continue;
            buf[n] = '\0';
            char *paren = strrchr(buf, ')');
            int ppid = 0;
            char state;
            if (paren == NULL ||
                sscanf(paren + 1, " %c %d", &state, &ppid) != 2)
                continue;
            pid_t pid = (pid_t)atoi(e->d_name);
            if (ppid == getpid() && !is_live(pid)) {
                /* Reaped at once: a zombie still counts against its
                 * user's RLIMIT_NPROC, and would starve the next run. */
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
                    ;
                found++;
            }
        }
        closedir(d);
        if (found == 0)
            return;
        struct timespec ts = {.tv_nsec = 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void
sandbox_cleanup(bool sandboxed)
{
    /* First stop everything of the sandbox's user (a fork bomb keeps the
     * machine too busy for anything else), then reap what is left. */
    if (sandboxed && sb.drop && !sb.userns)
        kill_sandbox_user();
    sweep_orphans();
}
