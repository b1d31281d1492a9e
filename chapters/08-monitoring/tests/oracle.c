/*
 * oracle.c - running the real tools from chapter 08's tests: see
 * oracle.h.
 */
#include "oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/testkit.h"

/* The child's exit status when setting up its namespace failed. */
#define NS_REFUSED 125

const char *
mont_tool(const char *name)
{
    static char path[256];
    const char *dirs[] = {"/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

/* Writes text to path; in the child after fork: system calls only. */
static int
put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In the child: a user namespace where we are root, a mount namespace,
 * the bind mounts. System calls only. */
static int
enter(const char *uid_map, const char *gid_map, const struct mont_bind *bind,
      size_t nbind)
{
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return -1;
    if (put("/proc/self/setgroups", "deny") != 0 ||
        put("/proc/self/uid_map", uid_map) != 0 ||
        put("/proc/self/gid_map", gid_map) != 0)
        return -1;
    /* The kernel ignores the type of these two kinds of mount; "none"
     * rather than NULL, which Valgrind takes for an unreadable string. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    for (size_t i = 0; i < nbind; i++)
        if (mount(bind[i].from, bind[i].onto, "none", MS_BIND, NULL) != 0)
            return -1;
    return 0;
}

int
mont_run(const char *const argv[], const char *in_path,
         const struct mont_bind *bind, size_t nbind, char *out, size_t cap)
{
    char uid_map[64], gid_map[64];
    snprintf(uid_map, sizeof(uid_map), "0 %u 1\n", (unsigned)getuid());
    snprintf(gid_map, sizeof(gid_map), "0 %u 1\n", (unsigned)getgid());
    char *out_path = tk_path("oracle.out");
    int in =
        open(in_path != NULL ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
    int fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(in >= 0 && fd >= 0, "opening the tool's stdin or stdout: %s",
              strerror(errno));
    static char lc_all[] = "LC_ALL=C"; /* C's decimal point in numbers */
    char *const env[] = {lc_all, NULL};

    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (nbind > 0 && enter(uid_map, gid_map, bind, nbind) != 0)
            _exit(NS_REFUSED);
        if (dup2(in, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
            _exit(126);
        execve(argv[0], (char *const *)argv, env);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(in);
    ssize_t n = pread(fd, out, cap - 1, 0);
    close(fd);
    free(out_path);
    out[n > 0 ? n : 0] = '\0';
    cr_assert(WIFEXITED(status), "%s was killed by signal %d", argv[0],
              WTERMSIG(status));
    cr_assert_neq(WEXITSTATUS(status), 127, "%s could not be run", argv[0]);
    return WEXITSTATUS(status) == NS_REFUSED ? MONT_NO_NAMESPACE
                                             : WEXITSTATUS(status);
}

/* Splits line (modified) into at most max words; returns how many. */
static size_t
words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *save;
    for (char *t = strtok_r(line, " \t", &save); t != NULL && n < max;
         t = strtok_r(NULL, " \t", &save))
        w[n++] = t;
    return n;
}

double
mont_column(const char *out, const char *col, const char *key)
{
    int at = -1; /* col's word in the last header seen */
    for (const char *p = out; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char line[1024], *w[64];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (nl != NULL);
        size_t n = words(line, w, 64);
        int col_at = -1;
        bool has_key = false;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(w[i], col) == 0)
                col_at = (int)i;
            has_key |= strcmp(w[i], key) == 0;
        }
        if (col_at >= 0)
            at = col_at;
        else if (at >= 0 && has_key && (size_t)at < n)
            return strtod(w[at], NULL);
    }
    cr_assert_fail("no column %s in a row of %s in the output:\n%s", col, key,
                   out);
    return 0;
}

void
mont_sysstat_agrees(const char *const argv[], const struct mont_file *files,
                    size_t nfiles, const char *key,
                    const struct mont_want *want, size_t nwant)
{
    struct mont_bind bind[8];
    cr_assert(nfiles <= 8);
    for (size_t i = 0; i < nfiles; i++)
        bind[i] = (struct mont_bind){
            tk_make_file(files[i].name, files[i].text, strlen(files[i].text)),
            files[i].onto};
    char out[8192];
    int rc = mont_run(argv, NULL, bind, nfiles, out, sizeof(out));
    for (size_t i = 0; i < nfiles; i++)
        free((char *)bind[i].from);
    const char *tool = strrchr(argv[0], '/') + 1;
    if (rc == MONT_NO_NAMESPACE)
        tk_skip("no user namespace to show %s recorded counters in", tool);
    cr_assert_eq(rc, 0, "%s exited %d:\n%s", tool, rc, out);
    for (size_t i = 0; i < nwant; i++) {
        double theirs = mont_column(out, want[i].col, key);
        cr_assert(fabs(theirs - want[i].ours) < 0.006,
                  "%s: %s says %.2f, yours %.4f (same counters over the same "
                  "10 s):\n%s",
                  want[i].col, tool, theirs, want[i].ours, out);
    }
}
