/*
 * testkit.h - what every chapter's Criterion tests share.
 *
 * - TK_TEST: the only way a graded test is declared. It is Criterion's
 *   Test() with one addition: the test passes only if its body runs to the
 *   end. Student code that calls exit() inside a test would otherwise look
 *   like a pass to Criterion; here it is a failure with a clear message.
 * - Descriptors: pipes, socketpairs, loopback TCP on a kernel-chosen port.
 * - Servers under test: run in a thread, stopped through a pipe.
 * - Deterministic data: a seeded PRNG and buffers filled from it.
 * - Private temporary directories, removed when the test ends.
 *
 * Helpers abort the test (cr_assert_fail) when the machine refuses a resource,
 * so a test body never has to check them. Timeouts are in milliseconds.
 *
 * One home for each helper: a helper that two chapters' tests need lives
 * here with the tk_ prefix (one that benches need, in iolab/perfkit.h with
 * pk_). What only one chapter's tests share lives in that chapter's
 * tests/helpers.c, declared in tests/helpers.h, and carries the chapter's
 * prefix followed by t_ (mmt_ for chapter 03's mm_, buft_, batt_, ...),
 * so a reader knows at once where a test helper is defined.
 */
#ifndef IOLAB_TESTKIT_H
#define IOLAB_TESTKIT_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The exit statuses of a test that ran to its end, and of one skipped by
 * tk_skip. tk_begin() seals them (iolab/seal.h): only the kit can exit
 * with either, so code under test cannot turn a failure into a pass.
 */
#define TK_EXIT_DONE 97
#define TK_EXIT_SKIP 96

/*
 * TK_TEST(suite, name, .description = "[NB-1] ...", ...) { body }
 * At least .description must be given; every Criterion option may follow.
 */
#define TK_TEST(suite, name, ...)                                              \
    static void tk_body_##suite##_##name(void);                                \
    Test(suite, name, .exit_code = TK_EXIT_DONE, __VA_ARGS__)                  \
    {                                                                          \
        tk_begin(#suite "/" #name);                                            \
        tk_body_##suite##_##name();                                            \
        tk_done();                                                             \
    }                                                                          \
    static void tk_body_##suite##_##name(void)

/*
 * TK_TEST_UNSEALED - TK_TEST without the seal, for the grader's own tests
 * that run other sealed test binaries (a sealed process's filter binds its
 * children too, and would refuse their kit's exits). Never in a chapter.
 */
#define TK_TEST_UNSEALED(suite, name, ...)                                     \
    static void tk_body_##suite##_##name(void);                                \
    Test(suite, name, .exit_code = TK_EXIT_DONE, __VA_ARGS__)                  \
    {                                                                          \
        tk_body_##suite##_##name();                                            \
        tk_done();                                                             \
    }                                                                          \
    static void tk_body_##suite##_##name(void)

/*
 * Starts a test body: seals the kit's exit statuses in this process, and
 * under Valgrind names the test in Valgrind's report (for memcheck).
 */
void tk_begin(const char *name);

/* Ends a test that reached its last line: cleans up and exits. */
_Noreturn void tk_done(void);

/*
 * tk_skip - skips the current test with a reason, for a kernel feature or
 * resource this machine lacks. Use it instead of cr_skip_test (which
 * Criterion reports as a failure under TK_TEST): the reason travels as the
 * test's one failed expectation, and the sealed exit status TK_EXIT_SKIP
 * tells the report hook that it is a skip.
 */
_Noreturn void tk_skip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- descriptors ---------------------------------------------------- */

void tk_pipe(int fds[2]);                 /* O_CLOEXEC, blocking */
void tk_socketpair(int fds[2]);           /* AF_UNIX stream, blocking */
int tk_listen_tcp(unsigned short *port);  /* 127.0.0.1, port 0, backlog 512 */
int tk_connect_tcp(unsigned short port);  /* blocking, TCP_NODELAY */
void tk_reset_close(int fd);              /* close with an RST (SO_LINGER 0) */
int tk_count_open_fds(void);              /* entries in /proc/self/fd */
void tk_raise_nofile(unsigned long want); /* soft limit up to the hard one */

/*
 * tk_connect_tcp_rcvbuf - tk_connect_tcp with SO_RCVBUF set to rcvbuf
 * before the connection exists, so the window the client advertises is
 * small from the start and a server's replies back up after a few KiB
 * (tcp(7): the buffer size must be set before connect(2) to take effect
 * on the connection). The kernel doubles rcvbuf and never goes below its
 * own minimum (socket(7), SO_RCVBUF), so 1 asks for the smallest there
 * is. tk_connect_tcp(port) is this with rcvbuf 0: the kernel's default.
 */
int tk_connect_tcp_rcvbuf(unsigned short port, int rcvbuf);

/* Writes all of buf or fails the test. */
void tk_write_all(int fd, const void *buf, size_t len);

/*
 * Reads exactly len bytes within timeout_ms. Returns len, or the count read
 * before EOF, or -ETIMEDOUT. Fails the test on other errors.
 */
ssize_t tk_read_exact(int fd, void *buf, size_t len, int timeout_ms);

/* True when fd has data or EOF within timeout_ms. */
bool tk_readable(int fd, int timeout_ms);

/*
 * Fails the test unless the peer closes fd within timeout_ms: fd must
 * become readable, and the next read must see EOF or ECONNRESET, not data.
 */
void tk_expect_closed(int fd, int timeout_ms);

/*
 * tk_expect_closed_drain - for a peer that may still send what it owes
 * before it closes (echoes, replies): reads and discards whatever comes,
 * and fails the test unless fd reaches EOF or a reset. Each read of up to
 * 4 KiB waits timeout_ms afresh, so a peer that keeps sending is given
 * time, and one that goes quiet with fd open fails with "who: the server
 * kept the connection open".
 */
void tk_expect_closed_drain(int fd, int timeout_ms, const char *who);

/*
 * Sets SO_SNDBUF and SO_RCVBUF of fd to bytes each (the kernel doubles
 * what it is given), so that a few KiB fill a connection. Fails the test
 * if the kernel refuses.
 */
void tk_small_buffers(int fd, int bytes);

/*
 * tk_read_check - reads exactly len bytes within timeout_ms and fails the
 * test, naming who, unless they are the len bytes at want: too few (EOF
 * or a timeout) or different (the first byte that differs is named).
 */
void tk_read_check(int fd, const void *want, size_t len, int timeout_ms,
                   const char *who);

/*
 * tk_echo_many - chapter 02's interleaved-clients scenario, for any echo
 * server on port: n clients each send `each` bytes of their own, in
 * rounds; in a round every client writes a piece of 1 to max_piece bytes
 * (random, from seed), then every client reads exactly its piece back,
 * so bytes lost, mixed between clients or reordered show at once. Fails
 * the test naming who and the client; closes the clients at the end.
 */
void tk_echo_many(unsigned short port, int n, size_t each, size_t max_piece,
                  uint64_t seed, int timeout_ms, const char *who);

/*
 * tk_echo_thousands - chapter 02's many-connections scenario, for any echo
 * server on port: opens n connections, batch at a time (one echo on the
 * last of each batch proves the server has caught up; keep batch below
 * the listener's backlog), then twice writes a short line on every
 * connection before reading any echo back, and closes them all. Fails
 * the test naming who and the connection. Both ends may live in this
 * process: raise RLIMIT_NOFILE first (tk_raise_nofile).
 */
void tk_echo_thousands(unsigned short port, int n, int batch, int timeout_ms,
                       const char *who);

/*
 * A client that sends len bytes of data on fd from a thread of its own,
 * chunk bytes per send (16 KiB when 0), while the test reads the echo:
 * tk_pump_start, read (tk_read_check), tk_pump_join. It stops at the
 * first error or zero-byte send; the reading side reports what is
 * missing. written is its progress, advanced atomically.
 */
struct tk_pump {
    int fd;
    const char *data;
    size_t len;
    size_t chunk;     /* bytes per send; 0 means 16 KiB */
    size_t written;   /* bytes sent so far (atomic) */
    pthread_t thread; /* set by tk_pump_start */
    bool running;     /* started and not yet joined */
};

void tk_pump_start(struct tk_pump *p);
void tk_pump_join(struct tk_pump *p); /* no-op when not running */

/*
 * Waits until the pump stops advancing for 300 ms (held back by a full
 * connection) or has sent everything, for at most 30 s (tk_wait_stall);
 * returns the bytes sent by then.
 */
size_t tk_pump_wait_stall(struct tk_pump *p);

/* ---- a server under test, in a thread ------------------------------- */

/* The shape of a server function: serve listen_fd until stop_fd is readable. */
typedef int (*tk_serve_cb)(int listen_fd, int stop_fd);

struct tk_server {
    pthread_t thread;     /* runs serve(listen_fd, stop_rd) */
    tk_serve_cb serve;    /* the function under test */
    int listen_fd;        /* created by tk_server_start, closed by stop */
    int stop_rd, stop_wr; /* the stop pipe; stop_wr is written to stop */
    unsigned short port;  /* loopback port clients connect to */
    int result;           /* serve()'s return value, after stop */
    bool running;         /* thread started and not yet joined */
    bool exited;          /* serve() returned (atomic: set by the thread) */
    bool stopping;        /* the test asked it to stop */
};

/*
 * Starts serve in a thread on a fresh listening socket. The socket listens
 * before the thread starts, so clients may connect at once: no sleep.
 * While it runs, every wait of tk_read_exact and tk_readable fails the
 * test at once if serve returns before the test asked it to stop.
 */
void tk_server_start(struct tk_server *srv, tk_serve_cb serve);

/*
 * Asks the server to stop, waits up to timeout_ms for it to return, and
 * returns its result. A server that does not stop in time fails the test.
 */
int tk_server_stop(struct tk_server *srv, int timeout_ms);

/* ---- deterministic data ---------------------------------------------- */

struct tk_rng {
    uint64_t state; /* xorshift64* state; never 0 */
};

void tk_rng_seed(struct tk_rng *rng, uint64_t seed);
uint64_t tk_rng_next(struct tk_rng *rng);
uint64_t tk_rng_below(struct tk_rng *rng, uint64_t bound); /* [0, bound) */
void tk_fill(void *buf, size_t len, uint64_t seed);        /* bytes */
void *tk_xmalloc(size_t len);                              /* never NULL */

/* ---- files ------------------------------------------------------------ */

/* A private directory removed (with its contents) when the test ends. */
const char *tk_tmpdir(void);

/* The path of name inside tk_tmpdir(), malloc'd (the caller frees it). */
char *tk_path(const char *name);

/* Creates path inside tk_tmpdir() with the given bytes; returns the path. */
char *tk_make_file(const char *name, const void *data, size_t len);

/* ---- clocks ------------------------------------------------------------ */

long long tk_now_ms(void); /* CLOCK_MONOTONIC, in whole milliseconds */
long long tk_now_ns(void); /* CLOCK_MONOTONIC, in nanoseconds */

/*
 * tk_nap_ms - sleeps ms milliseconds, resuming after a signal handler
 * ran. For a window that a test measures (how many wait calls a server
 * makes in 300 ms) or a client that must be slow, never to wait for
 * something to be ready: wait for the thing itself (tk_readable,
 * tk_wait_state, tk_wait_stall), which is both faster and not flaky.
 */
void tk_nap_ms(long ms);

/* ---- threads and processes ------------------------------------------------
 */

/* Thread id of the caller (gettid). */
pid_t tk_gettid(void);

/*
 * Waits until thread tid is asleep in the kernel (state S in
 * /proc/self/task/TID/stat), so a signal sent next interrupts a blocked
 * call instead of racing with it. Fails the test after timeout_ms.
 */
void tk_wait_sleeping(pid_t tid, int timeout_ms);

/*
 * Waits until *progress (read atomically; another thread advances it)
 * stops changing for quiet_ms, or reaches done, looking every 50 ms for
 * at most timeout_ms. Returns the last value seen. This waits for
 * quiescence, not readiness: a writer held back by backpressure stops for
 * good, so waiting longer only makes a test slower, never wrong.
 */
size_t tk_wait_stall(const size_t *progress, size_t done, int quiet_ms,
                     int timeout_ms);

/*
 * The scheduler state of process or thread id (the letter after the name
 * in /proc/ID/stat: 'S' asleep, 'R' running, ...), or '?' if it is gone.
 */
char tk_proc_state(pid_t id);

/*
 * Waits up to timeout_ms until process or thread id is in state want
 * (as tk_proc_state), yielding the CPU between looks. Returns the last
 * state seen: want, or what it was when the time ran out.
 */
char tk_wait_state(pid_t id, char want, int timeout_ms);

#endif /* IOLAB_TESTKIT_H */
