/*
 * submission.c - staging a submission's files and inspecting what the
 * compiler made of them (submission.h says what is checked and why).
 *
 * Sections: helpers; the chapter's files (asked of make); staging; the
 * include check (.d files); the assembly check (.s files); the object
 * check (ELF sections and symbols, parsed here, and system calls, found
 * with objdump).
 *
 * Everything read here was written by, or from, untrusted code: every
 * length and offset is checked before use, and no name from a submission
 * reaches a shell.
 */
#include "submission.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
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
#include "xalloc.h"

#define STAGE_MAX_FILE (1 << 20) /* a student's source file: 1 MiB */
#define OBJ_MAX (64 << 20)       /* an object file: 64 MiB */
#define OBJDUMP_CAP (32 << 20)   /* disassembly kept for the scan */
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

/* Reads at most cap bytes of path; NULL if it cannot, or if it is bigger. */
static char *
slurp(const char *path, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    char *buf = NULL;

    if (fd == -1)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (size_t)st.st_size <= cap) {
        buf = xmalloc((size_t)st.st_size + 1);
        size_t got = 0;
        while (buf != NULL && got < (size_t)st.st_size) {
            ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
            if (n == -1 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (buf != NULL) {
            buf[got] = '\0';
            *len = got;
        }
    }
    close(fd);
    return buf;
}

/* The name with its directories, for messages: "nb_io.c". */
static const char *
base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A printable copy of an untrusted name (at most 80 bytes shown). */
static char *
shown(const char *s)
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
            char *s = shown(name);
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

/* ===================================================================== */
/* The include check                                                     */
/* ===================================================================== */

static bool
under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Checks one prerequisite of a .d file. Returns NULL or a refusal. */
static char *
check_dep(const char *dep, const char *const *allowed, const char *obj)
{
    char real[4096];
    struct stat st;

    if (realpath(dep, real) == NULL || stat(real, &st) != 0) {
        char *s = shown(dep);
        char *m = xasprintf("%s: the compiler read %s, which cannot be checked",
                            base(obj), s);
        free(s);
        return m;
    }
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
        if (under(real, *a))
            ok = true;
    if (ok && S_ISREG(st.st_mode))
        return NULL;
    char *s = shown(dep);
    char *m = xasprintf(
        "%s: refused: it includes %s, which %s; exercise code may "
        "include the chapter's include/, shared/include, the "
        "system's headers and its own files in src/",
        base(obj), s,
        S_ISREG(st.st_mode) ? "is not one of those" : "is not a regular file");
    free(s);
    return m;
}

/* Reads a make-syntax .d file: "target: dep dep \\\n dep". */
static char *
check_includes(const char *dfile, const char *const *allowed)
{
    size_t len = 0;
    char *text = slurp(dfile, 16 << 20, &len);

    if (text == NULL)
        return xasprintf("%s: the compiler wrote no list of the files it read",
                         base(dfile));
    char *colon = strstr(text, ": ");
    if (colon == NULL) {
        free(text);
        return xasprintf("%s: the list of files the compiler read is malformed",
                         base(dfile));
    }
    char *refusal = NULL;
    char word[4096];
    size_t w = 0;
    for (char *p = colon + 2;; p++) {
        bool end = *p == '\0';
        if (!end && p[0] == '\\' && (p[1] == '\n' || p[1] == '\r')) {
            p++;
            continue;
        }
        if (!end && p[0] == '\\' && (p[1] == ' ' || p[1] == '#')) {
            if (w < sizeof(word) - 1)
                word[w++] = p[1];
            p++;
            continue;
        }
        if (!end && p[0] == '$' && p[1] == '$') {
            if (w < sizeof(word) - 1)
                word[w++] = '$';
            p++;
            continue;
        }
        if (end || isspace((unsigned char)*p)) {
            word[w] = '\0';
            if (w > 0 && refusal == NULL)
                refusal = check_dep(word, allowed, dfile);
            w = 0;
            if (end || *p == '\n')
                break; /* one rule: the object's */
            continue;
        }
        if (w < sizeof(word) - 1)
            word[w++] = *p;
    }
    free(text);
    return refusal;
}

/* ===================================================================== */
/* The assembly check                                                    */
/* ===================================================================== */

/* Directives that read a file, or build directives the scan cannot see. */
static const char *const bad_directives[] = {".incbin", ".include",  ".macro",
                                             ".irp",    ".altmacro", NULL};

static char *
check_assembly(const char *sfile)
{
    size_t len = 0;
    char *text = slurp(sfile, 256 << 20, &len);

    if (text == NULL)
        return xasprintf("%s: the compiler kept no assembly to check",
                         base(sfile));
    /* Blank out quoted strings, so that text in them is not a directive. */
    bool quoted = false;
    for (char *p = text; *p; p++) {
        if (quoted && p[0] == '\\' && p[1] != '\0') {
            p[0] = p[1] = ' ';
            p++;
        } else if (*p == '"') {
            quoted = !quoted;
        } else if (quoted && *p != '\n') {
            *p = ' ';
        } else if (*p == '\n') {
            quoted = false;
        } else {
            *p = (char)tolower((unsigned char)*p);
        }
    }
    char *refusal = NULL;
    for (const char *const *d = bad_directives; *d && !refusal; d++) {
        size_t dl = strlen(*d);
        for (char *hit = strstr(text, *d); hit; hit = strstr(hit + 1, *d)) {
            bool starts = hit == text || isspace((unsigned char)hit[-1]) ||
                          hit[-1] == ';';
            bool ends = !isalnum((unsigned char)hit[dl]) && hit[dl] != '_';
            if (starts && (ends || strcmp(*d, ".irp") == 0)) {
                refusal =
                    xasprintf("%s: refused: its assembly uses the %s "
                              "directive, which exercise code may not use "
                              "(it reads other files or builds hidden "
                              "directives)",
                              base(sfile), *d);
                break;
            }
        }
    }
    free(text);
    return refusal;
}

/* ===================================================================== */
/* The object check                                                      */
/* ===================================================================== */

/* Sections plain C (and plain assembly) needs. Anything else is refused. */
static const char *const ok_sections[] = {".text",
                                          ".data",
                                          ".rodata",
                                          ".bss",
                                          ".tbss",
                                          ".tdata",
                                          ".comment",
                                          ".note.GNU-stack",
                                          ".note.gnu.property",
                                          ".eh_frame",
                                          ".rela",
                                          ".rel.",
                                          ".debug_",
                                          ".group",
                                          ".symtab",
                                          ".strtab",
                                          ".shstrtab",
                                          ".symtab_shndx",
                                          ".gcc_except_table",
                                          ".llvm_addrsig",
                                          ".gnu.build.attributes",
                                          NULL};

/* Imports refused by prefix: the course's kits and the test framework. */
static const char *const bad_prefixes[] = {
    "cr_",     "criterion_", "tk_",    "pk_",    "fi_",    "fault_",
    "bxf_",    "nn_",        "seal_",  "iolab_", "__gcov", "_dl_",
    "__libc_", "__lsan",     "__asan", NULL};

/* Imports refused by name: run-time symbol lookup, and process control. */
static const char *const bad_names[] = {"dlopen",
                                        "dlmopen",
                                        "dlsym",
                                        "dlvsym",
                                        "dladdr",
                                        "dladdr1",
                                        "dlinfo",
                                        "dl_iterate_phdr",
                                        "ptrace",
                                        "process_vm_readv",
                                        "process_vm_writev",
                                        "pidfd_open",
                                        "pidfd_getfd",
                                        "pidfd_send_signal",
                                        "kill",
                                        "killpg",
                                        "tgkill",
                                        "tkill",
                                        "sigqueue",
                                        "prctl",
                                        "unshare",
                                        "setns",
                                        "mount",
                                        "umount",
                                        "umount2",
                                        "pivot_root",
                                        "chroot",
                                        "seccomp",
                                        "execve",
                                        "execv",
                                        "execvp",
                                        "execvpe",
                                        "execl",
                                        "execlp",
                                        "execle",
                                        "fexecve",
                                        "execveat",
                                        "system",
                                        "popen",
                                        "posix_spawn",
                                        "posix_spawnp",
                                        "exit",
                                        "_exit",
                                        "_Exit",
                                        "quick_exit",
                                        "atexit",
                                        "at_quick_exit",
                                        "on_exit",
                                        "__cxa_atexit",
                                        "__cxa_finalize",
                                        "setcontext",
                                        "swapcontext",
                                        NULL};

static bool
has_prefix(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strncmp(s, *list, strlen(*list)) == 0)
            return true;
    return false;
}

static bool
in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* A NUL-terminated string at off in [tab, tab+size), or NULL. */
static const char *
str_at(const char *tab, size_t size, size_t off)
{
    if (off >= size || memchr(tab + off, '\0', size - off) == NULL)
        return NULL;
    return tab + off;
}

/* Section header i, copied out (offsets in a hostile file may be odd). */
static Elf64_Shdr
shdr_at(const char *buf, const Elf64_Ehdr *eh, size_t i)
{
    Elf64_Shdr sh;
    memcpy(&sh, buf + eh->e_shoff + i * sizeof(sh), sizeof(sh));
    return sh;
}

static bool
within(const Elf64_Shdr *sh, size_t len)
{
    return sh->sh_offset <= len && sh->sh_size <= len - sh->sh_offset;
}

static char *
check_elf(const struct chapter *ch, const char *obj)
{
    size_t len = 0;
    char *buf = slurp(obj, OBJ_MAX, &len);
    char *refusal = NULL;
    Elf64_Ehdr eh;

    if (buf == NULL)
        return xasprintf("%s: the object cannot be read", base(obj));
    if (len >= sizeof(eh))
        memcpy(&eh, buf, sizeof(eh));
    if (len < sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_REL ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
        eh.e_shnum > (len - eh.e_shoff) / sizeof(Elf64_Shdr) ||
        eh.e_shstrndx >= eh.e_shnum) {
        free(buf);
        return xasprintf("%s: not a 64-bit ELF object the grader can check",
                         base(obj));
    }
    Elf64_Shdr shstr = shdr_at(buf, &eh, eh.e_shstrndx);
    if (!within(&shstr, len)) {
        free(buf);
        return xasprintf("%s: malformed section names", base(obj));
    }
    const char *names = buf + shstr.sh_offset;

    for (size_t i = 1; i < eh.e_shnum && !refusal; i++) {
        Elf64_Shdr sh = shdr_at(buf, &eh, i);
        const char *name = str_at(names, shstr.sh_size, sh.sh_name);
        if (name == NULL) {
            refusal =
                xasprintf("%s: a section has no readable name", base(obj));
            break;
        }
        bool known = has_prefix(name, ok_sections);
        bool runs_itself = sh.sh_type == SHT_INIT_ARRAY ||
                           sh.sh_type == SHT_FINI_ARRAY ||
                           sh.sh_type == SHT_PREINIT_ARRAY;
        bool exec_data =
            (sh.sh_flags & SHF_EXECINSTR) && strncmp(name, ".text", 5) != 0;
        if (!known || runs_itself || exec_data) {
            char *s = shown(name);
            refusal = xasprintf(
                "%s: refused: it has a section '%s'%s; exercise code may "
                "only hold code and data (no constructors, destructors or "
                "test-framework hooks: nothing may run outside the tests)",
                base(obj), s,
                runs_itself ? " that runs code before main or after exit"
                : exec_data ? " of executable data"
                            : "");
            free(s);
        }
    }

    for (size_t i = 1; i < eh.e_shnum && !refusal; i++) {
        Elf64_Shdr sh = shdr_at(buf, &eh, i);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        if (!within(&sh, len) || sh.sh_link >= eh.e_shnum) {
            refusal = xasprintf("%s: malformed symbol table", base(obj));
            break;
        }
        Elf64_Shdr strsh = shdr_at(buf, &eh, sh.sh_link);
        if (!within(&strsh, len)) {
            refusal = xasprintf("%s: malformed symbol names", base(obj));
            break;
        }
        size_t nsym = sh.sh_size / sizeof(Elf64_Sym);
        const char *strtab = buf + strsh.sh_offset;
        for (size_t k = 1; k < nsym && !refusal; k++) {
            Elf64_Sym sym;
            memcpy(&sym, buf + sh.sh_offset + k * sizeof(sym), sizeof(sym));
            if (ELF64_ST_BIND(sym.st_info) == STB_LOCAL)
                continue;
            const char *name = str_at(strtab, strsh.sh_size, sym.st_name);
            if (name == NULL || *name == '\0')
                continue;
            char *s = shown(name);
            if (sym.st_shndx == SHN_UNDEF) {
                if (has_prefix(name, bad_prefixes) || in_list(name, bad_names))
                    refusal = xasprintf(
                        "%s: refused: it calls %s, which exercise code may "
                        "not use (the course's test and bench kits, "
                        "run-time symbol lookup and process control are "
                        "off limits: return an error instead of exiting)",
                        base(obj), s);
            } else {
                bool ok = false;
                for (size_t p = 0; p < ch->nprefixes; p++)
                    if (strncmp(name, ch->prefixes[p],
                                strlen(ch->prefixes[p])) == 0)
                        ok = true;
                if (!ok)
                    refusal = xasprintf(
                        "%s: refused: it defines the global name '%s'; "
                        "exercise code may only define names that start "
                        "with %s (make helpers static)",
                        base(obj), s,
                        ch->nprefixes ? ch->prefixes[0]
                                      : "the chapter's "
                                        "prefix");
            }
            free(s);
        }
    }
    free(buf);
    return refusal;
}

/* No system call instructions: the code must go through libc. */
static char *
check_syscalls(const char *obj)
{
    const char *argv[] = {"objdump", "-d", "--no-show-raw-insn", obj, NULL};
    const char *env[] = {"LC_ALL=C", NULL};
    struct run_spec spec = {.argv = argv,
                            .env = env,
                            .timeout = 60,
                            .out_cap = OBJDUMP_CAP,
                            .limits = true,
                            .sandbox = true};
    struct run_result r;
    char *refusal = NULL;

    if (run_child(&spec, &r) != 0)
        return xasprintf("%s: cannot run objdump: %s", base(obj),
                         strerror(errno));
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || r.truncated) {
        refusal = xasprintf("%s: objdump cannot disassemble it%s", base(obj),
                            r.truncated ? " (too large)" : "");
    } else {
        static const char *const insns[] = {"\tsyscall",      "\tsysenter",
                                            "\tint    $0x80", "\tsvc\t",
                                            "\tsvc ",         NULL};
        for (const char *const *i = insns; *i && !refusal; i++)
            if (strstr(r.output, *i) != NULL)
                refusal =
                    xasprintf("%s: refused: its machine code makes a system "
                              "call itself (%s); call the libc function "
                              "instead",
                              base(obj), *i + 1);
    }
    run_result_free(&r);
    return refusal;
}

/* path with its extension (".o") replaced by ext. */
static char *
sibling(const char *path, const char *ext)
{
    const char *dot = strrchr(path, '.');
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    return xasprintf("%.*s%s", (int)stem, path, ext);
}

int
sub_check(const struct chapter *ch, const struct chapter_files *cf,
          const char *const *allowed, char **msg)
{
    *msg = NULL;
    for (size_t i = 0; i < cf->nobjects && *msg == NULL; i++) {
        const char *obj = cf->objects[i];
        char *d = sibling(obj, ".d");
        char *s = sibling(obj, ".s");
        *msg = check_includes(d, allowed);
        if (*msg == NULL)
            *msg = check_assembly(s);
        if (*msg == NULL)
            *msg = check_elf(ch, obj);
        if (*msg == NULL)
            *msg = check_syscalls(obj);
        free(d);
        free(s);
    }
    return *msg ? -1 : 0;
}
