/*
 * submission_int.h - what submission.c (staging) and sub_inspect.c (the
 * object checks) share beyond submission.h: how a refusal names a file.
 * Private to those two files.
 */
#ifndef IOLAB_SUBMISSION_INT_H
#define IOLAB_SUBMISSION_INT_H

/* The name without its directories, for messages: "nb_io.c". Points into
 * path. */
const char *sub_base(const char *path);

/* A printable copy of an untrusted name, allocated: at most its first 80
 * bytes, each byte that is not printable shown as \xNN. */
char *sub_shown(const char *s);

#endif /* IOLAB_SUBMISSION_INT_H */
