/*
 * kvd_spawn.c - kvd_spawn and kvd_reap (iolab/kvd.h): the server in a
 * forked child process, for tests that must kill it or want it out of
 * their own address space.
 *
 * The child closes what it inherited, asks to be sent SIGTERM when its
 * parent dies, builds the server (kvd_server.h) and tells the parent its
 * port, or its start error, through a pipe: the parent never sleeps to
 * wait for it. Then the child runs the loop in its only thread until
 * SIGTERM or SIGINT, frees everything and exits 0.
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvd_server.h"

/* What the child tells the parent: its port, or why it could not start. */
struct spawn_msg {
    int err;
    unsigned short port;
};

/*
 * In the child: closes every descriptor but 0, 1, 2 and keep. Without
 * this the child would hold the caller's sockets open (fork copies them
 * all, O_CLOEXEC or not, since nothing is executed), and a connection the
 * caller closes would never see its EOF.
 */
static void
close_inherited(int keep)
{
    if (close_range(3, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX); /* old kernel: one by one */
    for (int fd = 3; fd < max && fd < 65536; fd++)
        if (fd != keep)
            close(fd);
}

int
kvd_spawn(const struct kvd_config *cfg, pid_t *pid, unsigned short *port)
{
    int p[2];
    struct spawn_msg msg = {0};

    if (pipe2(p, O_CLOEXEC) == -1)
        return -errno;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == -1) {
        int err = -errno;
        close(p[0]);
        close(p[1]);
        return err;
    }
    if (child == 0) {
        struct kvd *kv = NULL;
        close(p[0]);
        close_inherited(p[1]);
        /* A caller that dies (a failed test) takes its server with it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        msg.err = kvd_server_new(cfg, true, &kv);
        if (kv != NULL)
            msg.port = kvd_port(kv);
        (void)!write(p[1], &msg, sizeof(msg));
        close(p[1]);
        if (msg.err == 0) {
            kvd_server_loop(kv);
            kvd_server_free(kv);
        }
        _exit(msg.err == 0 ? 0 : 1);
    }
    close(p[1]);
    ssize_t n;
    do
        n = read(p[0], &msg, sizeof(msg));
    while (n == -1 && errno == EINTR);
    close(p[0]);
    if (n != sizeof(msg) || msg.err != 0) {
        waitpid(child, NULL, 0);
        return n != sizeof(msg) ? -EIO : msg.err;
    }
    *pid = child;
    *port = msg.port;
    return 0;
}

int
kvd_reap(pid_t pid, int sig)
{
    int status;

    if (sig != 0 && kill(pid, sig) == -1)
        return -errno;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -errno;
    return status;
}
