/*
 * report.h - the grader's reports: what a student, a CI job and
 * Gradescope see once chapters have been graded. This header is the
 * specification of the reporting interface; report_*.c implement it.
 *
 * Every writer reads chapters as grading left them (grader.h) and never
 * changes them. Any string grading filled in may hold any bytes a test
 * printed: quotes, newlines, "]]>", control characters, invalid UTF-8.
 * Every writer escapes for its own format, and all of them decode UTF-8
 * the same strict way, so a byte that is not valid UTF-8 becomes U+FFFD
 * in every report (report_escape.h).
 *
 * The same sentences ("measured 8, needs <= 4", "hint: H1.2 in
 * chapters/01-blocking-io/HINTS.md") read the same in every report: they
 * are made in one place (report_words.h).
 *
 * The files: report_table.c (the terminal table), report_json.c
 * (results.json), report_junit.c (JUnit XML), report_md.c (the README's
 * Markdown grading table), report_file.c (writing a finished document, and
 * the placeholders), report_escape.c, report_words.c.
 *
 * Memory: the JSON and XML documents are built whole in memory and only
 * then written; running out of memory ends the grader (xalloc.h) before a
 * byte of them is written. None of these functions is thread-safe (the
 * table writes through stdout's stdio buffer); none may run in a child
 * after fork.
 */
#ifndef IOLAB_REPORT_H
#define IOLAB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "grader.h"

struct report_opts {
    bool color;     /* ANSI colour in the table */
    bool calibrate; /* show each perf item's margin against its threshold */
    bool brief;     /* leave out the items that were not run (make check) */
};

/*
 * report_table - prints chs[0..n) on stdout as the plain-text table a
 * student reads: one block per chapter (its items grouped by exercise,
 * details indented under each item, its total and the next step), then,
 * when n > 1, a TOTAL line. opts may be NULL (no colour, no margins).
 * Control characters in any string are shown as \xNN or \uNNNN, so a test
 * cannot colour or clear the terminal; colour comes only from opts->color.
 * Flushes stdout; reports no error (stdout's own error flag keeps it).
 */
void report_table(const struct chapter *chs, size_t n,
                  const struct report_opts *opts);

/*
 * report_json - writes chs[0..n) as Gradescope's results.json to path,
 * or to stdout when path is "-" (after flushing what stdio holds). Every
 * scored item is one entry of "tests"; a chapter that is not gradable is
 * one "build" entry holding its build log. Info metrics are lines of the
 * top-level "output"; graded metrics with a value are also "leaderboard"
 * entries. seconds, the grading's wall time, is "execution_time" (left
 * out when negative). Strings are cut at REPORT_TEXT_MAX bytes and say
 * how many more there were.
 * Returns 0, or -errno when path cannot be created or written (the file
 * may then be partly written), -EINVAL when path is NULL.
 */
int report_json(const char *path, const struct chapter *chs, size_t n,
                double seconds);

/*
 * report_junit - writes chs[0..n) as JUnit XML (one testsuite per
 * chapter, one testcase per item) to path, or to stdout when path is "-".
 * A failed item is a <failure>, a crash an <error>, a skipped or not-run
 * item <skipped>; a measured metric keeps its value in <system-out>.
 * Returns as report_json does.
 */
int report_junit(const char *path, const struct chapter *chs, size_t n);

/*
 * report_unfinished_json, report_unfinished_junit - placeholders written
 * before grading starts (which also proves the destination writable): a
 * report that says grading did not finish. The real reports replace them.
 * Return 0, or -1 with errno set.
 */
int report_unfinished_json(const char *path);
int report_unfinished_junit(const char *path);

/*
 * report_text - writes text (lines ending in newlines) to out as the table
 * writes its notes: each line wrapped to fit 100 columns, control bytes
 * shown, never sent to the terminal; then a newline.
 */
void report_text(FILE *out, const char *text);

/*
 * report_grading_table - the Markdown grading table of one chapter, as
 * its README must contain it, made from the manifest alone (never from
 * results). Returns a newly allocated string; the caller frees it.
 */
char *report_grading_table(const struct chapter *ch);

/*
 * report_check_readme - compares the table between the grading-table
 * markers of chapters/DIR/README.md with report_grading_table. Returns 0
 * when they agree; else prints what is wrong (and the table it should
 * hold) to stderr and returns -1.
 */
int report_check_readme(const struct chapter *ch);

#endif /* IOLAB_REPORT_H */
