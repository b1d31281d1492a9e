/*
 * grade_memcheck.c - the memcheck step (grade_steps.h): the tests again
 * under Valgrind, first in one run of the whole binary, then each test
 * the whole run left without a verdict alone; and reading Valgrind's
 * report, process by process, out of a run's output.
 *
 * Sections: Valgrind's report; the runs.
 */
#include "grade_steps.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "run.h"
#include "sbuf.h"
#include "xalloc.h"

#define VG_LOG_LINES 40 /* lines of a Valgrind complaint kept */
#define VG_JOBS_MAX 4   /* Valgrind runs at once, at most */
#define VG_MAX_PROCS 512

/* ===================================================================== */
/* Valgrind's report                                                     */
/* ===================================================================== */

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
char *
grade_valgrind_complaint(const char *output, bool truncated)
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

/* ===================================================================== */
/* The runs                                                              */
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
            grade_run_test(p->ch, it, p->bin, p->work, true, p->o);
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
    char *jarg = xasprintf("-j%d", jobs);
    const char *argv[] = {"valgrind", VG_OPTIONS, bin, jarg, NULL};
    struct run_result r;

    *runner = NULL;
    grade_progress(o, "  valgrind: every test of %s, %d at a time\n", ch->dir,
                   jobs);
    if (grade_run_whole(ch, argv, dir, total / jobs + 60, 0, VG_OUT_CAP,
                        VG_MEM_LIMIT, &r) == 0) {
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
                grade_set_str(&it->memcheck, complaint);
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
    free(jarg);
}

void
grade_memcheck(struct chapter *ch, struct item *mc, const char *bin,
               const char *work, const struct grade_opts *o)
{
    if (!o->force_memcheck && !grade_exercise_passed(ch, NULL)) {
        mc->status = ST_BLOCKED;
        grade_set_str(&mc->message,
                      xasprintf("needs every test passing first"));
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
            grade_set_str(&it->memcheck, NULL);
        } else if (dirty++ == 0) {
            first = it->name;
        }
    }
    mc->status = dirty || runner ? ST_FAIL : ST_PASS;
    char *tail = left_out ? xasprintf(" (%d failing test%s left out)", left_out,
                                      left_out > 1 ? "s" : "")
                          : xstrdup("");
    if (dirty)
        grade_set_str(
            &mc->message,
            xasprintf("%d test%s not clean under Valgrind, first %s (its "
                      "report is under that test)%s",
                      dirty, dirty > 1 ? "s were" : " was", first, tail));
    else if (runner)
        grade_set_str(
            &mc->message,
            xasprintf("Valgrind found errors outside any test:\n%s", runner));
    else if (left_out)
        grade_set_str(&mc->message, xasprintf("clean%s", tail));
    free(tail);
    free(runner);
}
