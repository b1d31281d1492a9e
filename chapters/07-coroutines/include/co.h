/*
 * co.h - the contract of chapter 07: stackful coroutines on epoll.
 *
 * Four parts, one exercise each:
 *  1. the switch: co_switch (x86-64 assembly, src/co_switch.S) saves what
 *     the System V ABI makes a called function preserve and loads another
 *     stack; co_create, co_resume, co_yield and co_destroy (src/co_core.c)
 *     give each coroutine a stack of its own with a guard page below it;
 *  2. the scheduler (src/co_sched.c): one thread, a FIFO run queue, epoll
 *     for readiness and a timer heap for sleeps and deadlines. co_read,
 *     co_write, co_accept and co_connect (src/co_io.c) try the call, and
 *     on EAGAIN park the coroutine until epoll or a timer wakes it;
 *  3. straight-line servers (src/co_echo.c): chapter 02's echo server as
 *     one coroutine per connection on that scheduler;
 *  4. a client (src/co_kv.c): many coroutines sharing a small pool of
 *     connections to kvd, parking while every connection is lent.
 *
 * This header is the specification. The skeleton in src/ and the reference
 * solution implement exactly these functions, and the tests in tests/ use
 * nothing else. Every sentence tagged [CO-n] is checked by a test whose
 * description names the same tag. One numbering scheme for the header.
 *
 * Conventions (shared by every chapter):
 *  - Functions that act return 0 or a non-negative count on success and a
 *    negative errno value on failure. The two constructors, co_create and
 *    co_spawn, return a handle, or NULL with errno set, as malloc does.
 *  - EINTR never reaches the caller: it is retried right at the call.
 *  - Coroutines belong to the thread that created them: every function
 *    here acts on the calling thread's coroutines only (the current
 *    coroutine and the scheduler are thread-local). Nothing here is
 *    async-signal-safe.
 */
#ifndef IOLAB_CO_H
#define IOLAB_CO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* ===================================================================== */
/* Exercise 1 (switch): the context switch and the coroutine               */
/* ===================================================================== */

/* The stack a coroutine gets when co_create is asked for 0 bytes. */
#ifndef CO_STACK_DEFAULT
#define CO_STACK_DEFAULT (64 * 1024) /* room for printf and a few frames */
#endif

/* The smallest stack co_create accepts: glibc's printf needs a few KiB. */
#ifndef CO_STACK_MIN
#define CO_STACK_MIN (16 * 1024)
#endif

/*
 * The floating-point control words a new coroutine starts with: the
 * values the ABI gives a process at start (round to nearest, every
 * exception masked, x87 at extended precision).
 */
#define CO_MXCSR_INIT 0x1F80u
#define CO_X87CW_INIT 0x037Fu

/* A coroutine's body. Returning from it finishes the coroutine. */
typedef void (*co_entry_cb)(void *arg);

/* Where a coroutine is in its life (co_core.c moves it along). */
enum co_state {
    CO_READY,    /* created, or yielded: co_resume may run it */
    CO_RUNNING,  /* on the CPU, or suspended inside a co_resume it made */
    CO_FINISHED, /* its body returned: it never runs again */
};

/*
 * struct co - one coroutine. The handle is the struct itself; the fields
 * are public so that the two source files of the exercise and the tests'
 * error messages can see them, but only co_core.c and co_sched.c write
 * them.
 *
 * Invariants:
 *  - map is the start of one anonymous mapping of map_len bytes: the first
 *    page is the guard page (any access to it faults), the rest is the
 *    stack, which grows down from map + map_len (where the struct itself
 *    may live).
 *  - sp is meaningful only while the coroutine is not running: it is the
 *    stack pointer co_switch saved, or the initial frame co_create built.
 *  - back is meaningful only while it runs: the stack pointer of whoever
 *    resumed it, to which co_yield and the end of the body switch back.
 */
struct co {
    void *sp;            /* saved stack pointer while suspended */
    void *back;          /* the resumer's saved stack pointer while running */
    struct co *resumer;  /* the coroutine that resumed it (NULL: thread) */
    enum co_state state; /* see enum co_state */
    co_entry_cb fn;      /* the body and its argument */
    void *arg;
    void *map;      /* the whole mapping: guard page, then the stack */
    size_t map_len; /* bytes in the mapping */
    unsigned vg_id; /* the stack's id for Valgrind (see co_core.c) */

    /* The scheduler's fields (exercise 2); co_create zeroes them. */
    struct co *next;   /* run queue link */
    struct co *joiner; /* the coroutine waiting in co_join, or NULL */
    uint64_t deadline; /* timer: CLOCK_MONOTONIC ns */
    uint64_t seq;      /* timer: order of arming, breaks deadline ties */
    size_t heap_idx;   /* timer: index in the heap, or SIZE_MAX */
    size_t all_idx;    /* index in the scheduler's list of its own */
    int wait_fd;       /* descriptor registered with epoll, or -1 */
    int wake_result;   /* what the wake-up says: 0, -ETIMEDOUT, ... */
    bool parked;       /* waiting: not in the run queue */
    bool cancelled;    /* co_cancel was called; sticky */
    bool detached;     /* freed by the scheduler when it finishes */
    bool scheduled;    /* made by co_spawn, owned by the scheduler */
};

/*
 * co_switch - saves the calling context on the current stack, stores the
 * stack pointer in *save_sp, and continues the context whose stack pointer
 * is load_sp. Written in assembly (src/co_switch.S): C cannot name the
 * stack pointer or stop the compiler from using the registers it saves.
 *
 * [CO-1] Across a switch away and back, the caller finds rbx, rbp, r12,
 * r13, r14, r15 and rsp exactly as it left them, as after any call: these
 * are the registers the System V AMD64 ABI (section 3.2.1, figure 3.4)
 * makes a called function preserve. The others are the caller's to save.
 * [CO-2] The control bits of MXCSR (SSE rounding and exception masks)
 * and the x87 control word are preserved too, per context: a coroutine
 * that changes its rounding mode changes no other coroutine's.
 * No system call: a switch is a few dozen instructions in user space
 * (swapcontext also saves the signal mask, with a system call). The bench
 * counts them (syscalls_per_switch); a test cannot, as tests may not trace.
 *
 * A context made by co_create starts, at its first switch, in the body
 * with [CO-3] a stack aligned as the ABI requires at a function's entry
 * (rsp + 8 a multiple of 16), so SSE code (movaps) and printf("%f") work.
 */
void co_switch(void **save_sp, void *load_sp);

/*
 * co_trampoline - given in src/co_switch.S, not called from C: the return
 * address of a new coroutine's initial frame. It calls the function in
 * r12 with the argument in r13, on a stack co_create aligned.
 */
void co_trampoline(void);

/*
 * co_create - makes a coroutine that will run fn(arg) on a stack of its
 * own, and does not start it (state CO_READY).
 *
 * stack_size: usable bytes of stack, rounded up to whole pages; 0 means
 * CO_STACK_DEFAULT.
 *
 * [CO-4] The stack is one anonymous mapping with a guard page below it:
 * a body that overflows its stack touches the guard page and the process
 * gets SIGSEGV at that address, a clean crash, instead of writing over
 * whatever lies below. [CO-5] Memory is committed lazily: only the pages
 * the body touches become resident, so an idle coroutine with a 64 KiB
 * stack costs a page or two, not 64 KiB.
 *
 * Returns the coroutine, or NULL with errno set: [CO-6] EINVAL when fn is
 * NULL or stack_size is below CO_STACK_MIN (and not 0); ENOMEM when the
 * kernel refuses the mapping (RLIMIT_AS, or vm.max_map_count mappings in
 * the process), with nothing left allocated.
 */
struct co *co_create(co_entry_cb fn, void *arg, size_t stack_size);

/*
 * co_resume - runs co until it yields or its body returns; the caller is
 * suspended meanwhile, and co_resume returns when co stops.
 *
 * [CO-7] Returns 0 when co yielded (it may be resumed again), 1 when its
 * body returned in this call (state CO_FINISHED). [CO-8] Resuming a
 * finished coroutine is an error: -EINVAL, and nothing runs; so is
 * resuming a running one (the caller itself, or one that resumed the
 * caller): -EBUSY. -EINVAL also when co is NULL.
 *
 * [CO-9] Coroutines may resume coroutines: co_yield always returns to
 * whoever made the matching co_resume.
 */
int co_resume(struct co *co);

/*
 * co_yield - suspends the calling coroutine and returns to its resumer;
 * it returns 0 when the coroutine is resumed. [CO-10] It works at any
 * depth of nested calls: the whole stack stays as it was.
 * Returns -EPERM when called outside any coroutine.
 */
int co_yield(void);

/*
 * co_current - the calling coroutine, or NULL outside any coroutine.
 */
struct co *co_current(void);

/*
 * co_destroy - frees co: its stack mapping and the struct. [CO-11] A
 * suspended coroutine (CO_READY) may be destroyed: its stack is freed
 * without running any more of it, so whatever its frames own (memory,
 * descriptors) is the caller's problem. Returns 0, -EBUSY for a running
 * coroutine (nothing freed), -EINVAL for NULL or a coroutine the
 * scheduler owns (co_spawn's: co_join frees those).
 */
int co_destroy(struct co *co);

/* ===================================================================== */
/* Exercise 2 (sched): the scheduler                                     */
/* ===================================================================== */

/*
 * co_sched_run - runs fn(arg) as the first coroutine of a scheduler on the
 * calling thread, and returns when every coroutine spawned in it has
 * finished.
 *
 * [CO-12] The run queue is FIFO: a coroutine made runnable (spawned,
 * woken, or yielding with co_yield) runs after every coroutine already in
 * the queue. [CO-13] When nothing is runnable, the thread sleeps in one
 * epoll_wait whose timeout is the nearest timer's deadline (rounded up to
 * the next millisecond, never down), or forever when no timer is armed:
 * an idle scheduler uses no CPU and wakes only for an event or a timer.
 *
 * Returns 0; [CO-21] -EDEADLK when coroutines remain but none can ever
 * run (each waits in co_join for another, and no descriptor or timer is
 * watched): they are freed; -EBUSY when a scheduler already runs on this
 * thread; -errno when epoll cannot be set up. Coroutines never joined are freed
 * when it returns.
 */
int co_sched_run(co_entry_cb fn, void *arg);

/*
 * co_spawn - makes a coroutine running fn(arg) (stack as co_create) and
 * queues it at the tail of the run queue. Only inside co_sched_run.
 * Returns the handle, to co_join, co_cancel or co_detach; or NULL with
 * errno EPERM outside a scheduler, or as co_create.
 */
struct co *co_spawn(co_entry_cb fn, void *arg, size_t stack_size);

/*
 * co_join - waits until co has finished, then frees it.
 * [CO-14] Returns 0 at once if co has already finished (the wake-up it
 * sent when it finished is not needed to come back), 0 after waiting
 * otherwise. -ECANCELED if the caller is cancelled while it waits (co is
 * not freed, and may be joined again). -EDEADLK when co is the caller;
 * -EINVAL when co is detached, not spawned, or already has a joiner.
 */
int co_join(struct co *co);

/* co_detach - co will be freed by the scheduler when it finishes. */
int co_detach(struct co *co);

/*
 * co_cancel - asks co to stop. [CO-15] If co is parked (in co_wait and the
 * calls built on it, co_sleep or co_join), it wakes at once and that call
 * returns -ECANCELED; its interest in the descriptor and its timer are
 * gone before anything else runs, so the descriptor may be waited on,
 * closed and reused at once. Cancellation is sticky: every later parking
 * call of co returns -ECANCELED without waiting. co finishes by returning
 * from its body, as usual. Returns 0, or -ESRCH if co has finished.
 */
int co_cancel(struct co *co);

/* The directions co_wait watches. */
#define CO_READABLE 1u /* data, EOF, a connection to accept, or an error */
#define CO_WRITABLE 2u /* room to write, a finished connect, or an error */

/*
 * co_wait - parks the calling coroutine until fd is ready in the
 * directions asked, or timeout_ms milliseconds have passed (negative:
 * no timeout). fd -1 waits for the timeout only.
 *
 * [CO-17] fd is added to epoll at its first wait and stays registered,
 * for the directions of its last wait, until co_close: a coroutine that
 * waits again in the same direction (a connection's next read) costs no
 * system call of its own; only the epoll_wait every coroutine shares.
 * Readiness of a descriptor nobody waits on wakes nobody (the scheduler
 * then takes it off epoll, and the next wait adds it back). When co_wait
 * returns, for whatever reason, the caller no longer waits on fd: another
 * coroutine may wait on it at once.
 *
 * Returns 0 when ready; [CO-22] 0 at once when fd is a regular file or
 * another kind epoll cannot watch: those are always "ready", and reading
 * them blocks the whole thread, every coroutine with it; [CO-16] -ETIMEDOUT
 * when the timeout passed first, never before it; -ECANCELED when cancelled;
 * -EBADF when another coroutine co_closed fd meanwhile; -EBUSY when
 * another coroutine already waits on fd; -EPERM outside a scheduler.
 */
int co_wait(int fd, unsigned events, int timeout_ms);

/*
 * co_close - close(2) for a descriptor coroutines may have waited on.
 * [CO-29] It takes fd off epoll and forgets what the scheduler knew of
 * it, then closes it; a coroutine parked on fd wakes with -EBADF. A
 * descriptor co_wait has seen must be closed with co_close while the
 * scheduler runs: after close(2) alone the scheduler still believes the
 * number registered, and the next descriptor given that number would
 * never be added to epoll, so its waiters would never wake. Outside a
 * scheduler it is close(2). Returns 0 or -errno (as close; EINTR is 0:
 * Linux has released the descriptor all the same, close(2) NOTES).
 */
int co_close(int fd);

/*
 * co_sleep - parks the calling coroutine for at least ms milliseconds.
 * [CO-18] Sleepers wake in the order of their deadlines, earliest first.
 * Returns 0, or -ECANCELED.
 */
int co_sleep(unsigned ms);

/*
 * co_read, co_write - read(2) and write(2) that park instead of blocking.
 * fd must be non-blocking (O_NONBLOCK); a blocking descriptor blocks the
 * whole thread, every coroutine with it.
 *
 * [CO-19] Each first tries the call; only on EAGAIN does it wait for
 * readiness and try again, so data that arrived before the call (even
 * data left over from an earlier short read) is returned without waiting.
 * A short transfer is returned as it is (co_read returns 0 at EOF).
 * Returns the count, or -errno: -ECANCELED when cancelled while waiting,
 * and as co_wait.
 */
ssize_t co_read(int fd, void *buf, size_t len);
ssize_t co_write(int fd, const void *buf, size_t len);

/*
 * co_accept - accept4(2) on a non-blocking listening socket, parking
 * while no connection is pending. The new socket is non-blocking and
 * close-on-exec. Returns it, or -errno (as co_read).
 */
int co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/*
 * co_connect - connect(2) on a non-blocking socket, parking while the
 * connection is in progress. [CO-20] Returns 0 once connected, or the
 * connection's own error (-ECONNREFUSED, ...), read with SO_ERROR when
 * the socket becomes writable.
 */
int co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/* ===================================================================== */
/* Exercise 3 (echo): a straight-line server                             */
/* ===================================================================== */

/*
 * Bytes a connection reads at a time, into a buffer on its own stack. It
 * is also all the echo one connection ever holds: a connection writes
 * what it read before it reads again.
 */
#ifndef CO_ECHO_BUF
#define CO_ECHO_BUF (16 * 1024)
#endif

/* Bytes a connection moves before it yields to the others (see [CO-27]). */
#ifndef CO_ECHO_BUDGET
#define CO_ECHO_BUDGET (256 * 1024)
#endif

/* How long the server stops accepting after EMFILE and its kind. */
#ifndef CO_ECHO_BACKOFF_MS
#define CO_ECHO_BACKOFF_MS 100
#endif

/* Tunables of one co_echo_serve call. A zero field means the default. */
struct co_echo_config {
    size_t budget; /* bytes per turn before a yield; 0: CO_ECHO_BUDGET */
};

/* What the server did. Filled while it runs; read it after it returned. */
struct co_echo_stats {
    unsigned long accepted;          /* connections accepted */
    unsigned long closed;            /* connections closed, for any reason */
    unsigned long accept_errors;     /* accept failures (EMFILE, ...) */
    unsigned long budget_yields;     /* turns ended by the budget */
    unsigned long long bytes_echoed; /* bytes sent back, all clients */
};

/*
 * co_echo_serve - chapter 02's echo server, written as one coroutine per
 * connection: runs a scheduler (co_sched_run) on the calling thread, in
 * which one coroutine accepts connections and each connection gets a
 * coroutine that reads, writes back what it read, and reads again, as
 * plain blocking code would.
 *
 * listen_fd: a listening TCP socket, made non-blocking here. stop_fd: the
 * server stops when it becomes readable (it is not read). Both stay the
 * caller's: not closed. cfg: tunables or NULL. stats: counters or NULL.
 *
 * [CO-23] Each client gets back exactly the bytes it sent, in order,
 * however they were split, while many others (2,000 at once) are served.
 * [CO-24] Backpressure comes from the code's shape: a connection reads
 * again only when everything it read has been written, so it holds at
 * most CO_ECHO_BUF bytes, and a client that does not read its echo is
 * simply not read from; the others are served meanwhile.
 * [CO-25] Half-close: after a client's EOF, the echo still owed to it is
 * sent in full, then the connection is closed; the server does not spin
 * on a socket that stays readable.
 * [CO-26] A reset (ECONNRESET, EPIPE) ends that connection only: its
 * coroutine closes the descriptor and finishes at once (stats->closed),
 * and SIGPIPE is ignored while the server runs (the previous disposition
 * is restored when it returns), so a write to a vanished peer is an
 * error, not a death.
 * [CO-27] Fairness: co_read returns at once while data is there, so a
 * flooding client would keep the thread for ever; a connection that has
 * moved cfg->budget bytes since its last yield yields (co_yield) and
 * counts it in stats->budget_yields, and the others get their turn.
 * [CO-28] Stop: every connection's coroutine is cancelled and closes its
 * descriptor; co_echo_serve returns 0 with every coroutine finished and
 * the process holding exactly the descriptors it held before the call.
 * [CO-30] Out of descriptors (EMFILE, ENFILE) or memory, accept fails
 * and the connection stays in the backlog, so the listener stays readable:
 * the acceptor counts the failure (stats->accept_errors) and sleeps
 * CO_ECHO_BACKOFF_MS before it tries again, rather than spinning; the
 * connections already open are served meanwhile, and the ones waiting are
 * accepted once descriptors are free.
 *
 * Returns 0 after a stop; -errno if the server cannot start (as
 * co_sched_run, or -ENOTSOCK, -EINVAL for a bad listen_fd).
 */
int co_echo_serve(int listen_fd, int stop_fd, const struct co_echo_config *cfg,
                  struct co_echo_stats *stats);

/* ===================================================================== */
/* Exercise 4 (kv): a kvd client over a small pool of connections        */
/* ===================================================================== */

/*
 * co_wake - makes co, parked in co_wait, runnable at the tail of the run
 * queue; that co_wait returns 0 and co no longer waits on its descriptor
 * or its timer. It is the one way for a coroutine to hand something to
 * another that waits for it (a connection, below): the waiter parks in
 * co_wait(-1, 0, timeout), the giver records what it gives where the
 * waiter will look, then wakes it. Implemented in src/co_sched.c, as it
 * needs the scheduler's state.
 * [CO-31] A coroutine is woken once per park: co_wake on a coroutine that
 * is not parked (running, queued, or already woken by its timer or a
 * cancellation that has not run yet) does nothing and returns -EALREADY,
 * so the giver must expect that a waiter it wakes may already be leaving.
 * Returns 0, -EALREADY, or -EINVAL (NULL, or not the scheduler's).
 */
int co_wake(struct co *co);

/* Connections a pool opens when co_kv_config.max_conns is 0. */
#ifndef CO_KV_DEFAULT_CONNS
#define CO_KV_DEFAULT_CONNS 4
#endif

/* A pool's settings. Zero-initialise, then set the port. */
struct co_kv_config {
    unsigned short port; /* kvd's port on 127.0.0.1 */
    unsigned max_conns;  /* connections at most; 0: CO_KV_DEFAULT_CONNS */
};

/* What a pool has done (counters) and holds (gauges). */
struct co_kv_stats {
    unsigned long opened;    /* connections opened (connect succeeded) */
    unsigned long discarded; /* broken connections closed, not reused */
    unsigned long parked;    /* acquires that had to wait */
    unsigned long timeouts;  /* acquires that ended with -ETIMEDOUT */
    unsigned long retries;   /* co_kv_request's retries on a fresh one */
    unsigned open;           /* gauge: open or opening, idle or lent */
    unsigned idle;           /* gauge: open and not lent */
    unsigned waiting;        /* gauge: coroutines parked in co_kv_acquire */
};

struct co_kv_pool; /* opaque: the pool (src/co_kv.c) */
struct co_kv_conn; /* opaque: one connection to kvd and its buffers */
struct resp_reply; /* iolab/resp.h: a parsed reply */

/*
 * co_kv_open - makes a pool of at most cfg->max_conns connections to kvd
 * on 127.0.0.1:cfg->port, for the coroutines of the calling thread's
 * scheduler. No connection is opened yet: the first acquires open them.
 * Returns 0 and *out, or -EINVAL (NULL cfg or out, port 0), -ENOMEM.
 */
int co_kv_open(const struct co_kv_config *cfg, struct co_kv_pool **out);

/*
 * co_kv_close - closes the idle connections (co_close) and frees the
 * pool. Every connection must have been released and nobody may wait in
 * co_kv_acquire. p may be NULL.
 */
void co_kv_close(struct co_kv_pool *p);

/*
 * co_kv_acquire - lends the calling coroutine a connection: an idle one
 * if there is one; else a new one if fewer than max_conns are open
 * ([CO-32] never more: the server sees at most max_conns connections of
 * the pool at any time, and each is reused for request after request);
 * else the coroutine parks (co_wait, no polling) until one is released.
 * [CO-33] Waiters are served in the order they came (FIFO), and a
 * released connection is handed straight to the longest waiter: a
 * coroutine that arrives later cannot take it first.
 *
 * timeout_ms bounds the wait (negative: none). [CO-34] When it passes
 * first, -ETIMEDOUT, never before it; the pool is as if the coroutine
 * had never come (it no longer waits, no slot is held).
 * [CO-35] A waiter that is cancelled (co_cancel) returns -ECANCELED and
 * leaves the pool consistent: if a connection was handed to it before it
 * could run, it passes it on to the next waiter (or back to idle), so no
 * slot is ever lost.
 * Returns 0 and *out, or -ETIMEDOUT, -ECANCELED, -EPERM outside a
 * scheduler, or the error of connecting (-ECONNREFUSED, ...), after which
 * the slot is free again.
 */
int co_kv_acquire(struct co_kv_pool *p, int timeout_ms,
                  struct co_kv_conn **out);

/*
 * co_kv_release - gives c back. [CO-36] A connection that is broken (the
 * caller says so, or a co_kv_call on it failed: the server closed or
 * reset it, the reply was malformed, or the call was cancelled with a
 * reply still owed) is closed and never lent again; its slot goes to the
 * longest waiter, which opens a fresh connection. A healthy one goes to
 * the longest waiter, or becomes idle.
 */
void co_kv_release(struct co_kv_pool *p, struct co_kv_conn *c, bool broken);

/*
 * co_kv_call - one round trip on c: the command (argc, argv, lens as for
 * resp_encode) written with co_write, its reply read with co_read (the
 * coroutine parks on EAGAIN, others run) and parsed into *out (free it
 * with resp_reply_free). An error reply (-ERR ...) is a successful call.
 * Returns 0; -ECONNRESET when the server closed or reset the connection,
 * -EPROTO when its bytes are not RESP, -ECANCELED: then c is broken
 * (co_kv_release closes it); or -EINVAL, -ENOMEM from encoding the
 * command, which sent nothing and leave c as it was. *out is empty after
 * any error.
 */
int co_kv_call(struct co_kv_conn *c, struct resp_reply *out, int argc,
               const char *const argv[], const size_t lens[]);

/*
 * co_kv_request - acquire (timeout_ms), call, release: one command on the
 * pool. [CO-37] When the call fails with -ECONNRESET on a connection that
 * had served before, before any byte of the reply came, the server closed
 * it while it was idle (a restart, an idle timeout): the connection is
 * discarded and the command sent again on another one (stats.retries),
 * until it fails on a fresh connection, at most max_conns times. The command
 * may have run if the server died after running it and before replying: the
 * retry suits commands that may safely run twice (GET, SET of a fixed value).
 * Returns as co_kv_acquire and co_kv_call.
 */
int co_kv_request(struct co_kv_pool *p, int timeout_ms, struct resp_reply *out,
                  int argc, const char *const argv[], const size_t lens[]);

/* A snapshot of p's counters and gauges. */
void co_kv_stats(const struct co_kv_pool *p, struct co_kv_stats *out);

#endif /* IOLAB_CO_H */
