/*
 * report_junit.c - report_junit (report.h): JUnit XML, for CI test
 * reporters.
 */
#include "report.h"

#include <stdbool.h>
#include <string.h>

#include "report_escape.h"
#include "report_file.h"
#include "report_words.h"
#include "sbuf.h"

/* Bytes of a JUnit failure's message attribute, which viewers show inline. */
#ifndef REPORT_ATTR_MAX
#define REPORT_ATTR_MAX 240
#endif

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
    struct sbuf text = SBUF_INIT, cls = SBUF_INIT, msg = SBUF_INIT;
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
    struct sbuf sb = SBUF_INIT;
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
