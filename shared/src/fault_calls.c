/*
 * fault_calls.c - the replacements of the calls that move no bytes (waits,
 * accepts, syncs, and the memory calls mmap, munmap, madvise, msync), for
 * the fault-injection layer described in iolab/fault.h. Each takes its
 * step from fault.c (fi_fails_here) and either fails as the plan says or
 * makes the real call; the memory calls then show what happened to their
 * fi_observe_mem observer.
 */
#include "fault_internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <unistd.h>

/* ===================================================================== */
/* Waits, accepts, syncs                                                 */
/* ===================================================================== */

int
fi_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    return fi_fails_here(FI_WAIT, -1) ? -1 : select(nfds, r, w, e, tv);
}

int
fi_pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
           const sigset_t *mask)
{
    return fi_fails_here(FI_WAIT, -1) ? -1 : pselect(nfds, r, w, e, ts, mask);
}

int
fi_poll(struct pollfd *fds, unsigned long nfds, int timeout)
{
    return fi_fails_here(FI_WAIT, -1) ? -1 : poll(fds, nfds, timeout);
}

int
fi_ppoll(struct pollfd *fds, unsigned long nfds, const struct timespec *ts,
         const sigset_t *mask)
{
    return fi_fails_here(FI_WAIT, -1) ? -1 : ppoll(fds, nfds, ts, mask);
}

int
fi_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    return fi_fails_here(FI_WAIT, epfd) ? -1
                                        : epoll_wait(epfd, ev, max, timeout);
}

int
fi_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
               const sigset_t *mask)
{
    return fi_fails_here(FI_WAIT, epfd)
               ? -1
               : epoll_pwait(epfd, ev, max, timeout, mask);
}

int
fi_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return fi_fails_here(FI_ACCEPT, fd) ? -1 : accept(fd, addr, len);
}

int
fi_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return fi_fails_here(FI_ACCEPT, fd) ? -1 : accept4(fd, addr, len, flags);
}

int
fi_fsync(int fd)
{
    return fi_fails_here(FI_FSYNC, fd) ? -1 : fsync(fd);
}

int
fi_fdatasync(int fd)
{
    return fi_fails_here(FI_FSYNC, fd) ? -1 : fdatasync(fd);
}

/* ===================================================================== */
/* Mappings                                                              */
/* ===================================================================== */

void *
fi_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = fi_fails_here(FI_MMAP, fd)
                  ? MAP_FAILED
                  : mmap(addr, len, prot, flags, fd, off);

    fi_show_mem(&(struct fi_mem_call){.op = FI_MMAP,
                                      .addr = p,
                                      .len = len,
                                      .fd = fd,
                                      .flags = flags,
                                      .ret = p == MAP_FAILED ? -1 : 0});
    return p;
}

/* The large-file name of mmap: the same call where off_t is 64 bits. */
void *
fi_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return fi_mmap(addr, len, prot, flags, fd, off);
}

/* Shows a call on a range (munmap, madvise, msync) and returns ret. */
static int
range_done(enum fi_op op, void *addr, size_t len, int flags, int ret)
{
    fi_show_mem(&(struct fi_mem_call){.op = op,
                                      .addr = addr,
                                      .len = len,
                                      .fd = -1,
                                      .flags = flags,
                                      .ret = ret});
    return ret;
}

int
fi_munmap(void *addr, size_t len)
{
    int ret = fi_fails_here(FI_MUNMAP, -1) ? -1 : munmap(addr, len);

    return range_done(FI_MUNMAP, addr, len, 0, ret);
}

int
fi_madvise(void *addr, size_t len, int advice)
{
    int ret = fi_fails_here(FI_MADVISE, -1) ? -1 : madvise(addr, len, advice);

    return range_done(FI_MADVISE, addr, len, advice, ret);
}

int
fi_msync(void *addr, size_t len, int flags)
{
    int ret = fi_fails_here(FI_MSYNC, -1) ? -1 : msync(addr, len, flags);

    return range_done(FI_MSYNC, addr, len, flags, ret);
}
