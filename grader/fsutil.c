/*
 * fsutil.c - the file-system chores of fsutil.h.
 */
#include "fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "xalloc.h"

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
mkdir_p(const char *path)
{
    char *p = xstrdup(path);

    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    int rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
    free(p);
    return rc;
}
