/*
 * run.c - the child-process runner declared in run.h.
 *
 * Sections: limits, the child side, the parent side (a poll loop that
 * drains the output and metrics pipes until both close or the deadline
 * passes, then kills the whole process group and reaps the child).
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define METRICS_CAP (64 * 1024) /* metrics are a few short lines */
/* After a kill, how long a setsid()'d grandchild may hold the pipe. */
#define DRAIN_AFTER_KILL_MS 2000
#define LIMIT_FSIZE (4ULL << 30) /* tests may write big files: 4 GiB */
#define LIMIT_NPROC 4096         /* processes and threads of the user */
#define LIMIT_NOFILE 65536       /* chapter 02 opens thousands of sockets */

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
/* The child                                                             */
/* ===================================================================== */

static _Noreturn void
child(const struct run_spec *spec, int out_w, int met_w)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out_w, STDOUT_FILENO);
    dup2(out_w, STDERR_FILENO);
    if (met_w >= 0) {
        dup2(met_w, 3);
        setenv("IOLAB_METRICS_FD", "3", 1);
    }
    /* Nothing else of the grader's is inherited. */
    for (int fd = met_w >= 0 ? 4 : 3; fd < 1024; fd++)
        close(fd);
    /*
     * Criterion marks its own sandboxed workers with BXFI_MAP; a test
     * binary that inherits it (when the grader's own tests run this
     * runner) would think it is a worker and run nothing.
     */
    unsetenv("BXFI_MAP");
    for (const char *const *e = spec->env; e != NULL && *e != NULL; e++) {
        char *copy = strdup(*e); /* putenv keeps the pointer */
        if (copy != NULL)
            putenv(copy);
    }
    if (spec->limits)
        apply_limits(spec->timeout, spec->mem_limit);
    signal(SIGPIPE, SIG_DFL);
    /* exec's prototype predates const; it does not modify argv. */
    execvp(spec->argv[0], (char *const *)spec->argv);
    fprintf(stderr, "iolab-grade: cannot run %s: %s\n", spec->argv[0],
            strerror(errno));
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

int
run_child(const struct run_spec *spec, struct run_result *res)
{
    int outp[2], metp[2] = {-1, -1};
    struct sink out, met = {.fd = -1};

    *res = (struct run_result){0};
    fflush(NULL);
    if (pipe2(outp, O_CLOEXEC) == -1)
        return -errno;
    if (spec->metrics && pipe2(metp, O_CLOEXEC) == -1) {
        int err = -errno;
        close(outp[0]);
        close(outp[1]);
        return err;
    }
    pid_t pid = fork();
    if (pid == -1) {
        int err = -errno;
        close(outp[0]);
        close(outp[1]);
        if (spec->metrics) {
            close(metp[0]);
            close(metp[1]);
        }
        return err;
    }
    if (pid == 0)
        child(spec, outp[1], metp[1]);

    setpgid(pid, pid); /* also here: no race with the child's own call */
    close(outp[1]);
    if (spec->metrics)
        close(metp[1]);
    if (sink_init(&out, outp[0], spec->out_cap) != 0 ||
        (spec->metrics && sink_init(&met, metp[0], METRICS_CAP) != 0)) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -ENOMEM;
    }

    long long deadline =
        spec->timeout > 0 ? now_ms() + (long long)(spec->timeout * 1000) : -1;
    while (out.fd >= 0 || met.fd >= 0) {
        struct pollfd p[2] = {{.fd = out.fd, .events = POLLIN},
                              {.fd = met.fd, .events = POLLIN}};
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
        int n = poll(p, 2, wait_ms);
        if (n == -1 && errno != EINTR)
            break;
        if (n > 0 && p[0].revents)
            sink_drain(&out);
        if (n > 0 && p[1].revents)
            sink_drain(&met);
    }
    if (out.fd >= 0)
        close(out.fd);
    if (met.fd >= 0)
        close(met.fd);

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
    res->status = status;
    res->output = out.buf;
    res->truncated = out.truncated;
    if (spec->metrics) {
        res->metrics = met.buf;
    } else {
        res->metrics = strdup("");
    }
    return 0;
}

void
run_result_free(struct run_result *res)
{
    free(res->output);
    free(res->metrics);
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
