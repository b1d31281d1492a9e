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
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define BUILD_TIMEOUT 600 /* seconds for make: a cold build is ~10 s */
#define BUILD_LOG_CAP (64 * 1024)
#define TEST_OUT_CAP (16 * 1024) /* what a failing test may show */
#define BENCH_OUT_CAP (32 * 1024)
/*
 * The grader's own kill is the time limit: Criterion 2.4.1 ignores its
 * --timeout option (passed anyway), so only start-up time is added.
 */
#define KILL_SLACK 0.5
#define VG_LOG_LINES 40 /* lines of a Valgrind complaint kept */
#define VG_JOBS_MAX 4   /* Valgrind runs at once, at most */
/*
 * Address space for a test or a benchmark: far above what any exercise
 * needs (thread stacks are reserved, not used), low enough that a runaway
 * allocation fails in the child instead of swapping the machine. Valgrind
 * reserves huge mappings of its own, so it runs without this limit.
 */
#define MEM_LIMIT ((size_t)4 << 30)

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "iolab-grade: out of memory\n");
        exit(2);
    }
    return s;
}

static void
set_str(char **dst, char *s)
{
    free(*dst);
    *dst = s;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
mkdir_p(const char *path)
{
    char *p = xasprintf("%s", path);

    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    int rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
    free(p);
    return rc;
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;

    if (f == NULL)
        return NULL;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(mem);
    fclose(f);
    return buf;
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

static bool
build(struct chapter *ch, const struct grade_opts *o, const char *bdir)
{
    char *srcdir = xasprintf("%s/%s/src", o->tree, ch->dir);
    struct stat st;

    if (stat(srcdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_str(&ch->build_log, xasprintf("%s: no such directory: the tree "
                                          "must be laid out like chapters/",
                                          srcdir));
        free(srcdir);
        return false;
    }
    free(srcdir);

    char *tree_arg = xasprintf("TREE=%s", o->tree);
    char *b_arg = xasprintf("B=%s", bdir);
    char *tests = xasprintf("%s/%s/tests", bdir, ch->dir);
    char *bench = xasprintf("%s/%s/bench", bdir, ch->dir);
    const char *argv[] = {"make",
                          "-s",
                          "--no-print-directory",
                          "-j2",
                          tree_arg,
                          b_arg,
                          o->werror ? "WERROR=1" : "WERROR=0",
                          tests,
                          bench,
                          NULL};
    struct run_spec spec = {.argv = argv,
                            .timeout = BUILD_TIMEOUT,
                            .out_cap = BUILD_LOG_CAP,
                            .limits = true};
    struct run_result r;
    bool ok = false;

    progress(o, "  building %s from %s\n", ch->dir, o->tree);
    if (run_child(&spec, &r) != 0) {
        set_str(&ch->build_log,
                xasprintf("cannot run make: %s", strerror(errno)));
    } else {
        ok = !r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
        if (!ok)
            set_str(&ch->build_log,
                    xasprintf("%s%s", r.output,
                              r.timed_out ? "\n(the build timed out)" : ""));
        run_result_free(&r);
    }
    free(tree_arg);
    free(b_arg);
    free(tests);
    free(bench);
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
            char *copy = xasprintf("%.*s", (int)llen, line);
            char *f[4] = {NULL};
            char *p = copy;
            for (int i = 0; i < 4; i++) {
                f[i] = p;
                p = p ? strchr(p, '\t') : NULL;
                if (p)
                    *p++ = '\0';
            }
            *st = f[1] ? parse_status(f[1]) : ST_MISSING;
            *message = f[2] && *f[2] ? xasprintf("%s", f[2]) : NULL;
            *where = f[3] && *f[3] ? xasprintf("%s", f[3]) : NULL;
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

/* Checks a directory of Valgrind logs; returns the first complaint or NULL. */
static char *
valgrind_complaint(const char *dir)
{
    DIR *d = opendir(dir);
    char *complaint = NULL;

    if (d == NULL)
        return xasprintf("no Valgrind logs in %s", dir);
    for (struct dirent *e; complaint == NULL && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "vg.", 3) != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        char *log = read_file(path);
        free(path);
        if (log == NULL)
            continue;
        const char *sum = strstr(log, "ERROR SUMMARY: ");
        if (sum != NULL && strtol(sum + 15, NULL, 10) > 0) {
            /* Keep the report without Valgrind's banner and pid prefixes. */
            char *out = NULL;
            size_t olen = 0;
            FILE *m = open_memstream(&out, &olen);
            int kept = 0;
            char *save = NULL;
            for (char *line = strtok_r(log, "\n", &save);
                 line && kept < VG_LOG_LINES;
                 line = strtok_r(NULL, "\n", &save)) {
                char *body = line;
                if (line[0] == '=' && line[1] == '=') {
                    body = strstr(line + 2, "== ");
                    body = body ? body + 3 : line;
                }
                if (*body == '\0' || strstr(body, "Copyright") ||
                    strstr(body, "Parent PID:") ||
                    strstr(body, "HEAP SUMMARY:") ||
                    strstr(body, "in use at exit:") ||
                    strstr(body, "total heap usage:") ||
                    strstr(body, "Memcheck, a memory") ||
                    strstr(body, "Using Valgrind") ||
                    strstr(body, "Command:") || strstr(body, "rerun with") ||
                    strstr(body, "For lists of"))
                    continue;
                fprintf(m, "%s\n", body);
                kept++;
            }
            fclose(m);
            complaint = out;
        }
        free(log);
    }
    closedir(d);
    return complaint;
}

/*
 * Runs one test in its own process: the test binary, filtered to this one
 * test, optionally under Valgrind. Fills it->status, message and where.
 */
static void
run_test(struct chapter *ch, struct item *it, const char *bin, const char *work,
         bool valgrind, const struct grade_opts *o)
{
    double scale = valgrind ? ch->memcheck_scale : 1.0;
    double limit = it->timeout * scale;
    char *dir = xasprintf("%s/%s", work, it->name); /* suite/name: 2 levels */
    char *results = xasprintf("%s/results", dir);
    char *tmp = xasprintf("%s/tmp", dir);
    char *vgdir = xasprintf("%s/vg", dir);
    char *vglog = xasprintf("--log-file=%s/vg.%%p", vgdir);
    char *timeout = xasprintf("%g", limit);
    char *env_results = xasprintf("IOLAB_RESULTS=%s", results);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    const char *env[] = {env_results, env_tmp, "CRITERION_NO_EARLY_EXIT=1",
                         NULL};
    char *supp = xasprintf("--suppressions=%s", "grader/valgrind.supp");
    const char *plain[] = {bin,         "--filter", it->name, "-j1",
                           "--timeout", timeout,    NULL};
    const char *vg[] = {"valgrind",
                        "--trace-children=yes",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--show-leak-kinds=definite,indirect",
                        "--num-callers=20",
                        "--fair-sched=try",
                        supp,
                        vglog,
                        bin,
                        "--filter",
                        it->name,
                        "-j1",
                        "--timeout",
                        timeout,
                        NULL};
    struct run_spec spec = {.argv = valgrind ? vg : plain,
                            .env = env,
                            .timeout = limit + KILL_SLACK * scale,
                            .out_cap = TEST_OUT_CAP,
                            .limits = true,
                            .mem_limit = valgrind ? 0 : MEM_LIMIT};
    struct run_result r;

    rm_tree(dir);
    mkdir_p(tmp);
    if (valgrind)
        mkdir_p(vgdir);
    progress(o, "  %s %s\n", valgrind ? "valgrind" : "test", it->name);

    enum status st = ST_MISSING;
    char *msg = NULL, *where = NULL;
    if (run_child(&spec, &r) != 0) {
        msg = xasprintf("cannot start the test binary: %s", strerror(errno));
    } else {
        char *res = read_file(results);
        if (res != NULL &&
            grade_find_result(res, it->name, &st, &msg, &where)) {
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
            msg = xasprintf("no result: the test runner ended with %s%s%s", how,
                            *r.output ? "; its output:\n" : "", r.output);
        }
        free(res);
        run_result_free(&r);
    }

    if (valgrind) {
        char *complaint = valgrind_complaint(vgdir);
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
    free(results);
    free(tmp);
    free(vgdir);
    free(vglog);
    free(timeout);
    free(env_results);
    free(env_tmp);
    free(supp);
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
                            .limits = true};
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

/* Reads "metric NAME VALUE" lines; fills the matching items. */
static void
take_metrics(struct chapter *ch, char *metrics)
{
    for (char *line = strtok(metrics, "\n"); line; line = strtok(NULL, "\n")) {
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
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = ch->bench_timeout,
                            .out_cap = BENCH_OUT_CAP,
                            .limits = true,
                            .metrics = true,
                            .mem_limit = MEM_LIMIT};
    struct run_result r;

    progress(o, "  bench %s (%d runs)\n", ch->dir, ch->bench_runs);
    mkdir_p(tmp);
    if (run_child(&spec, &r) == 0) {
        take_metrics(ch, r.metrics);
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
        if (!it->has_value) {
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
    size_t next; /* index of the next item to take; atomic */
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
        if (it->kind == ITEM_TEST && it->status != ST_SKIP)
            run_test(p->ch, it, p->bin, p->work, true, p->o);
    }
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
    struct vg_pool pool = {.ch = ch, .bin = bin, .work = work, .o = o};
    pthread_t th[VG_JOBS_MAX];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cpus < 1 ? 1 : cpus > VG_JOBS_MAX ? VG_JOBS_MAX : (int)cpus;
    int started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, vg_worker, &pool) != 0)
            break;
    if (started == 0)
        vg_worker(&pool);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    int dirty = 0;
    const char *first = NULL;
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->kind == ITEM_TEST && it->memcheck != NULL && dirty++ == 0)
            first = it->name;
    }
    mc->status = dirty ? ST_FAIL : ST_PASS;
    if (dirty)
        set_str(&mc->message,
                xasprintf("%d test%s not clean under Valgrind, first %s (its "
                          "report is under that test)",
                          dirty, dirty > 1 ? "s were" : " was", first));
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
    char *tests = xasprintf("%s/%s/tests", o->build_dir, ch->dir);
    char *bench = xasprintf("%s/%s/bench", o->build_dir, ch->dir);
    char *work = xasprintf("%s/%s/work", o->build_dir, ch->dir);
    int rc = 0;

    ch->gradable = build(ch, o, o->build_dir);
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
    }
    /* Whatever was not run says so. */
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        if (it->status == ST_PENDING) {
            it->status = ch->gradable ? ST_NOTRUN : ST_FAIL;
            set_str(&it->message,
                    xasprintf(ch->gradable ? "not run this time "
                                             "(left out by an option)"
                                           : "does not compile"));
        }
    }
    score(ch);
    free(tests);
    free(bench);
    free(work);
    return rc;
}
