/*
 * report_json.c - report_json (report.h): Gradescope's results.json.
 *
 * The fields follow Gradescope's autograder specification: "tests" holds
 * the scored items (a test, a graded metric, memcheck, or a chapter's
 * "build"); what the grader measured without scoring it (info metrics)
 * is text in the top-level "output", not a test worth 0 of 0; every graded
 * metric the bench measured is also a "leaderboard" entry, ordered the way
 * its threshold reads (a "<=" metric ranks the lowest first).
 */
#include "report.h"

#include <stdbool.h>

#include "report_escape.h"
#include "report_file.h"
#include "report_words.h"
#include "sbuf.h"

/* Appends one entry of "tests"; name and output are raw text. */
static void
json_test(struct sbuf *sb, bool first, const char *name, double score,
          double max, bool passed, const char *output, bool hidden)
{
    sb_puts(sb, first ? "\n    {" : ",\n    {");
    sb_puts(sb, "\"name\": ");
    json_string(sb, name);
    sb_puts(sb, ", \"score\": ");
    json_number(sb, score);
    sb_puts(sb, ", \"max_score\": ");
    json_number(sb, max);
    sb_puts(sb,
            passed ? ", \"status\": \"passed\"" : ", \"status\": \"failed\"");
    sb_puts(sb, ", \"output\": ");
    json_string(sb, output);
    /* A hidden test shows on Gradescope once the due date has passed. */
    sb_puts(sb, hidden ? ", \"visibility\": \"after_due_date\"}"
                       : ", \"visibility\": \"visible\"}");
}

/* The one-line summary: "62 / 100 points: 01-blocking-io 62/100; ..." */
static void
json_summary(struct sbuf *sb, const struct chapter *chs, size_t n, double score,
             double max)
{
    sb_printf(sb, "%g / %g points", score, max);
    if (n == 0) {
        sb_puts(sb, ": no chapter graded");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sb_puts(sb, i == 0 ? ": " : "; ");
        sb_puts(sb, str_or(chs[i].dir, "?"));
        sb_printf(sb, " %g/%g", chapter_score(&chs[i]), chs[i].max_score);
        if (!chs[i].gradable)
            sb_puts(sb, " (does not build)");
    }
}

/*
 * Walks the items of kind `kind` in the chapters that built, in order:
 * *c and *i start at 0, and each call returns the next such item (its
 * chapter in *ch), or NULL at the end.
 */
static const struct item *
next_item(const struct chapter *chs, size_t n, enum item_kind kind, size_t *c,
          size_t *i, const struct chapter **ch)
{
    for (; *c < n; (*c)++, *i = 0) {
        if (!chs[*c].gradable)
            continue;
        while (*i < chs[*c].nitems) {
            const struct item *it = &chs[*c].items[(*i)++];
            if (it->kind == kind) {
                *ch = &chs[*c];
                return it;
            }
        }
    }
    return NULL;
}

/* The info metrics, one line each, after the summary; none: nothing. */
static void
json_info(struct sbuf *sb, const struct chapter *chs, size_t n)
{
    const struct chapter *ch;
    const struct item *it;
    size_t c = 0, i = 0;

    for (bool first = true; (it = next_item(chs, n, ITEM_INFO, &c, &i, &ch));
         first = false) {
        if (first)
            sb_puts(sb, "\n\nMeasured, not graded:");
        sb_printf(sb, "\n  %s %s: ", str_or(ch->dir, "?"),
                  str_or(it->name, "?"));
        if (it->has_value)
            sb_printf(sb, "%g", it->value);
        else
            sb_puts(sb, "not measured");
        if (it->what != NULL)
            sb_printf(sb, " (%s)", it->what);
    }
}

/* "leaderboard": every graded metric with a measured value. */
static void
json_leaderboard(struct sbuf *sb, const struct chapter *chs, size_t n)
{
    const struct chapter *ch;
    const struct item *it;
    size_t c = 0, i = 0;
    bool first = true;

    while ((it = next_item(chs, n, ITEM_PERF, &c, &i, &ch))) {
        if (!it->has_value)
            continue;
        struct sbuf name = SBUF_INIT;
        sb_printf(&name, "%.2s %s", str_or(ch->dir, "?"),
                  str_or(it->name, "?"));
        sb_puts(sb, first ? ",\n  \"leaderboard\": [\n    {\"name\": "
                          : ",\n    {\"name\": ");
        json_string(sb, sb_str(&name));
        sb_puts(sb, ", \"value\": ");
        json_number(sb, it->value);
        sb_puts(sb, it->op == CMP_LE ? ", \"order\": \"asc\"}"
                                     : ", \"order\": \"desc\"}");
        sb_free(&name);
        first = false;
    }
    if (!first)
        sb_puts(sb, "\n  ]");
}

int
report_json(const char *path, const struct chapter *chs, size_t n,
            double seconds)
{
    struct sbuf sb = SBUF_INIT, name = SBUF_INIT, text = SBUF_INIT;
    double score = 0, max = 0;
    bool first = true;
    int rc;

    for (size_t i = 0; i < n; i++) {
        score += chapter_score(&chs[i]);
        max += chs[i].max_score;
    }
    sb_puts(&sb, "{\n  \"score\": ");
    json_number(&sb, score);
    sb_puts(&sb, ",\n  \"max_score\": ");
    json_number(&sb, max);
    sb_puts(&sb, ",\n  \"output\": ");
    json_summary(&text, chs, n, score, max);
    json_info(&text, chs, n);
    json_string(&sb, sb_str(&text));
    if (seconds >= 0) {
        sb_puts(&sb, ",\n  \"execution_time\": ");
        json_number(&sb, seconds);
    }
    json_leaderboard(&sb, chs, n);
    sb_puts(&sb, ",\n  \"visibility\": \"visible\",\n"
                 "  \"stdout_visibility\": \"visible\",\n"
                 "  \"tests\": [");

    for (size_t c = 0; c < n; c++) {
        const struct chapter *ch = &chs[c];
        const char *dir = str_or(ch->dir, "?");

        if (!ch->gradable) {
            sb_reset(&name);
            sb_puts(&name, dir);
            sb_puts(&name, ": build");
            sb_reset(&text);
            sb_puts(&text, "NOT GRADABLE: it does not build\n");
            sb_puts(&text, str_or(ch->build_log, ""));
            json_test(&sb, first, sb_str(&name), 0, ch->max_score, false,
                      sb_str(&text), false);
            first = false;
            continue;
        }
        for (size_t i = 0; i < ch->nitems; i++) {
            const struct item *it = &ch->items[i];
            if (it->kind == ITEM_INFO)
                continue; /* in "output" */
            sb_reset(&name);
            sb_puts(&name, dir);
            sb_puts(&name, ": ");
            item_label(&name, it);
            sb_reset(&text);
            item_text(&text, ch, it);
            json_test(&sb, first, sb_str(&name), it->score, item_max(it),
                      item_ok(it), sb_str(&text),
                      it->kind == ITEM_TEST && it->hidden);
            first = false;
        }
    }
    sb_puts(&sb, first ? "]\n}\n" : "\n  ]\n}\n");

    rc = write_document(path, &sb);
    sb_free(&sb);
    sb_free(&name);
    sb_free(&text);
    return rc;
}
