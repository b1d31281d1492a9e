/*
 * mm_edit.c - exercise 3 of chapter 03: editing a file in place through a
 * shared mapping.
 *
 * The contract is mm_replace in include/mm.h, promises [MM-11] to [MM-14].
 *
 * The idea to own: with MAP_SHARED, a store into the mapping is a store
 * into the page cache, the same pages read(2) and every other process
 * see. It reaches the disk later, when the kernel writes dirty pages back,
 * unless msync(MS_SYNC) asks for it now and reports whether it worked.
 */
#include "mm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * TODO(edit.1): replace from by to (both len bytes) from left to right,
 * without overlap [MM-11], through a MAP_SHARED read-write mapping, and
 * msync(MS_SYNC) before returning [MM-12]. A file with nothing to replace
 * must not be written at all [MM-13]. Errors as in [MM-14]; nothing left
 * open or mapped.
 */
ssize_t
mm_replace(const char *path, const void *from, const void *to, size_t len)
{
    (void)path;
    (void)from;
    (void)to;
    (void)len;
    return -ENOSYS;
}
