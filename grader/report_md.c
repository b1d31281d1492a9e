/*
 * report_md.c - report_grading_table and report_check_readme (report.h):
 * the Markdown grading table a chapter README must hold, made from the
 * manifest alone, and the check that the README holds it.
 */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_escape.h"
#include "report_words.h"
#include "sbuf.h"

/* The signs the README uses, in UTF-8: ≤, ≥ and an en dash. */
#define SIGN_LE "\xe2\x89\xa4"
#define SIGN_GE "\xe2\x89\xa5"
#define EN_DASH "\xe2\x80\x93"

/* One row of a hidden test: its exercise and points, never its name. */
static void
hidden_row(struct sbuf *sb, const char *exercise, double points)
{
    sb_puts(sb, "| ");
    md_cell(sb, exercise);
    sb_printf(sb, " | a hidden test | test (hidden) | %g |\n", points);
}

char *
report_grading_table(const struct chapter *ch)
{
    struct sbuf sb = SBUF_INIT;
    double total = 0, hidden = 0;

    sb_puts(&sb, "| Exercise | Item | Kind | Points |\n|---|---|---|---|\n");
    for (size_t i = 0; i < ch->nitems; i++) {
        const struct item *it = &ch->items[i];

        if (it->kind == ITEM_TEST && it->hidden)
            continue; /* after the others, as the student edition has them */
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
    /* Hidden tests: the course's own, or the student edition's stand-ins
     * for them; the same rows either way. */
    for (size_t i = 0; i < ch->nitems; i++)
        if (ch->items[i].kind == ITEM_TEST && ch->items[i].hidden) {
            hidden_row(&sb, str_or(ch->items[i].exercise, "?"),
                       ch->items[i].points);
            hidden += ch->items[i].points;
        }
    for (size_t i = 0; i < ch->nwithheld; i++) {
        hidden_row(&sb, ch->withheld[i].exercise, ch->withheld[i].points);
        hidden += ch->withheld[i].points;
    }
    if (hidden > 0)
        sb_printf(&sb,
                  "| | **Total** (%g of it in hidden tests, graded by the "
                  "instructor) | | **%g** |\n",
                  hidden, total + hidden);
    else
        sb_printf(&sb, "| | **Total** | | **%g** |\n", total);
    return sb_detach(&sb);
}

/* Compares the README's table (between the markers) with the manifest's. */
int
report_check_readme(const struct chapter *ch)
{
    static const char begin[] = "<!-- grading-table:begin -->\n";
    static const char end[] = "<!-- grading-table:end -->";
    char path[512];
    char *want = report_grading_table(ch);
    int rc = -1;

    snprintf(path, sizeof(path), "chapters/%s/README.md", ch->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        free(want);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    ssize_t n = getdelim(&text, &len, '\0', f);
    fclose(f);
    char *b = n > 0 ? strstr(text, begin) : NULL;
    char *e = b ? strstr(b, end) : NULL;
    if (e == NULL) {
        fprintf(stderr, "%s: no '%s' ... '%s' markers\n", path,
                "<!-- grading-table:begin -->", end);
    } else {
        b += strlen(begin);
        if ((size_t)(e - b) == strlen(want) &&
            strncmp(b, want, (size_t)(e - b)) == 0)
            rc = 0;
        else
            fprintf(stderr,
                    "%s: the grading table differs from grade.manifest; "
                    "the table should read:\n%s",
                    path, want);
    }
    free(text);
    free(want);
    return rc;
}
