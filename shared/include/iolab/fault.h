/*
 * fault.h - deterministic fault injection for the IO calls of student code.
 *
 * When a chapter's test binary is linked, the student's object files are
 * rewritten (objcopy --redefine-syms, see shared/fault.syms) so that their
 * calls to read, write, readv, writev, send and recv land in this layer
 * instead of libc. The tests' own calls are untouched. Each call consults
 * the plan a test set for that operation and then either passes through to
 * the real call, passes through with a smaller length (a short transfer), or
 * fails without calling the kernel (-1 with errno EINTR or EAGAIN, ...).
 *
 * A plan is a small script, one step per call, for example
 *
 *     fi_plan(FI_READ, "short:1 *");         every read gets at most 1 byte
 *     fi_plan(FI_WRITE, "eintr short:3 *");  alternate EINTR, 3-byte writes
 *     fi_plan(FI_RECV, "pass eagain");       2nd recv says EAGAIN, then normal
 *
 * Steps: pass | short:N (N >= 1) | eintr | eagain | reset (ECONNRESET) |
 * zero (return 0 and transfer nothing) | err:NAME (fail with errno NAME,
 * one of EINTR EAGAIN ECONNRESET ECONNABORTED EPIPE EIO ENOSPC EMFILE
 * ENFILE ENOMEM ENOBUFS EBADF). A final '*' repeats the whole script
 * forever; without it, calls after the last step pass through.
 *
 * The calls that move no bytes (FI_WAIT, FI_ACCEPT, FI_FSYNC and the
 * memory calls FI_MMAP, FI_MUNMAP, FI_MADVISE, FI_MSYNC) treat short and
 * zero as pass: only the failing steps mean anything to them. A wait that
 * fails with EINTR does so without waiting, as after a signal; an mmap
 * that fails returns MAP_FAILED.
 *
 * The layer is thread-safe: steps are taken in call order across threads.
 *
 * A repeating script suits one descriptor driven by one thread. A server
 * that polls many connections shares one plan among them all, and a
 * periodic script can then land the same connection on "eagain" on every
 * pass, forever: that starves it, which no kernel would do. For servers,
 * use fi_plan_random: seeded faults with no period to alias with.
 */
#ifndef IOLAB_FAULT_H
#define IOLAB_FAULT_H

#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

enum fi_op {
    FI_READ,    /* read, pread */
    FI_WRITE,   /* write, pwrite */
    FI_READV,   /* readv, preadv */
    FI_WRITEV,  /* writev, pwritev */
    FI_SEND,    /* send, sendto, sendmsg */
    FI_RECV,    /* recv, recvfrom, recvmsg */
    FI_WAIT,    /* select, pselect, poll, ppoll, epoll_wait, epoll_pwait */
    FI_ACCEPT,  /* accept, accept4 */
    FI_FSYNC,   /* fsync, fdatasync */
    FI_MMAP,    /* mmap, mmap64 */
    FI_MUNMAP,  /* munmap */
    FI_MADVISE, /* madvise */
    FI_MSYNC,   /* msync */
    FI_NOPS     /* number of operations; not an operation */
};

/*
 * fi_plan - set the plan for op, replacing any earlier one, and reset the
 * op's step cursor. Returns 0, or -EINVAL for a malformed script (a bug in
 * the test, reported with the offending token on stderr).
 */
int fi_plan(enum fi_op op, const char *script);

/*
 * fi_plan_random - each call, independently: cut short to 1..max_short
 * bytes with probability pct_short %, fail with EAGAIN with pct_eagain %,
 * with EINTR with pct_eintr %, else pass. The sequence of faults is fixed
 * by seed. Returns 0, or -EINVAL if the percentages exceed 100 in total.
 */
int fi_plan_random(enum fi_op op, uint64_t seed, unsigned pct_short,
                   size_t max_short, unsigned pct_eagain, unsigned pct_eintr);

/* fi_reset - drop every plan and observer, and zero every call counter. */
void fi_reset(void);

/*
 * fi_observe - lets a test see each call of op that student code makes:
 * cb(op, fd, arg) runs at every such call, before the plan is applied and
 * before the real call, with the call's descriptor (the epoll instance
 * for epoll_wait; -1 for select and poll, which have no single one, and
 * for munmap, madvise and msync, which have none). One observer per op;
 * cb NULL removes it. cb runs in the calling thread, with no lock of this
 * layer held. Returns 0, or -EINVAL for a bad op.
 */
typedef void (*fi_observe_cb)(enum fi_op op, int fd, void *arg);
int fi_observe(enum fi_op op, fi_observe_cb cb, void *arg);

/*
 * fi_observe_mem - lets a test see the arguments and the outcome of each
 * memory call (FI_MMAP, FI_MUNMAP, FI_MADVISE, FI_MSYNC) that student code
 * makes: cb(call, arg) runs after the call returned (or failed by plan),
 * in the calling thread, with no lock of this layer held. One such
 * observer per op, besides fi_observe's; cb NULL removes it. Returns 0, or
 * -EINVAL for an op that is not a memory call.
 */
struct fi_mem_call {
    enum fi_op op; /* which call */
    void *addr;    /* mmap: the new mapping, MAP_FAILED if none; else the
                      start of the range the call was given */
    size_t len;    /* the length the call was given */
    int fd;        /* mmap: the descriptor mapped; -1 for the others */
    int flags;     /* mmap, msync: the flags; madvise: the advice */
    int ret;       /* 0 if the call succeeded, -1 if it failed */
};
typedef void (*fi_mem_cb)(const struct fi_mem_call *call, void *arg);
int fi_observe_mem(enum fi_op op, fi_mem_cb cb, void *arg);

/* fi_calls - how many times student code called op since the last reset. */
unsigned long fi_calls(enum fi_op op);

/* The replacements that student code is linked against. */
ssize_t fi_read(int fd, void *buf, size_t len);
ssize_t fi_write(int fd, const void *buf, size_t len);
ssize_t fi_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t fi_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t fi_send(int fd, const void *buf, size_t len, int flags);
ssize_t fi_recv(int fd, void *buf, size_t len, int flags);
ssize_t fi_pread(int fd, void *buf, size_t len, off_t off);
ssize_t fi_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t fi_preadv(int fd, const struct iovec *iov, int iovcnt, off_t off);
ssize_t fi_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off);
ssize_t fi_sendto(int fd, const void *buf, size_t len, int flags,
                  const struct sockaddr *addr, socklen_t alen);
ssize_t fi_recvfrom(int fd, void *buf, size_t len, int flags,
                    struct sockaddr *addr, socklen_t *alen);
ssize_t fi_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t fi_recvmsg(int fd, struct msghdr *msg, int flags);

struct pollfd;
struct epoll_event;
struct timespec;
struct timeval;
int fi_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv);
int fi_pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
               const struct timespec *ts, const sigset_t *mask);
int fi_poll(struct pollfd *fds, unsigned long nfds, int timeout);
int fi_ppoll(struct pollfd *fds, unsigned long nfds, const struct timespec *ts,
             const sigset_t *mask);
int fi_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout);
int fi_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
                   const sigset_t *mask);
int fi_accept(int fd, struct sockaddr *addr, socklen_t *len);
int fi_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int fi_fsync(int fd);
int fi_fdatasync(int fd);
void *fi_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *fi_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int fi_munmap(void *addr, size_t len);
int fi_madvise(void *addr, size_t len, int advice);
int fi_msync(void *addr, size_t len, int flags);

#endif /* IOLAB_FAULT_H */
