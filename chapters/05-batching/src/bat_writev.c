/*
 * bat_writev.c - exercise 1 of chapter 05: gathered writes.
 *
 * The contract, with every edge case, is in include/bat.h. The function
 * below is a TODO: replace the stub (which returns -ENOSYS) with code that
 * keeps every promise the header makes. Run `make grade CH=05` to see which
 * promises already hold.
 */
#include "bat.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/*
 * TODO(gather.1): write all the bytes of iov[0..iovcnt) with writev(2)
 * [BAT-2]. A writev may stop anywhere, even inside a buffer: continue from
 * that exact byte, without modifying the caller's array or copying any
 * payload [BAT-1]. A total of 0 makes no system call [BAT-3]; arrays longer
 * than IOV_MAX go in slices [BAT-4]; errors come back as -errno, and a
 * writev that returns 0 must not make the function spin [BAT-5]; EINTR is
 * retried [BAT-6]; and when nothing is partial, each slice is one call
 * [BAT-7].
 */
ssize_t
bat_writev_full(int fd, const struct iovec *iov, int iovcnt)
{
    (void)fd;
    (void)iov;
    (void)iovcnt;
    return -ENOSYS;
}
