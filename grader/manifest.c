/*
 * manifest.c - reads a chapter's grade.manifest into a struct chapter.
 *
 * The format is line-based, one graded item per line (the chapter's
 * manifest documents it in its header comment). Lines whose first
 * non-blank character is '#' are comments. The parser is strict: an
 * unknown keyword, a missing field, a number that is not a number, a
 * duplicate item or an exercise that was never declared stops the load
 * with "path:line: what is wrong", because a silently ignored line would
 * silently change a student's score.
 */
#include "grader.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MAX_FIELDS 16 /* the longest line has 7 fields */

struct parse {
    const char *path; /* for messages */
    int line;         /* current line number */
    struct chapter *ch;
};

static int bad(const struct parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(const struct parse *ps, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: ", ps->path, ps->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* Room for one more element after the first n of v. */
static void *
xgrow(void *v, size_t n, size_t size)
{
    return xreallocarray(v, n + 1, size);
}

/* A whole non-negative number or decimal; false if s is anything else. */
static bool
parse_number(const char *s, double *out)
{
    char *end;

    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && *end == '\0';
}

/* The text after the first n fields of line, trimmed; "" if none. */
static const char *
rest_after(const char *line, int n)
{
    const char *p = line;

    for (int i = 0; i < n; i++) {
        while (isspace((unsigned char)*p))
            p++;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static struct item *
new_item(struct parse *ps, enum item_kind kind)
{
    struct chapter *ch = ps->ch;

    ch->items = xgrow(ch->items, ch->nitems, sizeof(*ch->items));
    struct item *it = &ch->items[ch->nitems++];
    *it = (struct item){.kind = kind, .line = ps->line};
    return it;
}

static bool
item_exists(const struct chapter *ch, enum item_kind kind, const char *name)
{
    for (size_t i = 0; i + 1 < ch->nitems; i++)
        if (ch->items[i].kind == kind && ch->items[i].name != NULL &&
            strcmp(ch->items[i].name, name) == 0)
            return true;
    return false;
}

/* Parses "key=value" options from f[from..n) into the item or chapter. */
static int
parse_options(struct parse *ps, char **f, int from, int n, struct item *it,
              const char *allowed)
{
    for (int i = from; i < n; i++) {
        char *eq = strchr(f[i], '=');
        double num;
        if (strcmp(f[i], "hidden") == 0 && it != NULL &&
            strstr(allowed, " hidden ") != NULL) {
            it->hidden = true;
            continue;
        }
        if (eq == NULL)
            return bad(ps, "expected key=value, found '%s'", f[i]);
        *eq = '\0';
        const char *key = f[i], *val = eq + 1;
        char want[64];
        snprintf(want, sizeof(want), " %s ", key);
        if (strstr(allowed, want) == NULL)
            return bad(ps, "unknown option '%s' (allowed:%s)", key, allowed);
        if (strcmp(key, "hint") == 0) {
            it->hint = xstrdup(val);
            continue;
        }
        if (strcmp(key, "kind") == 0) {
            if (strcmp(val, "counted") == 0)
                it->pkind = PERF_COUNTED;
            else if (strcmp(val, "timed") == 0)
                it->pkind = PERF_TIMED;
            else
                return bad(ps, "kind must be counted or timed, not '%s'", val);
            continue;
        }
        if (!parse_number(val, &num) || num <= 0)
            return bad(ps, "%s must be a positive number, not '%s'", key, val);
        if (strcmp(key, "timeout") == 0 && it != NULL)
            it->timeout = num;
        else if (strcmp(key, "timeout") == 0)
            ps->ch->bench_timeout = num;
        else if (strcmp(key, "runs") == 0)
            ps->ch->bench_runs = (int)num;
        else if (strcmp(key, "timeout_scale") == 0)
            ps->ch->memcheck_scale = num;
        else if (strcmp(key, "nofile") == 0 || strcmp(key, "nproc") == 0) {
            if (num != (double)(unsigned long)num || num > 1e9)
                return bad(ps, "%s must be a whole number up to 1e9, not '%s'",
                           key, val);
            *(strcmp(key, "nofile") == 0 ? &ps->ch->nofile : &ps->ch->nproc) =
                (unsigned long)num;
        }
    }
    return 0;
}

static int
need_exercise(struct parse *ps, const char *id)
{
    if (chapter_exercise(ps->ch, id) == NULL)
        return bad(ps,
                   "exercise '%s' is not declared (add an 'exercise' line "
                   "before it)",
                   id);
    return 0;
}

/* One non-comment line, split into fields f[0..n). */
static int
parse_line(struct parse *ps, const char *line, char **f, int n)
{
    struct chapter *ch = ps->ch;
    const char *kw = f[0];
    struct item *it;
    double num;

    if (strcmp(kw, "chapter") == 0) {
        if (n < 3)
            return bad(ps, "usage: chapter <dir> <title>");
        if (ch->dir != NULL)
            return bad(ps, "a second 'chapter' line");
        ch->dir = xstrdup(f[1]);
        ch->title = xstrdup(rest_after(line, 2));
        return 0;
    }
    if (strcmp(kw, "exercise") == 0) {
        if (n < 3)
            return bad(ps, "usage: exercise <id> <title>");
        if (chapter_exercise(ch, f[1]) != NULL)
            return bad(ps, "exercise '%s' is declared twice", f[1]);
        ch->ex = xgrow(ch->ex, ch->nex, sizeof(*ch->ex));
        ch->ex[ch->nex++] = (struct exercise){
            .id = xstrdup(f[1]), .title = xstrdup(rest_after(line, 2))};
        return 0;
    }
    if (strcmp(kw, "test") == 0) {
        if (n < 4)
            return bad(ps, "usage: test <exercise> <suite/name> <points> "
                           "[timeout=S] [hint=ID] [hidden]");
        if (need_exercise(ps, f[1]) != 0)
            return -1;
        if (strchr(f[2], '/') == NULL)
            return bad(ps, "test name '%s' must be suite/name", f[2]);
        if (!parse_number(f[3], &num) || num <= 0)
            return bad(ps, "points must be a positive number, not '%s'", f[3]);
        it = new_item(ps, ITEM_TEST);
        *it = (struct item){.kind = ITEM_TEST,
                            .line = ps->line,
                            .exercise = xstrdup(f[1]),
                            .name = xstrdup(f[2]),
                            .points = num,
                            .timeout = 10};
        if (item_exists(ch, ITEM_TEST, f[2]))
            return bad(ps, "test '%s' is listed twice", f[2]);
        return parse_options(ps, f, 4, n, it, " timeout hint hidden ");
    }
    if (strcmp(kw, "withheld") == 0) {
        if (n != 3)
            return bad(ps, "usage: withheld <exercise> <points>");
        if (need_exercise(ps, f[1]) != 0)
            return -1;
        if (!parse_number(f[2], &num) || num <= 0)
            return bad(ps, "points must be a positive number, not '%s'", f[2]);
        ch->withheld =
            xgrow(ch->withheld, ch->nwithheld, sizeof(*ch->withheld));
        ch->withheld[ch->nwithheld++] =
            (struct withheld){.exercise = xstrdup(f[1]), .points = num};
        return 0;
    }
    if (strcmp(kw, "perf") == 0) {
        if (n < 7)
            return bad(ps, "usage: perf <exercise> <metric> <= or >= "
                           "<threshold> <points> kind=counted|timed [hint=ID]");
        if (need_exercise(ps, f[1]) != 0)
            return -1;
        it = new_item(ps, ITEM_PERF);
        it->exercise = xstrdup(f[1]);
        it->name = xstrdup(f[2]);
        if (strcmp(f[3], "<=") == 0)
            it->op = CMP_LE;
        else if (strcmp(f[3], ">=") == 0)
            it->op = CMP_GE;
        else
            return bad(ps, "comparison must be <= or >=, not '%s'", f[3]);
        if (!parse_number(f[4], &it->threshold))
            return bad(ps, "threshold must be a number, not '%s'", f[4]);
        if (!parse_number(f[5], &it->points) || it->points <= 0)
            return bad(ps, "points must be a positive number, not '%s'", f[5]);
        if (strncmp(f[6], "kind=", 5) != 0)
            return bad(ps, "perf needs kind=counted or kind=timed");
        if (item_exists(ch, ITEM_PERF, f[2]) ||
            item_exists(ch, ITEM_INFO, f[2]))
            return bad(ps, "metric '%s' is listed twice", f[2]);
        return parse_options(ps, f, 6, n, it, " kind hint ");
    }
    if (strcmp(kw, "info") == 0) {
        if (n < 4)
            return bad(ps, "usage: info <exercise> <metric> <what it shows>");
        if (need_exercise(ps, f[1]) != 0)
            return -1;
        it = new_item(ps, ITEM_INFO);
        it->exercise = xstrdup(f[1]);
        it->name = xstrdup(f[2]);
        it->what = xstrdup(rest_after(line, 3));
        if (item_exists(ch, ITEM_PERF, f[2]) ||
            item_exists(ch, ITEM_INFO, f[2]))
            return bad(ps, "metric '%s' is listed twice", f[2]);
        return 0;
    }
    if (strcmp(kw, "memcheck") == 0) {
        if (n < 2 || !parse_number(f[1], &num) || num <= 0)
            return bad(ps, "usage: memcheck <points> [timeout_scale=N]");
        for (size_t i = 0; i < ch->nitems; i++)
            if (ch->items[i].kind == ITEM_MEMCHECK)
                return bad(ps, "a second 'memcheck' line");
        it = new_item(ps, ITEM_MEMCHECK);
        it->name = xstrdup("memcheck");
        it->points = num;
        return parse_options(ps, f, 2, n, NULL, " timeout_scale ");
    }
    if (strcmp(kw, "bench") == 0)
        return parse_options(ps, f, 1, n, NULL, " timeout runs nofile nproc ");
    if (strcmp(kw, "prefix") == 0) {
        if (n < 2)
            return bad(ps, "usage: prefix <symbol prefix>...");
        for (int i = 1; i < n; i++) {
            ch->prefixes =
                xgrow(ch->prefixes, ch->nprefixes, sizeof(*ch->prefixes));
            ch->prefixes[ch->nprefixes++] = xstrdup(f[i]);
        }
        return 0;
    }
    return bad(ps,
               "unknown keyword '%s' (expected chapter, exercise, test, "
               "withheld, perf, info, memcheck, bench or prefix)",
               kw);
}

int
manifest_load(const char *path, struct chapter *ch)
{
    struct parse ps = {.path = path, .ch = ch};
    char line[4096];
    int rc = 0;
    FILE *f = fopen(path, "r");

    *ch = (struct chapter){.memcheck_scale = 20,
                           .bench_timeout = 120,
                           .bench_runs = 5,
                           .gradable = true};
    ch->manifest_path = xstrdup(path);
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char copy[sizeof(line)], *fields[MAX_FIELDS], *save = NULL;
        int n = 0;

        ps.line++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = bad(&ps, "line longer than %zu bytes", sizeof(line) - 1);
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        strcpy(copy, line);
        for (char *tok = strtok_r(copy, " \t", &save); tok && n < MAX_FIELDS;
             tok = strtok_r(NULL, " \t", &save))
            fields[n++] = tok;
        if (n == 0 || fields[0][0] == '#')
            continue;
        rc = parse_line(&ps, line, fields, n);
    }
    fclose(f);
    if (rc == 0 && ch->dir == NULL) {
        ps.line = 1;
        rc = bad(&ps, "no 'chapter' line");
    }
    return rc;
}

const struct exercise *
chapter_exercise(const struct chapter *ch, const char *id)
{
    for (size_t i = 0; i < ch->nex; i++)
        if (strcmp(ch->ex[i].id, id) == 0)
            return &ch->ex[i];
    return NULL;
}

void
chapter_free(struct chapter *ch)
{
    for (size_t i = 0; i < ch->nitems; i++) {
        struct item *it = &ch->items[i];
        free(it->exercise);
        free(it->name);
        free(it->hint);
        free(it->what);
        free(it->message);
        free(it->where);
        free(it->memcheck);
    }
    free(ch->notes);
    free(ch->tampered);
    for (size_t i = 0; i < ch->nprefixes; i++)
        free(ch->prefixes[i]);
    free(ch->prefixes);
    for (size_t i = 0; i < ch->nwithheld; i++)
        free(ch->withheld[i].exercise);
    free(ch->withheld);
    for (size_t i = 0; i < ch->nex; i++) {
        free(ch->ex[i].id);
        free(ch->ex[i].title);
    }
    free(ch->items);
    free(ch->ex);
    free(ch->dir);
    free(ch->title);
    free(ch->manifest_path);
    free(ch->build_log);
    free(ch->bench_log);
    *ch = (struct chapter){0};
}
