/*
 * forkdup.c - what a user-space buffer does across fork() and _exit().
 *
 * Each scene runs in a child whose standard output is a pipe, as it is
 * under `prog | less` or `prog > file`; this program reads the pipe and
 * shows what came out. Run it with `make demos CH=04`, then
 * build/tree/chapters/04-buffering/demo/forkdup (or the solutions tree).
 *
 * On a terminal, stdout is line-buffered and most of these traps vanish,
 * which is why they survive testing and bite in production, where the
 * output goes to a file or a pipe and is fully buffered.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/die.h"

/* printf, then fork: the unflushed line is in both processes' memory. */
static void
scene_fork(void)
{
    printf("written once, before fork\n");
    if (fork() == 0)
        exit(0); /* exit() flushes stdio: the child's copy goes out too */
}

/* The fix: flush before fork, so the child inherits an empty buffer. */
static void
scene_fork_flushed(void)
{
    printf("written once, flushed, then fork\n");
    fflush(stdout);
    if (fork() == 0)
        exit(0);
}

/* _exit skips stdio's flush: buffered output is simply gone. */
static void
scene_exit(void)
{
    printf("written, then _exit\n");
    _exit(0);
}

/* Any user-space buffer behaves the same, the course's writer included. */
static void
scene_buf_writer(void)
{
    struct buf_writer w;
    const char msg[] = "written once into a buf_writer, then fork\n";

    if (buf_writer_init(&w, STDOUT_FILENO, BUF_DEFAULT_CAP) != 0)
        die("buf_writer_init failed");
    buf_write(&w, msg, sizeof(msg) - 1);
    fork();
    /* Parent and child both close, and so both flush, their copy. */
    buf_writer_close(&w);
}

static void
run_scene(const char *title, void (*scene)(void))
{
    char out[4096];
    size_t len = 0;
    int p[2];

    if (pipe(p) == -1)
        die_errno("pipe", title);
    fflush(stdout); /* or this program's own output would be duplicated */
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork", title);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], STDOUT_FILENO) == -1)
            die_errno("dup2", title);
        close(p[1]);
        scene();
        exit(0);
    }
    close(p[1]);
    /* EOF comes once every holder of the pipe, grandchildren too, exits. */
    for (;;) {
        ssize_t n = read(p[0], out + len, sizeof(out) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(p[0]);
    waitpid(pid, NULL, 0);
    out[len] = '\0';

    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += out[i] == '\n';
    printf("%s\n  the pipe received %d line%s:\n", title, lines,
           lines == 1 ? "" : "s");
    for (char *s = out, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
        printf("    | %.*s\n", (int)(nl - s), s);
    printf("\n");
}

int
main(int argc, char **argv)
{
    (void)argc;
    die_init(argv[0]);
    run_scene("printf, fork, both exit", scene_fork);
    run_scene("printf, fflush, fork, both exit", scene_fork_flushed);
    run_scene("printf, _exit", scene_exit);
    run_scene("buf_write, fork, both buf_writer_close", scene_buf_writer);
    return 0;
}
