/*
 * report_words.c - the words and sentences the reports share
 * (report_words.h), and grader.h's status_name.
 */
#include "report_words.h"

#include <stdio.h>
#include <string.h>

const char *
status_name(enum status st)
{
    switch (st) {
    case ST_PENDING:
        return "pending";
    case ST_PASS:
        return "pass";
    case ST_FAIL:
        return "fail";
    case ST_CRASH:
        return "crash";
    case ST_TIMEOUT:
        return "timeout";
    case ST_SKIP:
        return "skip";
    case ST_MISSING:
        return "missing";
    case ST_BLOCKED:
        return "blocked";
    case ST_SHOWN:
        return "shown";
    case ST_NOTRUN:
        return "not run";
    }
    return "unknown"; /* a value outside the enum: memory corruption */
}

/* The table's word for an item's status: PASS, FAIL, ..., INFO. */
const char *
status_word(const struct item *it)
{
    switch (it->status) {
    case ST_PENDING:
        return "PENDING";
    case ST_PASS:
        return "PASS";
    case ST_FAIL:
        return "FAIL";
    case ST_CRASH:
        return "CRASH";
    case ST_TIMEOUT:
        return "TIMEOUT";
    case ST_SKIP:
        return "SKIP";
    case ST_MISSING:
        return "MISSING";
    case ST_BLOCKED:
        return "BLOCKED";
    case ST_SHOWN:
        return "INFO";
    case ST_NOTRUN:
        return "NOT RUN";
    }
    return "UNKNOWN";
}

/* s, or the stand-in when grading left it NULL. */
const char *
str_or(const char *s, const char *dflt)
{
    return s != NULL ? s : dflt;
}

/* True when an item counts as done: passed, shown, or skipped. */
bool
item_ok(const struct item *it)
{
    if (it->kind == ITEM_INFO)
        return true; /* shown, never graded, so never a failure */
    return it->status == ST_PASS || it->status == ST_SHOWN ||
           it->status == ST_SKIP;
}

/* The points an item can earn: 0 for info items and skipped items. */
double
item_max(const struct item *it)
{
    if (it->kind == ITEM_INFO || it->status == ST_SKIP)
        return 0;
    return it->points;
}

/* The score a chapter reports: a chapter that did not build scores 0. */
double
chapter_score(const struct chapter *ch)
{
    return ch->gradable ? ch->score : 0;
}

static const char *
op_text(enum cmp_op op)
{
    return op == CMP_LE ? "<=" : ">=";
}

/*
 * Formats a measured value with %g, adding digits when %g would print it
 * exactly like the threshold it missed ("measured 3, needs >= 3").
 */
static void
fmt_value(char *buf, size_t size, double v, double threshold)
{
    char t[32];

    snprintf(t, sizeof(t), "%g", threshold);
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (v == threshold || strcmp(buf, t) != 0)
            return;
    }
}

/* Appends an item's label: "suite/test", "perf NAME", "info NAME", ... */
void
item_label(struct sbuf *sb, const struct item *it)
{
    const char *name = str_or(it->name, "?");

    switch (it->kind) {
    case ITEM_TEST:
        sb_puts(sb, name);
        break;
    case ITEM_PERF:
        sb_puts(sb, "perf ");
        sb_puts(sb, name);
        break;
    case ITEM_INFO:
        sb_puts(sb, "info ");
        sb_puts(sb, name);
        break;
    case ITEM_MEMCHECK:
        sb_puts(sb, "memcheck");
        break;
    }
}

/* True when s is one line of text: it can stand in a summary line. */
static bool
one_line(const char *s)
{
    return s != NULL && s[0] != '\0' && strpbrk(s, "\r\n") == NULL;
}

/*
 * True when an item's message says only what its summary line already
 * shows, so that every report says it once. The grader words the message
 * of a perf or memcheck item that way ("measured 8, needs <= 4"; "needs
 * every test passing first"); a blocked item's one-line message becomes
 * its summary, since the grader knows best why it did not run ("not run
 * this time" under --no-memcheck is not "needs every test passing").
 */
static bool
message_in_summary(const struct item *it)
{
    char plain[160];

    if (it->message == NULL || it->kind == ITEM_TEST || it->kind == ITEM_INFO)
        return false;
    if (it->status == ST_BLOCKED)
        return one_line(it->message);
    if (it->kind == ITEM_PERF && it->has_value) {
        /* The summary may print more digits than this %g version. */
        snprintf(plain, sizeof(plain), "measured %g, needs %s %g", it->value,
                 op_text(it->op), it->threshold);
        if (strcmp(it->message, plain) == 0)
            return true;
    }
    return false;
}

/*
 * Appends the one line that says what an item measured or needs, or
 * nothing for a test (its name says it all):
 *   perf      "measured 8, needs <= 4", or "scores once the rw tests pass"
 *   info      "0.98 (shown, not graded): CPU seconds per wall second"
 *   memcheck  "every test clean under Valgrind", or what it waits for
 * A blocked item says why in the grader's words when it gave a one-line
 * message, and in the sentences above when it gave none.
 */
void
item_summary(struct sbuf *sb, const struct item *it)
{
    bool blocked_why = it->status == ST_BLOCKED && message_in_summary(it);
    char v[64];

    switch (it->kind) {
    case ITEM_TEST:
        break;
    case ITEM_PERF:
        if (it->has_value) {
            fmt_value(v, sizeof(v), it->value, it->threshold);
            sb_printf(sb, "measured %s, ", v);
        } else if (it->status != ST_BLOCKED) {
            sb_puts(sb, "not measured, ");
        }
        if (blocked_why) {
            sb_puts(sb, it->message);
        } else if (it->status == ST_BLOCKED) {
            sb_puts(sb, "scores once the ");
            sb_puts(sb, str_or(it->exercise, "exercise's"));
            sb_puts(sb, " tests pass");
        } else {
            sb_printf(sb, "needs %s %g", op_text(it->op), it->threshold);
        }
        break;
    case ITEM_INFO:
        if (it->has_value)
            sb_printf(sb, "%g", it->value);
        else
            sb_puts(sb, "not measured");
        sb_puts(sb, " (shown, not graded): ");
        sb_puts(sb, str_or(it->what, ""));
        break;
    case ITEM_MEMCHECK:
        if (blocked_why)
            sb_puts(sb, it->message);
        else if (it->status == ST_BLOCKED)
            sb_puts(sb, "needs every test passing first");
        else
            sb_puts(sb, "every test clean under Valgrind");
        break;
    }
}

/*
 * Appends why an item did not pass: its message, or a sentence for its
 * status when grading left none. Appends nothing when the summary line
 * already says it all (a blocked or missed perf item, a passed item).
 */
void
item_why(struct sbuf *sb, const struct item *it)
{
    if (it->message != NULL && it->message[0] != '\0') {
        if (!message_in_summary(it))
            sb_puts(sb, it->message);
        return;
    }
    if (it->kind == ITEM_INFO)
        return;
    switch (it->status) {
    case ST_PENDING:
        sb_puts(sb, "not graded: the grader produced no result for it");
        break;
    case ST_FAIL:
        if (it->kind == ITEM_TEST)
            sb_puts(sb, "the test failed without a message");
        else if (it->kind == ITEM_MEMCHECK)
            sb_puts(sb, "Valgrind found errors: see the valgrind: "
                        "output of the tests");
        break;
    case ST_CRASH:
        sb_puts(sb, "the test died of a signal");
        break;
    case ST_TIMEOUT:
        if (it->timeout > 0)
            sb_printf(sb, "killed after its time limit of %g s", it->timeout);
        else
            sb_puts(sb, "killed after its time limit");
        break;
    case ST_MISSING:
        sb_puts(sb, "no result came back");
        break;
    case ST_BLOCKED:
        if (it->kind == ITEM_TEST)
            sb_puts(sb, "not run: a prerequisite failed");
        break;
    default:
        break; /* pass, skip without a reason, shown: nothing to say */
    }
}

/*
 * True when a metric should have been measured and was not: the bench's
 * own output is then the only clue, and the reports show it.
 */
static bool
metric_lost(const struct item *it)
{
    return (it->kind == ITEM_PERF || it->kind == ITEM_INFO) && !it->has_value &&
           it->status != ST_BLOCKED && it->status != ST_SKIP &&
           it->status != ST_NOTRUN;
}

bool
chapter_lost_metric(const struct chapter *ch)
{
    for (size_t i = 0; i < ch->nitems; i++)
        if (metric_lost(&ch->items[i]))
            return true;
    return false;
}

int
hint_line(const char *path, const char *id)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t len = strlen(id);
    int n = 0, found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        n++;
        /* "## H1.2 — ...": the id, then a space or the end of the line. */
        if (strncmp(line, "## ", 3) == 0 && strncmp(line + 3, id, len) == 0 &&
            (line[3 + len] == ' ' || line[3 + len] == '\n' ||
             line[3 + len] == '\0'))
            found = n;
        /* A line longer than the buffer: skip the rest of it. */
        while (strchr(line, '\n') == NULL && !feof(f) &&
               fgets(line, sizeof(line), f) != NULL)
            ;
    }
    fclose(f);
    return found;
}

void
item_hint(struct sbuf *sb, const struct chapter *ch, const struct item *it)
{
    struct sbuf path = SBUF_INIT;

    sb_printf(&path, "chapters/%s/HINTS.md", str_or(ch->dir, "?"));
    int line = hint_line(sb_str(&path), it->hint);
    sb_puts(sb, "hint: ");
    sb_puts(sb, it->hint);
    if (line > 0)
        sb_printf(sb, " at %s:%d", sb_str(&path), line);
    else
        sb_printf(sb, " in %s", sb_str(&path));
    sb_free(&path);
}

/*
 * Appends everything the machine-readable reports say about an item, one
 * part per line: the summary, why it did not pass, where, the hint,
 * Valgrind's complaint, and for a metric that was never measured the
 * bench's own output. Empty for a test that passed cleanly.
 */
void
item_text(struct sbuf *sb, const struct chapter *ch, const struct item *it)
{
    size_t start = sb->len;
    struct sbuf part = SBUF_INIT;

    item_summary(sb, it);
    if (it->status != ST_PASS && it->status != ST_SHOWN) {
        item_why(&part, it);
        if (part.len > 0) {
            if (sb->len > start)
                sb_putc(sb, '\n');
            if (it->status == ST_SKIP)
                sb_puts(sb, "skipped: ");
            sb_putn(sb, sb_str(&part), part.len);
        }
        if (it->where != NULL && it->where[0] != '\0') {
            if (sb->len > start)
                sb_putc(sb, '\n');
            sb_puts(sb, "at ");
            sb_puts(sb, it->where);
        }
        if (it->hint != NULL && !item_ok(it)) {
            if (sb->len > start)
                sb_putc(sb, '\n');
            item_hint(sb, ch, it);
        }
    }
    if (it->memcheck != NULL && it->memcheck[0] != '\0') {
        if (sb->len > start)
            sb_putc(sb, '\n');
        sb_puts(sb, "valgrind:\n");
        sb_puts(sb, it->memcheck);
    }
    if (metric_lost(it) && ch->bench_log != NULL && ch->bench_log[0] != '\0') {
        if (sb->len > start)
            sb_putc(sb, '\n');
        sb_puts(sb, "benchmark output:\n");
        sb_puts(sb, ch->bench_log);
    }
    sb_free(&part);
}

/*
 * The display group of an item: the index of its exercise in ch->ex, nex
 * for an exercise that was never declared (the parser forbids it, but a
 * report must still show every item), nex + 1 for chapter-wide items.
 */
size_t
item_group(const struct chapter *ch, const struct item *it)
{
    if (it->exercise == NULL)
        return ch->nex + 1;
    for (size_t i = 0; i < ch->nex; i++)
        if (ch->ex[i].id != NULL && strcmp(ch->ex[i].id, it->exercise) == 0)
            return i;
    return ch->nex;
}
