/*
 * hook_probe.c - tests that fail on purpose, for the grader's own tests.
 *
 * grader/tests/test_hook.c runs each of these through the real report hook
 * and checks that the grader reads back exactly what happened, byte for
 * byte, including messages that break naive JSON, XML or line formats.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iolab/testkit.h"

/* The hostile message: quotes, a newline, a TAB, CDATA's end, a control
 * byte, a percent sign and a byte that is not UTF-8. */
#define HOSTILE "say \"hi\"\nline two\t]]> end \x01 100% \xff"

TK_TEST(probe, passes, .description = "passes")
{
    cr_assert(1);
}

TK_TEST(probe, pauses, .description = "never ends (a hang)")
{
    for (;;)
        pause();
}

TK_TEST(probe, hostile_message, .description = "fails with a hostile message")
{
    /* As an argument, not the format: "% \xff" is no conversion, and the
     * message must arrive byte for byte, whatever printf makes of it. */
    cr_assert_fail("%s", HOSTILE);
}

TK_TEST(probe, crashes, .description = "dies of SIGSEGV")
{
    raise(SIGSEGV);
}

TK_TEST(probe, exits_early, .description = "calls _exit(0) mid-test")
{
    _exit(0);
}

TK_TEST(probe, skips, .description = "skips with a reason")
{
    tk_skip("no such kernel feature");
}

/* ---- hostile: what a submission might do to pass without working ---- */

TK_TEST(probe, forges_exit, .description = "exits with the pass status")
{
    _exit(TK_EXIT_DONE);
}

TK_TEST(probe, forges_raw_exit,
        .description = "makes the exit system call itself, status 97 + 256")
{
    syscall(SYS_exit_group, TK_EXIT_DONE + 256);
}

TK_TEST(probe, forges_skip_exit, .description = "exits with the skip status")
{
    _exit(TK_EXIT_SKIP);
}

TK_TEST(probe, forges_by_exec,
        .description = "replaces itself with a program that exits 97")
{
    execl("/bin/sh", "sh", "-c", "exit 97", (char *)NULL);
}

static void *
thread_exit(void *arg)
{
    (void)arg;
    syscall(SYS_exit_group, TK_EXIT_DONE);
    return NULL;
}

TK_TEST(probe, forges_thread_exit,
        .description = "exits with the pass status from another thread")
{
    pthread_t t;
    pthread_create(&t, NULL, thread_exit, NULL);
    pthread_join(t, NULL);
}

TK_TEST(probe, writes_every_fd,
        .description = "writes a pass line to every descriptor, then exits")
{
    char line[128];
    int n = snprintf(line, sizeof(line), "probe/writes_every_fd\tpass\t\t\n");
    for (int fd = 3; fd < 1024; fd++)
        (void)!write(fd, line, (size_t)n);
    _exit(0);
}

TK_TEST(probe, cr_skips, .description = "calls Criterion's own skip")
{
    cr_skip_test("not a machine limit");
}
