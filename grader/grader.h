/*
 * grader.h - the grader's data: what a manifest says, and what grading
 * found. Shared by the manifest parser, the runner, the grading steps and
 * the report writers.
 *
 * Ownership: a struct chapter owns every string and array hanging from it;
 * chapter_free() releases them all. Strings are NUL-terminated and may hold
 * any bytes a test printed (quotes, newlines, "]]>", invalid UTF-8): the
 * report writers escape them for their format.
 */
#ifndef IOLAB_GRADER_H
#define IOLAB_GRADER_H

#include <stdbool.h>
#include <stddef.h>

/* ===================================================================== */
/* The manifest                                                          */
/* ===================================================================== */

enum item_kind {
    ITEM_TEST,     /* a Criterion test: points if it passes */
    ITEM_PERF,     /* a benchmark metric with a threshold: points if met */
    ITEM_INFO,     /* a benchmark metric that is shown, never scored */
    ITEM_MEMCHECK, /* every test clean under Valgrind: points */
};

enum cmp_op { CMP_LE, CMP_GE }; /* value <= threshold, value >= threshold */

enum perf_kind { PERF_COUNTED, PERF_TIMED };

/* Outcome of one item. */
enum status {
    ST_PENDING, /* not graded yet */
    ST_PASS,    /* full points */
    ST_FAIL,    /* the test failed, or the metric missed its threshold */
    ST_CRASH,   /* the test died of a signal */
    ST_TIMEOUT, /* killed after its time limit */
    ST_SKIP,    /* skipped with a reason; left out of the maximum */
    ST_MISSING, /* no result came back: scores 0 */
    ST_BLOCKED, /* not run: a prerequisite failed (perf, memcheck) */
    ST_SHOWN,   /* an info metric, measured */
    ST_NOTRUN,  /* not run: an option left it out (--no-perf, ...) */
};

struct item {
    enum item_kind kind;
    char *exercise;       /* exercise id; NULL for memcheck */
    char *name;           /* "suite/test", or the metric name */
    double points;        /* points when it passes */
    double timeout;       /* tests: seconds; 0 for none */
    char *hint;           /* hint id in HINTS.md, or NULL */
    enum cmp_op op;       /* perf */
    double threshold;     /* perf */
    enum perf_kind pkind; /* perf */
    char *what;           /* info: what the metric shows */
    bool hidden;          /* tests: a hidden test (the manifest's `hidden`):
                           * its source is in tests/hidden/, the student
                           * edition leaves it out, results.json shows it
                           * after the due date */
    int line;             /* manifest line, for messages */

    /* Filled in by grading. */
    enum status status;
    double score;   /* points earned */
    double value;   /* perf and info: the measured value */
    bool has_value; /* perf and info: value is valid */
    char *message;  /* why it failed, or NULL */
    char *where;    /* file:line of the failing assertion, or NULL */
    char *memcheck; /* tests: Valgrind's complaint, or NULL */
};

struct exercise {
    char *id;    /* "rw" */
    char *title; /* "Robust full-length read and write" */
};

/*
 * A hidden test as the student edition knows it (its manifest's `withheld`
 * line): the exercise and the points, never the name. It is not graded
 * there; the grading table shows it so that the table reads the same in
 * both editions.
 */
struct withheld {
    char *exercise;
    double points;
};

struct chapter {
    char *dir;           /* "01-blocking-io" */
    char *title;         /* "Blocking and non-blocking IO" */
    char *manifest_path; /* for messages */
    struct exercise *ex; /* ex[0..nex) */
    size_t nex;
    struct item *items; /* items[0..nitems), in manifest order */
    size_t nitems;
    double memcheck_scale; /* timeout multiplier under Valgrind */
    double bench_timeout;  /* seconds for one bench run */
    int bench_runs;        /* runs for timed metrics */
    /* Caps on the code under test (tests, memcheck, bench): the bench
     * line's nofile= and nproc=; 0 leaves the grader's default. */
    unsigned long nofile; /* open descriptors */
    unsigned long nproc;  /* processes and threads of the user */
    char **prefixes;      /* the only names the student's code may export */
    size_t nprefixes;
    struct withheld *withheld; /* withheld[0..nwithheld): the student
                                * edition's stand-ins for hidden tests */
    size_t nwithheld;

    /* Filled in by grading. */
    bool gradable;           /* false: did not build, or was refused */
    bool refused;            /* the submission broke a rule (build_log) */
    char *notes;             /* for the student: ignored files, ... */
    char *tampered;          /* the course objects changed: what, or NULL */
    char *build_log;         /* compiler output when not gradable */
    char *bench_log;         /* the bench's own output, capped */
    double score, max_score; /* totals over scored items */
};

/* ===================================================================== */
/* Functions                                                             */
/* ===================================================================== */

/*
 * manifest_load - parses path into ch. Returns 0, or -1 after printing
 * "path:line: what is wrong" to stderr for the first malformed line.
 */
int manifest_load(const char *path, struct chapter *ch);
void chapter_free(struct chapter *ch);

/* The exercise an id names, or NULL. */
const struct exercise *chapter_exercise(const struct chapter *ch,
                                        const char *id);

/* "pass", "fail", ...: the status as results.json and JUnit name it
 * (report_words.c). */
const char *status_name(enum status st);

/* Report writers: report.h. */

#endif /* IOLAB_GRADER_H */
