/*
 * tk_report.c - hands each test's result to the grader.
 *
 * Criterion 2.4.1's --json output is not valid JSON when a message holds a
 * quote, so the grader does not parse Criterion's reports at all. Instead
 * this hook, which runs in Criterion's runner process after every test has
 * finished, writes one line per test to the file named by $IOLAB_RESULTS:
 *
 *     suite/name TAB status TAB message TAB where
 *
 * status is pass, fail, crash, timeout or skip; message and where are
 * percent-encoded (%, TAB, CR, LF and other control bytes become %XX), so
 * any message survives: quotes, newlines, "]]>", invalid UTF-8.
 * Without $IOLAB_RESULTS the hook does nothing and Criterion's own output
 * is all a person running the binary by hand sees.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The reason tk_skip left beside the results file, or "" if none. */
static void
skip_reason(char *buf, size_t len)
{
    char path[4096];
    const char *results = getenv("IOLAB_RESULTS");

    buf[0] = '\0';
    snprintf(path, sizeof(path), "%s.skip", results);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
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
    char skipped[512] = "";
    if (st->test_status == CR_STATUS_FAILED && bad == NULL && !st->crashed &&
        !st->timed_out && st->exit_code != TK_EXIT_DONE)
        skip_reason(skipped, sizeof(skipped));

    fprintf(f, "%s/%s\t%s\t", st->test->category, st->test->name,
            skipped[0] ? "skip" : status_of(st));
    if (skipped[0]) {
        put_escaped(f, skipped);
    } else if (st->timed_out) {
        put_escaped(f, "timed out");
    } else if (st->crashed) {
        snprintf(msg, sizeof(msg), "crashed: %s (signal %d)",
                 strsignal(st->signal), st->signal);
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

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    const char *path = getenv("IOLAB_RESULTS");

    if (path == NULL || *path == '\0')
        return;
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        perror(path);
        return;
    }
    for (struct criterion_suite_stats *s = stats->suites; s; s = s->next)
        for (struct criterion_test_stats *t = s->tests; t; t = t->next)
            report_test(f, t);
    fclose(f);
}
