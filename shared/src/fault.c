/*
 * fault.c - the fault-injection layer described in iolab/fault.h.
 *
 * Organisation: plan parsing, then the step cursor, then one thin
 * replacement per call that moves bytes; the calls that move none (waits,
 * accepts, syncs, mappings) are in fault_calls.c. The replacements never retry
 * anything themselves: whatever they return is exactly what the kernel might
 * have returned, which is the point.
 */
#include "iolab/fault.h"
#include "fault_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#define FI_MAX_STEPS 64 /* longer scripts are a test bug, not a need */

enum fi_kind {
    FI_PASS,
    FI_SHORT,
    FI_EINTR,
    FI_EAGAIN,
    FI_RESET,
    FI_ZERO,
    FI_ERR
};

struct fi_step {
    enum fi_kind kind; /* what this call does */
    size_t max;        /* FI_SHORT: the most bytes this call may move */
    int err;           /* FI_ERR: the errno to fail with */
};

/* The errno values a plan may name in err:NAME. */
static const struct {
    const char *name;
    int err;
} err_names[] = {
    {"EINTR", EINTR},           {"EAGAIN", EAGAIN},
    {"ECONNRESET", ECONNRESET}, {"ECONNABORTED", ECONNABORTED},
    {"EPIPE", EPIPE},           {"EIO", EIO},
    {"ENOSPC", ENOSPC},         {"EMFILE", EMFILE},
    {"ENFILE", ENFILE},         {"ENOMEM", ENOMEM},
    {"ENOBUFS", ENOBUFS},       {"EBADF", EBADF},
};

struct fi_plan {
    struct fi_step steps[FI_MAX_STEPS]; /* steps[0..nsteps) */
    unsigned nsteps;                    /* 0: no plan, every call passes */
    unsigned next;                      /* index of the next step to take */
    bool repeat;                        /* wrap to 0 after the last step */
    bool random;                        /* draw each step instead */
    uint64_t rng;                       /* random: xorshift64 state */
    unsigned pct_short, pct_eagain, pct_eintr; /* random: odds, in % */
    size_t max_short;    /* random: longest short transfer */
    unsigned long calls; /* calls seen since the last reset */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fi_plan plans[FI_NOPS];
static struct {
    fi_observe_cb cb; /* NULL: nobody watches this op */
    void *arg;
    fi_mem_cb mem_cb; /* memory calls only; NULL: nobody watches */
    void *mem_arg;
} observers[FI_NOPS];

/* ===================================================================== */
/* Plans                                                                 */
/* ===================================================================== */

static int
parse_step(const char *tok, struct fi_step *st)
{
    if (strcmp(tok, "pass") == 0) {
        *st = (struct fi_step){.kind = FI_PASS};
    } else if (strcmp(tok, "eintr") == 0) {
        *st = (struct fi_step){.kind = FI_EINTR};
    } else if (strcmp(tok, "eagain") == 0) {
        *st = (struct fi_step){.kind = FI_EAGAIN};
    } else if (strcmp(tok, "reset") == 0) {
        *st = (struct fi_step){.kind = FI_RESET};
    } else if (strcmp(tok, "zero") == 0) {
        *st = (struct fi_step){.kind = FI_ZERO};
    } else if (strncmp(tok, "err:", 4) == 0) {
        size_t i = 0;
        while (i < sizeof(err_names) / sizeof(err_names[0]) &&
               strcmp(err_names[i].name, tok + 4) != 0)
            i++;
        if (i == sizeof(err_names) / sizeof(err_names[0]))
            return -EINVAL;
        *st = (struct fi_step){.kind = FI_ERR, .err = err_names[i].err};
    } else if (strncmp(tok, "short:", 6) == 0) {
        char *end;
        unsigned long n = strtoul(tok + 6, &end, 10);
        if (*end != '\0' || n == 0)
            return -EINVAL;
        *st = (struct fi_step){.kind = FI_SHORT, .max = n};
    } else {
        return -EINVAL;
    }
    return 0;
}

int
fi_plan(enum fi_op op, const char *script)
{
    struct fi_plan p = {0};
    char copy[1024];
    char *save = NULL;

    if ((unsigned)op >= FI_NOPS || strlen(script) >= sizeof(copy))
        return -EINVAL;
    strcpy(copy, script);
    for (char *tok = strtok_r(copy, " ,\t", &save); tok != NULL;
         tok = strtok_r(NULL, " ,\t", &save)) {
        if (strcmp(tok, "*") == 0) {
            p.repeat = true;
            continue;
        }
        if (p.repeat || p.nsteps == FI_MAX_STEPS ||
            parse_step(tok, &p.steps[p.nsteps]) != 0) {
            fprintf(stderr, "fi_plan: bad step '%s' in \"%s\"\n", tok, script);
            return -EINVAL;
        }
        p.nsteps++;
    }
    pthread_mutex_lock(&lock);
    p.calls = plans[op].calls;
    plans[op] = p;
    pthread_mutex_unlock(&lock);
    return 0;
}

int
fi_plan_random(enum fi_op op, uint64_t seed, unsigned pct_short,
               size_t max_short, unsigned pct_eagain, unsigned pct_eintr)
{
    if ((unsigned)op >= FI_NOPS || pct_short + pct_eagain + pct_eintr > 100 ||
        max_short == 0)
        return -EINVAL;
    pthread_mutex_lock(&lock);
    plans[op] = (struct fi_plan){
        .calls = plans[op].calls,
        .random = true,
        .rng = seed ? seed : 1,
        .pct_short = pct_short,
        .pct_eagain = pct_eagain,
        .pct_eintr = pct_eintr,
        .max_short = max_short,
    };
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Draws a random step; called with the lock held. */
static struct fi_step
draw_step(struct fi_plan *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    unsigned roll = (unsigned)(p->rng % 100);
    if (roll < p->pct_short)
        return (struct fi_step){.kind = FI_SHORT,
                                .max = 1 + (p->rng >> 32) % p->max_short};
    roll -= p->pct_short;
    if (roll < p->pct_eagain)
        return (struct fi_step){.kind = FI_EAGAIN};
    roll -= p->pct_eagain;
    if (roll < p->pct_eintr)
        return (struct fi_step){.kind = FI_EINTR};
    return (struct fi_step){.kind = FI_PASS};
}

void
fi_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(plans, 0, sizeof(plans));
    memset(observers, 0, sizeof(observers));
    pthread_mutex_unlock(&lock);
}

int
fi_observe(enum fi_op op, fi_observe_cb cb, void *arg)
{
    if ((unsigned)op >= FI_NOPS)
        return -EINVAL;
    pthread_mutex_lock(&lock);
    observers[op].cb = cb;
    observers[op].arg = arg;
    pthread_mutex_unlock(&lock);
    return 0;
}

/* The memory calls, the only ops fi_observe_mem accepts. */
static bool
is_mem_op(enum fi_op op)
{
    return op == FI_MMAP || op == FI_MUNMAP || op == FI_MADVISE ||
           op == FI_MSYNC;
}

int
fi_observe_mem(enum fi_op op, fi_mem_cb cb, void *arg)
{
    if (!is_mem_op(op))
        return -EINVAL;
    pthread_mutex_lock(&lock);
    observers[op].mem_cb = cb;
    observers[op].mem_arg = arg;
    pthread_mutex_unlock(&lock);
    return 0;
}

void
fi_show_mem(const struct fi_mem_call *call)
{
    pthread_mutex_lock(&lock);
    fi_mem_cb cb = observers[call->op].mem_cb;
    void *arg = observers[call->op].mem_arg;
    pthread_mutex_unlock(&lock);
    if (cb != NULL) {
        int saved = errno; /* the caller's errno is the call's result */
        cb(call, arg);
        errno = saved;
    }
}

unsigned long
fi_calls(enum fi_op op)
{
    unsigned long n;

    pthread_mutex_lock(&lock);
    n = plans[op].calls;
    pthread_mutex_unlock(&lock);
    return n;
}

/*
 * Counts the call on descriptor fd (-1: none, as for select), shows it to
 * op's observer, and returns the step it must follow. The observer runs
 * without the lock, so it may call anything, this layer included.
 */
static struct fi_step
take_step(enum fi_op op, int fd)
{
    struct fi_plan *p = &plans[op];
    struct fi_step st = {.kind = FI_PASS};

    pthread_mutex_lock(&lock);
    p->calls++;
    if (p->random) {
        st = draw_step(p);
    } else if (p->next < p->nsteps) {
        st = p->steps[p->next++];
        if (p->next == p->nsteps && p->repeat)
            p->next = 0;
    }
    fi_observe_cb cb = observers[op].cb;
    void *arg = observers[op].arg;
    pthread_mutex_unlock(&lock);
    if (cb != NULL)
        cb(op, fd, arg);
    return st;
}

/*
 * Applies a step that does not reach the kernel. Returns true (and sets
 * *ret and errno) when the call is decided here; false when it must go on
 * to the real call, with *len reduced for a short step.
 */
static bool
decide(struct fi_step st, size_t *len, ssize_t *ret)
{
    switch (st.kind) {
    case FI_PASS:
        return false;
    case FI_SHORT:
        if (*len > st.max)
            *len = st.max;
        return false;
    case FI_EINTR:
        errno = EINTR;
        break;
    case FI_EAGAIN:
        errno = EAGAIN;
        break;
    case FI_RESET:
        errno = ECONNRESET;
        break;
    case FI_ERR:
        errno = st.err;
        break;
    case FI_ZERO:
        *ret = 0;
        return true;
    }
    *ret = -1;
    return true;
}

/*
 * Trims an iovec array to at most max bytes in total, into out[]. Returns
 * the new count. The caller's array is never modified.
 */
static int
trim_iov(const struct iovec *iov, int iovcnt, size_t max, struct iovec *out)
{
    int n = 0;

    for (int i = 0; i < iovcnt && max > 0; i++) {
        out[n] = iov[i];
        if (out[n].iov_len > max)
            out[n].iov_len = max;
        max -= out[n].iov_len;
        n++;
    }
    return n;
}

/* ===================================================================== */
/* Replacements                                                          */
/* ===================================================================== */

ssize_t
fi_read(int fd, void *buf, size_t len)
{
    ssize_t ret;

    if (decide(take_step(FI_READ, fd), &len, &ret))
        return ret;
    return read(fd, buf, len);
}

ssize_t
fi_write(int fd, const void *buf, size_t len)
{
    ssize_t ret;

    if (decide(take_step(FI_WRITE, fd), &len, &ret))
        return ret;
    return write(fd, buf, len);
}

ssize_t
fi_send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t ret;

    if (decide(take_step(FI_SEND, fd), &len, &ret))
        return ret;
    return send(fd, buf, len, flags);
}

ssize_t
fi_recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t ret;

    if (decide(take_step(FI_RECV, fd), &len, &ret))
        return ret;
    return recv(fd, buf, len, flags);
}

/* The vector calls, with or without an offset. */
enum vec_call { VEC_READV, VEC_WRITEV, VEC_PREADV, VEC_PWRITEV };

static ssize_t
vec_real(enum vec_call call, int fd, const struct iovec *iov, int iovcnt,
         off_t off)
{
    switch (call) {
    case VEC_READV:
        return readv(fd, iov, iovcnt);
    case VEC_WRITEV:
        return writev(fd, iov, iovcnt);
    case VEC_PREADV:
        return preadv(fd, iov, iovcnt, off);
    case VEC_PWRITEV:
        return pwritev(fd, iov, iovcnt, off);
    }
    return -1;
}

/* Shared body of the vector calls: the step may trim the vector. */
static ssize_t
vector_call(enum vec_call call, int fd, const struct iovec *iov, int iovcnt,
            off_t off)
{
    enum fi_op op =
        call == VEC_READV || call == VEC_PREADV ? FI_READV : FI_WRITEV;
    struct fi_step st = take_step(op, fd);
    size_t len = SIZE_MAX;
    ssize_t ret;

    if (decide(st, &len, &ret))
        return ret;
    if (st.kind == FI_SHORT && iovcnt > 0) {
        struct iovec *cut = calloc((size_t)iovcnt, sizeof(*cut));
        if (cut == NULL) {
            errno = ENOMEM;
            return -1;
        }
        int n = trim_iov(iov, iovcnt, st.max, cut);
        ret = vec_real(call, fd, cut, n, off);
        int saved = errno;
        free(cut);
        errno = saved;
        return ret;
    }
    return vec_real(call, fd, iov, iovcnt, off);
}

ssize_t
fi_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return vector_call(VEC_READV, fd, iov, iovcnt, 0);
}

ssize_t
fi_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return vector_call(VEC_WRITEV, fd, iov, iovcnt, 0);
}

ssize_t
fi_preadv(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    return vector_call(VEC_PREADV, fd, iov, iovcnt, off);
}

ssize_t
fi_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    return vector_call(VEC_PWRITEV, fd, iov, iovcnt, off);
}

ssize_t
fi_pread(int fd, void *buf, size_t len, off_t off)
{
    ssize_t ret;

    if (decide(take_step(FI_READ, fd), &len, &ret))
        return ret;
    return pread(fd, buf, len, off);
}

ssize_t
fi_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t ret;

    if (decide(take_step(FI_WRITE, fd), &len, &ret))
        return ret;
    return pwrite(fd, buf, len, off);
}

ssize_t
fi_sendto(int fd, const void *buf, size_t len, int flags,
          const struct sockaddr *addr, socklen_t alen)
{
    ssize_t ret;

    if (decide(take_step(FI_SEND, fd), &len, &ret))
        return ret;
    return sendto(fd, buf, len, flags, addr, alen);
}

ssize_t
fi_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
            socklen_t *alen)
{
    ssize_t ret;

    if (decide(take_step(FI_RECV, fd), &len, &ret))
        return ret;
    return recvfrom(fd, buf, len, flags, addr, alen);
}

/* Shared body of sendmsg and recvmsg: a short step trims msg_iov. */
static ssize_t
msg_call(enum fi_op op, int fd, struct msghdr *msg, int flags)
{
    struct fi_step st = take_step(op, fd);
    size_t len = SIZE_MAX;
    ssize_t ret;

    if (decide(st, &len, &ret))
        return ret;
    if (st.kind == FI_SHORT && msg->msg_iovlen > 0) {
        struct msghdr m = *msg;
        struct iovec *cut = calloc(msg->msg_iovlen, sizeof(*cut));
        if (cut == NULL) {
            errno = ENOMEM;
            return -1;
        }
        m.msg_iov = cut;
        m.msg_iovlen =
            (size_t)trim_iov(msg->msg_iov, (int)msg->msg_iovlen, st.max, cut);
        ret = op == FI_SEND ? sendmsg(fd, &m, flags) : recvmsg(fd, &m, flags);
        int saved = errno;
        if (op == FI_RECV) { /* what the kernel reports back */
            msg->msg_flags = m.msg_flags;
            msg->msg_controllen = m.msg_controllen;
            msg->msg_namelen = m.msg_namelen;
        }
        free(cut);
        errno = saved;
        return ret;
    }
    return op == FI_SEND ? sendmsg(fd, msg, flags) : recvmsg(fd, msg, flags);
}

ssize_t
fi_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    /* msg_call copies before trimming and never writes through msg. */
    return msg_call(FI_SEND, fd, (struct msghdr *)msg, flags);
}

ssize_t
fi_recvmsg(int fd, struct msghdr *msg, int flags)
{
    return msg_call(FI_RECV, fd, msg, flags);
}

/* ===================================================================== */
/* What fault_calls.c needs: the failing steps and the memory observers */
/* ===================================================================== */

/*
 * Takes op's step; returns true (with errno set) when the call must fail
 * without reaching the kernel. Short and zero steps mean nothing here.
 */
bool
fi_fails_here(enum fi_op op, int fd)
{
    struct fi_step st = take_step(op, fd);

    switch (st.kind) {
    case FI_EINTR:
        errno = EINTR;
        return true;
    case FI_EAGAIN:
        errno = EAGAIN;
        return true;
    case FI_RESET:
        errno = op == FI_ACCEPT ? ECONNABORTED : ECONNRESET;
        return true;
    case FI_ERR:
        errno = st.err;
        return true;
    default:
        return false;
    }
}
