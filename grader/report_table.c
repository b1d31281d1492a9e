/*
 * report_table.c - report_table (report.h): the plain-text table a
 * student reads in a terminal.
 *
 * Organisation: tunables and colours; painting; blocks of text; one item;
 * the next step; one chapter; the whole table.
 */
#include "report.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report_escape.h"
#include "report_words.h"
#include "sbuf.h"

/* Lines of a build log the table shows: the first errors matter most. */
#ifndef REPORT_LOG_LINES
#define REPORT_LOG_LINES 60
#endif

/* Lines of one message, or of one Valgrind complaint, the table shows. */
#ifndef REPORT_MSG_LINES
#define REPORT_MSG_LINES 12
#endif

/* ANSI colours for the table, used only when report_opts.color is set. */
#define C_GREEN "\033[32m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"
#define C_BOLD "\033[1m"
#define C_RESET "\033[0m"

/* Column widths of the table; details are indented under the item name. */
#define POINTS_WIDTH 7
#define STATUS_WIDTH 7
#define DETAIL_INDENT "                    " /* 2 + 7 + 2 + 7 + 2 */

static const char *
status_colour(enum status st)
{
    switch (st) {
    case ST_PASS:
        return C_GREEN;
    case ST_SKIP:
    case ST_BLOCKED:
    case ST_NOTRUN:
        return C_YELLOW;
    case ST_SHOWN:
        return "";
    default:
        return C_RED;
    }
}

static void
paint_on(FILE *out, const struct report_opts *o, const char *code)
{
    if (o->color && code[0] != '\0')
        fputs(code, out);
}

static void
paint_off(FILE *out, const struct report_opts *o, const char *code)
{
    if (o->color && code[0] != '\0')
        fputs(C_RESET, out);
}

/* The table's lines fit this many columns (counted in bytes). */
#define REPORT_WIDTH 100

/*
 * Writes s[0..n), one line without its newline, starting at column col:
 * where it would pass REPORT_WIDTH it breaks at the last space that fits
 * (or, in a word longer than a line, at the width) and goes on after
 * indent on a new line.
 */
static void
put_wrapped(FILE *out, size_t col, const char *indent, const char *s, size_t n)
{
    size_t room, cut, ind = strlen(indent);

    while (col + n > REPORT_WIDTH) {
        room = REPORT_WIDTH > col ? REPORT_WIDTH - col : 1;
        cut = room;
        while (cut > 0 && s[cut] != ' ')
            cut--;
        if (cut == 0)
            cut = room; /* one long word: cut it */
        term_putn(out, s, cut);
        fputc('\n', out);
        fputs(indent, out);
        while (cut < n && s[cut] == ' ')
            cut++;
        s += cut;
        n -= cut;
        col = ind;
    }
    term_putn(out, s, n);
}

/*
 * Writes text, one indented line per line of it (wrapped to fit the
 * table's width), at most max lines and then "... (N more lines)".
 * Trailing newlines are dropped and CRLF line ends are read as LF.
 */
static void
put_block(FILE *out, const char *indent, const char *s, size_t max)
{
    size_t len = strlen(s), total = 1, shown = 0;
    const char *p = s, *end;

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (len == 0)
        return;
    end = s + len;
    for (const char *q = s; q < end; q++)
        if (*q == '\n')
            total++;
    while (p < end && shown < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        fputs(indent, out);
        put_wrapped(out, strlen(indent), indent, p, n);
        fputc('\n', out);
        shown++;
        p = nl != NULL ? nl + 1 : end;
    }
    if (total > shown)
        fprintf(out, "%s... (%zu more lines)\n", indent, total - shown);
}

/* Writes "  [margin 2.50x]", flagged LOW below 2x (the design's minimum). */
static void
put_margin(FILE *out, const struct item *it, const struct report_opts *o)
{
    double m;

    if (!it->has_value) {
        fputs("  [margin: not measured]", out);
        return;
    }
    if (it->op == CMP_LE)
        m = it->value > 0 ? it->threshold / it->value : INFINITY;
    else
        m = it->threshold > 0 ? it->value / it->threshold : INFINITY;
    if (isinf(m)) {
        fputs("  [margin inf]", out);
        return;
    }
    fprintf(out, "  [margin %.2fx", m);
    if (m < 2.0) {
        fputc(' ', out);
        paint_on(out, o, C_RED);
        fputs("LOW", out);
        paint_off(out, o, C_RED);
    }
    fputc(']', out);
}

/*
 * One item: "points  STATUS  label: summary", then its details indented
 * under the label. The status word is right-aligned, so exactly two
 * spaces separate it from the label ("FAIL  rw/read_full...").
 */
static void
table_item(FILE *out, const struct chapter *ch, const struct item *it,
           const struct report_opts *o)
{
    const char *word = status_word(it), *colour = status_colour(it->status);
    struct sbuf sb = SBUF_INIT;
    char pts[80];

    if (it->kind == ITEM_INFO)
        snprintf(pts, sizeof(pts), "-");
    else if (it->status == ST_SKIP)
        snprintf(pts, sizeof(pts), "-/%g", it->points);
    else
        snprintf(pts, sizeof(pts), "%g/%g", it->score, it->points);
    fprintf(out, "  %*s  %*s", POINTS_WIDTH, pts,
            (int)(STATUS_WIDTH - strlen(word)), "");
    paint_on(out, o, colour);
    fputs(word, out);
    paint_off(out, o, colour);
    fputs("  ", out);

    item_label(&sb, it);
    size_t label_len = sb.len;
    item_summary(&sb, it);
    if (sb.len > label_len) {
        term_putn(out, sb_str(&sb), label_len);
        fputs(": ", out);
        put_wrapped(out, strlen(DETAIL_INDENT) + label_len + 2, DETAIL_INDENT,
                    sb_str(&sb) + label_len, sb.len - label_len);
    } else {
        term_putn(out, sb_str(&sb), sb.len);
    }
    if (o->calibrate && it->kind == ITEM_PERF)
        put_margin(out, it, o);
    fputc('\n', out);

    if (it->status != ST_PASS && it->status != ST_SHOWN) {
        sb_reset(&sb);
        item_why(&sb, it);
        if (sb.len > 0 && it->status == ST_SKIP)
            fputs(DETAIL_INDENT "skipped:\n", out);
        put_block(out, DETAIL_INDENT, sb_str(&sb), REPORT_MSG_LINES);
        if (it->where != NULL && it->where[0] != '\0') {
            fputs(DETAIL_INDENT "at ", out);
            term_puts(out, it->where);
            fputc('\n', out);
        }
        if (it->hint != NULL && !item_ok(it)) {
            sb_reset(&sb);
            item_hint(&sb, ch, it);
            fputs(DETAIL_INDENT, out);
            term_puts(out, sb_str(&sb));
            fputc('\n', out);
        }
    }
    if (it->memcheck != NULL && it->memcheck[0] != '\0') {
        fputs(DETAIL_INDENT "valgrind:\n", out);
        put_block(out, DETAIL_INDENT "  ", it->memcheck, REPORT_MSG_LINES);
    }
    sb_free(&sb);
}

static bool
needs_work(enum status st)
{
    return st == ST_FAIL || st == ST_CRASH || st == ST_TIMEOUT ||
           st == ST_MISSING || st == ST_PENDING;
}

/*
 * The item a student should look at next: the first one, in the order
 * the table shows them, that failed; else the first one blocked; else
 * NULL (all done).
 */
static const struct item *
next_step_item(const struct chapter *ch)
{
    const struct item *blocked = NULL, *notrun = NULL;

    for (size_t g = 0; g <= ch->nex + 1; g++) {
        for (size_t i = 0; i < ch->nitems; i++) {
            const struct item *it = &ch->items[i];
            if (item_group(ch, it) != g || it->kind == ITEM_INFO)
                continue;
            if (needs_work(it->status))
                return it;
            if (it->status == ST_BLOCKED && blocked == NULL)
                blocked = it;
            if (it->status == ST_NOTRUN && notrun == NULL)
                notrun = it;
        }
    }
    return blocked != NULL ? blocked : notrun;
}

/* True when path is a directory. */
static bool
is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The course's chapter after dir (the next NN-* directory of chapters/, in
 * order) into next[size]; false when dir is the last.
 */
static bool
next_chapter(const char *dir, char *next, size_t size)
{
    DIR *d = opendir("chapters");
    struct dirent *e;
    bool found = false;

    if (d == NULL)
        return false;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (!isdigit((unsigned char)n[0]) || !isdigit((unsigned char)n[1]) ||
            n[2] != '-' || strcmp(n, dir) <= 0)
            continue;
        if (!found || strcmp(n, next) < 0) {
            snprintf(next, size, "%s", n);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/*
 * A chapter at full marks: where to go from here. The next chapter, the
 * chapter's experiments when it has any, and the reference when this
 * copy of the course holds it (an instructor's; a student edition has
 * none).
 */
static void
table_all_done(FILE *out, const struct chapter *ch)
{
    const char *dir = str_or(ch->dir, "?");
    char next[256], path[512];

    fputs("all done, nothing left to earn here.\n", out);
    if (next_chapter(dir, next, sizeof(next)))
        fprintf(out, "  next: chapter %.2s, chapters/%s/README.md\n", next,
                next);
    else
        fputs("  next: this is the last chapter: the course is done\n", out);
    snprintf(path, sizeof(path), "chapters/%s/demo", dir);
    if (is_dir(path))
        fprintf(out,
                "  experiments: make demos CH=%.2s (the README's "
                "experiments section says what to try)\n",
                dir);
    snprintf(path, sizeof(path), "solutions/%s/src", dir);
    if (is_dir(path))
        fprintf(out, "  the reference, to compare with yours: %s/\n", path);
}

static void
table_next_step(FILE *out, const struct chapter *ch)
{
    const struct item *it = next_step_item(ch);
    struct sbuf sb = SBUF_INIT;

    fputs("  next step: ", out);
    if (it == NULL) {
        table_all_done(out, ch);
        return;
    }
    item_label(&sb, it);
    sb_printf(&sb, " (%s): ", status_word(it));
    if (it->hint != NULL) {
        sb_puts(&sb, "read ");
        item_hint(&sb, ch, it);
    } else if (it->status == ST_NOTRUN) {
        sb_puts(
            &sb,
            "everything that ran is done; a full `make grade` runs the rest");
    } else if (it->status == ST_BLOCKED && it->kind == ITEM_MEMCHECK) {
        sb_puts(&sb, "make every test pass first");
    } else if (it->status == ST_BLOCKED) {
        sb_puts(&sb, "make the ");
        sb_puts(&sb, str_or(it->exercise, "exercise's"));
        sb_puts(&sb, " tests pass first");
    } else if (it->kind == ITEM_MEMCHECK) {
        sb_puts(&sb, "fix the Valgrind errors shown under the tests above");
    } else if (it->kind == ITEM_PERF) {
        item_summary(&sb, it);
    } else {
        sb_puts(&sb, "see its message above");
    }
    put_wrapped(out, strlen("  next step: "), "    ", sb_str(&sb), sb.len);
    fputc('\n', out);
    sb_free(&sb);
}

static void
table_chapter(FILE *out, const struct chapter *ch, const struct report_opts *o)
{
    paint_on(out, o, C_BOLD);
    fputs("== ", out);
    term_puts(out, str_or(ch->dir, "?"));
    fputs(": ", out);
    term_puts(out, str_or(ch->title, ""));
    fputs(" ==", out);
    paint_off(out, o, C_BOLD);
    fputc('\n', out);

    if (ch->notes != NULL) {
        fputc('\n', out);
        put_block(out, "  note: ", ch->notes, REPORT_LOG_LINES);
    }
    if (!ch->gradable) {
        fputs("\n  ", out);
        paint_on(out, o, C_RED);
        fputs(ch->refused ? "NOT GRADABLE: the submission was refused"
                          : "NOT GRADABLE: it does not build",
              out);
        paint_off(out, o, C_RED);
        fputs("\n\n", out);
        if (ch->build_log != NULL && ch->build_log[0] != '\0')
            put_block(out, "    ", ch->build_log, REPORT_LOG_LINES);
        else
            fputs("    (the build printed nothing)\n", out);
        fputc('\n', out);
        paint_on(out, o, C_BOLD);
        fprintf(out, "  total: 0 / %g (not gradable)", ch->max_score);
        paint_off(out, o, C_BOLD);
        fputs("\n  next step: make it build: fix the first error in the "
              "log above\n\n",
              out);
        return;
    }

    size_t notrun = 0;
    for (size_t g = 0; g <= ch->nex + 1; g++) {
        bool header = false;
        for (size_t i = 0; i < ch->nitems; i++) {
            const struct item *it = &ch->items[i];
            if (item_group(ch, it) != g)
                continue;
            if (o->brief && it->status == ST_NOTRUN) {
                notrun++;
                continue;
            }
            if (!header) {
                fputc('\n', out);
                if (g < ch->nex) {
                    term_puts(out, str_or(ch->ex[g].id, "?"));
                    fputs(": ", out);
                    term_puts(out, str_or(ch->ex[g].title, ""));
                } else if (g == ch->nex) {
                    fputs("(items of undeclared exercises)", out);
                } else {
                    fputs("all exercises", out);
                }
                fputc('\n', out);
                header = true;
            }
            table_item(out, ch, it, o);
        }
    }
    if (notrun > 0)
        fprintf(out,
                "\n  (%zu more item(s) not run: this run stopped at the first "
                "failure; make grade runs everything)\n",
                notrun);
    if (chapter_lost_metric(ch) && ch->bench_log != NULL &&
        ch->bench_log[0] != '\0') {
        fputs("\nbenchmark output (a metric is missing):\n", out);
        put_block(out, "    ", ch->bench_log, REPORT_LOG_LINES);
    }
    fputc('\n', out);
    paint_on(out, o, C_BOLD);
    fprintf(out, "  total: %g / %g", ch->score, ch->max_score);
    paint_off(out, o, C_BOLD);
    fputc('\n', out);
    table_next_step(out, ch);
    fputc('\n', out);
}

/* A bar of BAR_WIDTH cells for score out of max: [#####.....]. */
#define BAR_WIDTH 20
static void
put_bar(FILE *out, double score, double max)
{
    int full = max > 0 ? (int)(BAR_WIDTH * score / max + 0.5) : 0;

    fputc('[', out);
    for (int i = 0; i < BAR_WIDTH; i++)
        fputc(i < full ? '#' : '.', out);
    fputc(']', out);
}

/* The whole course at a glance: one line a chapter, score and bar. */
static void
table_course(FILE *out, const struct chapter *chs, size_t n,
             const struct report_opts *o)
{
    paint_on(out, o, C_BOLD);
    fputs("== the course ==", out);
    paint_off(out, o, C_BOLD);
    fputs("\n\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct chapter *ch = &chs[i];
        double score = chapter_score(ch);
        fputs("  ", out);
        term_puts(out, str_or(ch->dir, "?"));
        int pad = 20 - (int)strlen(str_or(ch->dir, "?"));
        fprintf(out, "%*s %5g / %-5g ", pad > 0 ? pad : 1, "", score,
                ch->max_score);
        put_bar(out, score, ch->max_score);
        if (!ch->gradable)
            fputs(ch->refused ? "  refused" : "  does not build", out);
        else if (next_step_item(ch) == NULL)
            fputs("  done", out);
        fputc('\n', out);
    }
    fputc('\n', out);
}

void
report_text(FILE *out, const char *text)
{
    put_block(out, "", text, (size_t)-1);
    fputc('\n', out);
}

void
report_table(const struct chapter *chs, size_t n,
             const struct report_opts *opts)
{
    const struct report_opts plain = {0};
    const struct report_opts *o = opts != NULL ? opts : &plain;
    double score = 0, max = 0;
    size_t broken = 0;

    for (size_t i = 0; i < n; i++) {
        table_chapter(stdout, &chs[i], o);
        score += chapter_score(&chs[i]);
        max += chs[i].max_score;
        if (!chs[i].gradable)
            broken++;
    }
    if (n > 1) {
        table_course(stdout, chs, n, o);
        paint_on(stdout, o, C_BOLD);
        printf("TOTAL: %g / %g over %zu chapters", score, max, n);
        if (broken > 0)
            printf(" (%zu not gradable)", broken);
        paint_off(stdout, o, C_BOLD);
        putchar('\n');
        size_t i = 0;
        while (i < n && chs[i].gradable && next_step_item(&chs[i]) == NULL)
            i++;
        if (i == n) {
            fputs("every chapter is done: the course is yours\n", stdout);
        } else {
            fputs("the first chapter not done: ", stdout);
            term_puts(stdout, str_or(chs[i].dir, "?"));
            fputc('\n', stdout);
            if (chs[i].gradable)
                table_next_step(stdout, &chs[i]);
            else
                fputs("  next step: make it build (its log is above)\n",
                      stdout);
        }
    }
    fflush(stdout);
}
