/*
 * sub_inspect.c - sub_check (submission.h): inspecting what the compiler
 * made of a submission's staged files, before anything is linked.
 *
 * Sections: the include check (.d files); the assembly check (.s files);
 * the object check (ELF sections and symbols, parsed here, and system
 * calls, found with objdump).
 *
 * Everything read here was written by, or from, untrusted code: every
 * length and offset is checked before use, and no name from a submission
 * reaches a shell.
 */
#include "submission.h"

#include <ctype.h>
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
#include "submission_int.h"
#include "xalloc.h"

#define OBJ_MAX (64 << 20)     /* an object file: 64 MiB */
#define OBJDUMP_CAP (32 << 20) /* disassembly kept for the scan */

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
        char *s = sub_shown(dep);
        char *m = xasprintf("%s: the compiler read %s, which cannot be checked",
                            sub_base(obj), s);
        free(s);
        return m;
    }
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
        if (under(real, *a))
            ok = true;
    if (ok && S_ISREG(st.st_mode))
        return NULL;
    char *s = sub_shown(dep);
    char *m = xasprintf(
        "%s: refused: it includes %s, which %s; exercise code may "
        "include the chapter's include/, shared/include, the "
        "system's headers and its own files in src/",
        sub_base(obj), s,
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
                         sub_base(dfile));
    char *colon = strstr(text, ": ");
    if (colon == NULL) {
        free(text);
        return xasprintf("%s: the list of files the compiler read is malformed",
                         sub_base(dfile));
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
                         sub_base(sfile));
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
                              sub_base(sfile), *d);
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
        return xasprintf("%s: the object cannot be read", sub_base(obj));
    if (len >= sizeof(eh))
        memcpy(&eh, buf, sizeof(eh));
    if (len < sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_REL ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
        eh.e_shnum > (len - eh.e_shoff) / sizeof(Elf64_Shdr) ||
        eh.e_shstrndx >= eh.e_shnum) {
        free(buf);
        return xasprintf("%s: not a 64-bit ELF object the grader can check",
                         sub_base(obj));
    }
    Elf64_Shdr shstr = shdr_at(buf, &eh, eh.e_shstrndx);
    if (!within(&shstr, len)) {
        free(buf);
        return xasprintf("%s: malformed section names", sub_base(obj));
    }
    const char *names = buf + shstr.sh_offset;

    for (size_t i = 1; i < eh.e_shnum && !refusal; i++) {
        Elf64_Shdr sh = shdr_at(buf, &eh, i);
        const char *name = str_at(names, shstr.sh_size, sh.sh_name);
        if (name == NULL) {
            refusal =
                xasprintf("%s: a section has no readable name", sub_base(obj));
            break;
        }
        bool known = has_prefix(name, ok_sections);
        bool runs_itself = sh.sh_type == SHT_INIT_ARRAY ||
                           sh.sh_type == SHT_FINI_ARRAY ||
                           sh.sh_type == SHT_PREINIT_ARRAY;
        bool exec_data =
            (sh.sh_flags & SHF_EXECINSTR) && strncmp(name, ".text", 5) != 0;
        if (!known || runs_itself || exec_data) {
            char *s = sub_shown(name);
            refusal = xasprintf(
                "%s: refused: it has a section '%s'%s; exercise code may "
                "only hold code and data (no constructors, destructors or "
                "test-framework hooks: nothing may run outside the tests)",
                sub_base(obj), s,
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
            refusal = xasprintf("%s: malformed symbol table", sub_base(obj));
            break;
        }
        Elf64_Shdr strsh = shdr_at(buf, &eh, sh.sh_link);
        if (!within(&strsh, len)) {
            refusal = xasprintf("%s: malformed symbol names", sub_base(obj));
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
            char *s = sub_shown(name);
            if (sym.st_shndx == SHN_UNDEF) {
                if (has_prefix(name, bad_prefixes) || in_list(name, bad_names))
                    refusal = xasprintf(
                        "%s: refused: it calls %s, which exercise code may "
                        "not use (the course's test and bench kits, "
                        "run-time symbol lookup and process control are "
                        "off limits: return an error instead of exiting)",
                        sub_base(obj), s);
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
                        sub_base(obj), s,
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
        return xasprintf("%s: cannot run objdump: %s", sub_base(obj),
                         strerror(errno));
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || r.truncated) {
        refusal = xasprintf("%s: objdump cannot disassemble it%s",
                            sub_base(obj), r.truncated ? " (too large)" : "");
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
                              sub_base(obj), *i + 1);
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
