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
    // SOLUTION-BEGIN
    struct iovec win[BAT_IOV_WINDOW];
    size_t total = 0;

    if (iovcnt < 0)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
            return -EINVAL;
        total += iov[i].iov_len;
    }

    /*
     * Position: iov[i] with off of its bytes already written. Invariant:
     * every byte before that position was accepted by the kernel, in
     * order, and left is the number of bytes after it. Since left > 0
     * inside the loop, some entry at or after i still has bytes, so the
     * skipping below never runs off the end of the array.
     */
    int i = 0;
    size_t off = 0, left = total;
    while (left > 0) {
        while (iov[i].iov_len == off) { /* empty, or finished */
            i++;
            off = 0;
        }
        const struct iovec *v = iov + i;
        int cnt = iovcnt - i < IOV_MAX ? iovcnt - i : IOV_MAX;
        if (off > 0) {
            /*
             * A partial entry: the kernel must start inside it, and the
             * caller's array is read-only, so trim a private copy of the
             * next few entries (iovecs only, never the bytes they point
             * to).
             */
            if (cnt > BAT_IOV_WINDOW)
                cnt = BAT_IOV_WINDOW;
            memcpy(win, iov + i, (size_t)cnt * sizeof(win[0]));
            win[0].iov_base = (char *)win[0].iov_base + off;
            win[0].iov_len -= off;
            v = win;
        }
        ssize_t n = writev(fd, v, cnt);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* no progress and no reason: do not spin */
        left -= (size_t)n;
        /* Advance the position by n bytes, across whole entries if need be. */
        size_t adv = (size_t)n;
        while (adv > 0) {
            size_t rest = iov[i].iov_len - off;
            if (adv < rest) {
                off += adv;
                break;
            }
            adv -= rest;
            i++;
            off = 0;
        }
    }
    return (ssize_t)total;
    // SOLUTION-STUB
    // (void)fd;
    // (void)iov;
    // (void)iovcnt;
    // return -ENOSYS;
    // SOLUTION-END
}
