/*
 * report.c - the grader's report writers: what a student, a CI job and
 * Gradescope see once a chapter has been graded.
 *
 * Four writers read the same graded chapters (grader.h):
 * - report_table: the plain-text table a student reads in a terminal;
 * - report_json: Gradescope's results.json;
 * - report_junit: JUnit XML, for CI test reporters;
 * - report_grading_table: the Markdown table a chapter README must hold,
 *   made from the manifest alone, never from results.
 *
 * Every string that grading filled in may hold any bytes a test printed:
 * quotes, newlines, "]]>", control characters, invalid UTF-8. Each writer
 * escapes for its own format, and all of them decode UTF-8 the same strict
 * way (utf8_seq), so a byte that is not valid UTF-8 becomes U+FFFD in every
 * report. The JSON and XML writers build their whole document in memory
 * and only then write it, so running out of memory is reported before
 * anything is written.
 *
 * Organisation: tunables; a growable text buffer; UTF-8 and escaping; the
 * words and sentences every writer shares; then one section per writer.
 */
#include "grader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines of a build log the table shows: the first errors matter most. */
#ifndef REPORT_LOG_LINES
#define REPORT_LOG_LINES 60
#endif

/* Lines of one message, or of one Valgrind complaint, the table shows. */
#ifndef REPORT_MSG_LINES
#define REPORT_MSG_LINES 12
#endif

/*
 * Bytes of one string the JSON and XML writers keep; the rest is counted.
 * Gradescope and CI viewers struggle with megabytes of compiler output.
 */
#ifndef REPORT_TEXT_MAX
#define REPORT_TEXT_MAX 65536
#endif

/* Bytes of a JUnit failure's message attribute, which viewers show inline. */
#ifndef REPORT_ATTR_MAX
#define REPORT_ATTR_MAX 240
#endif

/* U+FFFD in UTF-8: what every byte that is not valid UTF-8 becomes. */
#define REPLACEMENT "\xef\xbf\xbd"

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

/* ===================================================================== */
/* A growable text buffer                                                */
/* ===================================================================== */

/*
 * Invariant: buf is NULL while cap is 0, and otherwise holds len bytes
 * followed by a NUL. Once an allocation fails, oom stays set and every
 * later append is dropped, so callers check once, at the end.
 */
struct sbuf {
    char *buf;  /* the text, NUL-terminated; NULL while empty */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed: the text is incomplete */
};

static void
sb_putn(struct sbuf *sb, const char *s, size_t n)
{
    if (sb->oom)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap != 0 ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = realloc(sb->buf, cap);
        if (p == NULL) {
            sb->oom = true;
            return;
        }
        sb->buf = p;
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void
sb_puts(struct sbuf *sb, const char *s)
{
    sb_putn(sb, s, strlen(s));
}

static void
sb_putc(struct sbuf *sb, char c)
{
    sb_putn(sb, &c, 1);
}

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->oom = true; /* an encoding error: no text to append */
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_putn(sb, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        sb->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(sb, big, (size_t)n);
    free(big);
}

/* The text so far, "" while empty; valid until the next append. */
static const char *
sb_str(const struct sbuf *sb)
{
    return sb->buf != NULL ? sb->buf : "";
}

static void
sb_reset(struct sbuf *sb)
{
    sb->len = 0;
    if (sb->buf != NULL)
        sb->buf[0] = '\0';
}

static void
sb_free(struct sbuf *sb)
{
    free(sb->buf);
    *sb = (struct sbuf){0};
}

/* ===================================================================== */
/* UTF-8 and escaping                                                    */
/* ===================================================================== */

/*
 * utf8_seq - the length (1 to 4) of the valid UTF-8 sequence that starts
 * at s, looking at no more than n bytes, and its code point in *cp.
 * Returns 0 when the bytes there are not valid UTF-8: a stray continuation
 * byte, a sequence cut short, an overlong form, a surrogate, or a code
 * point above U+10FFFF. Callers then replace one byte and go on.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
        *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
        *cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
        *cp = c & 0x07;
    } else {
        return 0; /* 0x80-0xc1 and 0xf5-0xff never start a sequence */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * How many of the len bytes of s to keep when at most max may be kept:
 * the cut backs off over continuation bytes so that a character is not
 * split in two (which would turn into a spurious U+FFFD).
 */
static size_t
clip_len(const char *s, size_t len, size_t max)
{
    size_t keep = max;

    if (len <= max)
        return len;
    for (int i = 0; i < 3 && keep > 0; i++) {
        if (((unsigned char)s[keep] & 0xc0) != 0x80)
            break;
        keep--;
    }
    return keep;
}

/*
 * Writes n bytes of s for a terminal: valid UTF-8 and TAB pass through;
 * control characters (including ESC, so a test cannot colour or clear the
 * student's terminal) are shown as \xNN or \uNNNN; invalid bytes as U+FFFD.
 */
static void
term_putn(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len == 0) {
            fputs(REPLACEMENT, out);
            i++;
            continue;
        }
        if (cp == '\t')
            fputc('\t', out);
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(out, "\\x%02x", cp);
        else if (cp >= 0x80 && cp < 0xa0)
            fprintf(out, "\\u%04x", cp); /* C1 controls: CSI is one */
        else
            fwrite(p + i, 1, len, out);
        i += len;
    }
}

static void
term_puts(FILE *out, const char *s)
{
    term_putn(out, s, strlen(s));
}

/* Appends n bytes of s escaped for the inside of a JSON string. */
static void
json_escape(struct sbuf *sb, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len == 0) {
            sb_puts(sb, "\\ufffd");
            i++;
            continue;
        }
        switch (cp) {
        case '"':
            sb_puts(sb, "\\\"");
            break;
        case '\\':
            sb_puts(sb, "\\\\");
            break;
        case '\n':
            sb_puts(sb, "\\n");
            break;
        case '\r':
            sb_puts(sb, "\\r");
            break;
        case '\t':
            sb_puts(sb, "\\t");
            break;
        case '\b':
            sb_puts(sb, "\\b");
            break;
        case '\f':
            sb_puts(sb, "\\f");
            break;
        default:
            if (cp < 0x20 || cp == 0x7f)
                sb_printf(sb, "\\u%04x", cp);
            else
                sb_putn(sb, (const char *)p + i, len);
        }
        i += len;
    }
}

/* Appends s as a quoted JSON string, cut at REPORT_TEXT_MAX bytes. */
static void
json_string(struct sbuf *sb, const char *s)
{
    size_t len = strlen(s), keep = clip_len(s, len, REPORT_TEXT_MAX);

    sb_putc(sb, '"');
    json_escape(sb, s, keep);
    if (keep < len)
        sb_printf(sb, "\\n... (%zu more bytes)", len - keep);
    sb_putc(sb, '"');
}

/*
 * Appends a JSON number. JSON has no inf or nan; a score that is not
 * finite is a grading bug, and 0 keeps the document valid.
 */
static void
json_number(struct sbuf *sb, double v)
{
    sb_printf(sb, "%.15g", isfinite(v) ? v : 0.0);
}

/*
 * Appends n bytes of s escaped for XML 1.0 text or, when attr is set, for
 * an attribute value between double quotes. All five special characters
 * are escaped in both, so "]]>" is harmless anywhere. Characters XML 1.0
 * forbids (controls other than TAB, LF and CR; U+FFFE; U+FFFF) and invalid
 * bytes become U+FFFD. CR, and in attributes TAB and LF, are written as
 * character references because a parser would otherwise normalise them.
 */
static void
xml_escape(struct sbuf *sb, const char *s, size_t n, bool attr)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len == 0) {
            sb_puts(sb, REPLACEMENT);
            i++;
            continue;
        }
        switch (cp) {
        case '&':
            sb_puts(sb, "&amp;");
            break;
        case '<':
            sb_puts(sb, "&lt;");
            break;
        case '>':
            sb_puts(sb, "&gt;");
            break;
        case '"':
            sb_puts(sb, "&quot;");
            break;
        case '\'':
            sb_puts(sb, "&apos;");
            break;
        case '\r':
            sb_puts(sb, "&#13;");
            break;
        case '\t':
            sb_puts(sb, attr ? "&#9;" : "\t");
            break;
        case '\n':
            sb_puts(sb, attr ? "&#10;" : "\n");
            break;
        default:
            if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
                sb_puts(sb, REPLACEMENT);
            else
                sb_putn(sb, (const char *)p + i, len);
        }
        i += len;
    }
}

/* Appends s as XML text, cut at REPORT_TEXT_MAX bytes. */
static void
xml_text(struct sbuf *sb, const char *s)
{
    size_t len = strlen(s), keep = clip_len(s, len, REPORT_TEXT_MAX);

    xml_escape(sb, s, keep, false);
    if (keep < len)
        sb_printf(sb, "\n... (%zu more bytes)", len - keep);
}

/* Appends ` name="value"`, the value escaped and cut at max bytes. */
static void
xml_attr(struct sbuf *sb, const char *name, const char *value, size_t max)
{
    size_t len = strlen(value), keep = clip_len(value, len, max);

    sb_printf(sb, " %s=\"", name);
    xml_escape(sb, value, keep, true);
    if (keep < len)
        sb_puts(sb, "...");
    sb_putc(sb, '"');
}

/* ===================================================================== */
/* Words and sentences every writer shares                               */
/* ===================================================================== */

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
static const char *
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

/* s, or the stand-in when grading left it NULL. */
static const char *
str_or(const char *s, const char *dflt)
{
    return s != NULL ? s : dflt;
}

/* True when an item counts as done: passed, shown, or skipped. */
static bool
item_ok(const struct item *it)
{
    if (it->kind == ITEM_INFO)
        return true; /* shown, never graded, so never a failure */
    return it->status == ST_PASS || it->status == ST_SHOWN ||
           it->status == ST_SKIP;
}

/* The points an item can earn: 0 for info items and skipped items. */
static double
item_max(const struct item *it)
{
    if (it->kind == ITEM_INFO || it->status == ST_SKIP)
        return 0;
    return it->points;
}

/* The score a chapter reports: a chapter that did not build scores 0. */
static double
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
static void
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
static void
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
static void
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

static bool
chapter_lost_metric(const struct chapter *ch)
{
    for (size_t i = 0; i < ch->nitems; i++)
        if (metric_lost(&ch->items[i]))
            return true;
    return false;
}

/* Appends "hint: H1.2 in chapters/DIR/HINTS.md". */
static void
item_hint(struct sbuf *sb, const struct chapter *ch, const struct item *it)
{
    sb_puts(sb, "hint: ");
    sb_puts(sb, it->hint);
    sb_puts(sb, " in chapters/");
    sb_puts(sb, str_or(ch->dir, "?"));
    sb_puts(sb, "/HINTS.md");
}

/*
 * Appends everything the machine-readable reports say about an item, one
 * part per line: the summary, why it did not pass, where, the hint,
 * Valgrind's complaint, and for a metric that was never measured the
 * bench's own output. Empty for a test that passed cleanly.
 */
static void
item_text(struct sbuf *sb, const struct chapter *ch, const struct item *it)
{
    size_t start = sb->len;
    struct sbuf part = {0};

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
    if (part.oom)
        sb->oom = true;
    sb_free(&part);
}

/*
 * The display group of an item: the index of its exercise in ch->ex, nex
 * for an exercise that was never declared (the parser forbids it, but a
 * report must still show every item), nex + 1 for chapter-wide items.
 */
static size_t
item_group(const struct chapter *ch, const struct item *it)
{
    if (it->exercise == NULL)
        return ch->nex + 1;
    for (size_t i = 0; i < ch->nex; i++)
        if (ch->ex[i].id != NULL && strcmp(ch->ex[i].id, it->exercise) == 0)
            return i;
    return ch->nex;
}

/* ===================================================================== */
/* The table                                                             */
/* ===================================================================== */

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

/*
 * Writes text, one indented line per line of it, at most max lines and
 * then "... (N more lines)". Trailing newlines are dropped and CRLF line
 * ends are read as LF.
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
        term_putn(out, p, n);
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
    struct sbuf sb = {0};
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
        term_putn(out, sb_str(&sb) + label_len, sb.len - label_len);
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

static void
table_next_step(FILE *out, const struct chapter *ch)
{
    const struct item *it = next_step_item(ch);
    struct sbuf sb = {0};

    fputs("  next step: ", out);
    if (it == NULL) {
        fputs("all done, nothing left to earn here\n", out);
        return;
    }
    item_label(&sb, it);
    sb_printf(&sb, " (%s): ", status_word(it));
    if (it->hint != NULL) {
        sb_puts(&sb, "read hint ");
        sb_puts(&sb, it->hint);
        sb_puts(&sb, " in chapters/");
        sb_puts(&sb, str_or(ch->dir, "?"));
        sb_puts(&sb, "/HINTS.md");
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
    term_puts(out, sb_str(&sb));
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

    for (size_t g = 0; g <= ch->nex + 1; g++) {
        bool header = false;
        for (size_t i = 0; i < ch->nitems; i++) {
            const struct item *it = &ch->items[i];
            if (item_group(ch, it) != g)
                continue;
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
        paint_on(stdout, o, C_BOLD);
        printf("TOTAL: %g / %g over %zu chapters", score, max, n);
        if (broken > 0)
            printf(" (%zu not gradable)", broken);
        paint_off(stdout, o, C_BOLD);
        putchar('\n');
    }
    fflush(stdout);
}

/* ===================================================================== */
/* Writing a finished document                                           */
/* ===================================================================== */

/*
 * Writes all len bytes of buf to fd. A short write is continued where it
 * stopped; EINTR is retried; a write that returns 0 (no progress and no
 * error) is reported as -EIO instead of looping forever.
 */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -errno;
        if (n == 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes a finished document to path, or to stdout when path is "-". */
static int
write_document(const char *path, const struct sbuf *sb)
{
    int fd, rc;

    if (sb->oom)
        return -ENOMEM;
    if (path == NULL)
        return -EINVAL;
    if (strcmp(path, "-") == 0) {
        if (fflush(stdout) == EOF)
            return -errno; /* keep what stdio holds in front of ours */
        return write_all(STDOUT_FILENO, sb_str(sb), sb->len);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        return -errno;
    rc = write_all(fd, sb_str(sb), sb->len);
    if (close(fd) == -1 && rc == 0)
        rc = -errno; /* never retried: the descriptor is gone either way */
    return rc;
}

/* ===================================================================== */
/* Gradescope's results.json                                             */
/* ===================================================================== */

/* Appends one entry of "tests"; name and output are raw text. */
static void
json_test(struct sbuf *sb, bool first, const char *name, double score,
          double max, bool passed, const char *output)
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
    sb_puts(sb, ", \"visibility\": \"visible\"}");
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

int
report_json(const char *path, const struct chapter *chs, size_t n)
{
    struct sbuf sb = {0}, name = {0}, text = {0};
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
    json_string(&sb, sb_str(&text));
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
                      sb_str(&text));
            first = false;
            continue;
        }
        for (size_t i = 0; i < ch->nitems; i++) {
            const struct item *it = &ch->items[i];
            sb_reset(&name);
            sb_puts(&name, dir);
            sb_puts(&name, ": ");
            item_label(&name, it);
            sb_reset(&text);
            item_text(&text, ch, it);
            json_test(&sb, first, sb_str(&name),
                      it->kind == ITEM_INFO ? 0 : it->score, item_max(it),
                      item_ok(it), sb_str(&text));
            first = false;
        }
    }
    sb_puts(&sb, first ? "]\n}\n" : "\n  ]\n}\n");

    if (name.oom || text.oom)
        sb.oom = true;
    rc = write_document(path, &sb);
    sb_free(&sb);
    sb_free(&name);
    sb_free(&text);
    return rc;
}

/* ===================================================================== */
/* JUnit XML                                                             */
/* ===================================================================== */

/* Which JUnit element an item's outcome becomes. */
enum junit_kind { JU_OK, JU_FAILURE, JU_ERROR, JU_SKIPPED };

static enum junit_kind
junit_kind(const struct item *it)
{
    if (it->kind == ITEM_INFO)
        return JU_OK; /* shown, not graded: never a failure */
    switch (it->status) {
    case ST_PASS:
    case ST_SHOWN:
        return JU_OK;
    case ST_CRASH:
        return JU_ERROR;
    case ST_SKIP:
    case ST_NOTRUN:
        return JU_SKIPPED;
    default:
        return JU_FAILURE; /* fail, timeout, missing, blocked, pending */
    }
}

struct junit_counts {
    size_t tests, failures, errors, skipped;
};

static void
junit_count(const struct chapter *ch, struct junit_counts *k)
{
    if (!ch->gradable) {
        k->tests++;
        k->errors++;
        return;
    }
    for (size_t i = 0; i < ch->nitems; i++) {
        k->tests++;
        switch (junit_kind(&ch->items[i])) {
        case JU_FAILURE:
            k->failures++;
            break;
        case JU_ERROR:
            k->errors++;
            break;
        case JU_SKIPPED:
            k->skipped++;
            break;
        case JU_OK:
            break;
        }
    }
}

static void
junit_counts_attrs(struct sbuf *sb, const struct junit_counts *k)
{
    sb_printf(sb,
              " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
              "skipped=\"%zu\"",
              k->tests, k->failures, k->errors, k->skipped);
}

/* The first line of text: what a viewer shows beside a failure. */
static size_t
first_line_len(const char *text)
{
    return strcspn(text, "\n");
}

static void
junit_item(struct sbuf *sb, const struct chapter *ch, const struct item *it)
{
    enum junit_kind kind = junit_kind(it);
    struct sbuf text = {0}, cls = {0}, msg = {0};
    static const char *const element[] = {
        [JU_FAILURE] = "failure",
        [JU_ERROR] = "error",
    };

    sb_puts(&cls, str_or(ch->dir, "?"));
    sb_putc(&cls, '.');
    sb_puts(&cls, it->exercise != NULL ? it->exercise : "memcheck");
    item_text(&text, ch, it);

    sb_puts(sb, "    <testcase");
    xml_attr(sb, "classname", sb_str(&cls), REPORT_TEXT_MAX);
    xml_attr(sb, "name", str_or(it->name, "?"), REPORT_TEXT_MAX);
    bool out = it->kind == ITEM_INFO ||
               (it->kind == ITEM_PERF && it->has_value) ||
               (kind == JU_OK && text.len > 0);
    if (kind == JU_OK && !out) {
        sb_puts(sb, "/>\n");
        goto out_free;
    }
    sb_puts(sb, ">\n");

    if (kind == JU_SKIPPED) {
        sb_puts(sb, "      <skipped");
        if (text.len > 0) {
            sb_putn(&msg, sb_str(&text), first_line_len(sb_str(&text)));
            xml_attr(sb, "message", sb_str(&msg), REPORT_ATTR_MAX);
        }
        sb_puts(sb, "/>\n");
    } else if (kind != JU_OK) {
        if (text.len > 0)
            sb_putn(&msg, sb_str(&text), first_line_len(sb_str(&text)));
        else
            sb_puts(&msg, status_name(it->status));
        sb_printf(sb, "      <%s", element[kind]);
        xml_attr(sb, "message", sb_str(&msg), REPORT_ATTR_MAX);
        xml_attr(sb, "type", status_name(it->status), REPORT_ATTR_MAX);
        sb_putc(sb, '>');
        xml_text(sb, sb_str(&text));
        sb_printf(sb, "</%s>\n", element[kind]);
    }
    if (out) {
        /* The measured value, so CI logs keep it even when it passed. */
        sb_reset(&msg);
        if (kind == JU_OK)
            sb_putn(&msg, sb_str(&text), text.len);
        else
            item_summary(&msg, it);
        sb_puts(sb, "      <system-out>");
        xml_text(sb, sb_str(&msg));
        sb_puts(sb, "</system-out>\n");
    }
    sb_puts(sb, "    </testcase>\n");

out_free:
    if (text.oom || cls.oom || msg.oom)
        sb->oom = true;
    sb_free(&text);
    sb_free(&cls);
    sb_free(&msg);
}

static void
junit_chapter(struct sbuf *sb, const struct chapter *ch)
{
    struct junit_counts k = {0};
    const char *dir = str_or(ch->dir, "?");

    junit_count(ch, &k);
    sb_puts(sb, "  <testsuite");
    xml_attr(sb, "name", dir, REPORT_TEXT_MAX);
    junit_counts_attrs(sb, &k);
    sb_puts(sb, ">\n");
    if (!ch->gradable) {
        sb_puts(sb, "    <testcase");
        xml_attr(sb, "classname", dir, REPORT_TEXT_MAX);
        sb_puts(sb, " name=\"build\">\n      <error message=\"NOT GRADABLE: "
                    "it does not build\" type=\"build\">");
        xml_text(sb, str_or(ch->build_log, ""));
        sb_puts(sb, "</error>\n    </testcase>\n");
    } else {
        for (size_t i = 0; i < ch->nitems; i++)
            junit_item(sb, ch, &ch->items[i]);
    }
    sb_puts(sb, "  </testsuite>\n");
}

int
report_junit(const char *path, const struct chapter *chs, size_t n)
{
    struct sbuf sb = {0};
    struct junit_counts all = {0};
    int rc;

    for (size_t i = 0; i < n; i++)
        junit_count(&chs[i], &all);
    sb_puts(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_puts(&sb, "<testsuites name=\"iolab\"");
    junit_counts_attrs(&sb, &all);
    sb_puts(&sb, ">\n");
    for (size_t i = 0; i < n; i++)
        junit_chapter(&sb, &chs[i]);
    sb_puts(&sb, "</testsuites>\n");
    rc = write_document(path, &sb);
    sb_free(&sb);
    return rc;
}

/* ===================================================================== */
/* The README's grading table                                            */
/* ===================================================================== */

/* The signs the README uses, in UTF-8: ≤, ≥ and an en dash. */
#define SIGN_LE "\xe2\x89\xa4"
#define SIGN_GE "\xe2\x89\xa5"
#define EN_DASH "\xe2\x80\x93"

/* Appends a manifest word for a Markdown table: a '|' would end the cell. */
static void
md_cell(struct sbuf *sb, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            sb_putc(sb, '\\');
        sb_putc(sb, *s);
    }
}

char *
report_grading_table(const struct chapter *ch)
{
    struct sbuf sb = {0};
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
    if (sb.oom) {
        sb_free(&sb);
        return NULL;
    }
    return sb.buf;
}

/* ===================================================================== */
/* Placeholders while grading runs                                       */
/* ===================================================================== */

/* Writes text to path (truncating); 0, or -1 with errno set. */
static int
write_whole(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return 0;
}

int
report_unfinished_json(const char *path)
{
    return write_whole(
        path, "{\"score\": 0, \"output\": \"The grader did not finish: it was "
              "killed or crashed before writing its results. No score is "
              "valid; grade again.\", \"tests\": []}\n");
}

int
report_unfinished_junit(const char *path)
{
    return write_whole(
        path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<testsuites name=\"iolab\" tests=\"1\" failures=\"1\">\n"
              "  <testsuite name=\"iolab\" tests=\"1\" failures=\"1\">\n"
              "    <testcase name=\"grading finished\">\n"
              "      <failure message=\"the grader did not finish: it was "
              "killed or crashed before writing its results\"/>\n"
              "    </testcase>\n  </testsuite>\n</testsuites>\n");
}
