/*
 * grade.c - grades one chapter (grade.h): the pipeline that runs its
 * steps in order, build, tests, benchmark, memcheck, then scores it.
 *
 * The steps live in files of their own (grade_steps.h): grade_build.c,
 * grade_tests.c, grade_bench.c, grade_memcheck.c.
 *
 * Trust: everything built from the tree under grading is untrusted. It runs
 * through run_child (process group, timeout, limits, capped output), and
 * only two channels carry results: the descriptor named by
 * $IOLAB_RESULTS_FD, which Criterion's runner process alone holds, and the
 * benchmark's metrics descriptor.
 */
#include "grade.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "grade_steps.h"
#include "integrity.h"
#include "xalloc.h"

/* ===================================================================== */
/* Helpers the steps share                                               */
/* ===================================================================== */

void
grade_set_str(char **dst, char *s)
{
    free(*dst);
    *dst = s;
}

/*
 * Progress goes to stderr. On a terminal it is one line, rewritten in
 * place ("\r", then erase to the end of the line) and cut to fit 100
 * columns; anywhere else (a log, a pipe, CI) each message is a line of
 * its own, plain. grade_progress_done clears a line left on a terminal.
 */
static bool progress_pending; /* a line is on the terminal */

void
grade_progress(const struct grade_opts *o, const char *fmt, ...)
{
    static int tty = -1;
    char line[256];
    va_list ap;

    if (!o->progress)
        return;
    if (tty == -1)
        tty = isatty(STDERR_FILENO) && getenv("TERM") != NULL &&
              strcmp(getenv("TERM"), "dumb") != 0;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!tty) {
        fputs(line, stderr);
        return;
    }
    line[strcspn(line, "\n")] = '\0';
    line[99] = '\0'; /* 100 columns with the cursor */
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    progress_pending = true;
}

void
grade_progress_done(void)
{
    if (progress_pending)
        fputs("\r\033[K", stderr);
    progress_pending = false;
}

/* True when every test of exercise ex (of every exercise, when ex is NULL)
 * passed or was skipped. */
bool
grade_exercise_passed(const struct chapter *ch, const char *ex)
{
    for (size_t i = 0; i < ch->nitems; i++) {
        const struct item *it = &ch->items[i];
        if (it->kind == ITEM_TEST &&
            (ex == NULL || strcmp(it->exercise, ex) == 0) &&
            it->status != ST_PASS && it->status != ST_SKIP)
            return false;
    }
    return true;
}

/* ===================================================================== */
/* The pipeline                                                          */
/* ===================================================================== */

static void
score(struct chapter *ch)
{
    ch->score = ch->max_score = 0;
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind == ITEM_INFO)
            continue;
        it->score = ch->gradable && it->status == ST_PASS ? it->points : 0;
        if (it->status != ST_SKIP)
            ch->max_score += it->points;
        ch->score += it->score;
    }
}

bool
grade_selects(const struct grade_opts *o, const char *name)
{
    if (o->only_tests == NULL)
        return true;
    for (const char *const *t = o->only_tests; *t; t++)
        if (strcmp(*t, name) == 0)
            return true;
    return false;
}

int
grade_chapter(struct chapter *ch, const struct grade_opts *o)
{
    char *tests = NULL, *bench = NULL;
    char *work = xasprintf("%s/work/%s", o->build_dir, ch->dir);
    struct snapshot built = {0};
    char *built_obj = NULL;
    int rc = 0;

    ch->gradable = grade_build(ch, o, &tests, &bench, &built, &built_obj);
    if (ch->gradable) {
        rc = grade_check_listed(ch, tests);
        rm_tree(work);
        mkdir_p(work);
        /* The whole binary at once; what did not pass there, alone. With
         * fail_fast, the first test that does not pass ends the step, and
         * the whole run's verdicts after it are not shown. */
        bool *got = xcalloc(ch->nitems, sizeof(*got));
        if (o->tests && getenv("IOLAB_TESTS_PER_TEST") == NULL)
            grade_tests_all(ch, tests, work, got, o);
        bool stop = false;
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            if (it->kind != ITEM_TEST || !o->tests ||
                !grade_selects(o, it->name))
                continue;
            if (stop) {
                it->status = ST_PENDING;
                grade_set_str(&it->message, NULL);
                grade_set_str(&it->where, NULL);
                continue;
            }
            if (!got[i])
                grade_run_test(ch, it, tests, work, false, o);
            stop =
                o->fail_fast && it->status != ST_PASS && it->status != ST_SKIP;
        }
        free(got);
        if (o->perf)
            grade_bench(ch, bench, work, o);
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            if (it->kind == ITEM_MEMCHECK && o->memcheck)
                grade_memcheck(ch, it, tests, work, o);
        }
        rm_tree(work);
        struct snapshot now;
        const char *roots[] = {"build/course", built_obj, NULL};
        snap_take(roots, &now);
        grade_set_str(&ch->tampered, snap_diff(&built, &now));
        snap_free(&now);
    }
    snap_free(&built);
    free(built_obj);
    /* Whatever was not run says so. */
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->status == ST_PENDING) {
            it->status = ch->gradable ? ST_NOTRUN : ST_FAIL;
            grade_set_str(&it->message,
                          xasprintf(ch->gradable  ? "not run this time "
                                                    "(left out by an option)"
                                    : ch->refused ? "the submission was refused"
                                                  : "does not compile"));
        }
    }
    score(ch);
    free(tests);
    free(bench);
    free(work);
    return rc;
}

void
grade_skip(struct chapter *ch)
{
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        it->status = ST_NOTRUN;
        grade_set_str(&it->message, xasprintf("not graded: the course changed "
                                              "while an earlier chapter was "
                                              "graded"));
    }
    score(ch);
}

void
grade_void(struct chapter *ch, const char *why)
{
    ch->gradable = false;
    ch->refused = true;
    grade_set_str(&ch->build_log,
                  xasprintf("the course changed while this chapter was graded "
                            "(%s): no result of it can be trusted",
                            why));
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        it->status = ST_FAIL;
        grade_set_str(&it->message, xasprintf("void: the course changed during "
                                              "grading"));
    }
    score(ch);
}
