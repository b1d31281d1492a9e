/*
 * grade.c - grades one chapter: build, tests, benchmark, memcheck, score.
 *
 * Organisation: helpers; the build; the tests (one process per test, with
 * the result read from the file the report hook writes); the benchmark
 * (metrics read from a pipe, never from output); memcheck (each test under
 * Valgrind, each child process's log checked); scoring.
 *
 * Trust: everything built from the tree under grading is untrusted. It runs
 * through run_child (process group, timeout, limits, capped output), and
 * only two channels carry results: the file named by $IOLAB_RESULTS, which
 * Criterion's runner writes after the test's process has ended, and the
 * benchmark's metrics descriptor.
 */
#include "grade.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "integrity.h"
#include "run.h"
#include "sbuf.h"
#include "submission.h"
#include "xalloc.h"

#define BUILD_TIMEOUT 600 /* seconds for make: a cold build is ~10 s */
#define STR_(x) #x
#define STR(x) STR_(x)
/* Address space for the compiler on a submission: far above what cc1 needs
 * for a course file, low enough that #include "/dev/zero" fails fast. */
#define BUILD_MEM_LIMIT ((size_t)2 << 30)
#define BUILD_LOG_CAP (64 * 1024)
#define TEST_OUT_CAP (16 * 1024) /* what a failing test may show */
#define BENCH_OUT_CAP (32 * 1024)
/*
 * The grader's own kill is the time limit: Criterion 2.4.1 ignores its
 * --timeout option (passed anyway), so only start-up time is added.
 */
#define KILL_SLACK 0.5
#define VG_LOG_LINES 40      /* lines of a Valgrind complaint kept */
#define VG_OUT_CAP (4 << 20) /* Valgrind's report travels in the output */
#define VG_JOBS_MAX 4        /* Valgrind runs at once, at most */
/* Valgrind's options for every memcheck run: children too (Criterion's
 * test processes), definite leaks are errors, the report on stderr. */
#define VG_OPTIONS                                                             \
    "--trace-children=yes", "--leak-check=full",                               \
        "--errors-for-leak-kinds=definite,indirect",                           \
        "--show-leak-kinds=definite,indirect", "--num-callers=20",             \
        "--fair-sched=try", "--log-fd=2",                                      \
        "--suppressions=grader/valgrind.supp"
/*
 * Address space for a test or a benchmark: far above what any exercise
 * needs (thread stacks are reserved, not used), low enough that a runaway
 * allocation fails in the child instead of swapping the machine.
 * Valgrind gets VG_MEM_LIMIT instead.
 */
#define MEM_LIMIT ((size_t)4 << 30)
/* Valgrind reserves large mappings of its own: a looser bound, but one. */
#define VG_MEM_LIMIT ((size_t)16 << 30)

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

static void
set_str(char **dst, char *s)
{
    free(*dst);
    *dst = s;
}

/* Decodes the report hook's %XX escapes in place. */
static void
unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++) {
        if (r[0] == '%' && r[1] && r[2]) {
            char hex[3] = {r[1], r[2], '\0'};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void progress(const struct grade_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
progress(const struct grade_opts *o, const char *fmt, ...)
{
    va_list ap;

    if (!o->progress)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ===================================================================== */
/* Build                                                                 */
/* ===================================================================== */

/* Runs make with args; on failure sets ch->build_log from its output. */
static bool
run_make(struct chapter *ch, const char *const *args, const char *target,
         const char *const *writable)
{
    const char *argv[16] = {"make", "-s", "--no-print-directory", "-j2"};
    int n = 4;
    for (const char *const *a = args; *a && n < 14; a++)
        argv[n++] = *a;
    argv[n++] = target;
    argv[n] = NULL;
    struct run_spec spec = {.argv = argv,
                            .timeout = BUILD_TIMEOUT,
                            .out_cap = BUILD_LOG_CAP,
                            .limits = true,
                            .mem_limit = writable ? BUILD_MEM_LIMIT : 0,
                            .sandbox = writable != NULL,
                            .writable = writable};
    struct run_result r;
    bool ok = false;

    if (run_child(&spec, &r) != 0) {
        set_str(&ch->build_log,
                xasprintf("cannot run make: %s", strerror(errno)));
        return false;
    }
    ok = !r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
    if (!ok)
        set_str(&ch->build_log,
                xasprintf("%s%s", r.output,
                          r.timed_out
                              ? "\n(the build ran out of time: "
                                "it is limited to " STR(BUILD_TIMEOUT) " s)"
                              : ""));
    run_result_free(&r);
    return ok;
}

/* The course objects and the chapter's programs, as built. */
static struct snapshot built;
static char *built_obj;

static char *
real_or_copy(const char *path)
{
    char real[4096];
    return xstrdup(realpath(path, real) ? real : path);
}

/*
 * Builds ch from o->tree: the student's files are copied into a fresh
 * stage, the course's objects are built (or reused, when built with the
 * same flags), the student's files are compiled and inspected, and only
 * then is anything linked. Sets *tests and *bench to the programs.
 */
static bool
build(struct chapter *ch, const struct grade_opts *o, char **tests,
      char **bench)
{
    char *stage = xasprintf("%s/stage", o->build_dir);
    char *objdir = xasprintf("%s/obj", o->build_dir);
    char *stage_ch = xasprintf("%s/%s", stage, ch->dir);
    char *stage_src = xasprintf("%s/src", stage_ch);
    char *obj_ch = xasprintf("%s/%s", objdir, ch->dir);
    char *tree_arg = xasprintf("TREE=%s", stage);
    char *b_arg = xasprintf("B=%s", objdir);
    /* Only the grader's flags: nothing from the environment (a sanitizer
     * or coverage build adds code the object check would refuse). */
    const char *args[] = {
        tree_arg,     b_arg,           o->werror ? "WERROR=1" : "WERROR=0",
        "COVERAGE=0", "EXTRA_CFLAGS=", "EXTRA_LDFLAGS=",
        NULL};
    struct chapter_files cf;
    char *msg = NULL, *note = NULL;
    bool ok = false;

    *tests = *bench = NULL;
    /* Fresh every time: nothing of an earlier grade can be reused. */
    rm_tree(stage_ch);
    rm_tree(obj_ch);
    if (sub_files(ch->dir, args, &cf, &msg) != 0) {
        set_str(&ch->build_log, msg);
        goto out;
    }
    mkdir_p(stage_src);
    progress(o, "  building %s from %s\n", ch->dir, o->tree);
    if (sub_stage(o->tree, ch->dir, &cf, stage_src, &msg, &note) != 0) {
        set_str(&ch->build_log, msg);
        ch->refused = true;
        goto out_files;
    }
    set_str(&ch->notes, note);
    char *target = xasprintf("course-%s", ch->dir);
    ok = run_make(ch, args, target, NULL);
    free(target);
    if (!ok) {
        char *log = ch->build_log;
        ch->build_log = xasprintf("the course's own code does not build "
                                  "(not your code: tell your instructor):\n%s",
                                  log);
        free(log);
        goto out_files;
    }
    /* The submission's code is compiled and linked in the sandbox. */
    const char *writable[] = {obj_ch, NULL};
    mkdir_p(obj_ch);
    run_sandbox_give(obj_ch);
    target = xasprintf("objs-%s", ch->dir);
    ok = run_make(ch, args, target, writable);
    free(target);
    if (!ok)
        goto out_files;

    char *inc_ch = xasprintf("chapters/%s/include", ch->dir);
    char *mine[3] = {real_or_copy(stage_src), real_or_copy(inc_ch),
                     real_or_copy("shared/include")};
    const char *allowed[] = {mine[0],
                             mine[1],
                             mine[2],
                             "/usr/include",
                             "/usr/local/include",
                             "/usr/lib/gcc",
                             "/usr/lib/clang",
                             "/usr/lib/llvm-13",
                             "/usr/lib/llvm-14",
                             "/usr/lib/llvm-15",
                             "/usr/lib/llvm-16",
                             "/usr/lib/llvm-17",
                             "/usr/lib/llvm-18",
                             "/usr/lib/llvm-19",
                             NULL};
    free(inc_ch);
    ok = sub_check(ch, &cf, allowed, &msg) == 0;
    for (int i = 0; i < 3; i++)
        free(mine[i]);
    if (!ok) {
        set_str(&ch->build_log, msg);
        ch->refused = true;
        goto out_files;
    }
    target = xasprintf("build-%s", ch->dir);
    ok = run_make(ch, args, target, writable);
    free(target);
    if (ok) {
        *tests = xstrdup(cf.tests);
        *bench = xstrdup(cf.bench);
        /* From here on the programs are the grader's: not the sandbox's
         * to write, and watched until the chapter is graded. */
        run_sandbox_take(obj_ch);
        const char *roots[] = {"build/course", obj_ch, NULL};
        snap_free(&built);
        snap_take(roots, &built);
        built_obj = xstrdup(obj_ch);
    }
out_files:
    sub_files_free(&cf);
out:
    free(stage);
    free(objdir);
    free(stage_ch);
    free(stage_src);
    free(obj_ch);
    free(tree_arg);
    free(b_arg);
    return ok;
}

/* ===================================================================== */
/* Tests                                                                 */
/* ===================================================================== */

static enum status
parse_status(const char *s)
{
    static const struct {
        const char *name;
        enum status st;
    } map[] = {{"pass", ST_PASS},
               {"fail", ST_FAIL},
               {"crash", ST_CRASH},
               {"timeout", ST_TIMEOUT},
               {"skip", ST_SKIP}};

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(s, map[i].name) == 0)
            return map[i].st;
    return ST_MISSING;
}

bool
grade_find_result(const char *results, const char *name, enum status *st,
                  char **message, char **where)
{
    size_t nlen = strlen(name);
    bool found = false;

    for (const char *line = results; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > nlen && strncmp(line, name, nlen) == 0 &&
            line[nlen] == '\t') {
            char *copy = xstrndup(line, llen);
            char *f[4] = {NULL};
            char *p = copy;
            for (int i = 0; i < 4; i++) {
                f[i] = p;
                p = p ? strchr(p, '\t') : NULL;
                if (p)
                    *p++ = '\0';
            }
            *st = f[1] ? parse_status(f[1]) : ST_MISSING;
            *message = f[2] && *f[2] ? xstrdup(f[2]) : NULL;
            *where = f[3] && *f[3] ? xstrdup(f[3]) : NULL;
            if (*message)
                unescape(*message);
            if (*where)
                unescape(*where);
            free(copy);
            found = true;
            break;
        }
        line = end ? end + 1 : NULL;
    }
    return found;
}

/* Is the Valgrind line prefix "==PID== " at p? Sets *pid and *body. */
static bool
vg_prefix(const char *p, long *pid, const char **body)
{
    if (p[0] != '=' || p[1] != '=' || p[2] < '0' || p[2] > '9')
        return false;
    char *end;
    long v = strtol(p + 2, &end, 10);
    if (end[0] != '=' || end[1] != '=' || end[2] != ' ')
        return false;
    *pid = v;
    *body = end + 3;
    return true;
}

#define VG_MAX_PROCS 512

/* One process in Valgrind's report. */
struct vg_proc {
    long pid;
    int summaries; /* ERROR SUMMARY lines seen: 0 means cut off */
    int worst;     /* the largest error count among them */
    char *test;    /* the test it ran (the kit says so), or NULL */
};

/*
 * Reads Valgrind's report out of a run's output. Valgrind writes it on the
 * test's stderr through a descriptor of its own, which the code under test
 * cannot close or rewind: it can add lines, never take one away, so a
 * forged line can only add a process or a complaint. Returns the number of
 * processes found (at most max).
 */
static int
vg_parse(const char *output, struct vg_proc *procs, int max)
{
    int n = 0;

    for (const char *line = output; line && *line;) {
        const char *nl = strchr(line, '\n');
        /* A prefix may follow text the test printed without a newline. */
        for (const char *p = strstr(line, "=="); p && (!nl || p < nl);
             p = strstr(p + 2, "==")) {
            long pid;
            const char *body;
            if (!vg_prefix(p, &pid, &body))
                continue;
            int k = 0;
            while (k < n && procs[k].pid != pid)
                k++;
            if (k == n) {
                if (n == max)
                    break;
                procs[n++] = (struct vg_proc){.pid = pid};
            }
            size_t blen = nl ? (size_t)(nl - body) : strlen(body);
            if (strncmp(body, "ERROR SUMMARY: ", 15) == 0) {
                procs[k].summaries++;
                int e = atoi(body + 15);
                if (e > procs[k].worst)
                    procs[k].worst = e;
            } else if (strncmp(body, "iolab-test ", 11) == 0 &&
                       procs[k].test == NULL) {
                procs[k].test = xstrndup(body + 11, blen - 11);
            }
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static void
vg_free(struct vg_proc *procs, int n)
{
    for (int i = 0; i < n; i++)
        free(procs[i].test);
}

/* Valgrind's lines for one process, without its banner; NULL if clean. */
static char *
vg_complaint_of(const char *output, const struct vg_proc *p)
{
    if (p->worst == 0 && p->summaries > 0)
        return NULL;
    struct sbuf out = SBUF_INIT;
    int kept = 0;
    if (p->summaries == 0)
        sb_printf(&out,
                  "Valgrind's report for process %ld has no end (it was "
                  "killed, or the test cut it off)\n",
                  p->pid);
    for (const char *line = output; line && *line && kept < VG_LOG_LINES;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        long pid;
        const char *body;
        const char *at = memmem(line, len, "==", 2);
        if (at && vg_prefix(at, &pid, &body) && pid == p->pid) {
            size_t blen = len - (size_t)(body - line);
            char *b = xstrndup(body, blen);
            if (*b != '\0' && !strstr(b, "Copyright") &&
                !strstr(b, "Parent PID:") && !strstr(b, "HEAP SUMMARY:") &&
                !strstr(b, "in use at exit:") &&
                !strstr(b, "total heap usage:") &&
                !strstr(b, "Memcheck, a memory") &&
                !strstr(b, "Using Valgrind") && !strstr(b, "Command:") &&
                !strstr(b, "rerun with") && !strstr(b, "For lists of") &&
                strncmp(b, "iolab-test ", 11) != 0) {
                sb_puts(&out, b);
                sb_putc(&out, '\n');
                kept++;
            }
            free(b);
        }
        line = nl ? nl + 1 : NULL;
    }
    return sb_detach(&out);
}

/* The first complaint of a whole run (one test's), or NULL when clean. */
static char *
valgrind_complaint(const char *output, bool truncated)
{
    if (truncated)
        return xasprintf("the test printed more than the grader keeps, so "
                         "Valgrind's report could not be read whole");
    struct vg_proc *procs = xcalloc(VG_MAX_PROCS, sizeof(*procs));
    int n = vg_parse(output, procs, VG_MAX_PROCS);
    char *complaint = n == 0 ? xasprintf("Valgrind reported nothing: the "
                                         "test did not run under it")
                             : NULL;
    for (int k = 0; k < n && complaint == NULL; k++)
        complaint = vg_complaint_of(output, &procs[k]);
    vg_free(procs, n);
    free(procs);
    return complaint;
}

/*
 * Runs one test in its own process: the test binary, filtered to this one
 * test, optionally under Valgrind, in the sandbox. The verdict comes from
 * the channel that only Criterion's runner process holds (the report hook
 * in shared/src/tk_report.c); the test's own process never has it. Fills
 * it->status, message and where (or it->memcheck, under Valgrind).
 */
static void
run_test(struct chapter *ch, struct item *it, const char *bin, const char *work,
         bool valgrind, const struct grade_opts *o)
{
    double scale = valgrind ? ch->memcheck_scale : 1.0;
    double limit = it->timeout * scale;
    char *dir = xasprintf("%s/%s", work, it->name); /* suite/name: 2 levels */
    char *tmp = xasprintf("%s/tmp", dir);
    char *timeout = xasprintf("%g", limit);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    const char *env[] = {env_tmp, "CRITERION_NO_EARLY_EXIT=1", NULL};
    const char *plain[] = {bin,         "--filter", it->name, "-j1",
                           "--timeout", timeout,    NULL};
    const char *vg[] = {"valgrind", VG_OPTIONS,  bin,     "--filter", it->name,
                        "-j1",      "--timeout", timeout, NULL};
    const char *writable[] = {dir, NULL};
    struct run_spec spec = {.argv = valgrind ? vg : plain,
                            .env = env,
                            .timeout = limit + KILL_SLACK * scale,
                            .out_cap = valgrind ? VG_OUT_CAP : TEST_OUT_CAP,
                            .limits = true,
                            .mem_limit = valgrind ? VG_MEM_LIMIT : MEM_LIMIT,
                            .channel = "IOLAB_RESULTS_FD",
                            .sandbox = true,
                            .writable = writable};
    struct run_result r;

    rm_tree(dir);
    mkdir_p(tmp);
    run_sandbox_give(dir);
    progress(o, "  %s %s\n", valgrind ? "valgrind" : "test", it->name);

    enum status st = ST_MISSING;
    char *msg = NULL, *where = NULL, *complaint = NULL;
    if (run_child(&spec, &r) != 0) {
        msg = xasprintf("cannot start the test binary: %s", strerror(errno));
    } else {
        if (grade_find_result(r.channel, it->name, &st, &msg, &where)) {
            /* Criterion's verdict stands. */
        } else if (r.timed_out) {
            st = ST_TIMEOUT;
            msg = xasprintf("killed at its time limit of %g s: the test (or "
                            "the code it calls) hangs or is far too slow",
                            limit);
        } else {
            char how[96];
            run_describe(r.status, how, sizeof(how));
            st = WIFSIGNALED(r.status) ? ST_CRASH : ST_MISSING;
            msg =
                xasprintf("no result: the test runner ended with %s%s%s%s", how,
                          r.lost ? " (the sandbox could not start it)" : "",
                          *r.output ? "; its output:\n" : "", r.output);
        }
        if (valgrind)
            complaint = valgrind_complaint(r.output, r.truncated);
        run_result_free(&r);
    }

    if (valgrind) {
        if (st != ST_PASS && complaint == NULL)
            complaint =
                xasprintf("the test did not pass under Valgrind: "
                          "%s%s%s",
                          status_name(st), msg ? ": " : "", msg ? msg : "");
        set_str(&it->memcheck, complaint);
        free(msg);
        free(where);
    } else {
        it->status = st;
        set_str(&it->message, msg);
        set_str(&it->where, where);
    }
    rm_tree(dir);
    free(dir);
    free(tmp);
    free(timeout);
    free(env_tmp);
}

/*
 * Lists the tests compiled into bin ("suite/name" per line) and reports
 * every one the manifest does not list: an author error.
 */
static int
check_listed(const struct chapter *ch, const char *bin)
{
    const char *argv[] = {bin, "--list", NULL};
    const char *env[] = {"LANG=C", NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = 30,
                            .out_cap = 256 * 1024,
                            .limits = true,
                            .sandbox = true};
    struct run_result r;
    char suite[256] = "";
    int errors = 0;

    if (run_child(&spec, &r) != 0)
        return 0;
    for (char *line = strtok(r.output, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strstr(line, ": ");
        char *name = strstr(line, "-- ");
        if (name == NULL)
            name = strstr(line, "\xe2\x94\x80 "); /* "─ " in UTF-8 */
        if (name == NULL && colon != NULL && strstr(colon, " test")) {
            snprintf(suite, sizeof(suite), "%.*s", (int)(colon - line), line);
            continue;
        }
        if (name == NULL)
            continue;
        name += name[0] == '-' ? 3 : 4;
        char *full = xasprintf("%s/%s", suite, name);
        bool listed = false;
        for (size_t i = 0; i < ch->nitems; i++)
            if (ch->items[i].kind == ITEM_TEST &&
                strcmp(ch->items[i].name, full) == 0)
                listed = true;
        if (!listed) {
            fprintf(stderr,
                    "%s: test '%s' is compiled in but not listed: add "
                    "it to the manifest with its points\n",
                    ch->manifest_path, full);
            errors++;
        }
        free(full);
    }
    run_result_free(&r);
    return errors ? -1 : 0;
}

/* ===================================================================== */
/* Benchmark                                                             */
/* ===================================================================== */

/* True when every test of exercise ex (of every exercise, when ex is NULL)
 * passed or was skipped. */
static bool
exercise_passed(const struct chapter *ch, const char *ex)
{
    for (size_t i = 0; i < ch->nitems; i++) {
        const struct item *it = &ch->items[i];
        if (it->kind == ITEM_TEST &&
            (ex == NULL || strcmp(it->exercise, ex) == 0) &&
            it->status != ST_PASS && it->status != ST_SKIP)
            return false;
    }
    return true;
}

/*
 * Reads "metric NAME VALUE" lines; fills the matching items. Returns false
 * when the keeper (shared/src/perfkit.c) saw a line that did not come from
 * the kit: then no metric of the run is trusted.
 */
static bool
take_metrics(struct chapter *ch, char *metrics)
{
    char *end = metrics + strlen(metrics);
    for (char *p = metrics; p < end; p++)
        if (*p == '\n')
            *p = '\0';
    for (char *line = metrics; line < end; line += strlen(line) + 1)
        if (strcmp(line, "forged") == 0)
            return false;
    for (char *line = metrics; line < end; line += strlen(line) + 1) {
        char name[128];
        double v;
        if (sscanf(line, "metric %127s %lf", name, &v) != 2)
            continue;
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            if ((it->kind == ITEM_PERF || it->kind == ITEM_INFO) &&
                strcmp(it->name, name) == 0 && !it->has_value) {
                it->value = v;
                it->has_value = true;
            }
        }
    }
    return true;
}

static void
run_bench(struct chapter *ch, const char *bin, const char *work,
          const struct grade_opts *o)
{
    bool wanted = false;

    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind != ITEM_PERF && it->kind != ITEM_INFO)
            continue;
        if (!exercise_passed(ch, it->exercise)) {
            it->status = ST_BLOCKED;
            set_str(&it->message, xasprintf("scores once every '%s' test "
                                            "passes",
                                            it->exercise));
        } else {
            wanted = true;
        }
    }
    if (!wanted)
        return; /* nothing could score: spare the student the wait */

    /*
     * The bench's files go to a directory of its own, removed with the
     * chapter's work directory: a bench killed at its time limit cannot
     * clean up after itself, and its files can be large (chapter 03 maps
     * a 1 GiB file).
     */
    char *tmp = xasprintf("%s/bench-tmp", work);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    const char *env[] = {env_tmp, NULL};
    char *runs = xasprintf("%d", ch->bench_runs);
    const char *argv[] = {bin, "--runs", runs, NULL};
    const char *writable[] = {tmp, NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = ch->bench_timeout,
                            .out_cap = BENCH_OUT_CAP,
                            .limits = true,
                            .channel = "IOLAB_METRICS_FD",
                            .mem_limit = MEM_LIMIT,
                            .sandbox = true,
                            .writable = writable};
    struct run_result r;

    progress(o, "  bench %s (%d runs)\n", ch->dir, ch->bench_runs);
    mkdir_p(tmp);
    run_sandbox_give(tmp);
    bool forged = false;
    if (run_child(&spec, &r) == 0) {
        forged = !take_metrics(ch, r.channel);
        char how[96];
        run_describe(r.status, how, sizeof(how));
        set_str(&ch->bench_log,
                xasprintf("%s%s%s", r.output,
                          r.timed_out ? "\n(the benchmark timed out)\n" : "",
                          WIFEXITED(r.status) && !WEXITSTATUS(r.status) ? ""
                                                                        : how));
        run_result_free(&r);
    }
    rm_tree(tmp);
    free(runs);
    free(env_tmp);
    free(tmp);

    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if ((it->kind != ITEM_PERF && it->kind != ITEM_INFO) ||
            it->status == ST_BLOCKED)
            continue;
        if (forged) {
            it->status = ST_FAIL;
            it->has_value = false;
            set_str(&it->message,
                    xasprintf("not trusted: something other than the "
                              "benchmark kit wrote to the metrics channel "
                              "(code under test may not report metrics)"));
        } else if (!it->has_value) {
            it->status = ST_MISSING;
            set_str(&it->message,
                    xasprintf("the benchmark reported no value "
                              "(see its output below the table)"));
        } else if (it->kind == ITEM_INFO) {
            it->status = ST_SHOWN;
        } else {
            bool ok = it->op == CMP_LE ? it->value <= it->threshold
                                       : it->value >= it->threshold;
            it->status = ok ? ST_PASS : ST_FAIL;
            if (!ok)
                set_str(
                    &it->message,
                    xasprintf("measured %g, needs %s %g", it->value,
                              it->op == CMP_LE ? "<=" : ">=", it->threshold));
        }
    }
}

/* ===================================================================== */
/* Memcheck and scoring                                                  */
/* ===================================================================== */

/* Valgrind makes each test 20 to 50 times slower; run them side by side. */
struct vg_pool {
    struct chapter *ch;
    const char *bin, *work;
    const struct grade_opts *o;
    const bool *skip; /* items that already have a verdict */
    size_t next;      /* index of the next item to take; atomic */
};

static void *
vg_worker(void *arg)
{
    struct vg_pool *p = arg;

    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->ch->nitems)
            return NULL;
        struct item *it = &p->ch->items[i];
        if (it->kind == ITEM_TEST && it->status != ST_SKIP &&
            !(p->skip && p->skip[i]))
            run_test(p->ch, it, p->bin, p->work, true, p->o);
    }
}

/*
 * Memcheck in one Valgrind run of the whole binary: one Valgrind start for
 * Criterion's runner and one per test process, where a run per test costs
 * two per test, and Criterion runs jobs tests at a time. The kit names each
 * test process's test in Valgrind's own report (tk_begin), which is how an
 * error is pinned on its test. Fills it->memcheck for every test that got
 * a verdict, and marks it in got[]; *runner gets a complaint about a
 * process that ran no test (the runner), or NULL.
 */
static void
memcheck_all(struct chapter *ch, const char *bin, const char *work, int jobs,
             bool *got, char **runner, const struct grade_opts *o)
{
    double total = 0;
    for (size_t i = 0; i < ch->nitems; i++)
        if (ch->items[i].kind == ITEM_TEST)
            total += ch->items[i].timeout * ch->memcheck_scale;
    char *dir = xasprintf("%s/memcheck", work);
    char *tmp = xasprintf("%s/tmp", dir);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    char *jarg = xasprintf("-j%d", jobs);
    const char *env[] = {env_tmp, "CRITERION_NO_EARLY_EXIT=1", NULL};
    const char *argv[] = {"valgrind", VG_OPTIONS, bin, jarg, NULL};
    const char *writable[] = {dir, NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = total / jobs + 60,
                            .out_cap = VG_OUT_CAP,
                            .limits = true,
                            .mem_limit = VG_MEM_LIMIT,
                            .channel = "IOLAB_RESULTS_FD",
                            .sandbox = true,
                            .writable = writable};
    struct run_result r;

    *runner = NULL;
    rm_tree(dir);
    mkdir_p(tmp);
    run_sandbox_give(dir);
    progress(o, "  valgrind: every test of %s, %d at a time\n", ch->dir, jobs);
    if (run_child(&spec, &r) == 0) {
        struct vg_proc *procs = xcalloc(VG_MAX_PROCS, sizeof(*procs));
        int n = r.truncated ? 0 : vg_parse(r.output, procs, VG_MAX_PROCS);
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            enum status st;
            char *msg = NULL, *where = NULL;
            if (it->kind != ITEM_TEST || it->status == ST_SKIP ||
                !grade_find_result(r.channel, it->name, &st, &msg, &where))
                continue;
            char *complaint = NULL;
            bool seen = false;
            for (int k = 0; k < n; k++)
                if (procs[k].test && strcmp(procs[k].test, it->name) == 0) {
                    seen = true;
                    if (complaint == NULL)
                        complaint = vg_complaint_of(r.output, &procs[k]);
                }
            if (st != ST_PASS && complaint == NULL)
                complaint =
                    xasprintf("the test did not pass under Valgrind: "
                              "%s%s%s",
                              status_name(st), msg ? ": " : "", msg ? msg : "");
            /* A verdict without its process in the report: run it alone. */
            if (seen || complaint != NULL) {
                set_str(&it->memcheck, complaint);
                got[i] = true;
            } else {
                free(complaint);
            }
            free(msg);
            free(where);
        }
        for (int k = 0; k < n && *runner == NULL; k++)
            if (procs[k].test == NULL)
                *runner = vg_complaint_of(r.output, &procs[k]);
        vg_free(procs, n);
        free(procs);
        run_result_free(&r);
    }
    rm_tree(dir);
    free(dir);
    free(tmp);
    free(env_tmp);
    free(jarg);
}

static void
run_memcheck(struct chapter *ch, struct item *mc, const char *bin,
             const char *work, const struct grade_opts *o)
{
    if (!o->force_memcheck && !exercise_passed(ch, NULL)) {
        mc->status = ST_BLOCKED;
        set_str(&mc->message, xasprintf("needs every test passing first"));
        return;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cpus < 1 ? 1 : cpus > VG_JOBS_MAX ? VG_JOBS_MAX : (int)cpus;
    if (!run_sandbox_parallel())
        jobs = 1;
    bool *got = xcalloc(ch->nitems, sizeof(*got));
    char *runner = NULL;
    /* IOLAB_MEMCHECK_PER_TEST=1: the old way, one run per test (to compare
     * times, or if a binary's tests disturb each other under Valgrind). */
    if (getenv("IOLAB_MEMCHECK_PER_TEST") == NULL)
        memcheck_all(ch, bin, work, jobs, got, &runner, o);

    /* Whatever the whole run left without a verdict runs alone. */
    struct vg_pool pool = {
        .ch = ch, .bin = bin, .work = work, .o = o, .skip = got};
    pthread_t th[VG_JOBS_MAX];
    int started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, vg_worker, &pool) != 0)
            break;
    if (started == 0)
        vg_worker(&pool);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(got);

    /* A failing test's leaks are the kit's as much as the student's: only
     * tests that pass count, and the report says how many were left out. */
    int dirty = 0, left_out = 0;
    const char *first = NULL;
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind != ITEM_TEST || it->memcheck == NULL)
            continue;
        if (it->status != ST_PASS) {
            left_out++;
            set_str(&it->memcheck, NULL);
        } else if (dirty++ == 0) {
            first = it->name;
        }
    }
    mc->status = dirty || runner ? ST_FAIL : ST_PASS;
    char *tail = left_out ? xasprintf(" (%d failing test%s left out)", left_out,
                                      left_out > 1 ? "s" : "")
                          : xstrdup("");
    if (dirty)
        set_str(&mc->message,
                xasprintf("%d test%s not clean under Valgrind, first %s (its "
                          "report is under that test)%s",
                          dirty, dirty > 1 ? "s were" : " was", first, tail));
    else if (runner)
        set_str(
            &mc->message,
            xasprintf("Valgrind found errors outside any test:\n%s", runner));
    else if (left_out)
        set_str(&mc->message, xasprintf("clean%s", tail));
    free(tail);
    free(runner);
}

static void
score(struct chapter *ch)
{
    ch->score = ch->max_score = 0;
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind == ITEM_INFO)
            continue;
        it->score = ch->gradable && it->status == ST_PASS ? it->points : 0;
        if (it->status != ST_SKIP)
            ch->max_score += it->points;
        ch->score += it->score;
    }
}

int
grade_chapter(struct chapter *ch, const struct grade_opts *o)
{
    char *tests = NULL, *bench = NULL;
    char *work = xasprintf("%s/work/%s", o->build_dir, ch->dir);
    int rc = 0;

    ch->gradable = build(ch, o, &tests, &bench);
    if (ch->gradable) {
        rc = check_listed(ch, tests);
        rm_tree(work);
        mkdir_p(work);
        for (size_t i = 0; i < ch->nitems; i++)
            if (ch->items[i].kind == ITEM_TEST && o->tests)
                run_test(ch, &ch->items[i], tests, work, false, o);
        if (o->perf)
            run_bench(ch, bench, work, o);
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            if (it->kind == ITEM_MEMCHECK && o->memcheck)
                run_memcheck(ch, it, tests, work, o);
        }
        rm_tree(work);
        struct snapshot now;
        const char *roots[] = {"build/course", built_obj, NULL};
        snap_take(roots, &now);
        set_str(&ch->tampered, snap_diff(&built, &now));
        snap_free(&now);
    }
    free(built_obj);
    built_obj = NULL;
    /* Whatever was not run says so. */
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->status == ST_PENDING) {
            it->status = ch->gradable ? ST_NOTRUN : ST_FAIL;
            set_str(&it->message,
                    xasprintf(ch->gradable  ? "not run this time "
                                              "(left out by an option)"
                              : ch->refused ? "the submission was refused"
                                            : "does not compile"));
        }
    }
    score(ch);
    free(tests);
    free(bench);
    free(work);
    return rc;
}

void
grade_skip(struct chapter *ch)
{
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        it->status = ST_NOTRUN;
        set_str(&it->message, xasprintf("not graded: the course changed "
                                        "while an earlier chapter was "
                                        "graded"));
    }
    score(ch);
}

void
grade_void(struct chapter *ch, const char *why)
{
    ch->gradable = false;
    ch->refused = true;
    set_str(&ch->build_log,
            xasprintf("the course changed while this chapter was graded "
                      "(%s): no result of it can be trusted",
                      why));
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        it->status = ST_FAIL;
        set_str(&it->message, xasprintf("void: the course changed during "
                                        "grading"));
    }
    score(ch);
}
