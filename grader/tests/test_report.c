/*
 * test_report.c - unit tests of the grader's report writers (report.c).
 *
 * Each test builds small graded chapters by hand, writes a report into
 * the test's private temporary directory and checks it: the JSON and XML
 * documents are parsed by Python's own parsers (python3 is on every
 * machine that runs the grader's tests), so "valid" means what a real
 * consumer accepts, not what this file believes. The strings they carry
 * hold every hazard a test can print: quotes, backslashes, newlines, TABs,
 * "]]>", control bytes and invalid UTF-8.
 *
 * The chapters are leaked: every Criterion test runs in its own process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "report_words.h"
#include "iolab/testkit.h"

/*
 * A message with every byte that breaks a careless writer. (Each \x escape
 * is followed by a character that is not a hex digit, so it stays one byte.)
 */
static const char nasty[] = "say \"hi\" \\ back\nnext\tTAB ]]> <&>'\x01 ctrl "
                            "\xff bad \xc3\xa9t\xc3\xa9";

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

static char *
xdup(const char *s)
{
    char *p = strdup(s);

    cr_assert_not_null(p, "strdup: out of memory");
    return p;
}

/* Starts a gradable chapter 01 with exercises rw and serve, no items. */
static void
new_chapter(struct chapter *ch)
{
    *ch = (struct chapter){
        .dir = xdup("01-blocking-io"),
        .title = xdup("Blocking and non-blocking IO"),
        .gradable = true,
    };
    ch->ex = calloc(2, sizeof(*ch->ex));
    cr_assert_not_null(ch->ex);
    ch->ex[0] = (struct exercise){.id = xdup("rw"),
                                  .title = xdup("Robust read and write")};
    ch->ex[1] = (struct exercise){.id = xdup("serve"),
                                  .title = xdup("Serve many clients")};
    ch->nex = 2;
}

/*
 * Appends an item that passed with full points; tests then change what
 * they need. ex may be NULL (memcheck).
 */
static struct item *
add_item(struct chapter *ch, enum item_kind kind, const char *ex,
         const char *name, double points)
{
    struct item *items =
        realloc(ch->items, (ch->nitems + 1) * sizeof(*ch->items));

    cr_assert_not_null(items);
    ch->items = items;
    struct item *it = &ch->items[ch->nitems++];
    *it = (struct item){
        .kind = kind,
        .exercise = ex != NULL ? xdup(ex) : NULL,
        .name = xdup(name),
        .points = points,
        .status = ST_PASS,
        .score = points,
    };
    return it;
}

/* Marks an item failed with a message; the chapter's totals are the test's. */
static void
fail_item(struct item *it, enum status st, const char *message)
{
    it->status = st;
    it->score = 0;
    it->message = message != NULL ? xdup(message) : NULL;
}

/* A chapter whose build failed, with the given log. */
static void
broken_chapter(struct chapter *ch, const char *log)
{
    new_chapter(ch);
    add_item(ch, ITEM_TEST, "rw", "rw/one", 60);
    add_item(ch, ITEM_MEMCHECK, NULL, "memcheck", 40);
    ch->gradable = false;
    ch->build_log = xdup(log);
    ch->score = 0;
    ch->max_score = 100;
}

/* A path inside the test's private directory. */
static char *
tmp_path(const char *name)
{
    size_t len = strlen(tk_tmpdir()) + strlen(name) + 2;
    char *path = tk_xmalloc(len);

    snprintf(path, len, "%s/%s", tk_tmpdir(), name);
    return path;
}

/* The whole of a file, NUL-terminated. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = tk_xmalloc((size_t)len + 1);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Runs a shell command; true when it exited with status 0. */
static bool
run_ok(const char *cmd)
{
    int st = system(cmd);

    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Runs python3 with the given script on file: true when it exits 0. */
static bool
python_ok(const char *script, const char *file)
{
    char *py = tk_make_file("check.py", script, strlen(script));
    char cmd[8192];

    snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", py, file);
    return run_ok(cmd);
}

/* The exact validity checks the grader's contract names. */
static void
assert_valid_json(const char *file)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import json,sys; "
             "json.load(open(sys.argv[1]))' '%s'",
             file);
    cr_assert(run_ok(cmd), "%s is not valid JSON:\n%s", file, slurp(file));
}

static void
assert_valid_xml(const char *file)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import xml.dom.minidom,sys; "
             "xml.dom.minidom.parse(sys.argv[1])' '%s'",
             file);
    cr_assert(run_ok(cmd), "%s is not well-formed XML:\n%s", file, slurp(file));
}

/* Runs report_table with stdout sent to a file; returns what it printed. */
static char *
capture_table(const struct chapter *chs, size_t n,
              const struct report_opts *opts)
{
    char *path = tmp_path("table.txt");
    int saved, fd;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    cr_assert_neq(saved, -1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert_neq(fd, -1, "open %s: %s", path, strerror(errno));
    cr_assert_neq(dup2(fd, STDOUT_FILENO), -1);
    close(fd);
    report_table(chs, n, opts);
    fflush(stdout);
    cr_assert_neq(dup2(saved, STDOUT_FILENO), -1);
    close(saved);
    return slurp(path);
}

static void
assert_contains(const char *text, const char *want)
{
    cr_assert_not_null(strstr(text, want), "expected \"%s\" in:\n%s", want,
                       text);
}

/*
 * A chapter with one item of every kind and status:
 * rw: 8 tests (pass, fail, crash, timeout, skip, missing, blocked,
 * pending), a perf item that missed; serve: a test that passed with a
 * Valgrind complaint, a blocked perf item, an info item; memcheck blocked.
 */
static void
every_status_chapter(struct chapter *ch)
{
    struct item *it;

    new_chapter(ch);
    add_item(ch, ITEM_TEST, "rw", "rw/passes", 4);
    it = add_item(ch, ITEM_TEST, "rw", "rw/fails", 4);
    fail_item(it, ST_FAIL, "expected 5, got 3");
    it->where = xdup("tests/test_rw.c:42");
    it->hint = xdup("H1.2");
    it = add_item(ch, ITEM_TEST, "rw", "rw/crashes", 3);
    fail_item(it, ST_CRASH, NULL);
    it = add_item(ch, ITEM_TEST, "rw", "rw/hangs", 2);
    fail_item(it, ST_TIMEOUT, NULL);
    it->timeout = 5;
    it = add_item(ch, ITEM_TEST, "rw", "rw/skipped", 2);
    fail_item(it, ST_SKIP, "the kernel lacks io_uring");
    it = add_item(ch, ITEM_TEST, "rw", "rw/missing", 2);
    fail_item(it, ST_MISSING, NULL);
    it = add_item(ch, ITEM_TEST, "rw", "rw/blocked", 2);
    fail_item(it, ST_BLOCKED, NULL);
    it = add_item(ch, ITEM_TEST, "rw", "rw/pending", 1);
    fail_item(it, ST_PENDING, NULL);
    it = add_item(ch, ITEM_PERF, "rw", "syscalls_per_mib", 4);
    fail_item(it, ST_FAIL, NULL);
    it->op = CMP_LE;
    it->threshold = 4;
    it->value = 257;
    it->has_value = true;
    it = add_item(ch, ITEM_TEST, "serve", "serve/leaks", 3);
    it->memcheck = xdup("40 bytes in 1 blocks are definitely lost\n"
                        "   at malloc");
    it = add_item(ch, ITEM_PERF, "serve", "speedup_vs_blocking", 6);
    fail_item(it, ST_BLOCKED, NULL);
    it->op = CMP_GE;
    it->threshold = 3;
    it->pkind = PERF_TIMED;
    it = add_item(ch, ITEM_INFO, "serve", "busy_cpu_per_wall", 0);
    it->status = ST_SHOWN;
    it->score = 0;
    it->value = 0.98;
    it->has_value = true;
    it->what = xdup("CPU seconds per wall second");
    it = add_item(ch, ITEM_MEMCHECK, NULL, "memcheck", 10);
    fail_item(it, ST_BLOCKED, NULL);
    ch->score = 4 + 3;
    ch->max_score = 4 + 4 + 3 + 2 + 2 + 2 + 1 + 4 + 3 + 6 + 10;
}

/* ===================================================================== */
/* Status names                                                          */
/* ===================================================================== */

TK_TEST(report, hint_line_finds_the_heading,
        .description = "hint_line gives the line of '## ID ...', never of a "
                       "longer id that starts the same, and 0 when the id or "
                       "the file is missing")
{
    char *path = tmp_path("HINTS.md");
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs("# Hints\n\n## H1.10 — later\ntext H1.1\n## H1.1 — first\n"
          "## H2.1\n",
          f);
    fclose(f);
    cr_assert_eq(hint_line(path, "H1.1"), 5);
    cr_assert_eq(hint_line(path, "H1.10"), 3);
    cr_assert_eq(hint_line(path, "H2.1"), 6);
    cr_assert_eq(hint_line(path, "H3.1"), 0);
    cr_assert_eq(hint_line("/nonexistent/HINTS.md", "H1.1"), 0);
}

TK_TEST(report, status_names,
        .description = "status_name gives the lower-case word of each status")
{
    cr_assert_str_eq(status_name(ST_PENDING), "pending");
    cr_assert_str_eq(status_name(ST_PASS), "pass");
    cr_assert_str_eq(status_name(ST_FAIL), "fail");
    cr_assert_str_eq(status_name(ST_CRASH), "crash");
    cr_assert_str_eq(status_name(ST_TIMEOUT), "timeout");
    cr_assert_str_eq(status_name(ST_SKIP), "skip");
    cr_assert_str_eq(status_name(ST_MISSING), "missing");
    cr_assert_str_eq(status_name(ST_BLOCKED), "blocked");
    cr_assert_str_eq(status_name(ST_SHOWN), "shown");
}

/* ===================================================================== */
/* JSON                                                                  */
/* ===================================================================== */

TK_TEST(report, json_escapes_every_byte,
        .description = "results.json stays valid JSON and UTF-8 when a "
                       "message holds quotes, backslashes, newlines, TABs, "
                       "]]>, 0x01 and 0xff; the text survives the round trip")
{
    struct chapter ch;
    struct item *it;
    char *path = tmp_path("results.json");

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/good", 3);
    it = add_item(&ch, ITEM_TEST, "rw", "rw/nasty", 7);
    fail_item(it, ST_FAIL, nasty);
    it->where = xdup("tests/\"odd\".c:1");
    it->hint = xdup("H1.1");
    ch.score = 3;
    ch.max_score = 10;

    cr_assert_eq(report_json(path, &ch, 1, -1), 0);
    assert_valid_json(path);
    char *text = slurp(path);
    assert_contains(text, "\"score\": 3");
    assert_contains(text, "\"max_score\": 10");
    assert_contains(text, "\"visibility\": \"visible\"");
    assert_contains(text, "\"stdout_visibility\": \"visible\"");

    /* What a consumer decodes: the message, with 0xff as U+FFFD. */
    cr_assert(
        python_ok(
            "import json, sys\n"
            "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
            "assert d['score'] == 3 and d['max_score'] == 10, d\n"
            "t = {x['name']: x for x in d['tests']}\n"
            "n = t['01-blocking-io: rw/nasty']\n"
            "want = ('say ' + chr(34) + 'hi' + chr(34) + ' ' + chr(92) +\n"
            "        ' back' + chr(10) + 'next' + chr(9) + 'TAB ]]> <&>' +\n"
            "        chr(39) + chr(1) + ' ctrl ' + chr(0xfffd) + ' bad ' +\n"
            "        chr(0xe9) + 't' + chr(0xe9))\n"
            "assert n['output'].startswith(want), repr(n['output'])\n"
            "assert 'hint: H1.1 at chapters/01-blocking-io/HINTS.md:' in "
            "n['output']\n"
            "assert n['status'] == 'failed' and n['score'] == 0\n"
            "assert n['max_score'] == 7\n"
            "g = t['01-blocking-io: rw/good']\n"
            "assert g['status'] == 'passed' and g['score'] == 3\n"
            "assert g['visibility'] == 'visible'\n",
            path),
        "the decoded results.json is wrong:\n%s", text);
}

TK_TEST(report, json_every_status,
        .description = "results.json: one entry per scored item, status "
                       "only passed or failed, skipped items worth 0, scores "
                       "summing to the total, info metrics in the output, "
                       "measured metrics on the leaderboard")
{
    struct chapter ch;
    char *path = tmp_path("results.json");

    every_status_chapter(&ch);
    cr_assert_eq(report_json(path, &ch, 1, -1), 0);
    assert_valid_json(path);
    cr_assert(
        python_ok(
            "import json, sys\n"
            "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
            "t = {x['name']: x for x in d['tests']}\n"
            "assert len(d['tests']) == 12, len(d['tests'])\n"
            "assert d['score'] == 7 and d['max_score'] == 41, d\n"
            "assert sum(x['score'] for x in d['tests']) == d['score']\n"
            "assert all(x['status'] in ('passed', 'failed') for x in "
            "d['tests'])\n"
            "p = '01-blocking-io: '\n"
            "assert t[p + 'rw/skipped']['max_score'] == 0\n"
            "assert p + 'info busy_cpu_per_wall' not in t\n"
            "assert '01-blocking-io busy_cpu_per_wall: 0.98' in d['output']\n"
            "assert 'execution_time' not in d\n"
            "assert [{'name': '01 syscalls_per_mib', 'value': 257, "
            "'order': 'asc'}] == d['leaderboard'], d['leaderboard']\n"
            "assert t[p + 'perf syscalls_per_mib']['status'] == 'failed'\n"
            "assert 'measured 257, needs <= 4' in "
            "t[p + 'perf syscalls_per_mib']['output']\n"
            "assert 'scores once the serve tests pass' in "
            "t[p + 'perf speedup_vs_blocking']['output']\n"
            "assert t[p + 'memcheck']['max_score'] == 10\n"
            "assert 'needs every test passing first' in "
            "t[p + 'memcheck']['output']\n"
            "assert 'definitely lost' in t[p + 'serve/leaks']['output']\n"
            "assert t[p + 'rw/crashes']['status'] == 'failed'\n"
            "assert 'time limit of 5 s' in t[p + 'rw/hangs']['output']\n",
            path),
        "results.json is wrong:\n%s", slurp(path));
}

TK_TEST(report, json_not_gradable,
        .description = "results.json: a chapter that does not build is one "
                       "failed entry '<dir>: build' worth its maximum, with "
                       "the build log")
{
    struct chapter chs[2];
    char *path = tmp_path("results.json");

    broken_chapter(&chs[0], "src/rw.c:3:1: error: expected ';' before \"}\"\n");
    new_chapter(&chs[1]);
    free(chs[1].dir);
    chs[1].dir = xdup("02-multiplexing");
    add_item(&chs[1], ITEM_TEST, "rw", "rw/x", 5);
    chs[1].score = 5;
    chs[1].max_score = 5;
    chs[0].score = 12; /* must be ignored: the chapter did not build */

    cr_assert_eq(report_json(path, chs, 2, 12), 0);
    assert_valid_json(path);
    cr_assert(
        python_ok(
            "import json, sys\n"
            "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
            "assert d['score'] == 5 and d['max_score'] == 105, d\n"
            "assert d['execution_time'] == 12, d\n"
            "b = [x for x in d['tests'] if x['name'].startswith('01-')]\n"
            "assert len(b) == 1, b\n"
            "b = b[0]\n"
            "assert b['name'] == '01-blocking-io: build', b\n"
            "assert b['score'] == 0 and b['max_score'] == 100, b\n"
            "assert b['status'] == 'failed'\n"
            "assert 'expected ' in b['output'] and 'before ' + chr(34) in "
            "b['output']\n"
            "assert chr(10) not in d['output'], d['output']\n",
            path),
        "results.json is wrong:\n%s", slurp(path));
}

TK_TEST(report, json_to_stdout,
        .description = "report_json writes to stdout when the path is '-'")
{
    struct chapter ch;
    char *path = tmp_path("stdout.json");
    int saved, fd;

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/good", 3);
    ch.score = 3;
    ch.max_score = 3;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(saved != -1 && fd != -1);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = report_json("-", &ch, 1, -1);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    cr_assert_eq(rc, 0);
    assert_valid_json(path);
    assert_contains(slurp(path), "01-blocking-io: rw/good");
}

TK_TEST(report, writers_return_errno,
        .description = "report_json and report_junit return -errno when the "
                       "file cannot be created")
{
    struct chapter ch;

    new_chapter(&ch);
    cr_assert_eq(report_json("/nonexistent-dir/x/results.json", &ch, 1, -1),
                 -ENOENT);
    cr_assert_eq(report_junit("/nonexistent-dir/x/junit.xml", &ch, 1), -ENOENT);
}

/* ===================================================================== */
/* JUnit                                                                 */
/* ===================================================================== */

TK_TEST(report, junit_escapes_every_byte,
        .description = "JUnit XML stays well-formed for a message with "
                       "quotes, newlines, ]]>, 0x01 and 0xff, and never uses "
                       "CDATA")
{
    struct chapter ch;
    struct item *it;
    char *path = tmp_path("junit.xml");

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/good", 3);
    it = add_item(&ch, ITEM_TEST, "rw", "rw/nasty", 7);
    fail_item(it, ST_FAIL, nasty);
    it->where = xdup("tests/<odd>.c:1");
    ch.score = 3;
    ch.max_score = 10;

    cr_assert_eq(report_junit(path, &ch, 1), 0);
    assert_valid_xml(path);
    char *text = slurp(path);
    cr_assert_null(strstr(text, "<![CDATA["), "CDATA in:\n%s", text);
    cr_assert(
        python_ok(
            "import sys, xml.dom.minidom\n"
            "d = xml.dom.minidom.parse(sys.argv[1])\n"
            "s = d.getElementsByTagName('testsuite')[0]\n"
            "assert s.getAttribute('name') == '01-blocking-io'\n"
            "assert s.getAttribute('tests') == '2'\n"
            "assert s.getAttribute('failures') == '1'\n"
            "assert s.getAttribute('errors') == '0'\n"
            "c = d.getElementsByTagName('testcase')\n"
            "assert c[1].getAttribute('classname') == '01-blocking-io.rw'\n"
            "assert c[1].getAttribute('name') == 'rw/nasty'\n"
            "f = c[1].getElementsByTagName('failure')[0]\n"
            "body = f.firstChild.data\n"
            "want = ('say ' + chr(34) + 'hi' + chr(34) + ' ' + chr(92) +\n"
            "        ' back' + chr(10) + 'next' + chr(9) + 'TAB ]]> <&>' +\n"
            "        chr(39) + chr(0xfffd) + ' ctrl ' + chr(0xfffd) + ' bad ' "
            "+\n"
            "        chr(0xe9) + 't' + chr(0xe9))\n"
            "assert body.startswith(want), repr(body)\n"
            "assert 'at tests/<odd>.c:1' in body, repr(body)\n"
            "m = f.getAttribute('message')\n"
            "assert m == 'say ' + chr(34) + 'hi' + chr(34) + ' ' + chr(92) + "
            "' back', repr(m)\n"
            "assert c[0].getElementsByTagName('failure') == []\n",
            path),
        "the decoded JUnit XML is wrong:\n%s", text);
}

TK_TEST(report, junit_every_status,
        .description = "JUnit XML: failure for fail, timeout, missing and "
                       "blocked; error for crash; skipped for skip; "
                       "system-out for perf and info values")
{
    struct chapter ch;
    char *path = tmp_path("junit.xml");

    every_status_chapter(&ch);
    cr_assert_eq(report_junit(path, &ch, 1), 0);
    assert_valid_xml(path);
    cr_assert(
        python_ok(
            "import sys, xml.dom.minidom\n"
            "d = xml.dom.minidom.parse(sys.argv[1])\n"
            "s = d.getElementsByTagName('testsuite')[0]\n"
            "a = dict(s.attributes.items())\n"
            "assert a['tests'] == '13', a\n"
            "assert a['failures'] == '8', a\n"
            "assert a['errors'] == '1', a\n"
            "assert a['skipped'] == '1', a\n"
            "top = d.documentElement\n"
            "assert top.tagName == 'testsuites'\n"
            "assert top.getAttribute('failures') == '8'\n"
            "c = {(x.getAttribute('classname'), x.getAttribute('name')): x\n"
            "     for x in d.getElementsByTagName('testcase')}\n"
            "def tags(k):\n"
            "    return [n.tagName for n in c[k].childNodes\n"
            "            if n.nodeType == n.ELEMENT_NODE]\n"
            "p = '01-blocking-io.'\n"
            "assert tags((p + 'rw', 'rw/passes')) == []\n"
            "assert tags((p + 'rw', 'rw/fails')) == ['failure']\n"
            "assert tags((p + 'rw', 'rw/crashes')) == ['error']\n"
            "assert tags((p + 'rw', 'rw/hangs')) == ['failure']\n"
            "assert tags((p + 'rw', 'rw/skipped')) == ['skipped']\n"
            "assert tags((p + 'rw', 'rw/missing')) == ['failure']\n"
            "assert tags((p + 'rw', 'rw/blocked')) == ['failure']\n"
            "assert tags((p + 'rw', 'syscalls_per_mib')) == "
            "['failure', 'system-out']\n"
            "assert tags((p + 'serve', 'busy_cpu_per_wall')) == "
            "['system-out']\n"
            "assert tags((p + 'memcheck', 'memcheck')) == ['failure']\n"
            "o = c[(p + 'serve', 'busy_cpu_per_wall')]"
            ".getElementsByTagName('system-out')[0].firstChild.data\n"
            "assert o.startswith('0.98 (shown, not graded)'), o\n"
            "f = c[(p + 'rw', 'rw/fails')].getElementsByTagName('failure')[0]\n"
            "assert f.getAttribute('type') == 'fail'\n"
            "assert 'hint: H1.2 at chapters/01-blocking-io/HINTS.md:' in "
            "f.firstChild.data\n",
            path),
        "the JUnit XML is wrong:\n%s", slurp(path));
}

TK_TEST(report, junit_not_gradable,
        .description = "JUnit XML: a chapter that does not build is one "
                       "testcase 'build' whose error holds the build log")
{
    struct chapter ch;
    char *path = tmp_path("junit.xml");

    broken_chapter(&ch, "rw.c:3: error: expected ';' before '}' ]]> \x02\n");
    cr_assert_eq(report_junit(path, &ch, 1), 0);
    assert_valid_xml(path);
    cr_assert_null(strstr(slurp(path), "<![CDATA["));
    cr_assert(
        python_ok(
            "import sys, xml.dom.minidom\n"
            "d = xml.dom.minidom.parse(sys.argv[1])\n"
            "c = d.getElementsByTagName('testcase')\n"
            "assert len(c) == 1 and c[0].getAttribute('name') == 'build'\n"
            "e = c[0].getElementsByTagName('error')\n"
            "assert len(e) == 1\n"
            "assert 'expected ' + chr(39) + ';' in e[0].firstChild.data\n"
            "assert ']]>' in e[0].firstChild.data\n"
            "s = d.getElementsByTagName('testsuite')[0]\n"
            "assert s.getAttribute('errors') == '1'\n"
            "assert s.getAttribute('tests') == '1'\n",
            path),
        "the JUnit XML is wrong:\n%s", slurp(path));
}

/* ===================================================================== */
/* The README's grading table                                            */
/* ===================================================================== */

TK_TEST(report, grading_table_exact,
        .description = "report_grading_table writes the README's Markdown "
                       "table from the manifest fields, byte for byte")
{
    struct chapter ch;
    struct item *it;

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/read_full_short_reads", 4);
    add_item(&ch, ITEM_TEST, "rw", "rw/zero_length", 2.5);
    it = add_item(&ch, ITEM_PERF, "rw", "syscalls_per_mib", 4);
    it->op = CMP_LE;
    it->threshold = 4;
    it->pkind = PERF_COUNTED;
    it = add_item(&ch, ITEM_PERF, "serve", "speedup_vs_blocking", 6);
    it->op = CMP_GE;
    it->threshold = 3;
    it->pkind = PERF_TIMED;
    it = add_item(&ch, ITEM_INFO, "serve", "busy_cpu_per_wall", 0);
    it->what = xdup("CPU seconds per wall second");
    add_item(&ch, ITEM_MEMCHECK, NULL, "memcheck", 10);
    /* Results must not matter: make some up. */
    ch.items[0].status = ST_FAIL;
    ch.items[0].score = 0;

    char *md = report_grading_table(&ch);
    cr_assert_not_null(md);
    cr_assert_str_eq(
        md,
        "| Exercise | Item | Kind | Points |\n"
        "|---|---|---|---|\n"
        "| rw | `rw/read_full_short_reads` | test | 4 |\n"
        "| rw | `rw/zero_length` | test | 2.5 |\n"
        "| rw | `syscalls_per_mib` \xe2\x89\xa4 4 | perf (counted) | 4 |\n"
        "| serve | `speedup_vs_blocking` \xe2\x89\xa5 3 | perf (timed ratio) "
        "| 6 |\n"
        "| serve | `busy_cpu_per_wall` | shown, not graded | \xe2\x80\x93 |\n"
        "| all | memcheck: every test clean under Valgrind | memcheck "
        "| 10 |\n"
        "| | **Total** | | **26.5** |\n");
    free(md);
}

TK_TEST(report, grading_table_hidden_tests,
        .description = "a hidden test's row names its exercise and points, "
                       "never the test, after the others; the student "
                       "edition's withheld lines make the same table; "
                       "results.json shows a hidden test after the due date")
{
    struct chapter course, edition;
    static const char want[] =
        "| Exercise | Item | Kind | Points |\n"
        "|---|---|---|---|\n"
        "| rw | `rw/visible` | test | 3 |\n"
        "| all | memcheck: every test clean under Valgrind | memcheck "
        "| 10 |\n"
        "| rw | a hidden test | test (hidden) | 2 |\n"
        "| | **Total** (2 of it in hidden tests, graded by the instructor) "
        "| | **15** |\n";

    new_chapter(&course);
    add_item(&course, ITEM_TEST, "rw", "rw/visible", 3);
    add_item(&course, ITEM_TEST, "rw", "rw/secret_name", 2)->hidden = true;
    add_item(&course, ITEM_MEMCHECK, NULL, "memcheck", 10);
    char *md = report_grading_table(&course);
    cr_assert_str_eq(md, want);
    cr_assert_null(strstr(md, "secret_name"), "the table names a hidden test");
    free(md);

    new_chapter(&edition);
    add_item(&edition, ITEM_TEST, "rw", "rw/visible", 3);
    add_item(&edition, ITEM_MEMCHECK, NULL, "memcheck", 10);
    edition.withheld = malloc(sizeof(*edition.withheld));
    cr_assert_not_null(edition.withheld);
    edition.withheld[0] =
        (struct withheld){.exercise = xdup("rw"), .points = 2};
    edition.nwithheld = 1;
    md = report_grading_table(&edition);
    cr_assert_str_eq(md, want, "the student edition's table differs");
    free(md);

    char *path = tmp_path("hidden.json");
    cr_assert_eq(report_json(path, &course, 1, -1), 0);
    cr_assert(
        python_ok("import json, sys\n"
                  "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                  "v = {x['name']: x['visibility'] for x in d['tests']}\n"
                  "p = '01-blocking-io: '\n"
                  "assert v[p + 'rw/secret_name'] == 'after_due_date', v\n"
                  "assert v[p + 'rw/visible'] == 'visible', v\n",
                  path),
        "results.json does not hold a hidden test back");
    chapter_free(&course);
    chapter_free(&edition);
}

/* ===================================================================== */
/* The table                                                             */
/* ===================================================================== */

TK_TEST(report, table_every_status,
        .description = "report_table shows every status, message, hint, "
                       "valgrind text and blocked reason, and a next step")
{
    struct chapter ch;
    const struct report_opts plain = {.color = false};

    every_status_chapter(&ch);
    char *out = capture_table(&ch, 1, &plain);

    assert_contains(out, "01-blocking-io");
    assert_contains(out, "Blocking and non-blocking IO");
    assert_contains(out, "4/4  ");
    assert_contains(out, "PASS  rw/passes");
    assert_contains(out, "FAIL  rw/fails");
    assert_contains(out, "expected 5, got 3");
    assert_contains(out, "at tests/test_rw.c:42");
    assert_contains(out, "hint: H1.2 at chapters/01-blocking-io/HINTS.md:");
    assert_contains(out, "CRASH  rw/crashes");
    assert_contains(out, "TIMEOUT  rw/hangs");
    assert_contains(out, "SKIP  rw/skipped");
    assert_contains(out, "the kernel lacks io_uring");
    assert_contains(out, "MISSING  rw/missing");
    assert_contains(out, "BLOCKED  rw/blocked");
    assert_contains(out, "PENDING  rw/pending");
    assert_contains(out, "perf syscalls_per_mib: measured 257, needs <= 4");
    assert_contains(out, "scores once the serve tests pass");
    assert_contains(out, "valgrind:");
    assert_contains(out, "definitely lost");
    assert_contains(out, "0.98 (shown, not graded): CPU seconds per wall");
    assert_contains(out, "memcheck: needs every test passing first");
    assert_contains(out, "total: 7 / 41");
    assert_contains(out, "next step: rw/fails (FAIL): read hint: H1.2");
    cr_assert_null(strchr(out, '\033'), "colour without opts->color");
    cr_assert_null(strstr(out, "NOT GRADABLE"));
    cr_assert_null(strstr(out, "TOTAL"), "a grand total for one chapter");
    cr_assert_null(strstr(out, "margin"), "margins without calibrate");
}

TK_TEST(report, table_not_gradable,
        .description = "report_table says NOT GRADABLE, shows 60 lines of "
                       "the build log and counts the rest, scores 0, and "
                       "ends with a grand total")
{
    struct chapter chs[2];
    char log[4096];
    size_t len = 0;
    const struct report_opts plain = {.color = false};

    for (int i = 1; i <= 100; i++)
        len += (size_t)snprintf(log + len, sizeof(log) - len, "error line %d\n",
                                i);
    broken_chapter(&chs[0], log);
    chs[0].score = 50; /* must be ignored: the chapter did not build */
    new_chapter(&chs[1]);
    add_item(&chs[1], ITEM_TEST, "rw", "rw/good", 3);
    chs[1].score = 3;
    chs[1].max_score = 3;

    char *out = capture_table(chs, 2, &plain);
    assert_contains(out, "NOT GRADABLE: it does not build");
    assert_contains(out, "    error line 1\n");
    assert_contains(out, "    error line 60\n");
    cr_assert_null(strstr(out, "error line 61\n"), "more than 60 lines");
    assert_contains(out, "... (40 more lines)");
    assert_contains(out, "total: 0 / 100");
    assert_contains(out, "next step: all done");
    assert_contains(out, "TOTAL: 3 / 103 over 2 chapters (1 not gradable)");
    /* The course at a glance, and where to go next. */
    assert_contains(out, "== the course ==");
    assert_contains(out, "[....................]  does not build\n");
    assert_contains(out, "3 / 3     [####################]  done\n");
    assert_contains(out, "the first chapter not done: 01-blocking-io\n"
                         "  next step: make it build");
}

TK_TEST(report, table_all_done_points_on,
        .description = "a chapter at full marks points to the next chapter, "
                       "its experiments and the reference (the grader runs "
                       "from the course's root), the last one says the "
                       "course is done, and a course all done says so")
{
    struct chapter chs[3];
    const char *dirs[3] = {"01-blocking-io", "02-multiplexing", "99-last"};
    const struct report_opts plain = {.color = false};

    for (int i = 0; i < 3; i++) {
        new_chapter(&chs[i]);
        free(chs[i].dir);
        chs[i].dir = xdup(dirs[i]);
        add_item(&chs[i], ITEM_TEST, "rw", "rw/good", 2);
        chs[i].score = chs[i].max_score = 2;
    }
    char *out = capture_table(chs, 3, &plain);
    assert_contains(out, "next step: all done, nothing left to earn here.\n"
                         "  next: chapter 02, "
                         "chapters/02-multiplexing/README.md\n"
                         "  the reference, to compare with yours: "
                         "solutions/01-blocking-io/src/\n");
    assert_contains(out, "  next: chapter 03, chapters/03-mmap/README.md\n"
                         "  experiments: make demos CH=02");
    assert_contains(out, "  next: this is the last chapter: the course is "
                         "done\n");
    assert_contains(out, "every chapter is done");
}

TK_TEST(report, table_fits_100_columns,
        .description = "report_table wraps long messages, summaries and "
                       "next steps at spaces to fit 100 columns, keeping "
                       "every word and indenting continuations")
{
    struct chapter ch;
    struct item *it;
    const struct report_opts plain = {.color = false};
    char msg[600] = "";
    size_t len = 0;

    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(msg + len, sizeof(msg) - len, "word%02d ", i);
    new_chapter(&ch);
    it = add_item(&ch, ITEM_TEST, "rw", "rw/long", 3);
    it->status = ST_FAIL;
    it->score = 0;
    it->message = xdup(msg);
    it = add_item(&ch, ITEM_INFO, "rw", "a_metric", 0);
    it->status = ST_SHOWN;
    it->has_value = true;
    it->value = 1;
    it->what = xdup(msg);

    char *out = capture_table(&ch, 1, &plain);
    for (char *line = out, *nl; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        cr_assert_not_null(nl, "the table does not end with a newline");
        cr_assert_leq(nl - line, 100, "a line of %td columns:\n%.*s", nl - line,
                      (int)(nl - line), line);
    }
    assert_contains(out, "word00 word01");
    assert_contains(out, "\n                    word"); /* continued */
    for (int i = 0; i < 60; i++) {
        char w[16];
        snprintf(w, sizeof(w), "word%02d", i);
        assert_contains(out, w);
    }
}

TK_TEST(report, table_sanitises_and_caps_messages,
        .description = "report_table indents every line of a message, caps it "
                       "at 12 lines, and shows control bytes instead of "
                       "sending them to the terminal")
{
    struct chapter ch;
    struct item *it;
    char msg[1024] = "\033[2J\033[31mred\r\n";
    const struct report_opts plain = {.color = false};

    for (int i = 2; i <= 20; i++)
        snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "line %d\n", i);
    new_chapter(&ch);
    it = add_item(&ch, ITEM_TEST, "rw", "rw/noisy", 2);
    fail_item(it, ST_FAIL, msg);
    it = add_item(&ch, ITEM_TEST, "rw", "rw/bad_utf8", 2);
    fail_item(it, ST_FAIL, "got \xff\xfe here");
    ch.max_score = 4;

    char *out = capture_table(&ch, 1, &plain);
    cr_assert_null(strchr(out, '\033'), "ESC reached the terminal:\n%s", out);
    cr_assert_null(strchr(out, '\r'), "CR reached the terminal");
    assert_contains(out, "\\x1b[2J\\x1b[31mred\n");
    assert_contains(out, "                    line 2\n");
    assert_contains(out, "                    line 12\n");
    cr_assert_null(strstr(out, "line 13\n"), "more than 12 lines:\n%s", out);
    assert_contains(out, "... (8 more lines)");
    assert_contains(out, "got \xef\xbf\xbd\xef\xbf\xbd here");
    assert_contains(out, "total: 0 / 4");
}

TK_TEST(report, table_colour_and_calibrate,
        .description = "report_table colours only with opts->color, and with "
                       "calibrate shows each perf margin, LOW below 2")
{
    struct chapter ch;
    struct item *it;
    const struct report_opts both = {.color = true, .calibrate = true};

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/good", 3);
    it = add_item(&ch, ITEM_PERF, "rw", "syscalls_per_mib", 4);
    it->op = CMP_LE;
    it->threshold = 4;
    it->value = 3;
    it->has_value = true;
    it = add_item(&ch, ITEM_PERF, "rw", "zero_cost", 4);
    it->op = CMP_LE;
    it->threshold = 4;
    it->value = 0;
    it->has_value = true;
    it = add_item(&ch, ITEM_PERF, "serve", "speedup_vs_blocking", 6);
    it->op = CMP_GE;
    it->threshold = 3;
    it->value = 7.5;
    it->has_value = true;
    it = add_item(&ch, ITEM_PERF, "serve", "nearly", 2);
    fail_item(it, ST_FAIL, NULL);
    it->op = CMP_GE;
    it->threshold = 3;
    it->value = 2.9999999;
    it->has_value = true;
    ch.score = 17;
    ch.max_score = 19;

    char *out = capture_table(&ch, 1, &both);
    assert_contains(out, "\033[32mPASS\033[0m");
    assert_contains(out, "\033[31mFAIL\033[0m");
    assert_contains(out, "\033[1m");
    assert_contains(out, "measured 3, needs <= 4  [margin 1.33x ");
    assert_contains(out, "LOW");
    assert_contains(out, "[margin inf]");
    assert_contains(out, "[margin 2.50x]");
    /* A value that %g would round onto the threshold keeps its digits. */
    assert_contains(out, "measured 2.9999999, needs >= 3");
    assert_contains(out, "next step: perf nearly (FAIL): measured 2.9999999");
}

/* ===================================================================== */
/* Every byte, and long text                                             */
/* ===================================================================== */

/*
 * A chapter whose one failed test's message holds every byte from 0x01 to
 * 0xff, twice over in shuffled pairs (so stray lead bytes meet every kind
 * of follower), and whose Valgrind text is 70 000 bytes of "é" cut short
 * in the middle of a character, longer than the writers keep.
 */
static void
every_byte_chapter(struct chapter *ch)
{
    struct item *it;
    char *msg = tk_xmalloc(3 * 255 + 1), *big = tk_xmalloc(70002);
    size_t len = 0;

    for (int c = 1; c <= 255; c++)
        msg[len++] = (char)c;
    for (int c = 1; c <= 255; c++) {
        msg[len++] = (char)c;
        msg[len++] = (char)(256 - c);
    }
    msg[len] = '\0';
    for (size_t i = 0; i < 70000; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[70000] = '\xc3';
    big[70001] = '\0';

    new_chapter(ch);
    it = add_item(ch, ITEM_TEST, "rw", "rw/bytes", 1);
    fail_item(it, ST_FAIL, msg);
    it->memcheck = big;
    ch->max_score = 1;
}

TK_TEST(report, every_byte_stays_valid,
        .description = "JSON and JUnit stay valid for a message holding every "
                       "byte 0x01-0xff and for text past the size cap, which "
                       "is cut on a character boundary and counted")
{
    struct chapter ch;
    char *json = tmp_path("results.json"), *xml = tmp_path("junit.xml");

    every_byte_chapter(&ch);
    cr_assert_eq(report_json(json, &ch, 1, -1), 0);
    assert_valid_json(json);
    cr_assert(python_ok("import json, sys\n"
                        "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                        "o = d['tests'][0]['output']\n"
                        "assert ''.join(chr(c) for c in range(1, 128)) in o, "
                        "repr(o[:300])\n"
                        "assert 'more bytes)' in o\n"
                        "assert chr(0xe9) * 100 in o\n",
                        json),
              "results.json is wrong");
    cr_assert_eq(report_junit(xml, &ch, 1), 0);
    assert_valid_xml(xml);
    cr_assert(python_ok("import sys, xml.dom.minidom\n"
                        "d = xml.dom.minidom.parse(sys.argv[1])\n"
                        "f = d.getElementsByTagName('failure')[0]\n"
                        "t = ''.join(n.data for n in f.childNodes)\n"
                        "assert ''.join(chr(c) for c in range(32, 128)) in t, "
                        "repr(t[:300])\n"
                        "assert chr(9) + chr(10) in t and 'more bytes)' in t\n",
                        xml),
              "the JUnit XML is wrong");
}

/* ===================================================================== */
/* The grader's own messages                                             */
/* ===================================================================== */

/* Counts the occurrences of needle in text. */
static int
count_of(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

TK_TEST(report, grader_messages_said_once,
        .description = "a perf or memcheck message that restates the summary "
                       "is printed once; a blocked item's message says why it "
                       "did not run; a missing metric shows the bench output")
{
    struct chapter ch;
    struct item *it;
    const struct report_opts plain = {.color = false};
    char *json = tmp_path("results.json");

    new_chapter(&ch);
    add_item(&ch, ITEM_TEST, "rw", "rw/good", 3);
    it = add_item(&ch, ITEM_PERF, "rw", "syscalls_per_mib", 4);
    fail_item(it, ST_FAIL, "measured 257, needs <= 4");
    it->op = CMP_LE;
    it->threshold = 4;
    it->value = 257;
    it->has_value = true;
    it = add_item(&ch, ITEM_PERF, "serve", "speedup_vs_blocking", 6);
    fail_item(it, ST_MISSING, "the benchmark reported no value");
    it->op = CMP_GE;
    it->threshold = 3;
    it = add_item(&ch, ITEM_MEMCHECK, NULL, "memcheck", 10);
    fail_item(it, ST_BLOCKED, "not run this time");
    ch.bench_log = xdup("bench: connect: Connection refused\n");
    ch.score = 3;
    ch.max_score = 23;

    char *out = capture_table(&ch, 1, &plain);
    /* Once on the item's line, never again in its details. */
    cr_assert_eq(count_of(out, "perf syscalls_per_mib: measured 257, "
                               "needs <= 4\n"),
                 1, "%s", out);
    cr_assert_null(strstr(out, "                    measured 257"), "%s", out);
    assert_contains(out, "memcheck: not run this time");
    cr_assert_null(strstr(out, "needs every test passing first"));
    assert_contains(out, "perf speedup_vs_blocking: not measured, needs >= 3");
    assert_contains(out, "the benchmark reported no value");
    assert_contains(out, "benchmark output (a metric is missing):\n"
                         "    bench: connect: Connection refused\n");

    cr_assert_eq(report_json(json, &ch, 1, -1), 0);
    assert_valid_json(json);
    char *text = slurp(json);
    cr_assert_eq(count_of(text, "measured 257, needs <= 4"), 1, "%s", text);
    assert_contains(text, "benchmark output:\\nbench: connect: Connection "
                          "refused");
}
