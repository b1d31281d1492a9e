/*
 * grade_bench.c - the benchmark step (grade_steps.h): one run of the
 * chapter's bench program, its metrics read from the metrics channel
 * (never from its output) and held against the manifest's thresholds.
 */
#include "grade_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fsutil.h"
#include "run.h"
#include "xalloc.h"

#define BENCH_OUT_CAP (32 * 1024)

/*
 * Reads "metric NAME VALUE" lines; fills the matching items. Returns false
 * when the keeper (shared/src/perfkit.c) saw a line that did not come from
 * the kit: then no metric of the run is trusted.
 */
static bool
take_metrics(struct chapter *ch, char *metrics)
{
    char *end = metrics + strlen(metrics);
    for (char *p = metrics; p < end; p++)
        if (*p == '\n')
            *p = '\0';
    for (char *line = metrics; line < end; line += strlen(line) + 1)
        if (strcmp(line, "forged") == 0)
            return false;
    for (char *line = metrics; line < end; line += strlen(line) + 1) {
        char name[128];
        double v;
        if (sscanf(line, "metric %127s %lf", name, &v) != 2)
            continue;
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            if ((it->kind == ITEM_PERF || it->kind == ITEM_INFO) &&
                strcmp(it->name, name) == 0 && !it->has_value) {
                it->value = v;
                it->has_value = true;
            }
        }
    }
    return true;
}

/* True when a test of exercise ex was skipped (the kit's tk_skip). */
static bool
exercise_skipped(const struct chapter *ch, const char *ex)
{
    for (size_t i = 0; i < ch->nitems; i++)
        if (ch->items[i].kind == ITEM_TEST && ch->items[i].status == ST_SKIP &&
            strcmp(ch->items[i].exercise, ex) == 0)
            return true;
    return false;
}

void
grade_bench(struct chapter *ch, const char *bin, const char *work,
            const struct grade_opts *o)
{
    bool wanted = false;

    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind != ITEM_PERF && it->kind != ITEM_INFO)
            continue;
        if (exercise_skipped(ch, it->exercise)) {
            /* The machine lacks what the exercise needs (a test said so):
             * its metrics are left out of the maximum too. */
            it->status = ST_SKIP;
            grade_set_str(&it->message,
                          xasprintf("not measured: a '%s' test was skipped "
                                    "(its reason is under that test)",
                                    it->exercise));
        } else if (!grade_exercise_passed(ch, it->exercise)) {
            it->status = ST_BLOCKED;
            grade_set_str(&it->message, xasprintf("scores once every '%s' test "
                                                  "passes",
                                                  it->exercise));
        } else {
            wanted = true;
        }
    }
    if (!wanted)
        return; /* nothing could score: spare the student the wait */

    /*
     * The bench's files go to a directory of its own, removed with the
     * chapter's work directory: a bench killed at its time limit cannot
     * clean up after itself, and its files can be large (a bench may map
     * a file of a gigabyte).
     */
    char *tmp = xasprintf("%s/bench-tmp", work);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    const char *env[] = {env_tmp, NULL};
    char *runs = xasprintf("%d", ch->bench_runs);
    const char *argv[] = {bin, "--runs", runs, NULL};
    const char *writable[] = {tmp, NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = ch->bench_timeout,
                            .out_cap = BENCH_OUT_CAP,
                            .limits = true,
                            .channel = "IOLAB_METRICS_FD",
                            .mem_limit = MEM_LIMIT,
                            .nofile = ch->nofile,
                            .nproc = ch->nproc,
                            .sandbox = true,
                            .writable = writable};
    struct run_result r;

    grade_progress(o, "  bench %s (%d runs)\n", ch->dir, ch->bench_runs);
    mkdir_p(tmp);
    run_sandbox_give(tmp);
    bool forged = false;
    if (run_child(&spec, &r) == 0) {
        forged = !take_metrics(ch, r.channel);
        char how[96];
        run_describe(r.status, how, sizeof(how));
        grade_set_str(
            &ch->bench_log,
            xasprintf("%s%s%s", r.output,
                      r.timed_out ? "\n(the benchmark timed out)\n" : "",
                      WIFEXITED(r.status) && !WEXITSTATUS(r.status) ? ""
                                                                    : how));
        run_result_free(&r);
    }
    rm_tree(tmp);
    free(runs);
    free(env_tmp);
    free(tmp);

    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if ((it->kind != ITEM_PERF && it->kind != ITEM_INFO) ||
            it->status == ST_BLOCKED || it->status == ST_SKIP)
            continue;
        if (forged) {
            it->status = ST_FAIL;
            it->has_value = false;
            grade_set_str(
                &it->message,
                xasprintf("not trusted: something other than the "
                          "benchmark kit wrote to the metrics channel "
                          "(code under test may not report metrics)"));
        } else if (!it->has_value) {
            it->status = ST_MISSING;
            grade_set_str(&it->message,
                          xasprintf("the benchmark reported no value "
                                    "(see its output below the table)"));
        } else if (it->kind == ITEM_INFO) {
            it->status = ST_SHOWN;
        } else {
            bool ok = it->op == CMP_LE ? it->value <= it->threshold
                                       : it->value >= it->threshold;
            it->status = ok ? ST_PASS : ST_FAIL;
            if (!ok)
                grade_set_str(
                    &it->message,
                    xasprintf("measured %g, needs %s %g", it->value,
                              it->op == CMP_LE ? "<=" : ">=", it->threshold));
        }
    }
}
