/*
 * grade_build.c - the build step (grade_steps.h): the student's files are
 * staged afresh, the course's objects built (or reused when built with the
 * same flags), the student's objects compiled in the sandbox and
 * inspected (submission.h), and only then is anything linked.
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
#include "submission.h"
#include "xalloc.h"

#define BUILD_TIMEOUT 600 /* seconds for make: a cold build is ~10 s */
#define STR_(x) #x
#define STR(x) STR_(x)
/* Address space for the compiler on a submission: far above what cc1 needs
 * for a course file, low enough that #include "/dev/zero" fails fast. */
#define BUILD_MEM_LIMIT ((size_t)2 << 30)
#define BUILD_LOG_CAP (64 * 1024)

/* Runs make with args; on failure sets ch->build_log from its output. */
static bool
run_make(struct chapter *ch, const char *const *args, const char *target,
         const char *const *writable)
{
    /* As many jobs as the machine has CPUs online (at least one). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char jobs[32];
    snprintf(jobs, sizeof(jobs), "-j%ld", cpus < 1 ? 1L : cpus);
    const char *argv[16] = {"make", "-s", "--no-print-directory", jobs};
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
                            .writable = writable,
                            .build = true};
    struct run_result r;
    bool ok = false;

    if (run_child(&spec, &r) != 0) {
        grade_set_str(&ch->build_log,
                      xasprintf("cannot run make: %s", strerror(errno)));
        return false;
    }
    ok = !r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
    if (!ok)
        grade_set_str(
            &ch->build_log,
            xasprintf("%s%s", r.output,
                      r.timed_out ? "\n(the build ran out of time: "
                                    "it is limited to " STR(BUILD_TIMEOUT) " s)"
                                  : ""));
    run_result_free(&r);
    return ok;
}

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
bool
grade_build(struct chapter *ch, const struct grade_opts *o, char **tests,
            char **bench, struct snapshot *built, char **built_obj)
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
        grade_set_str(&ch->build_log, msg);
        goto out;
    }
    mkdir_p(stage_src);
    grade_progress(o, "  building %s from %s\n", ch->dir, o->tree);
    if (sub_stage(o->tree, ch->dir, &cf, stage_src, &msg, &note) != 0) {
        grade_set_str(&ch->build_log, msg);
        ch->refused = true;
        goto out_files;
    }
    grade_set_str(&ch->notes, note);
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
        grade_set_str(&ch->build_log, msg);
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
        snap_take(roots, built);
        *built_obj = xstrdup(obj_ch);
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
