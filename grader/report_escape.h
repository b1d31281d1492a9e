/*
 * report_escape.h - text escaping for each report's format: the terminal,
 * JSON strings, XML text and attributes, Markdown table cells. Private to
 * the report writers (report.h).
 *
 * All of them read UTF-8 strictly: a byte that does not start or continue
 * a valid sequence (a stray continuation byte, a sequence cut short, an
 * overlong form, a surrogate, a code point above U+10FFFF) becomes U+FFFD,
 * one byte at a time, in every format.
 */
#ifndef IOLAB_REPORT_ESCAPE_H
#define IOLAB_REPORT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sbuf.h"

/*
 * Bytes of one string the JSON and XML writers keep; the rest is counted.
 * Gradescope and CI viewers struggle with megabytes of compiler output.
 */
#ifndef REPORT_TEXT_MAX
#define REPORT_TEXT_MAX 65536
#endif

/*
 * Writes n bytes of s (or the C string s) for a terminal: valid UTF-8 and
 * TAB pass through; control characters (ESC included) are shown as \xNN,
 * C1 controls as \uNNNN; invalid bytes as U+FFFD.
 */
void term_putn(FILE *out, const char *s, size_t n);
void term_puts(FILE *out, const char *s);

/* Appends s as a quoted JSON string, cut at REPORT_TEXT_MAX bytes (never
 * inside a character) and followed by "\n... (N more bytes)" when cut. */
void json_string(struct sbuf *sb, const char *s);

/* Appends v as a JSON number (%.15g); a value that is not finite (a
 * grading bug) is written as 0 so the document stays valid. */
void json_number(struct sbuf *sb, double v);

/* Appends s as XML 1.0 text, cut at REPORT_TEXT_MAX bytes and followed by
 * "\n... (N more bytes)" when cut. All five special characters are
 * escaped, so "]]>" is harmless; characters XML 1.0 forbids become
 * U+FFFD; CR is written as &#13;. */
void xml_text(struct sbuf *sb, const char *s);

/* Appends ` name="value"`: value escaped as for xml_text, with TAB and LF
 * also as character references, cut at max bytes and then "...". */
void xml_attr(struct sbuf *sb, const char *name, const char *value, size_t max);

/* Appends a manifest word for a Markdown table cell: '|' becomes "\|". */
void md_cell(struct sbuf *sb, const char *s);

#endif /* IOLAB_REPORT_ESCAPE_H */
