/*
 * test_req.c - kvd's request parser on its own (shared/kvd/kvd_req.h):
 * bytes in, a command, "need more" or a protocol error out, with no
 * socket anywhere. The server's behaviour over the network is checked by
 * test_kvd.c; here each boundary is checked exactly.
 */
#include "../kvd_req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iolab/testkit.h"

/* A small frame limit makes the limits cheap to reach. */
#define T_FRAME 64

/* Parses s (NUL-terminated) with a fresh parser of frame limit max. */
static int
parse_str(struct kreq *r, size_t max, const char *s, struct kreq_cmd *out)
{
    kreq_init(r, max);
    return kreq_parse(r, s, strlen(s), out);
}

/* Asserts that cmd holds exactly the arguments listed (NULL-terminated). */
static void
expect_args(const struct kreq_cmd *cmd, const char *const want[])
{
    int n = 0;

    while (want[n] != NULL)
        n++;
    cr_assert_eq(cmd->argc, n, "argc %d, want %d", cmd->argc, n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(cmd->argv[i].len, strlen(want[i]), "argv[%d] length", i);
        cr_assert(memcmp(cmd->argv[i].p, want[i], cmd->argv[i].len) == 0,
                  "argv[%d] is '%.*s', want '%s'", i, (int)cmd->argv[i].len,
                  cmd->argv[i].p, want[i]);
    }
}

/* Asserts that s is refused with -EPROTO and the error text why. */
static void
expect_proto(size_t max, const char *s, const char *why)
{
    struct kreq r;
    struct kreq_cmd cmd;
    int n = parse_str(&r, max, s, &cmd);

    cr_assert_eq(n, -EPROTO, "'%s': %d, want -EPROTO", s, n);
    cr_assert_str_eq(cmd.error, why, "'%s'", s);
    kreq_free(&r);
}

/* Asserts that s is a proper prefix: 0, and need is more than s has. */
static void
expect_more(size_t max, const char *s)
{
    struct kreq r;
    struct kreq_cmd cmd;
    int n = parse_str(&r, max, s, &cmd);

    cr_assert_eq(n, 0, "'%s': %d, want 0 (need more)", s, n);
    cr_assert_gt(cmd.need, strlen(s), "'%s': need %zu", s, cmd.need);
    kreq_free(&r);
}

/* ---- commands ----------------------------------------------------------- */

TK_TEST(req, multibulk_command,
        .description = "[REQ-1] a multibulk request is one command, its "
                       "arguments pointing into the caller's bytes")
{
    static const char s[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    struct kreq r;
    struct kreq_cmd cmd;

    cr_assert_eq(parse_str(&r, T_FRAME, s, &cmd), 1);
    cr_assert_eq(cmd.used, sizeof(s) - 1);
    cr_assert_null(cmd.error);
    expect_args(&cmd, (const char *const[]){"SET", "k", "", NULL});
    cr_assert_eq(cmd.argv[0].p, s + 8, "multibulk arguments are not copied");
    cr_assert(kreq_idle(&r));
    kreq_free(&r);
}

TK_TEST(req, binary_arguments,
        .description = "[REQ-1] bulk arguments may hold NUL, CR and LF")
{
    static const char s[] = "*2\r\n$3\r\nGET\r\n$4\r\na\r\n\0\r\n";
    struct kreq r;
    struct kreq_cmd cmd;

    kreq_init(&r, T_FRAME);
    cr_assert_eq(kreq_parse(&r, s, sizeof(s) - 1, &cmd), 1);
    cr_assert_eq(cmd.argc, 2);
    cr_assert_eq(cmd.argv[1].len, 4);
    cr_assert(memcmp(cmd.argv[1].p, "a\r\n\0", 4) == 0);
    kreq_free(&r);
}

TK_TEST(req, inline_commands,
        .description = "[REQ-1] inline lines split on blanks, with Redis's "
                       "quotes and escapes, ended by CRLF or LF")
{
    struct kreq r;
    struct kreq_cmd cmd;

    cr_assert_eq(parse_str(&r, T_FRAME, "GET k\n", &cmd), 1);
    cr_assert_eq(cmd.used, 6);
    expect_args(&cmd, (const char *const[]){"GET", "k", NULL});
    kreq_free(&r);

    cr_assert_eq(parse_str(&r, T_FRAME, "  SET\tk \"a b\"  \r\n", &cmd), 1);
    expect_args(&cmd, (const char *const[]){"SET", "k", "a b", NULL});
    kreq_free(&r);

    cr_assert_eq(
        parse_str(&r, T_FRAME, "ECHO \"\\x41\\n\\t\\\"\" 'it\\'s'\n", &cmd), 1);
    expect_args(&cmd, (const char *const[]){"ECHO", "A\n\t\"", "it's", NULL});
    kreq_free(&r);

    cr_assert_eq(parse_str(&r, T_FRAME, "ECHO \"\"\n", &cmd), 1);
    expect_args(&cmd, (const char *const[]){"ECHO", "", NULL});
    kreq_free(&r);
}

TK_TEST(req, nothing_to_execute,
        .description = "[REQ-2] blank lines, *0 and negative counts are "
                       "consumed with nothing to execute")
{
    static const char *const empty[] = {
        "\r\n", "\n", "  \t \r\n", "*0\r\n", "*-1\r\n", "*-5\r\n", "*-0\r\n"};

    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        struct kreq r;
        struct kreq_cmd cmd;
        cr_assert_eq(parse_str(&r, T_FRAME, empty[i], &cmd), 1, "'%s'",
                     empty[i]);
        cr_assert_eq(cmd.used, strlen(empty[i]), "'%s'", empty[i]);
        cr_assert_eq(cmd.argc, 0, "'%s'", empty[i]);
        cr_assert_null(cmd.error, "'%s'", empty[i]);
        cr_assert(kreq_idle(&r));
        kreq_free(&r);
    }
}

TK_TEST(req, unbalanced_quotes,
        .description = "[REQ-3] an inline line with unbalanced quotes is "
                       "consumed and answered with an error")
{
    static const char *const bad[] = {"SET k \"abc\r\n", "SET k 'abc\n",
                                      "SET k \"a\"b\n", "GET 'k'x\r\n"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kreq r;
        struct kreq_cmd cmd;
        cr_assert_eq(parse_str(&r, T_FRAME, bad[i], &cmd), 1, "'%s'", bad[i]);
        cr_assert_eq(cmd.used, strlen(bad[i]), "'%s': the line is consumed",
                     bad[i]);
        cr_assert_eq(cmd.argc, 0);
        cr_assert_str_eq(cmd.error, "unbalanced quotes in request");
        kreq_free(&r);
    }
}

/* ---- split anywhere -------------------------------------------------- */

/* Three pipelined requests, both forms, with a bulk string in each. */
static const char pipeline[] =
    "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n"
    "SET key \"v w\"\r\n"
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n";
static const char *const pipeline_cmds[][4] = {
    {"ECHO", "hello", NULL},
    {"SET", "key", "v w", NULL},
    {"SET", "k", "0123456789", NULL},
};

/*
 * Feeds pipeline to a parser as the bytes 0..cut, then the rest, the way
 * a connection would: the unparsed bytes are copied into a fresh buffer
 * before every call, so offsets kept across calls must be relative.
 * Returns how many commands came out, checking each.
 */
static int
feed_split(size_t cut)
{
    size_t total = sizeof(pipeline) - 1, pos = 0, have = 0;
    int ncmds = 0;
    struct kreq r;

    kreq_init(&r, T_FRAME);
    for (int step = 0; step < 2; step++) {
        have = step == 0 ? cut : total;
        while (pos < have) {
            char *copy = malloc(have - pos);
            cr_assert_not_null(copy);
            memcpy(copy, pipeline + pos, have - pos);
            struct kreq_cmd cmd;
            int n = kreq_parse(&r, copy, have - pos, &cmd);
            if (n == 0) {
                cr_assert_gt(cmd.need, have - pos, "cut %zu: need %zu", cut,
                             cmd.need);
                free(copy);
                break;
            }
            cr_assert_eq(n, 1, "cut %zu at %zu: %d", cut, pos, n);
            cr_assert_lt(ncmds, 3, "cut %zu: too many commands", cut);
            expect_args(&cmd, pipeline_cmds[ncmds]);
            ncmds++;
            pos += cmd.used;
            free(copy);
        }
    }
    cr_assert_eq(pos, total, "cut %zu: all bytes used", cut);
    cr_assert(kreq_idle(&r));
    kreq_free(&r);
    return ncmds;
}

TK_TEST(req, split_at_every_offset,
        .description = "[REQ-4] [REQ-10] pipelined requests split at every "
                       "byte offset parse to the same commands")
{
    for (size_t cut = 0; cut <= sizeof(pipeline) - 1; cut++)
        cr_assert_eq(feed_split(cut), 3, "cut at %zu", cut);
}

TK_TEST(req, trickled_byte_by_byte,
        .description = "[REQ-4] every proper prefix of a request needs more; "
                       "fed one byte at a time, each request comes out once")
{
    size_t total = sizeof(pipeline) - 1, pos = 0;
    int ncmds = 0;
    struct kreq r;

    kreq_init(&r, T_FRAME);
    for (size_t have = 1; have <= total; have++) {
        struct kreq_cmd cmd;
        int n = kreq_parse(&r, pipeline + pos, have - pos, &cmd);
        if (n == 0) {
            cr_assert_gt(cmd.need, have - pos);
            continue;
        }
        cr_assert_eq(n, 1, "at %zu: %d", have, n);
        cr_assert_eq(pos + cmd.used, have,
                     "a request ends at the byte that "
                     "completes it");
        expect_args(&cmd, pipeline_cmds[ncmds++]);
        pos = have;
    }
    cr_assert_eq(ncmds, 3);
    kreq_free(&r);
}

TK_TEST(req, pipelined_in_one_buffer,
        .description = "[REQ-10] requests in one buffer come out one per "
                       "call, used telling where the next starts")
{
    size_t total = sizeof(pipeline) - 1, pos = 0;
    struct kreq r;

    kreq_init(&r, T_FRAME);
    for (int i = 0; i < 3; i++) {
        struct kreq_cmd cmd;
        cr_assert_eq(kreq_parse(&r, pipeline + pos, total - pos, &cmd), 1);
        expect_args(&cmd, pipeline_cmds[i]);
        pos += cmd.used;
    }
    cr_assert_eq(pos, total);
    kreq_free(&r);
}

TK_TEST(req, need_is_the_whole_bulk,
        .description = "[REQ-4] once a bulk header is there, need covers the "
                       "whole bulk string and its CRLF")
{
    static const char s[] = "*1\r\n$10\r\n01";
    struct kreq r;
    struct kreq_cmd cmd;

    cr_assert_eq(parse_str(&r, T_FRAME, s, &cmd), 0);
    cr_assert_eq(cmd.need, 4 + 5 + 10 + 2);
    kreq_free(&r);
}

/* ---- protocol errors and limits ------------------------------------- */

TK_TEST(req, bad_multibulk_counts,
        .description = "[REQ-5] counts that are not numbers, overflow, or "
                       "lack their CR are invalid multibulk lengths")
{
    static const char *const bad[] = {
        "*\r\n",
        "*-\r\n",
        "*abc\r\n",
        "*1x\r\n",
        "* 1\r\n",
        "*1\n",
        "*\n",
        "*9223372036854775807\r\n",
        "*99999999999999999999\r\n",
        "*-9223372036854775808\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_proto(T_FRAME, bad[i], "invalid multibulk length");
}

TK_TEST(req, multibulk_count_limit,
        .description = "[REQ-5] a count of exactly max_frame / 6 waits for "
                       "its arguments; one more is refused from the header")
{
    expect_more(T_FRAME, "*10\r\n"); /* 64 / 6 */
    expect_proto(T_FRAME, "*11\r\n", "invalid multibulk length");
    expect_more(1 << 20, "*174762\r\n"); /* (1 MiB) / 6 */
    expect_proto(1 << 20, "*174763\r\n", "invalid multibulk length");
}

TK_TEST(req, header_line_limit,
        .description = "[REQ-5] [REQ-6] a header line without its newline "
                       "may be KVD_MAX_HEADER bytes, not one more")
{
    char s[64];

    memset(s, '0', sizeof(s));
    s[0] = '*';
    s[KVD_MAX_HEADER] = '\0';
    expect_more(T_FRAME, s);
    s[KVD_MAX_HEADER] = '0';
    s[KVD_MAX_HEADER + 1] = '\0';
    expect_proto(T_FRAME, s, "invalid multibulk length");

    memcpy(s, "*1\r\n$", 5);
    memset(s + 5, '0', sizeof(s) - 5);
    s[4 + KVD_MAX_HEADER] = '\0';
    expect_more(T_FRAME, s);
    s[4 + KVD_MAX_HEADER] = '0';
    s[4 + KVD_MAX_HEADER + 1] = '\0';
    expect_proto(T_FRAME, s, "invalid bulk length");
}

TK_TEST(req, bad_bulk_lengths,
        .description = "[REQ-6] negative, overflowing or non-numeric bulk "
                       "lengths, and a missing '$', are refused")
{
    static const char *const bad[] = {
        "*1\r\n$-1\r\n",
        "*1\r\n$-5\r\n",
        "*1\r\n$\r\n",
        "*1\r\n$x\r\n",
        "*1\r\n$3\n",
        "*1\r\n$99999999999999999999\r\n",
        "*1\r\n$9223372036854775807\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_proto(T_FRAME, bad[i], "invalid bulk length");
    expect_proto(T_FRAME, "*1\r\n:3\r\n", "expected '$', got ':'");
    expect_proto(T_FRAME, "*2\r\n$1\r\na\r\n\x01", "expected '$', got '?'");
}

TK_TEST(req, bulk_length_limit,
        .description = "[REQ-6] a bulk length of exactly max_frame is "
                       "accepted; one more is refused from its header")
{
    char s[T_FRAME + 32];
    struct kreq r;
    struct kreq_cmd cmd;

    /* "*1\r\n$64\r\n" then 64 bytes then CRLF: a whole frame. */
    int h = snprintf(s, sizeof(s), "*1\r\n$%d\r\n", T_FRAME);
    memset(s + h, 'v', T_FRAME);
    memcpy(s + h + T_FRAME, "\r\n", 2);
    kreq_init(&r, T_FRAME);
    cr_assert_eq(kreq_parse(&r, s, (size_t)h, &cmd), 0,
                 "the header alone needs more");
    cr_assert_eq(cmd.need, (size_t)h + T_FRAME + 2);
    cr_assert_eq(kreq_parse(&r, s, (size_t)h + T_FRAME + 2, &cmd), 1);
    cr_assert_eq(cmd.argc, 1);
    cr_assert_eq(cmd.argv[0].len, T_FRAME);
    kreq_free(&r);

    snprintf(s, sizeof(s), "*1\r\n$%d\r\n", T_FRAME + 1);
    expect_proto(T_FRAME, s, "invalid bulk length");
}

TK_TEST(req, bulk_without_crlf,
        .description = "[REQ-7] a bulk string not followed by CRLF is a "
                       "protocol error")
{
    expect_proto(T_FRAME, "*1\r\n$1\r\nab\r\n",
                 "bulk string not followed by CRLF");
    expect_proto(T_FRAME, "*1\r\n$1\r\na\n\r",
                 "bulk string not followed by CRLF");
    expect_more(T_FRAME, "*1\r\n$1\r\na\r"); /* not yet known */
}

TK_TEST(req, frame_limit,
        .description = "[REQ-8] arguments adding up past max_frame + "
                       "KVD_MAX_HEADER are refused at the header that "
                       "crosses it, before its data")
{
    char s[256];
    size_t len = (size_t)snprintf(s, sizeof(s), "*3\r\n");

    /* Each argument takes 5 + 30 + 2 = 37 bytes: after two, 78 <= 96. */
    for (int i = 0; i < 2; i++) {
        len += (size_t)snprintf(s + len, sizeof(s) - len, "$30\r\n");
        memset(s + len, 'a', 30);
        len += 30;
        memcpy(s + len, "\r\n", 2);
        len += 2;
    }
    s[len] = '\0';
    expect_more(T_FRAME, s);
    snprintf(s + len, sizeof(s) - len, "$30\r\n"); /* 115 > 96 */
    expect_proto(T_FRAME, s, "command larger than the frame limit");
}

TK_TEST(req, inline_limit,
        .description = "[REQ-9] an inline line may wait for its newline up "
                       "to KVD_MAX_INLINE (or max_frame) bytes, not one more")
{
    size_t big = KVD_MAX_INLINE + 2;
    char *s = malloc(big);

    cr_assert_not_null(s);
    memset(s, 'a', big);
    s[KVD_MAX_INLINE] = '\0';
    expect_more(1 << 20, s);
    s[KVD_MAX_INLINE] = 'a';
    s[KVD_MAX_INLINE + 1] = '\0';
    expect_proto(1 << 20, s, "too big inline request");
    s[T_FRAME] = '\0';
    expect_more(T_FRAME, s);
    s[T_FRAME] = 'a';
    s[T_FRAME + 1] = '\0';
    expect_proto(T_FRAME, s, "too big inline request");
    free(s);
}
