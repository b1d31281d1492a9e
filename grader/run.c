/*
 * run.c - the child-process runner declared in run.h (run_child); the
 * sandbox it puts untrusted children in is sandbox.c's.
 *
 * Sections: limits; preparing a child (everything it needs, made before
 * fork, since the grader forks from several threads); the child side
 * (only async-signal-safe calls until exec); the parent side (a poll loop
 * that drains the output and channel pipes until both close or the
 * deadline passes, then kills the whole process group, reaps the child
 * and whatever it left behind).
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "xalloc.h"

#define CHANNEL_CAP (256 * 1024) /* results and metrics: short lines */
/* After a kill, how long a process outside the group may hold the pipe. */
#define DRAIN_AFTER_KILL_MS 2000
#define LIMIT_FSIZE (4ULL << 30) /* tests may write big files: 4 GiB */
/*
 * The defaults for open descriptors and for processes and threads of the
 * user; a chapter whose code needs more says so on its manifest's bench
 * line (nofile=N, nproc=N), which reaches run_spec.nofile and .nproc.
 */
#define LIMIT_NPROC 4096    /* enough for any test's threads, not a fork bomb */
#define LIMIT_NOFILE 1024   /* Linux's usual soft limit */
#define EXIT_NO_SANDBOX 125 /* the sandbox could not be entered */

extern char **environ;

/* ===================================================================== */
/* Limits                                                                */
/* ===================================================================== */

/* One limit to set in the child: setrlimit(resource, &rl). */
struct limit {
    int resource;
    struct rlimit rl;
};

#define MAX_LIMITS 6

/*
 * Adds the limit that lowers resource to at most max, never raising it,
 * computed from the grader's own limits (which the child inherits).
 */
static void
cap_limit(struct limit *lim, int *n, int resource, rlim_t max)
{
    struct rlimit rl;

    if (getrlimit(resource, &rl) != 0)
        return;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > max)
        rl.rlim_max = max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    lim[(*n)++] = (struct limit){.resource = resource, .rl = rl};
}

/* The limits for untrusted code; returns how many (at most MAX_LIMITS). */
static int
prepare_limits(struct limit *lim, const struct run_spec *spec)
{
    int n = 0;

    lim[n++] = (struct limit){.resource = RLIMIT_CORE, .rl = {0, 0}};
    cap_limit(lim, &n, RLIMIT_FSIZE, LIMIT_FSIZE);
    cap_limit(lim, &n, RLIMIT_NPROC, spec->nproc ? spec->nproc : LIMIT_NPROC);
    cap_limit(lim, &n, RLIMIT_NOFILE,
              spec->nofile ? spec->nofile : LIMIT_NOFILE);
    if (spec->mem_limit > 0)
        cap_limit(lim, &n, RLIMIT_AS, (rlim_t)spec->mem_limit);
    if (spec->timeout > 0) /* CPU seconds: a backstop for the wall clock */
        cap_limit(lim, &n, RLIMIT_CPU, (rlim_t)(spec->timeout * 2 + 10));
    return n;
}

/* ===================================================================== */
/* Preparing a child                                                     */
/* ===================================================================== */

/* Everything the child needs, prepared before fork. */
struct prep {
    const char *path; /* the program, resolved */
    char *const *argv;
    char **envp;
    bool sandbox;            /* enter the sandbox first */
    struct sandbox_prep sbx; /* with sandbox: how */
    struct limit lim[MAX_LIMITS];
    int nlim;      /* limits to set, lim[0..nlim) */
    int status_fd; /* sandbox: where pid 1 reports the program's status */
};

/* ===================================================================== */
/* The child                                                             */
/* ===================================================================== */

static _Noreturn void
child(const struct prep *p, int out_w, int ch_w)
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
        const char *step = "";
        if (sandbox_enter(&p->sbx, &step) != 0) {
            sandbox_say("iolab-grade: cannot enter the sandbox at this step: ",
                        step);
            _exit(EXIT_NO_SANDBOX);
        }
        if (p->sbx.userns)
            sandbox_pid1(status_fd, EXIT_NO_SANDBOX);
    }
    for (int i = 0; i < p->nlim; i++)
        setrlimit(p->lim[i].resource, &p->lim[i].rl);
    execve(p->path, p->argv, p->envp);
    sandbox_say("iolab-grade: cannot run ", p->argv[0]);
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

static void
sink_init(struct sink *s, int fd, size_t cap)
{
    *s = (struct sink){.fd = fd, .cap = cap, .buf = xmalloc(cap + 1)};
    s->buf[0] = '\0';
}

/*
 * Reads what is there; closes the sink at EOF. Keeps at most cap bytes.
 * Returns whether bytes came (kept or not).
 */
static bool
sink_drain(struct sink *s)
{
    char tmp[16384];
    ssize_t n = read(s->fd, tmp, sizeof(tmp));

    if (n == -1 && (errno == EINTR || errno == EAGAIN))
        return false;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return false;
    }
    size_t keep = (size_t)n;
    if (keep > s->cap - s->len) {
        keep = s->cap - s->len;
        s->truncated = true;
    }
    memcpy(s->buf + s->len, tmp, keep);
    s->len += keep;
    s->buf[s->len] = '\0';
    return true;
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
        return xstrdup(name);
    const char *path = getenv("PATH");
    char *copy = xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/%s", *d ? d : ".", name);
        if (access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(copy);
    return found ? found : xstrdup(name);
}

/* Is NAME=... of entry one of the names in env, or one never passed on? */
static bool
overridden(const char *entry, const char *const *env, const char *channel)
{
    size_t n = strcspn(entry, "=");
    static const char *const dropped[] = {"BXFI_MAP", "IOLAB_RESULTS_FD",
                                          "IOLAB_METRICS_FD",
                                          "IOLAB_LIST_TESTS", NULL};
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
    char **envp = xcalloc(n + extra, sizeof(*envp));
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (!overridden(*e, spec->env, spec->channel))
            envp[k++] = xstrdup(*e);
    for (const char *const *e = spec->env; e && *e; e++)
        envp[k++] = xstrdup(*e);
    if (spec->channel)
        envp[k++] = xasprintf("%s=3", spec->channel);
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

int
run_child(const struct run_spec *spec, struct run_result *res)
{
    int outp[2], chp[2] = {-1, -1}, stp[2] = {-1, -1};
    struct sink out, chan = {.fd = -1};
    struct prep p = {.sandbox = spec->sandbox, .status_fd = -1};
    int err = 0;

    *res = (struct run_result){0};
    /* Everything the child will use, made now: after fork it may call
     * only async-signal-safe functions (no malloc, stdio or getenv). */
    p.path = resolve(spec->argv[0]);
    /* exec's prototype predates const; it does not modify argv. */
    p.argv = (char *const *)spec->argv;
    p.envp = make_envp(spec);
    if (spec->sandbox)
        sandbox_prepare(&p.sbx, spec->writable, spec->build);
    if (spec->limits)
        p.nlim = prepare_limits(p.lim, spec);
    fflush(NULL);
    if (pipe2(outp, O_CLOEXEC) == -1) {
        err = -errno;
        goto out_prep;
    }
    if (spec->channel && pipe2(chp, O_CLOEXEC) == -1) {
        err = -errno;
        goto out_pipes;
    }
    bool status_pipe = spec->sandbox && sandbox_userns();
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
        child(&p, outp[1], chp[1]);

    sandbox_live(pid, true);
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
    sink_init(&out, outp[0], spec->out_cap);
    if (spec->channel)
        sink_init(&chan, chp[0], CHANNEL_CAP);
    outp[0] = chp[0] = -1; /* the sinks own them now */

    long long deadline =
        spec->timeout > 0 ? now_ms() + (long long)(spec->timeout * 1000) : -1;
    /* With spec->silence: the channel's last sign of life. */
    long long heard = now_ms();
    long long quiet_ms = spec->channel && spec->silence > 0
                             ? (long long)(spec->silence * 1000)
                             : -1;
    while (out.fd >= 0 || chan.fd >= 0) {
        struct pollfd pf[2] = {{.fd = out.fd, .events = POLLIN},
                               {.fd = chan.fd, .events = POLLIN}};
        long long until = deadline;
        bool by_silence = false;
        if (quiet_ms >= 0 && !res->timed_out && chan.fd >= 0 &&
            (until < 0 || heard + quiet_ms < until)) {
            until = heard + quiet_ms;
            by_silence = true;
        }
        int wait_ms = -1;
        if (until >= 0) {
            long long left = until - now_ms();
            if (left <= 0) {
                if (!res->timed_out) {
                    res->timed_out = true;
                    res->silent = by_silence;
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
        if (n > 0 && pf[1].revents && sink_drain(&chan))
            heard = now_ms();
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
    sandbox_live(pid, false);
    sandbox_cleanup(spec->sandbox);
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
    res->channel = spec->channel ? chan.buf : xstrdup("");
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
