/*
 * run.c - the child-process runner and sandbox declared in run.h.
 *
 * Sections: limits; the sandbox (what the machine allows, entering it);
 * the child side (only async-signal-safe calls: everything it needs is
 * prepared before fork, since the grader forks from several threads); the
 * parent side (a poll loop that drains the output and channel pipes until
 * both close or the deadline passes, then kills the whole process group,
 * reaps the child and whatever it left behind).
 */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL_CAP (256 * 1024) /* results and metrics: short lines */
/* After a kill, how long a process outside the group may hold the pipe. */
#define DRAIN_AFTER_KILL_MS 2000
#define LIMIT_FSIZE (4ULL << 30) /* tests may write big files: 4 GiB */
#define LIMIT_NPROC 4096         /* processes and threads of the user */
#define LIMIT_NOFILE 65536       /* chapter 02 opens thousands of sockets */
/*
 * The user untrusted code runs as when the grader is root: a number of its
 * own (no account needs to exist), so that "every process of this user" is
 * exactly the sandbox's processes, and kill(-1) as that user ends them all.
 */
#define SANDBOX_UID 65533
#define PRIVATE_TMP_SIZE "size=2g"
#define EXIT_NO_SANDBOX 125 /* the sandbox could not be entered */

extern char **environ;

/* ===================================================================== */
/* Limits                                                                */
/* ===================================================================== */

/* Lowers a limit to at most max, never raising it. */
static void
cap_limit(int resource, rlim_t max)
{
    struct rlimit rl;

    if (getrlimit(resource, &rl) != 0)
        return;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > max)
        rl.rlim_max = max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    setrlimit(resource, &rl);
}

static void
apply_limits(double timeout, size_t mem_limit)
{
    struct rlimit none = {0, 0};

    setrlimit(RLIMIT_CORE, &none);
    cap_limit(RLIMIT_FSIZE, LIMIT_FSIZE);
    cap_limit(RLIMIT_NPROC, LIMIT_NPROC);
    cap_limit(RLIMIT_NOFILE, LIMIT_NOFILE);
    if (mem_limit > 0)
        cap_limit(RLIMIT_AS, (rlim_t)mem_limit);
    if (timeout > 0) /* CPU seconds: a backstop if the wall clock is missed */
        cap_limit(RLIMIT_CPU, (rlim_t)(timeout * 2 + 10));
}

/* ===================================================================== */
/* The sandbox: what this machine allows                                 */
/* ===================================================================== */

static struct {
    bool drop;        /* root: children become SANDBOX_UID */
    bool userns;      /* namespaces work */
    bool private_tmp; /* /tmp can be replaced (the course is not under it) */
    char course[4096];
    char *hidden[8];
    int nhidden;
    char describe[2048];
} sb;

static void sweep_orphans(void);

/* Live children of run_child, so the orphan sweep spares other threads'. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live[64];

static void
live_set(pid_t pid, bool on)
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

/* Everything the child needs, prepared before fork. */
struct prep {
    const char *path; /* the program, resolved */
    char *const *argv;
    char **envp;
    bool sandbox;
    const char *const *writable;
    char uid_map[64], gid_map[64];
    char cwd[4096]; /* re-entered after the mounts (see sandbox_enter) */
    int status_fd;  /* sandbox: where pid 1 reports the program's status */
};

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

/*
 * Enters the sandbox: called in the child, after fork; only system calls.
 * Returns 0, or -1 (errno set) when some step was refused.
 */
/* The step sandbox_enter was at, for messages. */
static const char *step = "";

static int
sandbox_enter(const struct prep *p)
{
    step = "drop to the sandbox user";
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
    if (!sb.userns)
        return 0;
    step = "unshare";
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                CLONE_NEWIPC) != 0)
        return -1;
    step = "uid and gid maps";
    if (write_file("/proc/self/setgroups", "deny") != 0 ||
        write_file("/proc/self/uid_map", p->uid_map) != 0 ||
        write_file("/proc/self/gid_map", p->gid_map) != 0)
        return -1;
    step = "private mounts";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    step = "writable directories";
    for (const char *const *w = p->writable; w && *w; w++)
        if (mount(*w, *w, NULL, MS_BIND | MS_REC, NULL) != 0)
            return -1;
    step = "read-only course";
    if (mount(sb.course, sb.course, NULL, MS_BIND | MS_REC, NULL) != 0 ||
        mount(NULL, sb.course, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) !=
            0)
        return -1;
    step = "hidden solutions";
    for (int i = 0; i < sb.nhidden; i++)
        if (mount("tmpfs", sb.hidden[i], "tmpfs",
                  MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k") != 0)
            return -1;
    step = "private /tmp";
    if (sb.private_tmp) {
        bool tmp_ok = true;
        for (const char *const *w = p->writable; w && *w; w++)
            tmp_ok &= !path_under(*w, "/tmp") && !path_under(*w, "/dev/shm");
        if (tmp_ok && (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                             PRIVATE_TMP_SIZE) != 0 ||
                       mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                             PRIVATE_TMP_SIZE) != 0))
            return -1;
    }
    step = "loopback";
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
    step = "working directory";
    if (p->cwd[0] != '\0' && chdir(p->cwd) != 0)
        return -1;
    return 0;
}

/* Writes a message on fd 2 without stdio (after fork). */
static void
say(const char *a, const char *b)
{
    (void)!write(STDERR_FILENO, a, strlen(a));
    (void)!write(STDERR_FILENO, b, strlen(b));
    (void)!write(STDERR_FILENO, "\n", 1);
}

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

/* Probes the sandbox in a child: 0 when every step works; else says why. */
static int
probe(bool drop_only)
{
    struct prep p = {.sandbox = true};
    if (getcwd(p.cwd, sizeof(p.cwd)) == NULL)
        p.cwd[0] = '\0';
    snprintf(p.uid_map, sizeof(p.uid_map), "%u %u 1\n",
             sb.drop ? SANDBOX_UID : getuid(),
             sb.drop ? SANDBOX_UID : getuid());
    snprintf(p.gid_map, sizeof(p.gid_map), "%u %u 1\n",
             sb.drop ? SANDBOX_UID : getgid(),
             sb.drop ? SANDBOX_UID : getgid());
    char mk[4200];
    snprintf(mk, sizeof(mk), "%s/Makefile", sb.course);
    pid_t pid = fork();
    if (pid == 0) {
        bool saved = sb.userns;
        if (drop_only)
            sb.userns = false;
        int rc = sandbox_enter(&p);
        sb.userns = saved;
        if (rc != 0 && getenv("IOLAB_DEBUG_SANDBOX"))
            fprintf(stderr, "sandbox probe: %s: %s\n", step, strerror(errno));
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

void
run_sandbox_init(const char *course, const char *const *hidden)
{
    char real[4096];
    char off[1024] = "";

    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    snprintf(sb.course, sizeof(sb.course), "%s",
             realpath(course, real) ? real : course);
    for (const char *const *h = hidden; h && *h && sb.nhidden < 8; h++)
        if (realpath(*h, real) != NULL)
            sb.hidden[sb.nhidden++] = strdup(real);
    sb.private_tmp =
        !path_under(sb.course, "/tmp") && !path_under(sb.course, "/dev/shm");

    if (geteuid() == 0) {
        sb.drop = true;
        if (probe(true) != 0) {
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
    snprintf(sb.describe, sizeof(sb.describe), "sandbox: %s%s%s\n%s%s",
             sb.drop ? "runs untrusted code as an unprivileged user of its "
                       "own (uid 65533); "
                     : "",
             sb.userns ? "PID, network (loopback only) and mount namespaces "
                         "(course read-only, solutions hidden"
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
/* The child                                                             */
/* ===================================================================== */

static _Noreturn void
child(const struct run_spec *spec, const struct prep *p, int out_w, int ch_w)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out_w, STDOUT_FILENO);
    dup2(out_w, STDERR_FILENO);
    int next = 3;
    if (ch_w >= 0)
        dup2(ch_w, next++);
    int status_fd = -1;
    if (p->status_fd >= 0) {
        status_fd = next++;
        dup2(p->status_fd, status_fd);
        fcntl(status_fd, F_SETFD, FD_CLOEXEC); /* pid 1 keeps it, not exec */
    }
    /* Nothing else of the grader's is inherited. */
    for (int fd = next; fd < 1024; fd++)
        close(fd);
    signal(SIGPIPE, SIG_DFL);

    if (p->sandbox) {
        if (sandbox_enter(p) != 0) {
            say("iolab-grade: cannot enter the sandbox at this step: ", step);
            _exit(EXIT_NO_SANDBOX);
        }
        if (sb.userns) {
            pid_t c = fork(); /* the first process of the PID namespace */
            if (c == -1)
                _exit(EXIT_NO_SANDBOX);
            if (c > 0) {
                close(status_fd);
                int st;
                while (waitpid(c, &st, 0) == -1 && errno == EINTR)
                    ;
                _exit(0);
            }
            /* pid 1: undumpable, so nothing inside can steer it. */
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL);
            pid_t prog = fork();
            if (prog == -1)
                _exit(EXIT_NO_SANDBOX);
            if (prog > 0) {
                for (;;) {
                    int st;
                    pid_t w = waitpid(-1, &st, 0);
                    if (w == prog) {
                        (void)!write(status_fd, &st, sizeof(st));
                        _exit(0); /* and the kernel kills the rest */
                    }
                    if (w == -1 && errno != EINTR)
                        _exit(EXIT_NO_SANDBOX);
                }
            }
        }
    }
    if (spec->limits)
        apply_limits(spec->timeout, spec->mem_limit);
    execve(p->path, p->argv, p->envp);
    say("iolab-grade: cannot run ", p->argv[0]);
    _exit(127);
}

/* ===================================================================== */
/* The parent                                                            */
/* ===================================================================== */

struct sink {
    int fd;    /* read end, -1 once closed */
    char *buf; /* kept bytes, NUL-terminated */
    size_t len, cap;
    bool truncated; /* bytes were discarded */
};

static int
sink_init(struct sink *s, int fd, size_t cap)
{
    *s = (struct sink){.fd = fd, .cap = cap, .buf = malloc(cap + 1)};
    if (s->buf == NULL)
        return -ENOMEM;
    s->buf[0] = '\0';
    return 0;
}

/* Reads what is there; closes the sink at EOF. Keeps at most cap bytes. */
static void
sink_drain(struct sink *s)
{
    char tmp[16384];
    ssize_t n = read(s->fd, tmp, sizeof(tmp));

    if (n == -1 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return;
    }
    size_t keep = (size_t)n;
    if (keep > s->cap - s->len) {
        keep = s->cap - s->len;
        s->truncated = true;
    }
    memcpy(s->buf + s->len, tmp, keep);
    s->len += keep;
    s->buf[s->len] = '\0';
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The program's path: as given when it has a '/', else found in PATH. */
static char *
resolve(const char *name)
{
    if (strchr(name, '/') != NULL)
        return strdup(name);
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *cand;
        if (asprintf(&cand, "%s/%s", *d ? d : ".", name) < 0)
            break;
        if (access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(copy);
    return found ? found : strdup(name);
}

/* Is NAME=... of entry one of the names in env, or one never passed on? */
static bool
overridden(const char *entry, const char *const *env, const char *channel)
{
    size_t n = strcspn(entry, "=");
    static const char *const dropped[] = {"BXFI_MAP", "IOLAB_RESULTS_FD",
                                          "IOLAB_METRICS_FD", NULL};
    for (const char *const *d = dropped; *d; d++)
        if (strlen(*d) == n && strncmp(entry, *d, n) == 0)
            return true;
    if (channel && strlen(channel) == n && strncmp(entry, channel, n) == 0)
        return true;
    for (const char *const *e = env; e && *e; e++)
        if (strncmp(entry, *e, n) == 0 && (*e)[n] == '=')
            return true;
    return false;
}

static char **
make_envp(const struct run_spec *spec)
{
    size_t n = 0, extra = 2;
    for (char **e = environ; *e; e++)
        n++;
    for (const char *const *e = spec->env; e && *e; e++)
        extra++;
    char **envp = calloc(n + extra, sizeof(*envp));
    size_t k = 0;
    if (envp == NULL)
        return NULL;
    for (char **e = environ; *e; e++)
        if (!overridden(*e, spec->env, spec->channel))
            envp[k++] = strdup(*e);
    for (const char *const *e = spec->env; e && *e; e++)
        envp[k++] = strdup(*e);
    if (spec->channel && asprintf(&envp[k], "%s=3", spec->channel) >= 0)
        k++;
    envp[k] = NULL;
    return envp;
}

static void
free_envp(char **envp)
{
    for (char **e = envp; e && *e; e++)
        free(*e);
    free(envp);
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

int
run_child(const struct run_spec *spec, struct run_result *res)
{
    int outp[2], chp[2] = {-1, -1}, stp[2] = {-1, -1};
    struct sink out, chan = {.fd = -1};
    struct prep p = {
        .sandbox = spec->sandbox, .writable = spec->writable, .status_fd = -1};
    int err = 0;

    *res = (struct run_result){0};
    p.path = resolve(spec->argv[0]);
    /* exec's prototype predates const; it does not modify argv. */
    p.argv = (char *const *)spec->argv;
    p.envp = make_envp(spec);
    if (getcwd(p.cwd, sizeof(p.cwd)) == NULL)
        p.cwd[0] = '\0';
    unsigned id = sb.drop ? SANDBOX_UID : getuid();
    unsigned gid = sb.drop ? SANDBOX_UID : getgid();
    snprintf(p.uid_map, sizeof(p.uid_map), "%u %u 1\n", id, id);
    snprintf(p.gid_map, sizeof(p.gid_map), "%u %u 1\n", gid, gid);
    fflush(NULL);
    if (p.envp == NULL || pipe2(outp, O_CLOEXEC) == -1) {
        err = p.envp == NULL ? -ENOMEM : -errno;
        goto out_prep;
    }
    if (spec->channel && pipe2(chp, O_CLOEXEC) == -1) {
        err = -errno;
        goto out_pipes;
    }
    bool status_pipe = spec->sandbox && sb.userns;
    if (status_pipe && pipe2(stp, O_CLOEXEC) == -1) {
        err = -errno;
        goto out_pipes;
    }
    p.status_fd = stp[1];
    pid_t pid = fork();
    if (pid == -1) {
        err = -errno;
        goto out_pipes;
    }
    if (pid == 0)
        child(spec, &p, outp[1], chp[1]);

    live_set(pid, true);
    setpgid(pid, pid); /* also here: no race with the child's own call */
    close(outp[1]);
    outp[1] = -1;
    if (chp[1] >= 0) {
        close(chp[1]);
        chp[1] = -1;
    }
    if (stp[1] >= 0) {
        close(stp[1]);
        stp[1] = -1;
    }
    if (sink_init(&out, outp[0], spec->out_cap) != 0 ||
        (spec->channel && sink_init(&chan, chp[0], CHANNEL_CAP) != 0)) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        live_set(pid, false);
        err = -ENOMEM;
        goto out_prep;
    }
    outp[0] = chp[0] = -1; /* the sinks own them now */

    long long deadline =
        spec->timeout > 0 ? now_ms() + (long long)(spec->timeout * 1000) : -1;
    while (out.fd >= 0 || chan.fd >= 0) {
        struct pollfd pf[2] = {{.fd = out.fd, .events = POLLIN},
                               {.fd = chan.fd, .events = POLLIN}};
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                if (!res->timed_out) {
                    res->timed_out = true;
                    kill(-pid, SIGKILL);
                    deadline = now_ms() + DRAIN_AFTER_KILL_MS;
                    continue;
                }
                break; /* something outside the group holds the pipe */
            }
            wait_ms = (int)left;
        }
        int n = poll(pf, 2, wait_ms);
        if (n == -1 && errno != EINTR)
            break;
        if (n > 0 && pf[0].revents)
            sink_drain(&out);
        if (n > 0 && pf[1].revents)
            sink_drain(&chan);
    }
    if (out.fd >= 0)
        close(out.fd);
    if (chan.fd >= 0)
        close(chan.fd);

    /* The pipes closed, so the child is exiting; wait, but not forever. */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w == -1 && errno != EINTR))
            break;
        if (deadline >= 0 && now_ms() > deadline && !res->timed_out) {
            res->timed_out = true;
            kill(-pid, SIGKILL);
        }
        struct timespec ts = {.tv_nsec = 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL); /* leftovers of the group: servers, grandchildren */
    live_set(pid, false);
    /* First stop everything of the sandbox's user (a fork bomb keeps the
     * machine too busy for anything else), then reap what is left. */
    if (spec->sandbox && sb.drop && !sb.userns)
        kill_sandbox_user();
    sweep_orphans();
    if (status_pipe) {
        int st;
        ssize_t n = read(stp[0], &st, sizeof(st));
        if (n == (ssize_t)sizeof(st)) {
            status = st;
        } else if (!res->timed_out) {
            res->lost = true; /* the sandbox failed: status is its own */
        }
    }
    res->status = status;
    res->output = out.buf;
    res->truncated = out.truncated;
    res->channel = spec->channel ? chan.buf : strdup("");
out_pipes:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0 && err)
            close(outp[i]);
        if (chp[i] >= 0 && err)
            close(chp[i]);
        if (stp[i] >= 0)
            close(stp[i]);
    }
out_prep:
    free((char *)p.path);
    free_envp(p.envp);
    return err;
}

void
run_result_free(struct run_result *res)
{
    free(res->output);
    free(res->channel);
    *res = (struct run_result){0};
}

void
run_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "status %#x", status);
}
