/*
 * sandbox_clean.c - the sandbox's bookkeeping around runs: the live runs
 * (so the orphan sweep spares other threads' children), giving a
 * directory to the sandbox's user and taking it back, and cleaning up
 * after a run: the sandbox user's processes, orphans.
 */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "sandbox_int.h"

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
    if (sandbox_machine.drop)
        nftw(path, give_entry, 16, FTW_PHYS);
}

void
run_sandbox_take(const char *path)
{
    if (sandbox_machine.drop)
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
    if (sandboxed && sandbox_machine.drop && !sandbox_machine.userns)
        kill_sandbox_user();
    sweep_orphans();
}
