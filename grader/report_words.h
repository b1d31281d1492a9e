/*
 * report_words.h - the words and sentences several reports share, so
 * that an item reads the same in the table, results.json and JUnit XML.
 * Private to the report writers (report.h). status_name is grader.h's.
 *
 * The sentences are raw text: each writer escapes them for its format
 * (report_escape.h). Functions that append do so to an sbuf (sbuf.h).
 */
#ifndef IOLAB_REPORT_WORDS_H
#define IOLAB_REPORT_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "grader.h"
#include "sbuf.h"

/* The table's word for an item's status: PASS, FAIL, ..., INFO. */
const char *status_word(const struct item *it);

/* s, or the stand-in dflt when grading left it NULL. */
const char *str_or(const char *s, const char *dflt);

/* True when an item counts as done: passed, shown, or skipped (an info
 * item always: it is shown, never graded). */
bool item_ok(const struct item *it);

/* The points an item can earn: 0 for info items and skipped items. */
double item_max(const struct item *it);

/* The score a chapter reports: a chapter that did not build scores 0. */
double chapter_score(const struct chapter *ch);

/* Appends an item's label: "suite/test", "perf NAME", "info NAME",
 * "memcheck". */
void item_label(struct sbuf *sb, const struct item *it);

/*
 * Appends the one line that says what an item measured or needs, or
 * nothing for a test (its name says it all):
 *   perf      "measured 8, needs <= 4", or "scores once the rw tests pass"
 *   info      "0.98 (shown, not graded): CPU seconds per wall second"
 *   memcheck  "every test clean under Valgrind", or what it waits for
 */
void item_summary(struct sbuf *sb, const struct item *it);

/* Appends why an item did not pass: its message, or a sentence for its
 * status when grading left none; nothing when the summary line already
 * says it all. */
void item_why(struct sbuf *sb, const struct item *it);

/* True when some metric of ch should have been measured and was not (the
 * bench's own output is then the only clue, and the reports show it). */
bool chapter_lost_metric(const struct chapter *ch);

/*
 * hint_line - the line of "## ID ..." in the hints file at path (1 for the
 * first line), or 0 when the file or the heading is missing.
 */
int hint_line(const char *path, const char *id);

/*
 * Appends "hint: H1.2 at chapters/DIR/HINTS.md:34" (a file:line terminals
 * and editors open), or "hint: H1.2 in chapters/DIR/HINTS.md" when the
 * heading cannot be found from the working directory.
 */
void item_hint(struct sbuf *sb, const struct chapter *ch,
               const struct item *it);

/* Appends everything the machine-readable reports say about an item, one
 * part per line: summary, why, where, hint, Valgrind's complaint, and the
 * bench's output for a lost metric. Empty for a test that passed cleanly. */
void item_text(struct sbuf *sb, const struct chapter *ch,
               const struct item *it);

/* The display group of an item: the index of its exercise in ch->ex, nex
 * for an exercise never declared, nex + 1 for chapter-wide items. */
size_t item_group(const struct chapter *ch, const struct item *it);

#endif /* IOLAB_REPORT_WORDS_H */
