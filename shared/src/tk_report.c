/*
 * tk_report.c - hands each test's result to the grader.
 *
 * Criterion 2.4.1's --json output is not valid JSON when a message holds a
 * quote, so the grader does not parse Criterion's reports at all. Instead
 * this hook, which runs in Criterion's runner process after every test has
 * finished, writes one line per test to the descriptor named by
 * $IOLAB_RESULTS_FD:
 *
 *     suite/name TAB status TAB message TAB where
 *
 * status is pass, fail, crash, timeout or skip; message and where are
 * percent-encoded (%, TAB, CR, LF and other control bytes become %XX), so
 * any message survives: quotes, newlines, "]]>", invalid UTF-8.
 *
 * A pass or a skip is written as soon as the test ends: its process has
 * exited then with the kit's status (Criterion reports POST_FINI after it
 * has recorded the exit), and nothing later changes it. Every other test
 * is written at the end, when Criterion has its verdict final; as it ends
 * the hook writes only "#<TAB>suite/name", a sign of life (no test name
 * starts with '#'). So the grader can stop a whole run that has gone
 * quiet (a hang) and keep the passes it already has.
 * Without $IOLAB_RESULTS_FD the hook does nothing and Criterion's own
 * output is all a person running the binary by hand sees.
 *
 * The channel is the runner's alone. Before main, in the runner, the
 * descriptor is marked close-on-exec and the variable removed, so the
 * test processes Criterion starts (it execs them afresh) never have it,
 * and the runner makes itself undumpable, so they cannot reach into it.
 * The code under test runs only in those test processes: the grader's
 * object check refuses constructors and framework hooks in it.
 *
 * A test passes only when its process exits with TK_EXIT_DONE, and is
 * skipped only when it exits with TK_EXIT_SKIP: statuses that the test
 * kit's seal (iolab/seal.h) lets no one but the kit produce.
 *
 * Listing: with $IOLAB_LIST_TESTS=1 as well, the runner writes the name of
 * every test compiled in, one "suite/name" per line, to the same channel
 * and exits 0 before it starts any test. This is the grader's list of the
 * binary's tests: Criterion's --list prints for people (a tree drawn with
 * box characters, its layout free to change), and runs no report hook.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "iolab/testkit.h"

static void
put_escaped(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == '%' || c == 0x7f)
            fprintf(f, "%%%02X", c);
        else
            fputc(c, f);
    }
}

static const char *
status_of(const struct criterion_test_stats *st)
{
    if (st->timed_out)
        return "timeout";
    if (st->crashed)
        return "crash";
    switch (st->test_status) {
    case CR_STATUS_PASSED:
        return "pass";
    case CR_STATUS_SKIPPED:
        return "skip";
    default:
        return "fail";
    }
}

static int results_fd = -1; /* the runner's channel to the grader */
static bool list_only;      /* $IOLAB_LIST_TESTS=1: list, run nothing */
static FILE *results;       /* results_fd as a stream, once opened */

/* Tests whose line went out as they ended: not written again at the end. */
#define EARLY_MAX 1024
static const struct criterion_test *early[EARLY_MAX];
static size_t nearly;

/* Runs before main in every process of the binary; acts in the runner. */
__attribute__((constructor)) static void
take_channel(void)
{
    const char *fdstr = getenv("IOLAB_RESULTS_FD");

    if (fdstr == NULL || getenv("BXFI_MAP") != NULL)
        return; /* run by hand, or a test process (which never has it) */
    int fd = atoi(fdstr);
    const char *list = getenv("IOLAB_LIST_TESTS");
    list_only = list != NULL && strcmp(list, "1") == 0;
    unsetenv("IOLAB_RESULTS_FD");
    unsetenv("IOLAB_LIST_TESTS");
    if (fd > 2 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
        results_fd = fd;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void
report_test(FILE *f, const struct criterion_test_stats *st)
{
    const struct criterion_assert_stats *bad = NULL;
    char msg[256];
    char where[512] = "";

    for (const struct criterion_assert_stats *a = st->asserts; a; a = a->next)
        if (!a->passed) {
            bad = a;
            break;
        }
    bool skipped =
        !st->crashed && !st->timed_out && st->exit_code == TK_EXIT_SKIP;

    fprintf(f, "%s/%s\t%s\t", st->test->category, st->test->name,
            skipped ? "skip" : status_of(st));
    if (skipped) {
        /* tk_skip gives its reason as the one failed expectation. */
        put_escaped(f, bad && bad->message ? bad->message : "skipped");
        bad = NULL;
    } else if (st->timed_out) {
        put_escaped(f, "timed out");
    } else if (st->crashed) {
        snprintf(msg, sizeof(msg), "crashed: %s (signal %d)%s",
                 strsignal(st->signal), st->signal,
                 st->signal == SIGSYS
                     ? ": the test kit's seal stopped a forbidden system "
                       "call (an exit with a status only the kit may use, "
                       "or ptrace)"
                     : "");
        put_escaped(f, msg);
    } else if (bad != NULL) {
        put_escaped(f, bad->message && *bad->message ? bad->message
                                                     : "assertion failed");
        snprintf(where, sizeof(where), "%s:%u", bad->file, bad->line);
    } else if (st->test_status == CR_STATUS_FAILED &&
               st->exit_code != TK_EXIT_DONE) {
        snprintf(msg, sizeof(msg),
                 "the test ended early with exit status %d: does the code "
                 "under test call exit()?",
                 st->exit_code);
        put_escaped(f, msg);
    } else if (st->test_status == CR_STATUS_SKIPPED && st->message) {
        put_escaped(f, st->message);
    }
    fputc('\t', f);
    put_escaped(f, where);
    fputc('\n', f);
}

/* The channel as a stream, or NULL (run by hand, or it cannot be used). */
static FILE *
channel(void)
{
    if (results == NULL && results_fd >= 0) {
        results = fdopen(results_fd, "w");
        if (results == NULL) {
            perror("iolab results channel");
            results_fd = -1;
        }
    }
    return results;
}

static bool
written_early(const struct criterion_test *t)
{
    for (size_t i = 0; i < nearly; i++)
        if (early[i] == t)
            return true;
    return false;
}

/*
 * As each test ends, in the runner: its line if it passed or was skipped
 * (final: see the top of this file), else a sign of life.
 */
ReportHook(POST_FINI)(struct criterion_test_stats *st)
{
    FILE *f = list_only ? NULL : channel();
    if (f == NULL)
        return;
    bool final = !st->crashed && !st->timed_out &&
                 ((st->exit_code == TK_EXIT_DONE &&
                   st->test_status == CR_STATUS_PASSED) ||
                  st->exit_code == TK_EXIT_SKIP);
    if (final && nearly < EARLY_MAX) {
        report_test(f, st);
        early[nearly++] = st->test;
    } else {
        fprintf(f, "#\t%s/%s\n", st->test->category, st->test->name);
    }
    fflush(f);
}

/* A test that crashed ends without POST_FINI: a sign of life too. */
ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
    FILE *f = list_only ? NULL : channel();
    if (f == NULL)
        return;
    fprintf(f, "#\t%s/%s\n", st->test->category, st->test->name);
    fflush(f);
}

/*
 * Before the first test, in the runner: in listing mode, writes every
 * test's "suite/name" to the channel and ends the runner. The walk over
 * Criterion's sets is the one its criterion/internal/ordered-set.h
 * FOREACH_SET makes (written out: nested, that macro shadows itself).
 */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    if (!list_only || results_fd < 0)
        return;
    FILE *f = fdopen(results_fd, "w");
    if (f == NULL) {
        perror("iolab results channel");
        _exit(1);
    }
    for (struct criterion_ordered_set_node *sn = set->suites->first; sn;
         sn = sn->next) {
        struct criterion_suite_set *suite = (void *)(sn + 1);
        if (suite->tests == NULL)
            continue;
        for (struct criterion_ordered_set_node *tn = suite->tests->first; tn;
             tn = tn->next) {
            struct criterion_test *t = (void *)(tn + 1);
            fprintf(f, "%s/%s\n", t->category, t->name);
        }
    }
    _exit(fclose(f) == 0 ? 0 : 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    FILE *f = channel();
    if (f == NULL)
        return;
    for (struct criterion_suite_stats *s = stats->suites; s; s = s->next)
        for (struct criterion_test_stats *t = s->tests; t; t = t->next)
            if (!written_early(t->test))
                report_test(f, t);
    fclose(f);
    results = NULL;
    results_fd = -1;
}
