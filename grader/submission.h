/*
 * submission.h - what the grader takes from a submission, and what it lets
 * the submission's code contain.
 *
 * A submission contributes exactly the files its chapter lists as the
 * student's (chapter.mk's NN_SRC). They are copied, never linked, into a
 * fresh staging directory before every grade, so a timestamp from an
 * unpacked archive cannot make make reuse an old object, and nothing else
 * in the submission (a given file, a test, a Makefile) is ever read.
 *
 * After the staged files are compiled, and before anything is linked, the
 * grader inspects what the compiler produced:
 * - every file the compiler read (the .d files, system headers included)
 *   lies in an allowed place and is a regular file;
 * - the assembly holds no directive that reads a file or builds one
 *   (.incbin, .include, .macro, .irp);
 * - each object holds only the kinds of section plain code needs: nothing
 *   runs before main or after exit, and nothing registers itself with the
 *   test framework, whatever a section is called;
 * - the object exports only names with the chapter's prefix (it cannot
 *   replace a function of libc or of the course), and calls nothing of the
 *   course's kits, nothing that looks symbols up at run time, and nothing
 *   that ends, replaces or signals processes;
 * - the machine code makes no system call itself (no syscall instruction).
 * Each refusal is one sentence naming the file and what to change.
 */
#ifndef IOLAB_SUBMISSION_H
#define IOLAB_SUBMISSION_H

#include <stddef.h>

#include "grader.h"

/* What the Makefile says of one chapter (make files-NN). */
struct chapter_files {
    char **student; /* file names in src/ that come from the submission */
    size_t nstudent;
    char **given; /* file names in src/ that the course provides */
    size_t ngiven;
    char **objects; /* the student's objects, before fault rewriting */
    size_t nobjects;
    char *tests, *bench; /* the linked programs */
};

/*
 * sub_files - asks make for ch's files, with the given make arguments
 * (TREE=..., B=...). Returns 0, or -1 with *msg allocated.
 */
int sub_files(const char *chdir, const char *const *make_args,
              struct chapter_files *cf, char **msg);
void sub_files_free(struct chapter_files *cf);

/*
 * sub_stage - copies the student's files (and any headers of their own,
 * *.h with a plain name) from tree/chdir/src to stage_src, which must not
 * exist. Refuses symlinks, non-regular files and files over 1 MiB. Returns
 * 0, or -1 with *msg allocated (a missing file, say). *note is set to a
 * sentence about ignored extra files, or NULL.
 */
int sub_stage(const char *tree, const char *chdir,
              const struct chapter_files *cf, const char *stage_src, char **msg,
              char **note);

/*
 * sub_check - inspects every object of cf (and its .d and .s beside it).
 * allowed[] lists the directories (NULL-terminated) whose files the code
 * may include. Returns 0, or -1 with *msg allocated.
 */
int sub_check(const struct chapter *ch, const struct chapter_files *cf,
              const char *const *allowed, char **msg);

#endif /* IOLAB_SUBMISSION_H */
