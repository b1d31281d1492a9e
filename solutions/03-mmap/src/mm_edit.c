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
    // SOLUTION-BEGIN
    struct stat sb;
    size_t done = 0;
    int err = 0;

    if (len == 0)
        return -EINVAL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    if (fstat(fd, &sb) == -1) {
        err = -errno;
        goto out_close_fd;
    }
    if (!S_ISREG(sb.st_mode)) {
        err = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
        goto out_close_fd;
    }
    size_t size = (size_t)sb.st_size;
    if (size < len)
        goto out_close_fd; /* nothing can match; an empty file can't map */

    unsigned char *map =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        err = -errno;
        goto out_close_fd;
    }
    (void)madvise(map, size, MADV_SEQUENTIAL);

    /*
     * Only the pages holding a match are ever written, so only they become
     * dirty and only they are written back. pos moves past each
     * replacement: replaced bytes are never searched again [MM-11].
     */
    for (size_t pos = 0; size - pos >= len;) {
        unsigned char *hit = memmem(map + pos, size - pos, from, len);
        if (hit == NULL)
            break;
        memcpy(hit, to, len);
        done++;
        pos = (size_t)(hit - map) + len;
    }
    /* MS_SYNC waits for the write-back and reports its errors (EIO). */
    if (done > 0 && msync(map, size, MS_SYNC) == -1)
        err = -errno;
    munmap(map, size);
out_close_fd:
    close(fd);
    return err != 0 ? err : (ssize_t)done;
    // SOLUTION-STUB
    // (void)path;
    // (void)from;
    // (void)to;
    // (void)len;
    // return -ENOSYS;
    // SOLUTION-END
}
