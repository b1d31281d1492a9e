/*
 * grade.h - grading one chapter of one tree: build, tests, benchmark,
 * memcheck, score. The steps fill in the results fields of struct chapter
 * (grader.h); the report writers then print them.
 */
#ifndef IOLAB_GRADE_H
#define IOLAB_GRADE_H

#include <stdbool.h>

#include "grader.h"

struct grade_opts {
    const char *tree;      /* directory laid out like chapters/ */
    const char *build_dir; /* where this tree's builds and work files go */
    bool tests;            /* run the tests (needed by everything else) */
    bool perf;             /* run the benchmark */
    bool memcheck;         /* run the tests under Valgrind */
    bool force_memcheck;   /* even when some tests fail (make memcheck) */
    bool werror;           /* build with -Werror (the project's own CI) */
    bool progress;         /* print one line per step on stderr */
    bool fail_fast;        /* stop the tests at the first that fails */
    const char *const *only_tests; /* NULL: every test; else the "suite/test"
                                    * names to run (NULL-terminated); the
                                    * others are left out, as by --no-perf */
};

/* True when opts selects the test named name (no selection: every test). */
bool grade_selects(const struct grade_opts *opts, const char *name);

/*
 * grade_chapter - grades ch against opts->tree. Returns 0 when grading ran
 * (whatever the score), or -1 for an author error: a test in the binary
 * that the manifest does not list, printed on stderr.
 */
int grade_chapter(struct chapter *ch, const struct grade_opts *opts);

/* Marks every item of ch as not graded (an earlier chapter tampered). */
void grade_skip(struct chapter *ch);

/* Voids ch's results: the course changed while it was graded (why). */
void grade_void(struct chapter *ch, const char *why);

/*
 * grade_find_result - finds the line for test name ("suite/test") in the
 * text of a results file written by the report hook (shared/src/
 * tk_report.c). On success sets *st and allocates *message and *where
 * (decoded, NULL when empty) and returns true.
 */
bool grade_find_result(const char *results, const char *name, enum status *st,
                       char **message, char **where);

/*
 * grade_progress - what grading is doing, on stderr, when o->progress is
 * set: on a terminal one line rewritten in place (cut to 100 columns),
 * elsewhere a plain line per message. grade_progress_done erases the
 * terminal's line before other output.
 */
void grade_progress(const struct grade_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void grade_progress_done(void);

#endif /* IOLAB_GRADE_H */
