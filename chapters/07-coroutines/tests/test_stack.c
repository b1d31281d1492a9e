/*
 * test_stack.c - exercise 1 of chapter 07: what a coroutine's stack gives
 * and costs: yields from deep recursion, coroutines resuming coroutines,
 * 100,000 alive at once, memory committed only where touched, the guard
 * page, and destroy. The switch itself is tested in test_switch.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "co.h"
#include "helpers.h"
#include "iolab/testkit.h"

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* VmRSS of this process, in KiB. */
static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Is addr inside a mapping of this process (/proc/self/maps)? */
static bool
is_mapped(const void *addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    cr_assert_not_null(f);
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)addr >= lo &&
            (uintptr_t)addr < hi)
            found = true;
    }
    fclose(f);
    return found;
}

/* ===================================================================== */
/* Deep stacks, nesting, many coroutines                                  */
/* ===================================================================== */

#define DEPTH 400

static int
recurse(int depth, int *yields)
{
    volatile unsigned char buf[200];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(depth + (int)i);
    int sum = 0;
    if (depth == 0) {
        for (int i = 0; i < 3; i++) {
            co_yield();
            (*yields)++;
        }
    } else {
        sum = recurse(depth - 1, yields);
    }
    for (size_t i = 0; i < sizeof(buf); i++)
        if (buf[i] != (unsigned char)(depth + (int)i))
            return -1000000;
    return sum + 1;
}

struct deep {
    int result, yields;
};

static void
body_deep(void *arg)
{
    struct deep *d = arg;
    d->result = recurse(DEPTH, &d->yields);
}

TK_TEST(switch, yield_from_deep_recursion,
        .description = "[CO-10] yield from 400 nested calls; every frame "
                       "intact")
{
    struct deep d = {0, 0};
    struct deep e = {0, 0};
    struct co *co = ct_create_ok(body_deep, &d, 256 * 1024);
    struct co *other = ct_create_ok(body_deep, &e, 256 * 1024);
    int r;

    /* Interleaved: each deep stack is left and entered again. */
    do {
        r = co_resume(co);
        cr_assert_geq(co_resume(other), 0);
    } while (r == 0);
    cr_assert_eq(r, 1);
    cr_assert_eq(d.yields, 3);
    cr_assert_eq(d.result, DEPTH + 1,
                 "the recursion returned %d, expected %d: a frame was "
                 "overwritten while the coroutine was suspended",
                 d.result, DEPTH + 1);
    cr_assert_eq(e.result, DEPTH + 1);
    co_destroy(co);
    co_destroy(other);
}

struct nest {
    struct co *inner;
    struct ct_trace *t;
};

static void
body_inner(void *arg)
{
    struct ct_trace *t = arg;
    ct_note(t, 'i');
    co_yield();
    ct_note(t, 'j');
}

static void
body_outer(void *arg)
{
    struct nest *n = arg;
    ct_note(n->t, 'o');
    cr_assert_eq(co_resume(n->inner), 0);
    ct_note(n->t, 'p');
    co_yield();
    ct_note(n->t, 'q');
    cr_assert_eq(co_resume(n->inner), 1);
    ct_note(n->t, 'r');
}

TK_TEST(switch, nested_resume,
        .description = "[CO-9] a coroutine resumes another; yield returns "
                       "to the resumer")
{
    struct ct_trace t = {{0}, 0};
    struct nest n = {NULL, &t};
    n.inner = ct_create_ok(body_inner, &t, 0);
    struct co *outer = ct_create_ok(body_outer, &n, 0);

    cr_assert_eq(co_resume(outer), 0);
    ct_note(&t, 'M');
    cr_assert_eq(co_resume(outer), 1);
    t.log[t.n] = '\0';
    cr_assert_str_eq(t.log, "oipMqjr", "the order of events was %s", t.log);
    co_destroy(outer);
    co_destroy(n.inner);
}

#define MANY 100000

static void
body_count(void *arg)
{
    int *n = arg;
    (*n)++;
    co_yield();
    (*n)++;
}

TK_TEST(switch, hundred_thousand_alive,
        .description = "[CO-5][CO-6] 100,000 coroutines alive at once; "
                       "ENOMEM when the kernel refuses more")
{
    int want = RUNNING_ON_VALGRIND ? 5000 : MANY;
    struct co **v = tk_xmalloc((size_t)want * sizeof(*v));
    int n = 0, count = 0, err = 0;

    for (; n < want; n++) {
        v[n] = co_create(body_count, &count, CO_STACK_MIN);
        if (v[n] == NULL) {
            err = errno;
            break;
        }
    }
    /* Without guard regions (Linux before 6.13) each coroutine is two
     * entries against vm.max_map_count (65530 by default): ~32,000. */
    if (n < want) {
        cr_assert_eq(err, ENOMEM,
                     "co_create failed after %d coroutines with errno %d, "
                     "expected ENOMEM (%d)",
                     n, err, ENOMEM);
        cr_assert_geq(n, 30000,
                      "co_create said ENOMEM after only %d coroutines "
                      "of %d KiB",
                      n, CO_STACK_MIN / 1024);
    }
    for (int i = 0; i < n; i++)
        cr_assert_eq(co_resume(v[i]), 0);
    cr_assert_eq(count, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(co_resume(v[i]), 1);
    cr_assert_eq(count, 2 * n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(co_destroy(v[i]), 0);
    free(v);
}

TK_TEST(switch, create_rejects_bad_arguments,
        .description = "[CO-6] co_create: EINVAL for no body or a tiny stack")
{
    errno = 0;
    cr_assert_null(co_create(NULL, NULL, 0));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(co_create(body_count, NULL, CO_STACK_MIN - 1));
    cr_assert_eq(errno, EINVAL, "a stack below CO_STACK_MIN must be EINVAL");
    struct co *co = ct_create_ok(body_count, NULL, CO_STACK_MIN + 1);
    cr_assert_geq(co->map_len, (size_t)CO_STACK_MIN + 1 + 4096,
                  "a stack of CO_STACK_MIN + 1 bytes needs more than "
                  "CO_STACK_MIN plus the guard page");
    cr_assert_eq(co_destroy(co), 0);
}

/* ===================================================================== */
/* Stacks: lazy commit, guard page, destroy                              */
/* ===================================================================== */

#define LAZY_N 64

TK_TEST(switch, stack_committed_lazily,
        .description = "[CO-5] a 1 MiB stack costs only the pages touched")
{
    struct co *v[LAZY_N];
    int count = 0;

    long before = rss_kib();
    for (int i = 0; i < LAZY_N; i++) {
        v[i] = ct_create_ok(body_count, &count, 1024 * 1024);
        cr_assert_eq(co_resume(v[i]), 0);
    }
    long grew = rss_kib() - before;
    /* Under Valgrind resident memory counts Valgrind's own. */
    if (!RUNNING_ON_VALGRIND)
        cr_assert_lt(grew, LAZY_N * 64,
                     "%d coroutines with 1 MiB stacks made the process %ld "
                     "KiB bigger: %ld KiB each; a stack must not be touched "
                     "(or populated) beyond what the body uses",
                     LAZY_N, grew, grew / LAZY_N);
    for (int i = 0; i < LAZY_N; i++)
        co_destroy(v[i]);
}

static __attribute__((noinline)) int
overflow(int depth)
{
    volatile char buf[512];
    buf[0] = (char)depth;
    if (depth > 1000000) /* 512 MB of frames: never reached */
        return 0;
    return overflow(depth + 1) + buf[0];
}

static void
body_overflow(void *arg)
{
    (void)arg;
    overflow(0);
}

static int segv_pipe = -1;

static void
on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    void *addr = si->si_addr;
    if (write(segv_pipe, &addr, sizeof(addr)) != (ssize_t)sizeof(addr))
        raise(SIGKILL);
    /* The parent kills this child: no exit, so no leak report from it
     * under Valgrind for memory the test process owned. */
    for (;;)
        pause();
}

TK_TEST(switch, guard_page_stops_overflow,
        .description = "[CO-4] overflowing the stack faults in its guard page")
{
    int p[2];
    struct co *co = ct_create_ok(body_overflow, NULL, CO_STACK_MIN);
    char *guard = co->map;

    tk_pipe(p);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* The handler needs a stack of its own: the coroutine's is gone. */
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
        struct sigaction sa = {.sa_sigaction = on_segv,
                               .sa_flags = SA_SIGINFO | SA_ONSTACK};
        segv_pipe = p[1];
        sigaltstack(&ss, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        co_resume(co);
        raise(SIGKILL); /* the overflow did not fault */
    }
    close(p[1]);
    void *addr = NULL;
    ssize_t n = tk_read_exact(p[0], &addr, sizeof(addr), 15000);
    int status = 0;
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(n == (ssize_t)sizeof(addr),
              "the overflowing coroutine did not fault (child status %#x): "
              "it ran off its stack into other memory",
              status);
    cr_assert((char *)addr >= guard && (char *)addr < guard + 4096,
              "the overflow faulted at %p, not in the guard page at %p: "
              "the page below the stack must fault on any access",
              addr, (void *)guard);
    close(p[0]);
    co_destroy(co);
}

TK_TEST(switch, destroy_suspended_frees_stack,
        .description = "[CO-11] destroying a suspended coroutine unmaps its "
                       "stack; a running one is -EBUSY")
{
    struct ct_trace t = {{0}, 0};
    struct co *co = ct_create_ok(ct_body_abc, &t, 0);

    cr_assert_eq(co_resume(co), 0);
    void *map = co->map;
    size_t len = co->map_len;
    cr_assert(is_mapped((char *)map + len - 1));
    cr_assert_eq(co_destroy(co), 0);
    cr_assert(!is_mapped((char *)map + len - 1),
              "the stack is still mapped after co_destroy");
    cr_assert_eq(co_destroy(NULL), -EINVAL);
}

static void
body_destroy_self(void *arg)
{
    int *r = arg;
    *r = co_destroy(co_current());
}

TK_TEST(switch, destroy_running_is_busy,
        .description = "[CO-11] co_destroy of the running coroutine is -EBUSY")
{
    int r = 0;
    struct co *co = ct_create_ok(body_destroy_self, &r, 0);

    cr_assert_eq(co_resume(co), 1);
    cr_assert_eq(r, -EBUSY, "co_destroy on itself returned %d", r);
    cr_assert_eq(co_destroy(co), 0);
}
