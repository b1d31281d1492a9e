/*
 * main.c - iolab-grade, the course's grader: options, chapter discovery,
 * and the exit status. The work is in grade.c (grade.h); the reports are
 * report.h's.
 *
 * Run from the course root (the Makefile does): the grade.manifest of each
 * chapter says what is graded; --tree says whose code is graded.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "grade.h"
#include "grader.h"
#include "integrity.h"
#include "report.h"
#include "run.h"
#include "xalloc.h"

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: iolab-grade [options]\n"
        "  --tree DIR        grade DIR, laid out like chapters/ (default "
        "chapters)\n"
        "  --ch N            only chapter N (01, or 01-blocking-io)\n"
        "  --json FILE       also write Gradescope's results.json to FILE\n"
        "  --junit FILE      also write JUnit XML to FILE\n"
        "  --only WHAT       tests, perf or memcheck (memcheck runs even if "
        "tests fail)\n"
        "  --test NAME       only the test NAME (suite/test); repeatable;\n"
        "                    the other tests are not run (for bisecting,\n"
        "                    and for grader/mutants.sh)\n"
        "  --no-perf         skip the benchmarks\n"
        "  --fail-fast       stop the tests at the first that fails (the\n"
        "                    rest are not run; make check)\n"
        "  --no-memcheck     skip Valgrind\n"
        "  --calibrate       show each metric's margin against its threshold\n"
        "  --min-score P     exit 1 unless the total reaches P percent\n"
        "  --strict          exit 1 if any chapter is not gradable\n"
        "  --werror          build with -Werror\n"
        "  --color WHEN      auto (default), always or never\n"
        "  --no-color        the same as --color never\n"
        "  --quiet           no progress lines\n"
        "  --check-readme    check each README's grading table against its "
        "manifest\n"
        "  --print-table     print each chapter's grading table (Markdown)\n"
        "Exit status: 0 when grading ran; 1 for --min-score or --strict;\n"
        "4 when the course changed during grading (no result is valid);\n"
        "2 for bad usage or a broken manifest; 3 for a manifest that\n"
        "misses a compiled-in test.\n");
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does --ch ARG name chapter dir? "01", "1", "01-blocking-io", "01-blo". */
static bool
chapter_matches(const char *dir, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (end != arg && *end == '\0')
        return n == strtol(dir, NULL, 10);
    return strncmp(dir, arg, strlen(arg)) == 0;
}

/* Chapter directories under chapters/ with a manifest, sorted. */
static size_t
find_chapters(const char *only, char ***out)
{
    DIR *d = opendir("chapters");
    char **v = NULL;
    size_t n = 0;

    if (d == NULL) {
        fprintf(stderr, "iolab-grade: no chapters/ here: run me from the "
                        "course root (make grade does)\n");
        exit(2);
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[512];
        struct stat st;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (only && *only && !chapter_matches(e->d_name, only))
            continue;
        snprintf(path, sizeof(path), "chapters/%s/grade.manifest", e->d_name);
        if (stat(path, &st) != 0)
            continue;
        v = xreallocarray(v, n + 1, sizeof(*v));
        v[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    return n;
}

/*
 * The canary: a directory anyone may write, so that only the sandbox's
 * read-only course keeps code under test out of it, whoever runs the
 * grader. Each grader has its own, build/sandbox-canary/PID, so that two
 * graders of one checkout (two terminals, mutants in parallel) never see
 * each other's as a change; those of graders that are gone are removed.
 */
static const char *
make_canary(void)
{
    static char path[64];
    DIR *d;
    struct dirent *e;

    mkdir("build", 0755);
    mkdir("build/sandbox-canary", 0755);
    if ((d = opendir("build/sandbox-canary")) != NULL) {
        while ((e = readdir(d)) != NULL) {
            long pid = strtol(e->d_name, NULL, 10);
            if (pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
                snprintf(path, sizeof(path), "build/sandbox-canary/%ld", pid);
                rm_tree(path);
            }
        }
        closedir(d);
    }
    snprintf(path, sizeof(path), "build/sandbox-canary/%ld", (long)getpid());
    rm_tree(path);
    mkdir(path, 0777);
    chmod(path, 01777);
    return path;
}

/* Does tree hold at least one NN-* directory? */
static bool
has_chapter_dirs(const char *tree)
{
    DIR *d = opendir(tree);
    bool found = false;

    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;)
        found = e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
                e->d_name[1] >= '0' && e->d_name[1] <= '9' &&
                e->d_name[2] == '-';
    if (d)
        closedir(d);
    return found;
}

/* A build directory name for a tree: chapters, solutions, or its path. */
static char *
build_dir_for(const char *tree)
{
    char real[4096], cwd[4096];

    if (realpath(tree, real) == NULL || getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    size_t clen = strlen(cwd);
    const char *rel = strncmp(real, cwd, clen) == 0 && real[clen] == '/'
                          ? real + clen + 1
                          : real + 1;
    char *tag = xasprintf("build/grade/%s", rel);
    /* One directory level, and nothing make or the shell would split. */
    for (char *p = tag + strlen("build/grade/"); *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            *p = '_';
    return tag;
}

/*
 * Two gradings of one tree would share its build directory and remove
 * each other's work: the second waits for the first. The lock is a file
 * in the directory (so whoever removes a build removes its lock too),
 * held for the process's life (flock(2) lets go when the grader dies,
 * however it dies) and closed on exec, so no code under test holds it.
 * Anything but a plain file in its place (code under test may have
 * written there) is removed first. Returns 0, or -1 with errno set.
 */
static int
lock_build_dir(const char *bdir)
{
    if (mkdir_p(bdir) != 0)
        return -1;
    char *path = xasprintf("%s/.lock", bdir);
    int fd = -1;
    for (int tries = 0; fd == -1 && tries < 2; tries++) {
        struct stat st;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                  0644);
        if (fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            break;
        if (fd != -1)
            close(fd);
        fd = -1;
        rm_tree(path);
    }
    free(path);
    if (fd == -1)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0; /* fd stays open until the grader exits */
    if (errno != EWOULDBLOCK) {
        close(fd);
        return -1;
    }
    fprintf(stderr,
            "iolab-grade: waiting for another grading of this tree to end "
            "(it uses %s)\n",
            bdir);
    int rc;
    while ((rc = flock(fd, LOCK_EX)) == -1 && errno == EINTR)
        ;
    if (rc == -1)
        close(fd);
    return rc;
}

/* True when path is a directory (not a symlink) of this process's user. */
static bool
own_dir(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
           st.st_uid == geteuid();
}

/*
 * Keeps each chapter's results in BDIR/last/NN-slug.json (make progress
 * reads them). Code under test may have written in BDIR while it ran, so
 * nothing there is followed: a last/ that is not our own directory is
 * removed first, and each file is written under a fresh name and renamed
 * into place (a rename replaces a symlink, never writes through it).
 */
static void
save_last(const char *bdir, const struct chapter *chs, size_t n)
{
    char *last = xasprintf("%s/last", bdir);

    if (own_dir(bdir)) {
        if (!own_dir(last))
            rm_tree(last);
        mkdir(last, 0755);
    }
    for (size_t i = 0; own_dir(last) && i < n; i++) {
        char *tmp = xasprintf("%s/.%s.json.tmp", last, chs[i].dir);
        char *path = xasprintf("%s/%s.json", last, chs[i].dir);
        unlink(tmp);
        if (report_json(tmp, &chs[i], 1, -1) != 0 || rename(tmp, path) != 0)
            fprintf(stderr, "iolab-grade: cannot keep the results in %s\n",
                    path);
        free(tmp);
        free(path);
    }
    free(last);
}

/* Seconds since the first call (the grading's wall time for reports). */
static double
elapsed_s(void)
{
    static struct timespec t0;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (t0.tv_sec == 0 && t0.tv_nsec == 0)
        t0 = now;
    return (double)(now.tv_sec - t0.tv_sec) +
           (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
}

int
main(int argc, char **argv)
{
    elapsed_s();
    static const struct option longopts[] = {
        {"tree", required_argument, NULL, 't'},
        {"ch", required_argument, NULL, 'c'},
        {"json", required_argument, NULL, 'j'},
        {"junit", required_argument, NULL, 'x'},
        {"only", required_argument, NULL, 'o'},
        {"test", required_argument, NULL, 'S'},
        {"no-perf", no_argument, NULL, 'P'},
        {"fail-fast", no_argument, NULL, 'F'},
        {"no-memcheck", no_argument, NULL, 'M'},
        {"calibrate", no_argument, NULL, 'C'},
        {"min-score", required_argument, NULL, 'm'},
        {"strict", no_argument, NULL, 's'},
        {"werror", no_argument, NULL, 'W'},
        {"color", required_argument, NULL, 'k'},
        {"no-color", no_argument, NULL, 'N'},
        {"quiet", no_argument, NULL, 'q'},
        {"check-readme", no_argument, NULL, 'R'},
        {"print-table", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct grade_opts o = {.tree = "chapters",
                           .tests = true,
                           .perf = true,
                           .memcheck = true,
                           .progress = true};
    struct report_opts ro = {.color = isatty(STDOUT_FILENO)};
    const char *only_ch = NULL, *json = NULL, *junit = NULL;
    const char **only_tests = NULL;
    size_t nonly = 0;
    double min_score = -1;
    bool strict = false, readme = false, table = false;
    int c;

    /* A make that runs us must not hand its jobserver to our make. */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    if (getenv("NO_COLOR") != NULL)
        ro.color = false;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            o.tree = optarg;
            break;
        case 'c':
            only_ch = optarg;
            break;
        case 'j':
            json = optarg;
            break;
        case 'x':
            junit = optarg;
            break;
        case 'S':
            only_tests =
                xreallocarray(only_tests, nonly + 2, sizeof(*only_tests));
            only_tests[nonly++] = optarg;
            only_tests[nonly] = NULL;
            o.only_tests = only_tests;
            break;
        case 'P':
            o.perf = false;
            break;
        case 'F':
            o.fail_fast = true;
            ro.brief = true;
            break;
        case 'M':
            o.memcheck = false;
            break;
        case 'C':
            ro.calibrate = true;
            o.memcheck = false;
            break;
        case 's':
            strict = true;
            break;
        case 'W':
            o.werror = true;
            break;
        case 'q':
            o.progress = false;
            break;
        case 'N':
            ro.color = false;
            break;
        case 'R':
            readme = true;
            break;
        case 'T':
            table = true;
            break;
        case 'm': {
            char *end;
            min_score = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || min_score < 0 ||
                min_score > 100) {
                fprintf(stderr,
                        "iolab-grade: --min-score takes a percentage "
                        "from 0 to 100, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'o':
            if (strcmp(optarg, "tests") == 0) {
                o.perf = o.memcheck = false;
            } else if (strcmp(optarg, "perf") == 0) {
                o.memcheck = false;
            } else if (strcmp(optarg, "memcheck") == 0) {
                o.perf = false;
                o.force_memcheck = true;
            } else {
                fprintf(stderr,
                        "iolab-grade: --only takes tests, perf or memcheck\n");
                return 2;
            }
            break;
        case 'k':
            if (strcmp(optarg, "always") == 0) {
                ro.color = true;
            } else if (strcmp(optarg, "never") == 0) {
                ro.color = false;
            } else if (strcmp(optarg, "auto") != 0) {
                fprintf(stderr,
                        "iolab-grade: --color takes auto, always or "
                        "never, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    char **dirs;
    size_t n = find_chapters(only_ch, &dirs);
    if (n == 0) {
        fprintf(stderr, "iolab-grade: no chapter matches '%s'\n",
                only_ch ? only_ch : "");
        return 2;
    }
    struct chapter *chs = xcalloc(n, sizeof(*chs));
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "chapters/%s/grade.manifest", dirs[i]);
        if (manifest_load(path, &chs[i]) != 0)
            return 2;
        if (strcmp(chs[i].dir, dirs[i]) != 0) {
            fprintf(stderr, "%s: the chapter line names '%s'\n", path,
                    chs[i].dir);
            return 2;
        }
    }

    /* Every --test names a test of a chapter being graded. */
    for (size_t t = 0; t < nonly; t++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            for (size_t k = 0; k < chs[i].nitems && !found; k++)
                found = chs[i].items[k].kind == ITEM_TEST &&
                        strcmp(chs[i].items[k].name, only_tests[t]) == 0;
        if (!found) {
            fprintf(stderr,
                    "iolab-grade: no test '%s' in the chapters graded "
                    "(names are suite/test, as in the grading table)\n",
                    only_tests[t]);
            return 2;
        }
    }

    if (readme || table) {
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (table) {
                char *t = report_grading_table(&chs[i]);
                printf("%s", t);
                free(t);
            } else if (report_check_readme(&chs[i]) != 0) {
                bad++;
            }
        }
        return bad ? 1 : 0;
    }

    struct stat st;
    /* A student's checkout (a directory with chapters/ inside) is fine. */
    char *checkout = xasprintf("%s/chapters", o.tree);
    if (stat(checkout, &st) == 0 && S_ISDIR(st.st_mode) &&
        !has_chapter_dirs(o.tree)) {
        grade_progress(&o, "grading %s (the chapters of the checkout %s)\n",
                       checkout, o.tree);
        o.tree = checkout;
    }
    if (stat(o.tree, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "iolab-grade: %s: not a directory (expected a tree "
                "laid out like chapters/)\n",
                o.tree);
        return 2;
    }
    if (strpbrk(o.tree, " \t\n:#$'\"\\") != NULL) {
        fprintf(stderr,
                "iolab-grade: %s: make cannot build from a path with "
                "spaces or shell characters; copy or link the tree to a plain "
                "path first\n",
                o.tree);
        return 2;
    }
    char *bdir = build_dir_for(o.tree);
    if (bdir == NULL) {
        fprintf(stderr, "iolab-grade: %s: %s\n", o.tree, strerror(errno));
        return 2;
    }
    o.build_dir = bdir;
    if (lock_build_dir(bdir) != 0) {
        fprintf(stderr, "iolab-grade: %s/.lock: %s\n", bdir, strerror(errno));
        return 2;
    }
    if (!has_chapter_dirs(o.tree)) {
        fprintf(stderr,
                "iolab-grade: %s has no chapter directories (01-blocking-io, "
                "...): give the directory that holds them, or a checkout of "
                "the course\n",
                o.tree);
        return 2;
    }
    /*
     * The reports' destinations are checked now, not after minutes of
     * grading, and hold a verdict of failure until grading ends: if the
     * grader is killed, the report says so instead of staying stale.
     */
    if ((json && report_unfinished_json(json) != 0) ||
        (junit && report_unfinished_junit(junit) != 0)) {
        fprintf(stderr, "iolab-grade: cannot write %s: %s\n",
                json && report_unfinished_json(json) != 0 ? json : junit,
                strerror(errno));
        return 2;
    }
    /* Untrusted code never sees the reference solutions, nor, when it
     * runs, the hidden tests. */
    const char *hidden[] = {"solutions", NULL};
    const char *hidden_at_run[] = {"chapters/*/tests/hidden", NULL};
    run_sandbox_init(".", hidden, hidden_at_run);

    int author_errors = 0;
    bool ungradable = false;
    double score = 0, max = 0;
    /* The course before grading, to prove grading left it unchanged. */
    const char *canary = make_canary();
    const char *roots[] = {
        "Makefile",  "chapters", "shared",  "grader",
        "solutions", ".ci",      ".github", "build/grader/iolab-grade",
        canary,      NULL};
    struct snapshot before;
    bool tampered = false;
    snap_take(roots, &before);
    for (size_t i = 0; i < n; i++) {
        if (tampered) {
            chs[i].gradable = false;
            chs[i].refused = true;
            chs[i].build_log = xstrdup("not graded: the course was changed "
                                       "while an earlier chapter was graded");
            grade_skip(&chs[i]);
            continue;
        }
        grade_progress(&o, "grading %s\n", chs[i].dir);
        if (grade_chapter(&chs[i], &o) != 0)
            author_errors++;
        struct snapshot after;
        snap_take(roots, &after);
        char *diff = snap_diff(&before, &after);
        if (diff == NULL && chs[i].tampered != NULL)
            diff = xstrdup(chs[i].tampered);
        if (diff != NULL) {
            grade_progress_done();
            fprintf(stderr,
                    "iolab-grade: THE COURSE CHANGED while %s was graded: %s. "
                    "No result of this run can be trusted; restore the course "
                    "(git checkout -- . && make clean) and grade again.\n",
                    chs[i].dir, diff);
            tampered = true;
            grade_void(&chs[i], diff);
            free(diff);
        }
        snap_free(&after);
        ungradable |= !chs[i].gradable;
        score += chs[i].score;
        max += chs[i].max_score;
    }
    grade_progress_done();
    report_table(chs, n, &ro);
    /* The latest full grading of each chapter, for make progress. */
    if (!tampered && !o.fail_fast && o.only_tests == NULL)
        save_last(bdir, chs, n);
    putchar('\n');
    report_text(stdout, run_sandbox_describe());
    int rc = 0;
    if (json && report_json(json, chs, n, (double)(long)elapsed_s()) != 0) {
        fprintf(stderr, "iolab-grade: cannot write %s\n", json);
        rc = 2;
    }
    if (junit && report_junit(junit, chs, n) != 0) {
        fprintf(stderr, "iolab-grade: cannot write %s\n", junit);
        rc = 2;
    }
    snap_free(&before);
    if (!tampered)
        rm_tree(canary); /* else left as evidence */
    if (tampered)
        rc = 4;
    else if (author_errors)
        rc = 3;
    else if (rc == 0 && min_score >= 0 &&
             (max <= 0 || 100 * score / max < min_score))
        rc = 1;
    else if (rc == 0 && strict && ungradable)
        rc = 1;
    for (size_t i = 0; i < n; i++) {
        chapter_free(&chs[i]);
        free(dirs[i]);
    }
    free(chs);
    free(dirs);
    free(bdir);
    return rc;
}
