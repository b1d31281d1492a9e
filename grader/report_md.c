/*
 * report_md.c - report_grading_table (report.h): the Markdown grading
 * table a chapter README must hold, made from the manifest alone.
 */
#include "report.h"

#include "report_escape.h"
#include "report_words.h"
#include "sbuf.h"

/* The signs the README uses, in UTF-8: ≤, ≥ and an en dash. */
#define SIGN_LE "\xe2\x89\xa4"
#define SIGN_GE "\xe2\x89\xa5"
#define EN_DASH "\xe2\x80\x93"

char *
report_grading_table(const struct chapter *ch)
{
    struct sbuf sb = SBUF_INIT;
    double total = 0;

    sb_puts(&sb, "| Exercise | Item | Kind | Points |\n|---|---|---|---|\n");
    for (size_t i = 0; i < ch->nitems; i++) {
        const struct item *it = &ch->items[i];

        sb_puts(&sb, "| ");
        md_cell(&sb, str_or(it->exercise, "all"));
        sb_puts(&sb, " | ");
        switch (it->kind) {
        case ITEM_TEST:
            sb_putc(&sb, '`');
            md_cell(&sb, str_or(it->name, "?"));
            sb_printf(&sb, "` | test | %g |\n", it->points);
            total += it->points;
            break;
        case ITEM_PERF:
            sb_putc(&sb, '`');
            md_cell(&sb, str_or(it->name, "?"));
            sb_printf(&sb, "` %s %g | perf (%s) | %g |\n",
                      it->op == CMP_LE ? SIGN_LE : SIGN_GE, it->threshold,
                      it->pkind == PERF_TIMED ? "timed ratio" : "counted",
                      it->points);
            total += it->points;
            break;
        case ITEM_INFO:
            sb_putc(&sb, '`');
            md_cell(&sb, str_or(it->name, "?"));
            sb_puts(&sb, "` | shown, not graded | " EN_DASH " |\n");
            break;
        case ITEM_MEMCHECK:
            sb_printf(&sb,
                      "memcheck: every test clean under Valgrind | "
                      "memcheck | %g |\n",
                      it->points);
            total += it->points;
            break;
        }
    }
    sb_printf(&sb, "| | **Total** | | **%g** |\n", total);
    return sb_detach(&sb);
}
