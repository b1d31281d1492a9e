/*
 * test_grader.c - the grader's own tests: the manifest parser, the child
 * runner (timeouts, process groups, output caps, the metrics channel), and
 * the report hook read back through the grader's parser.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grade.h"
#include "grader.h"
#include "iolab/testkit.h"
#include "run.h"

/* ---- manifest --------------------------------------------------------- */

static const char good_manifest[] =
    "# a comment\n"
    "chapter 09-demo  A demo chapter\n"
    "exercise ex1 The first one\n"
    "test ex1 s/one 3 timeout=7 hint=H1\n"
    "test ex1 s/two 2\n"
    "test ex1 s/secret 4 hint=H2 hidden\n"
    "withheld ex1 1.5\n"
    "perf ex1 calls <= 4 5 kind=counted hint=H9\n"
    "info ex1 cpu what it shows\n"
    "memcheck 10 timeout_scale=15\n"
    "bench timeout=60 runs=3 nofile=4096 nproc=512\n";

TK_TEST(manifest, parses_every_kind,
        .description = "a well-formed manifest loads")
{
    char *path = tk_make_file("m", good_manifest, sizeof(good_manifest) - 1);
    struct chapter ch;

    cr_assert_eq(manifest_load(path, &ch), 0);
    cr_assert_str_eq(ch.dir, "09-demo");
    cr_assert_str_eq(ch.title, "A demo chapter");
    cr_assert_eq(ch.nex, 1);
    cr_assert_eq(ch.nitems, 6);
    cr_assert_str_eq(ch.items[0].name, "s/one");
    cr_assert(!ch.items[0].hidden && !ch.items[1].hidden);
    cr_assert(ch.items[2].hidden, "'hidden' marks a hidden test");
    cr_assert_str_eq(ch.items[2].hint, "H2");
    cr_assert_eq(ch.nwithheld, 1);
    cr_assert_str_eq(ch.withheld[0].exercise, "ex1");
    cr_assert_eq(ch.withheld[0].points, 1.5);
    cr_assert_eq(ch.items[0].timeout, 7);
    cr_assert_str_eq(ch.items[0].hint, "H1");
    cr_assert_eq(ch.items[1].timeout, 10, "the default test timeout is 10 s");
    cr_assert_eq(ch.items[3].kind, ITEM_PERF);
    cr_assert_eq(ch.items[3].op, CMP_LE);
    cr_assert_eq(ch.items[3].threshold, 4);
    cr_assert_eq(ch.items[3].points, 5);
    cr_assert_str_eq(ch.items[3].hint, "H9");
    cr_assert_str_eq(ch.items[4].what, "what it shows");
    cr_assert_eq(ch.items[5].kind, ITEM_MEMCHECK);
    cr_assert_eq(ch.memcheck_scale, 15);
    cr_assert_eq(ch.bench_runs, 3);
    cr_assert_eq(ch.bench_timeout, 60);
    cr_assert_eq(ch.nofile, 4096);
    cr_assert_eq(ch.nproc, 512);
    chapter_free(&ch);
}

/* Loads text as a manifest, expecting an error that names line. */
static void
expect_bad(const char *text, int line, const char *needle)
{
    char *path = tk_make_file("bad", text, strlen(text));
    char *errpath = tk_make_file("err", "", 0);
    struct chapter ch;

    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *err = freopen(errpath, "w", stderr);
    cr_assert_not_null(err);
    int rc = manifest_load(path, &ch);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    chapter_free(&ch);

    FILE *f = fopen(errpath, "r");
    char msg[512] = "";
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(msg, sizeof(msg), f));
    fclose(f);
    char want[600];
    snprintf(want, sizeof(want), "%s:%d: ", path, line);
    cr_assert_eq(rc, -1, "a malformed manifest must not load");
    cr_assert(strncmp(msg, want, strlen(want)) == 0,
              "expected the error to start with '%s', got '%s'", want, msg);
    cr_assert(strstr(msg, needle) != NULL, "expected '%s' in '%s'", needle,
              msg);
}

TK_TEST(manifest, errors_name_file_and_line,
        .description = "each malformed line is reported as path:line: reason")
{
    expect_bad("chapter 09-x T\nbogus line\n", 2, "unknown keyword");
    expect_bad("chapter 09-x T\ntest nope s/a 1\n", 2, "not declared");
    expect_bad("chapter 09-x T\nexercise e E\ntest e s/a many\n", 3, "points");
    expect_bad("chapter 09-x T\nexercise e E\ntest e noslash 1\n", 3,
               "suite/name");
    expect_bad("chapter 09-x T\nexercise e E\ntest e s/a 1\ntest e s/a 2\n", 4,
               "twice");
    expect_bad("chapter 09-x T\nexercise e E\nperf e m == 1 2 kind=counted\n",
               3, "<= or >=");
    expect_bad("chapter 09-x T\nexercise e E\nperf e m <= 1 2 kind=fast\n", 3,
               "counted or timed");
    expect_bad("chapter 09-x T\nexercise e E\ntest e s/a 1 colour=red\n", 3,
               "unknown option");
    expect_bad("exercise e E\n", 1, "no 'chapter' line");
    expect_bad("chapter 09-x T\nbench nofile=1.5\n", 2, "whole number");
    expect_bad("chapter 09-x T\nbench cores=2\n", 2, "unknown option");
    expect_bad("chapter 09-x T\nexercise e E\nperf e m <= 1 2 kind=counted "
               "hidden\n",
               3, "key=value");
    expect_bad("chapter 09-x T\nexercise e E\nwithheld e\n", 3,
               "usage: withheld");
    expect_bad("chapter 09-x T\nwithheld e 2\n", 2, "not declared");
    expect_bad("chapter 09-x T\nexercise e E\nwithheld e 0\n", 3, "points");
}

/* ---- the runner ---------------------------------------------------------- */

TK_TEST(runner, timeout_kills_the_group,
        .description =
            "a hung child and its background children die at the timeout")
{
    const char *argv[] = {"sh", "-c", "sleep 100 & echo $!; wait", NULL};
    struct run_spec spec = {.argv = argv, .timeout = 0.5, .out_cap = 4096};
    struct run_result r;
    long long t0 = tk_now_ms();

    cr_assert_eq(run_child(&spec, &r), 0);
    long long took = tk_now_ms() - t0;
    cr_assert(r.timed_out, "the child should have been killed");
    cr_assert_lt(took, 4000, "the kill took %lld ms", took);
    pid_t bg = (pid_t)atoi(r.output);
    cr_assert_gt(bg, 0, "no background pid in '%s'", r.output);
    /*
     * The background sleep was in the group: within a second it is gone,
     * or a zombie. (Right after SIGKILL it may still show as running.)
     */
    char path[64], stat[256] = "";
    bool dead = false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)bg);
    for (int i = 0; i < 100 && !dead; i++) {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            dead = true;
            break;
        }
        if (fgets(stat, sizeof(stat), f) != NULL && strstr(stat, ") Z") != NULL)
            dead = true;
        fclose(f);
        struct timespec ts = {.tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    cr_assert(dead, "the background child survived: %s", stat);
    run_result_free(&r);
}

TK_TEST(runner, output_is_capped,
        .description = "only out_cap bytes of output are kept")
{
    const char *argv[] = {"sh", "-c", "yes | head -c 1000000", NULL};
    struct run_spec spec = {.argv = argv, .timeout = 10, .out_cap = 1000};
    struct run_result r;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert(r.truncated);
    cr_assert_eq(strlen(r.output), 1000);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    run_result_free(&r);
}

TK_TEST(runner, metrics_travel_apart_from_output,
        .description = "only fd 3 carries metrics; printed lines never do")
{
    const char *argv[] = {
        "sh", "-c",
        "echo 'metric fake 9'; echo \"metric real 3 $IOLAB_METRICS_FD\" >&3",
        NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = 10,
                            .out_cap = 4096,
                            .channel = "IOLAB_METRICS_FD"};
    struct run_result r;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert_str_eq(r.channel, "metric real 3 3\n");
    cr_assert_str_eq(r.output, "metric fake 9\n");
    run_result_free(&r);
}

TK_TEST(runner, silence_stops_a_quiet_child,
        .description = "a channel silent for run_spec.silence seconds gets "
                       "the group killed; one that keeps talking does not")
{
    const char *quiet[] = {"sh", "-c", "echo hi >&3; sleep 100", NULL};
    struct run_spec spec = {.argv = quiet,
                            .timeout = 60,
                            .silence = 1,
                            .out_cap = 4096,
                            .channel = "IOLAB_RESULTS_FD"};
    struct run_result r;
    long long t0 = tk_now_ms();

    cr_assert_eq(run_child(&spec, &r), 0);
    long long took = tk_now_ms() - t0;
    cr_assert(r.timed_out && r.silent, "timed_out %d silent %d", r.timed_out,
              r.silent);
    cr_assert_lt(took, 20000, "the kill took %lld ms", took);
    cr_assert_str_eq(r.channel, "hi\n", "what it said before is kept");
    run_result_free(&r);

    /* Ten lines 0.2 s apart: never 3 s quiet, though 2 s in all. */
    const char *talky[] = {"sh", "-c",
                           "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >&3; "
                           "sleep 0.2; done",
                           NULL};
    spec.argv = talky;
    spec.silence = 3;
    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert(!r.timed_out && !r.silent);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    cr_assert(strncmp(r.channel, "1\n2\n", 4) == 0);
    run_result_free(&r);
}

TK_TEST(runner, memory_is_limited,
        .description = "a child cannot allocate past mem_limit")
{
    const char *argv[] = {"sh", "-c",
                          "x=$(head -c 300000000 /dev/zero | tr '\\000' x); "
                          "echo ${#x}",
                          NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = 20,
                            .out_cap = 4096,
                            .limits = true,
                            .mem_limit = 100u << 20};
    struct run_result r;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert_not(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 &&
                      strstr(r.output, "300000000") != NULL,
                  "a 300 MB string was built under a 100 MiB limit");
    run_result_free(&r);
}

/* What `ulimit -Hn` prints in a child given spec's limits. */
static long
child_nofile(unsigned long nofile)
{
    const char *argv[] = {"sh", "-c", "ulimit -Hn", NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = 10,
                            .out_cap = 4096,
                            .limits = true,
                            .nofile = nofile};
    struct run_result r;

    cr_assert_eq(run_child(&spec, &r), 0);
    long n = strtol(r.output, NULL, 10);
    run_result_free(&r);
    return n;
}

TK_TEST(runner, descriptor_cap_follows_the_spec,
        .description = "nofile caps open descriptors; 0 keeps the default")
{
    long dflt = child_nofile(0), wide = child_nofile(2048);

    cr_assert(dflt > 0 && dflt <= 1024, "default cap: got %ld", dflt);
    /* Never above what the grader itself may open. */
    cr_assert(wide > 0 && wide <= 2048, "nofile=2048: got %ld", wide);
    cr_assert(wide >= dflt);
}

TK_TEST(runner, missing_program,
        .description = "a program that cannot start exits 127 with a message")
{
    const char *argv[] = {"/nonexistent/program", NULL};
    struct run_spec spec = {.argv = argv, .timeout = 10, .out_cap = 4096};
    struct run_result r;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127);
    cr_assert(strstr(r.output, "cannot run") != NULL);
    run_result_free(&r);
}

/* ---- the report hook, read back ------------------------------------------ */

/* Runs one probe test through the real hook; returns the results text. */
static char *
probe(const char *name)
{
    const char *bin = "build/grader/hook-probe";

    cr_assert_eq(access(bin, X_OK), 0,
                 "build the probe first (make test does)");
    const char *argv[] = {bin, "--filter", name, "-j1", NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = 30,
                            .out_cap = 65536,
                            .channel = "IOLAB_RESULTS_FD"};
    struct run_result r;
    cr_assert_eq(run_child(&spec, &r), 0);
    char *text = strdup(r.channel);
    run_result_free(&r);
    return text;
}

TK_TEST_UNSEALED(
    hook, hostile_message_survives,
    .description =
        "quotes, newlines, ]]>, control and non-UTF-8 bytes arrive intact")
{
    char *res = probe("probe/hostile_message");
    enum status st;
    char *msg, *where;

    cr_assert(
        grade_find_result(res, "probe/hostile_message", &st, &msg, &where));
    cr_assert_eq(st, ST_FAIL);
    cr_assert_str_eq(msg, "say \"hi\"\nline two\t]]> end \x01 100% \xff");
    cr_assert(strstr(where, "hook_probe.c:") != NULL, "where = %s", where);
}

TK_TEST_UNSEALED(
    hook, every_outcome_is_told_apart,
    .description = "pass, crash, early exit and skip each read back as such")
{
    static const struct {
        const char *name;
        enum status st;
        const char *in_msg;
    } cases[] = {
        {"probe/passes", ST_PASS, NULL},
        {"probe/crashes", ST_CRASH, "signal 11"},
        {"probe/exits_early", ST_FAIL, "exit status 0"},
        {"probe/skips", ST_SKIP, "no such kernel feature"},
        /* Hostile: each tries to pass (or skip) without running to the end. */
        {"probe/forges_exit", ST_CRASH, "seal"},
        {"probe/forges_raw_exit", ST_CRASH, "seal"},
        {"probe/forges_skip_exit", ST_CRASH, "seal"},
        {"probe/forges_by_exec", ST_CRASH, NULL},
        {"probe/forges_thread_exit", ST_CRASH, "seal"},
        /* It garbles the runner's own protocol: no verdict at all. */
        {"probe/writes_every_fd", ST_MISSING, NULL},
        {"probe/cr_skips", ST_FAIL, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *res = probe(cases[i].name);
        enum status st;
        char *msg, *where;
        msg = where = NULL;
        if (!grade_find_result(res, cases[i].name, &st, &msg, &where))
            st = ST_MISSING;
        cr_assert_eq(st, cases[i].st, "%s: status %s, expected %s",
                     cases[i].name, status_name(st), status_name(cases[i].st));
        if (cases[i].in_msg)
            cr_assert(msg && strstr(msg, cases[i].in_msg),
                      "%s: message '%s' lacks '%s'", cases[i].name,
                      msg ? msg : "(none)", cases[i].in_msg);
    }
}

TK_TEST_UNSEALED(hook, passes_written_as_they_end,
                 .description =
                     "a pass reaches the channel when its test ends, so a run "
                     "stopped for going quiet (a hang) keeps it")
{
    const char *bin = "build/grader/hook-probe";

    cr_assert_eq(access(bin, X_OK), 0,
                 "build the probe first (make test does)");
    /* probe/passes, and probe/pauses, which never ends. */
    const char *argv[] = {bin, "--filter", "probe/pa*", "-j2", NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = 60,
                            .silence = 3,
                            .out_cap = 65536,
                            .channel = "IOLAB_RESULTS_FD"};
    struct run_result r;
    enum status st;
    char *msg, *where;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert(r.timed_out && r.silent, "the run was not stopped as quiet");
    cr_assert(grade_find_result(r.channel, "probe/passes", &st, &msg, &where),
              "channel:\n%s", r.channel);
    cr_assert_eq(st, ST_PASS);
    cr_assert(!grade_find_result(r.channel, "probe/pauses", &st, &msg, &where),
              "a test that never ended has a verdict:\n%s", r.channel);
    run_result_free(&r);

    /* A failure is not final as it ends: only a sign of life then, and
     * its verdict once, at the end. */
    char *res = probe("probe/hostile_message");
    cr_assert(strncmp(res, "#\tprobe/hostile_message\n", 24) == 0,
              "channel:\n%s", res);
    const char *again = strstr(res + 1, "probe/hostile_message\tfail");
    cr_assert(again != NULL &&
                  strstr(again + 1, "probe/hostile_message\t") == NULL,
              "channel:\n%s", res);
    free(res);
}

TK_TEST_UNSEALED(hook, lists_every_test_and_runs_none,
                 .description =
                     "IOLAB_LIST_TESTS=1: one suite/name per line on the "
                     "channel, and no test runs")
{
    const char *bin = "build/grader/hook-probe";

    cr_assert_eq(access(bin, X_OK), 0,
                 "build the probe first (make test does)");
    const char *argv[] = {bin, NULL};
    const char *env[] = {"IOLAB_LIST_TESTS=1", NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = 30,
                            .out_cap = 65536,
                            .channel = "IOLAB_RESULTS_FD"};
    struct run_result r;
    size_t lines = 0;

    cr_assert_eq(run_child(&spec, &r), 0);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
              "the runner ended with status %#x", r.status);
    for (const char *p = r.channel; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 13, "listed:\n%s", r.channel);
    cr_assert(strncmp(r.channel, "probe/cr_skips\n", 15) == 0);
    cr_assert(strstr(r.channel, "\nprobe/hostile_message\n") != NULL);
    cr_assert(strstr(r.output, "Synthesis") == NULL, "tests ran:\n%s",
              r.output);
    run_result_free(&r);
}
