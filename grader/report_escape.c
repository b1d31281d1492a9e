/*
 * report_escape.c - escaping for the terminal, JSON, XML and Markdown
 * (report_escape.h). One strict UTF-8 decoder (utf8_seq) serves them all.
 *
 * In order: UTF-8; the terminal; JSON; XML; Markdown.
 */
#include "report_escape.h"

#include <math.h>
#include <string.h>

/* U+FFFD in UTF-8: what every byte that is not valid UTF-8 becomes. */
#define REPLACEMENT "\xef\xbf\xbd"

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
void
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

void
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
void
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
void
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
void
xml_text(struct sbuf *sb, const char *s)
{
    size_t len = strlen(s), keep = clip_len(s, len, REPORT_TEXT_MAX);

    xml_escape(sb, s, keep, false);
    if (keep < len)
        sb_printf(sb, "\n... (%zu more bytes)", len - keep);
}

/* Appends ` name="value"`, the value escaped and cut at max bytes. */
void
xml_attr(struct sbuf *sb, const char *name, const char *value, size_t max)
{
    size_t len = strlen(value), keep = clip_len(value, len, max);

    sb_printf(sb, " %s=\"", name);
    xml_escape(sb, value, keep, true);
    if (keep < len)
        sb_puts(sb, "...");
    sb_putc(sb, '"');
}

/* Appends a manifest word for a Markdown table: a '|' would end the cell. */
void
md_cell(struct sbuf *sb, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            sb_putc(sb, '\\');
        sb_putc(sb, *s);
    }
}
