/*
 * grade_steps.h - the steps of grading one chapter, as grade.c's pipeline
 * runs them: build (grade_build.c), tests (grade_tests.c), benchmark
 * (grade_bench.c), memcheck (grade_memcheck.c); and the helpers they
 * share (grade.c). Private to the grader's grade_*.c files; the interface
 * is grade.h.
 *
 * Each step fills in the results fields of struct chapter (grader.h) and
 * reports nothing itself; every string it stores is allocated, and
 * replaces (and frees) what was there (grade_set_str).
 */
#ifndef IOLAB_GRADE_STEPS_H
#define IOLAB_GRADE_STEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "grade.h"
#include "grader.h"
#include "integrity.h"
#include "run.h"

#define TEST_OUT_CAP (16 * 1024) /* what a failing test may show */
/*
 * The grader's own kill is the time limit: Criterion 2.4.1 ignores its
 * --timeout option (passed anyway), so only start-up time is added.
 */
#define KILL_SLACK 0.5
#define VG_OUT_CAP (4 << 20) /* Valgrind's report travels in the output */
/* Valgrind's options for every memcheck run: children too (Criterion's
 * test processes), definite leaks are errors, the report on stderr. */
#define VG_OPTIONS                                                             \
    "--trace-children=yes", "--leak-check=full",                               \
        "--errors-for-leak-kinds=definite,indirect",                           \
        "--show-leak-kinds=definite,indirect", "--num-callers=20",             \
        "--fair-sched=try", "--log-fd=2",                                      \
        "--suppressions=grader/valgrind.supp"
/*
 * Address space for a test or a benchmark: far above what any exercise
 * needs (thread stacks are reserved, not used), low enough that a runaway
 * allocation fails in the child instead of swapping the machine.
 * Valgrind gets VG_MEM_LIMIT instead.
 */
#define MEM_LIMIT ((size_t)4 << 30)
/* Valgrind reserves large mappings of its own: a looser bound, but one. */
#define VG_MEM_LIMIT ((size_t)16 << 30)

/* ---- helpers (grade.c) ---- */

/* Frees *dst and stores s (allocated, or NULL) in its place. */
void grade_set_str(char **dst, char *s);

/* True when every test of exercise ex (of every exercise, when ex is
 * NULL) passed or was skipped. */
bool grade_exercise_passed(const struct chapter *ch, const char *ex);

/* ---- build (grade_build.c) ---- */

/*
 * grade_build - builds ch from o->tree. On success returns true, sets
 * *tests and *bench to the linked programs (allocated), takes a snapshot
 * of the course objects and the chapter's objects in *built and sets
 * *built_obj to the chapter's object directory (allocated): grading
 * compares them afterwards. On failure returns false with ch->build_log
 * set (and ch->refused when the submission broke a rule).
 */
bool grade_build(struct chapter *ch, const struct grade_opts *o, char **tests,
                 char **bench, struct snapshot *built, char **built_obj);

/* ---- tests (grade_tests.c) ---- */

/*
 * grade_run_test - runs test it of binary bin in its own process in the
 * sandbox, with work files under work; under Valgrind when valgrind is
 * set. Fills it->status, message and where, or only it->memcheck under
 * Valgrind. Safe to call from several threads for different items.
 */
void grade_run_test(struct chapter *ch, struct item *it, const char *bin,
                    const char *work, bool valgrind,
                    const struct grade_opts *o);

/*
 * grade_run_whole - runs argv (a test binary over all its tests, or
 * Valgrind on one) in the sandbox with the chapter's caps, the results
 * channel, and dir (emptied first; its tmp/ is TMPDIR) as the only
 * place it may write; fills *r as run_child does and returns its result.
 * silence: run_spec.silence (0: none). The caller removes dir.
 */
int grade_run_whole(const struct chapter *ch, const char *const *argv,
                    const char *dir, double timeout, double silence,
                    size_t out_cap, size_t mem_limit, struct run_result *r);

/*
 * grade_tests_all - every selected test of bin in one run of the whole
 * binary, jobs at a time (as Criterion runs them), in the sandbox. Only
 * a pass or a skip is taken from it: those items get their status and
 * got[i] is set. A test that failed, crashed, hung or left no verdict
 * there is left for grade_run_test, alone, whose verdict stands: a run
 * beside other tests never costs a test its points.
 */
void grade_tests_all(struct chapter *ch, const char *bin, const char *work,
                     bool *got, const struct grade_opts *o);

/* Prints on stderr every test compiled into bin that the manifest does
 * not list; returns -1 when there was one, else 0. */
int grade_check_listed(const struct chapter *ch, const char *bin);

/* ---- benchmark (grade_bench.c) ---- */

/* Runs the bench program bin once (when an item could score) and fills in
 * every perf and info item. */
void grade_bench(struct chapter *ch, const char *bin, const char *work,
                 const struct grade_opts *o);

/* ---- memcheck (grade_memcheck.c) ---- */

/* The first complaint in Valgrind's report of a one-test run (allocated),
 * or NULL when it is clean. */
char *grade_valgrind_complaint(const char *output, bool truncated);

/* Runs the tests of bin under Valgrind and scores the memcheck item mc. */
void grade_memcheck(struct chapter *ch, struct item *mc, const char *bin,
                    const char *work, const struct grade_opts *o);

#endif /* IOLAB_GRADE_STEPS_H */
