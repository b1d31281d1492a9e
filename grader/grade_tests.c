/*
 * grade_tests.c - the test step (grade_steps.h): every test in one run of
 * the whole binary, then each test that did not pass there in its own
 * process, its verdict read from the report hook's channel
 * (shared/src/tk_report.c); and the check that the manifest lists every
 * test compiled into the binary.
 */
#include "grade_steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "run.h"
#include "xalloc.h"

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

/*
 * Runs one test in its own process: the test binary, filtered to this one
 * test, optionally under Valgrind, in the sandbox. The verdict comes from
 * the channel that only Criterion's runner process holds (the report hook
 * in shared/src/tk_report.c); the test's own process never has it. Fills
 * it->status, message and where (or it->memcheck, under Valgrind).
 */
void
grade_run_test(struct chapter *ch, struct item *it, const char *bin,
               const char *work, bool valgrind, const struct grade_opts *o)
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
                            .nofile = ch->nofile,
                            .nproc = ch->nproc,
                            .channel = "IOLAB_RESULTS_FD",
                            .sandbox = true,
                            .writable = writable};
    struct run_result r;

    rm_tree(dir);
    mkdir_p(tmp);
    run_sandbox_give(dir);
    grade_progress(o, "  %s %s\n", valgrind ? "valgrind" : "test", it->name);

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
            complaint = grade_valgrind_complaint(r.output, r.truncated);
        run_result_free(&r);
    }

    if (valgrind) {
        if (st != ST_PASS && complaint == NULL)
            complaint =
                xasprintf("the test did not pass under Valgrind: "
                          "%s%s%s",
                          status_name(st), msg ? ": " : "", msg ? msg : "");
        grade_set_str(&it->memcheck, complaint);
        free(msg);
        free(where);
    } else {
        it->status = st;
        grade_set_str(&it->message, msg);
        grade_set_str(&it->where, where);
    }
    rm_tree(dir);
    free(dir);
    free(tmp);
    free(timeout);
    free(env_tmp);
}

/*
 * Tests at once in the whole run: two a CPU, at most ALL_JOBS_MAX. The
 * tests mostly wait (on sockets, timers, children): chapter 02's took
 * 6.7 s at two at a time and 3.8 s at four on two CPUs. A test that a
 * crowded run makes fail costs time, never points: it runs again alone.
 */
#define ALL_JOBS_MAX 4
/*
 * Seconds the whole run may take beyond one test's limit. The references
 * need 2 to 13 s at a load of 7 on two cores; a run that takes longer
 * (a hang: Criterion 2.4.1's own --timeout does not stop a test here)
 * costs this once, and its tests then run alone.
 */
#define ALL_BUDGET 30.0
/* The whole run's output kept (verdicts travel on the channel, not in it). */
#define ALL_OUT_CAP 65536

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int
grade_run_whole(const struct chapter *ch, const char *const *argv,
                const char *dir, double timeout, double silence, size_t out_cap,
                size_t mem_limit, struct run_result *r)
{
    char *tmp = xasprintf("%s/tmp", dir);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp);
    const char *env[] = {env_tmp, "CRITERION_NO_EARLY_EXIT=1", NULL};
    const char *writable[] = {dir, NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = timeout,
                            .silence = silence,
                            .out_cap = out_cap,
                            .limits = true,
                            .mem_limit = mem_limit,
                            .nofile = ch->nofile,
                            .nproc = ch->nproc,
                            .channel = "IOLAB_RESULTS_FD",
                            .sandbox = true,
                            .writable = writable};

    rm_tree(dir);
    mkdir_p(tmp);
    run_sandbox_give(dir);
    int rc = run_child(&spec, r);
    free(tmp);
    free(env_tmp);
    return rc;
}

void
grade_tests_all(struct chapter *ch, const char *bin, const char *work,
                bool *got, const struct grade_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cpus < 1                  ? 1
               : cpus * 2 > ALL_JOBS_MAX ? ALL_JOBS_MAX
                                         : (int)cpus * 2;
    double total = 0, *limits = xcalloc(ch->nitems, sizeof(*limits));
    size_t n = 0;

    for (size_t i = 0; i < ch->nitems; i++) {
        const struct item *it = &ch->items[i];
        if (it->kind != ITEM_TEST || !grade_selects(o, it->name))
            continue;
        total += it->timeout;
        limits[n++] = it->timeout;
    }
    /*
     * Each test of the whole run may take the median of the tests' limits,
     * and the whole run ALL_BUDGET seconds more. The report hook writes a
     * line as each test ends (a pass or a skip is final then), so the run
     * is also stopped when no test has ended for that median: a hang then
     * costs one test's limit, not the budget. A run stopped so keeps the
     * passes it wrote and leaves the rest to run alone, each with its own
     * limit.
     */
    qsort(limits, n, sizeof(*limits), cmp_double);
    double each = n > 0 ? limits[n / 2] : 0;
    free(limits);
    /* Nothing to gain over one run a test: one test, or a chosen few
     * (Criterion filters on one pattern), or runs that may not overlap. */
    if (n < 2 || o->only_tests != NULL || !run_sandbox_parallel())
        return;
    char *dir = xasprintf("%s/all", work);
    char *jarg = xasprintf("-j%d", jobs);
    char *timeout = xasprintf("%g", each);
    const char *argv[] = {bin, jarg, "--timeout", timeout, NULL};
    struct run_result r;

    grade_progress(o, "  tests: every test of %s, %d at a time\n", ch->dir,
                   jobs);
    double limit = total / jobs < ALL_BUDGET ? total / jobs : ALL_BUDGET;
    if (grade_run_whole(ch, argv, dir, limit + each + KILL_SLACK,
                        each + KILL_SLACK, ALL_OUT_CAP, MEM_LIMIT, &r) == 0) {
        for (size_t i = 0; i < ch->nitems; i++) {
            struct item *it = &ch->items[i];
            enum status st;
            char *msg = NULL, *where = NULL;
            if (it->kind != ITEM_TEST || !grade_selects(o, it->name) ||
                !grade_find_result(r.channel, it->name, &st, &msg, &where))
                continue;
            if (st == ST_PASS || st == ST_SKIP) {
                it->status = st;
                grade_set_str(&it->message, msg);
                grade_set_str(&it->where, where);
                got[i] = true;
            } else {
                free(msg);
                free(where);
            }
        }
        run_result_free(&r);
    }
    rm_tree(dir);
    free(dir);
    free(jarg);
    free(timeout);
}

/*
 * Lists the tests compiled into bin and reports every one the manifest
 * does not list: an author error. The list comes from the test kit's
 * report hook (shared/src/tk_report.c): with $IOLAB_LIST_TESTS=1 the
 * runner writes one "suite/name" per line to the results channel and runs
 * no test. Nothing is parsed out of Criterion's own output.
 */
int
grade_check_listed(const struct chapter *ch, const char *bin)
{
    const char *argv[] = {bin, NULL};
    const char *env[] = {"IOLAB_LIST_TESTS=1", NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = 30,
                            .out_cap = 64 * 1024,
                            .limits = true,
                            .channel = "IOLAB_RESULTS_FD",
                            .sandbox = true};
    struct run_result r;
    int errors = 0;

    if (run_child(&spec, &r) != 0)
        return 0;
    for (char *save = NULL, *full = strtok_r(r.channel, "\n", &save); full;
         full = strtok_r(NULL, "\n", &save)) {
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
    }
    run_result_free(&r);
    return errors ? -1 : 0;
}
