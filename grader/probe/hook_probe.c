/*
 * hook_probe.c - tests that fail on purpose, for the grader's own tests.
 *
 * grader/tests/test_hook.c runs each of these through the real report hook
 * and checks that the grader reads back exactly what happened, byte for
 * byte, including messages that break naive JSON, XML or line formats.
 */
#include <signal.h>
#include <unistd.h>

#include "iolab/testkit.h"

/* The hostile message: quotes, a newline, a TAB, CDATA's end, a control
 * byte, a percent sign and a byte that is not UTF-8. */
#define HOSTILE "say \"hi\"\nline two\t]]> end \x01 100% \xff"

TK_TEST(probe, passes, .description = "passes")
{
    cr_assert(1);
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
