/*
 * submission.c - staging a submission's files and inspecting what the
 * compiler made of them (submission.h says what is checked and why).
 *
 * Sections: helpers; the chapter's files (asked of make); staging. What
 * the compiler made of the staged files is inspected in sub_inspect.c.
 *
 * Everything read here was written by, or from, untrusted code: every
 * length and offset is checked before use, and no name from a submission
 * reaches a shell.
 */
#include "submission.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "submission_int.h"
#include "xalloc.h"

#define STAGE_MAX_FILE (1 << 20) /* a student's source file: 1 MiB */
#define MAKE_QUERY_TIMEOUT 60    /* seconds for make files-NN */

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* Splits s at spaces into a new NULL-terminated array. */
static char **
split_words(const char *s, size_t *n)
{
    char **v = NULL;
    size_t cnt = 0;
    char *copy = xstrdup(s), *save = NULL;

    for (char *w = strtok_r(copy, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        v = xreallocarray(v, cnt + 2, sizeof(*v));
        v[cnt++] = xstrdup(w);
    }
    free(copy);
    if (v == NULL)
        v = xcalloc(1, sizeof(*v));
    v[cnt] = NULL;
    *n = cnt;
    return v;
}

static void
free_words(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The name with its directories, for messages: "nb_io.c". */
const char *
sub_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A printable copy of an untrusted name (at most 80 bytes shown). */
char *
sub_shown(const char *s)
{
    char *out = xmalloc(4 * 80 + 4), *w = out;

    for (size_t i = 0; s[i] && i < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isprint(c))
            *w++ = (char)c;
        else
            w += sprintf(w, "\\x%02x", c);
    }
    *w = '\0';
    return out;
}

/* ===================================================================== */
/* The chapter's files                                                   */
/* ===================================================================== */

int
sub_files(const char *chdir, const char *const *make_args,
          struct chapter_files *cf, char **msg)
{
    char *target = xasprintf("files-%s", chdir);
    const char *argv[16] = {"make", "-s", "--no-print-directory"};
    int n = 3;
    for (const char *const *a = make_args; *a && n < 14; a++)
        argv[n++] = *a;
    argv[n++] = target;
    argv[n] = NULL;
    struct run_spec spec = {
        .argv = argv, .timeout = MAKE_QUERY_TIMEOUT, .out_cap = 64 * 1024};
    struct run_result r;

    *cf = (struct chapter_files){0};
    if (run_child(&spec, &r) != 0) {
        *msg = xasprintf("cannot run make: %s", strerror(errno));
        free(target);
        return -1;
    }
    free(target);
    bool ok = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
    for (char *save = NULL, *line = strtok_r(r.output, "\n", &save); ok && line;
         line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        const char *val = sp ? sp + 1 : "";
        if (sp)
            *sp = '\0';
        if (strcmp(line, "student") == 0)
            cf->student = split_words(val, &cf->nstudent);
        else if (strcmp(line, "given") == 0)
            cf->given = split_words(val, &cf->ngiven);
        else if (strcmp(line, "objects") == 0)
            cf->objects = split_words(val, &cf->nobjects);
        else if (strcmp(line, "tests") == 0)
            cf->tests = xstrdup(val);
        else if (strcmp(line, "bench") == 0)
            cf->bench = xstrdup(val);
    }
    if (!ok || cf->student == NULL || cf->objects == NULL ||
        cf->tests == NULL || cf->bench == NULL) {
        *msg =
            xasprintf("make files-%s did not say which files the chapter has "
                      "(is chapters/%s/chapter.mk complete?):\n%s",
                      chdir, chdir, r.output);
        run_result_free(&r);
        sub_files_free(cf);
        return -1;
    }
    run_result_free(&r);
    return 0;
}

void
sub_files_free(struct chapter_files *cf)
{
    if (cf->student)
        free_words(cf->student, cf->nstudent);
    if (cf->objects)
        free_words(cf->objects, cf->nobjects);
    if (cf->given)
        free_words(cf->given, cf->ngiven);
    free(cf->tests);
    free(cf->bench);
    *cf = (struct chapter_files){0};
}

/* ===================================================================== */
/* Staging                                                               */
/* ===================================================================== */

/* A name a make rule or a .d file can carry without quoting. */
static bool
plain_name(const char *s)
{
    if (!isalnum((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

/*
 * Copies one regular file (not a symlink, at most STAGE_MAX_FILE bytes).
 * Returns 0, -ENOENT when it is missing, or -EINVAL with *why set.
 */
static int
copy_in(const char *from, const char *to, const char **why)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    int rc = 0;

    if (in == -1) {
        if (errno == ENOENT)
            return -ENOENT;
        *why = errno == ELOOP ? "it is a symbolic link: submit the file "
                                "itself"
                              : "it cannot be read";
        return -EINVAL;
    }
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = "it is not a regular file";
        close(in);
        return -EINVAL;
    }
    if (st.st_size > STAGE_MAX_FILE) {
        *why = "it is over 1 MiB";
        close(in);
        return -EINVAL;
    }
    /* O_EXCL: the stage is new, so nothing can be there to follow. */
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out == -1) {
        *why = "it cannot be copied for the build";
        close(in);
        return -EINVAL;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0) {
                *why = "it cannot be read";
                rc = -EINVAL;
            }
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            *why = "it cannot be copied for the build (disk full?)";
            rc = -EINVAL;
            break;
        }
    }
    close(in);
    if (close(out) != 0 && rc == 0) {
        *why = "it cannot be copied for the build (disk full?)";
        rc = -EINVAL;
    }
    return rc;
}

static bool
listed(const struct chapter_files *cf, const char *name)
{
    for (size_t i = 0; i < cf->nstudent; i++)
        if (strcmp(cf->student[i], name) == 0)
            return true;
    for (size_t i = 0; i < cf->ngiven; i++)
        if (strcmp(cf->given[i], name) == 0)
            return true;
    return false;
}

int
sub_stage(const char *tree, const char *chdir, const struct chapter_files *cf,
          const char *stage_src, char **msg, char **note)
{
    char *src = xasprintf("%s/%s/src", tree, chdir);
    char *missing = NULL;
    int rc = 0;

    *msg = *note = NULL;
    for (size_t i = 0; i < cf->nstudent && rc == 0; i++) {
        char *from = xasprintf("%s/%s", src, cf->student[i]);
        char *to = xasprintf("%s/%s", stage_src, cf->student[i]);
        const char *why = NULL;
        int e = copy_in(from, to, &why);
        if (e == -ENOENT) {
            char *m = xasprintf("%s%s%s", missing ? missing : "",
                                missing ? ", " : "", cf->student[i]);
            free(missing);
            missing = m;
        } else if (e != 0) {
            *msg = xasprintf("%s/%s: refused: %s", src, cf->student[i], why);
            rc = -1;
        }
        free(from);
        free(to);
    }
    if (rc == 0 && missing != NULL) {
        *msg =
            xasprintf("%s: missing %s (this chapter's files are", src, missing);
        for (size_t i = 0; i < cf->nstudent; i++) {
            char *m = xasprintf("%s %s", *msg, cf->student[i]);
            free(*msg);
            *msg = m;
        }
        char *m = xasprintf("%s)", *msg);
        free(*msg);
        *msg = m;
        rc = -1;
    }
    free(missing);

    /* Headers of the student's own, and a note about what is ignored. */
    DIR *d = rc == 0 ? opendir(src) : NULL;
    char *ignored = NULL;
    int nignored = 0;
    for (struct dirent *e; d != NULL && rc == 0 && (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (name[0] == '.' || listed(cf, name))
            continue;
        if (len > 2 && strcmp(name + len - 2, ".h") == 0 && plain_name(name)) {
            char *from = xasprintf("%s/%s", src, name);
            char *to = xasprintf("%s/%s", stage_src, name);
            const char *why = NULL;
            if (copy_in(from, to, &why) != 0) {
                *msg = xasprintf("%s: refused: %s", from,
                                 why ? why : "unreadable");
                rc = -1;
            }
            free(from);
            free(to);
            continue;
        }
        if (nignored++ < 3) {
            char *s = sub_shown(name);
            char *m = xasprintf("%s%s%s", ignored ? ignored : "",
                                ignored ? ", " : "", s);
            free(s);
            free(ignored);
            ignored = m;
        }
    }
    if (d != NULL)
        closedir(d);
    if (rc == 0 && nignored > 0)
        *note = xasprintf("ignored in %s: %s%s (only this chapter's files are "
                          "graded; the course provides the rest)",
                          src, ignored, nignored > 3 ? " and more" : "");
    free(ignored);
    free(src);
    return rc;
}
