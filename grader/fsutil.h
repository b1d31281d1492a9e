/*
 * fsutil.h - the few file-system chores the grader does in several
 * places: removing a work tree, creating a directory with its parents.
 * Neither follows a symlink it finds inside the tree (code under test
 * leaves its files there).
 */
#ifndef IOLAB_FSUTIL_H
#define IOLAB_FSUTIL_H

/* Removes path and everything below it, as far as it can; symlinks are
 * removed, never followed. A missing path is not an error. */
void rm_tree(const char *path);

/* Creates path and any missing parents (mode 0755). Returns 0 (also when
 * it exists), or -errno from the last mkdir. */
int mkdir_p(const char *path);

#endif /* IOLAB_FSUTIL_H */
