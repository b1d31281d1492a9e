/*
 * test_switch.c - exercise 1 of chapter 07: co_switch, co_create,
 * co_resume, co_yield, co_destroy.
 *
 * The register tests cannot be written in C: the compiler decides which
 * registers hold what. clobber_call (assembly, below) loads chosen values
 * into every register the ABI makes a callee preserve, calls a function
 * that switches away and back, and reports which registers came back
 * different. Both sides of every switch do this, with different values,
 * so a switch that forgets a register hands one side's value to the other.
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
#include "iolab/testkit.h"

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/*
 * uint64_t clobber_call(void (*fn)(void *), void *arg, const uint64_t v[6]);
 * Loads rbx, rbp, r12, r13, r14, r15 with v[0..5], calls fn(arg) with an
 * aligned stack, and returns a mask: bit k set when register k no longer
 * holds v[k]. It preserves the caller's registers itself.
 */
uint64_t clobber_call(void (*fn)(void *), void *arg, const uint64_t v[6]);
__asm__(".pushsection .text\n"
        ".globl clobber_call\n"
        ".type clobber_call, @function\n"
        "clobber_call:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    pushq %rdx\n" /* v; and rsp is now a multiple of 16 */
        "    movq %rdi, %rax\n"
        "    movq %rsi, %rdi\n"
        "    movq 0(%rdx), %rbx\n"
        "    movq 8(%rdx), %rbp\n"
        "    movq 16(%rdx), %r12\n"
        "    movq 24(%rdx), %r13\n"
        "    movq 32(%rdx), %r14\n"
        "    movq 40(%rdx), %r15\n"
        "    callq *%rax\n"
        "    popq %rdx\n"
        "    xorl %eax, %eax\n"
        "    cmpq 0(%rdx), %rbx\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    orq %rcx, %rax\n"
        "    cmpq 8(%rdx), %rbp\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    shlq $1, %rcx\n"
        "    orq %rcx, %rax\n"
        "    cmpq 16(%rdx), %r12\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    shlq $2, %rcx\n"
        "    orq %rcx, %rax\n"
        "    cmpq 24(%rdx), %r13\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    shlq $3, %rcx\n"
        "    orq %rcx, %rax\n"
        "    cmpq 32(%rdx), %r14\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    shlq $4, %rcx\n"
        "    orq %rcx, %rax\n"
        "    cmpq 40(%rdx), %r15\n"
        "    setne %cl\n"
        "    movzbq %cl, %rcx\n"
        "    shlq $5, %rcx\n"
        "    orq %rcx, %rax\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size clobber_call, .-clobber_call\n"
        ".popsection\n");

static const char *const reg_names[6] = {"rbx", "rbp", "r12",
                                         "r13", "r14", "r15"};

/* The names of the registers in mask, for a message. */
static const char *
regs_in(uint64_t mask)
{
    static char out[64];
    out[0] = '\0';
    for (int k = 0; k < 6; k++)
        if (mask & (1u << k)) {
            strcat(out, out[0] ? ", " : "");
            strcat(out, reg_names[k]);
        }
    return out;
}

static void
fill_regs(uint64_t v[6], uint64_t seed)
{
    struct tk_rng rng;
    tk_rng_seed(&rng, seed);
    for (int k = 0; k < 6; k++)
        v[k] = tk_rng_next(&rng);
}

static unsigned
get_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v & ~0x3Fu; /* the control bits; the low six are status flags */
}

static void
set_mxcsr(unsigned v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned
get_x87cw(void)
{
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

static void
set_x87cw(unsigned v)
{
    unsigned short s = (unsigned short)v;
    __asm__ volatile("fldcw %0" : : "m"(s));
}

static struct co *
create_ok(co_entry_cb fn, void *arg, size_t stack)
{
    struct co *co = co_create(fn, arg, stack);
    cr_assert_not_null(co, "co_create failed: %s", strerror(errno));
    return co;
}

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
/* Resume, yield, finish                                                 */
/* ===================================================================== */

struct trace {
    char log[64];
    int n;
};

static void
note(struct trace *t, char c)
{
    if (t->n < (int)sizeof(t->log) - 1)
        t->log[t->n++] = c;
}

static void
body_abc(void *arg)
{
    struct trace *t = arg;
    note(t, 'a');
    cr_assert_eq(co_yield(), 0);
    note(t, 'b');
    cr_assert_eq(co_yield(), 0);
    note(t, 'c');
}

TK_TEST(switch, runs_and_yields,
        .description = "[CO-7] resume runs to the next yield; 1 when done")
{
    struct trace t = {{0}, 0};
    struct co *co = create_ok(body_abc, &t, 0);

    cr_assert_eq(co->state, CO_READY);
    cr_assert_eq(t.n, 0, "co_create ran the body; it must only prepare it");
    for (int i = 0; i < 2; i++) {
        int r = co_resume(co);
        cr_assert_eq(r, 0, "co_resume returned %d after a yield, expected 0",
                     r);
        note(&t, (char)('1' + i));
    }
    int r = co_resume(co);
    cr_assert_eq(r, 1,
                 "co_resume returned %d when the body returned, "
                 "expected 1",
                 r);
    t.log[t.n] = '\0';
    cr_assert_str_eq(t.log, "a1b2c", "the order of events was %s", t.log);
    cr_assert_eq(co->state, CO_FINISHED);
    cr_assert_null(co_current(), "co_current() outside any coroutine");
    cr_assert_eq(co_destroy(co), 0);
}

TK_TEST(switch, resume_finished_is_error,
        .description = "[CO-8] resuming a finished coroutine is -EINVAL")
{
    struct trace t = {{0}, 0};
    struct co *co = create_ok(body_abc, &t, 0);

    while (co_resume(co) == 0)
        ;
    int r = co_resume(co);
    cr_assert_eq(r, -EINVAL,
                 "co_resume of a finished coroutine returned "
                 "%d, expected -EINVAL (-22)",
                 r);
    cr_assert_eq(t.n, 3, "the body ran again after it finished");
    cr_assert_eq(co_resume(NULL), -EINVAL);
    cr_assert_eq(co_yield(), -EPERM,
                 "co_yield outside a coroutine must say -EPERM");
    cr_assert_eq(co_destroy(co), 0);
}

static void
body_resume_self(void *arg)
{
    int *r = arg;
    *r = co_resume(co_current());
}

TK_TEST(switch, resume_running_is_busy,
        .description = "[CO-8] resuming the running coroutine is -EBUSY")
{
    int r = 0;
    struct co *co = create_ok(body_resume_self, &r, 0);

    cr_assert_eq(co_resume(co), 1);
    cr_assert_eq(r, -EBUSY,
                 "a coroutine resuming itself got %d, expected "
                 "-EBUSY (-16)",
                 r);
    co_destroy(co);
}

/* ===================================================================== */
/* Registers                                                             */
/* ===================================================================== */

#define ROUNDS 64

struct clob {
    uint64_t inside; /* registers the coroutine lost */
    int rounds;
};

static void
just_yield(void *arg)
{
    (void)arg;
    co_yield();
}

static void
just_resume(void *arg)
{
    cr_assert_eq(co_resume(arg), 0);
}

static void
body_clobber(void *arg)
{
    struct clob *c = arg;
    uint64_t v[6];
    for (int i = 0; i < ROUNDS; i++) {
        fill_regs(v, 1000 + (uint64_t)i);
        c->inside |= clobber_call(just_yield, NULL, v);
        c->rounds++;
    }
}

TK_TEST(switch, callee_saved_preserved,
        .description = "[CO-1] rbx, rbp, r12-r15 survive switches both ways")
{
    struct clob c = {0, 0};
    struct co *co = create_ok(body_clobber, &c, 0);
    uint64_t outside = 0, v[6];

    for (int i = 0; i < ROUNDS; i++) {
        fill_regs(v, 2000 + (uint64_t)i);
        outside |= clobber_call(just_resume, co, v);
    }
    cr_assert_eq(co_resume(co), 1);
    cr_assert_eq(c.rounds, ROUNDS);
    cr_assert_eq(outside, 0,
                 "after co_resume returned, the resumer's %s had changed: "
                 "co_switch must save and restore it",
                 regs_in(outside));
    cr_assert_eq(c.inside, 0,
                 "after co_yield returned, the coroutine's %s had changed: "
                 "co_switch must save and restore it",
                 regs_in(c.inside));
    co_destroy(co);
}

/* Two coroutines and the thread, each with its own registers. */
static void
body_clobber_pair(void *arg)
{
    struct clob *c = arg;
    uint64_t v[6];
    for (int i = 0; i < ROUNDS; i++) {
        fill_regs(v, 3000 + (uint64_t)(uintptr_t)c + (uint64_t)i);
        c->inside |= clobber_call(just_yield, NULL, v);
        c->rounds++;
    }
}

TK_TEST(switch, callee_saved_three_contexts,
        .description = "[CO-1][CO-9] registers stay with their context "
                       "among three")
{
    struct clob a = {0, 0}, b = {0, 0};
    struct co *ca = create_ok(body_clobber_pair, &a, 0);
    struct co *cb = create_ok(body_clobber_pair, &b, 0);
    uint64_t outside = 0, v[6];

    for (int i = 0; i < ROUNDS; i++) {
        fill_regs(v, 4000 + (uint64_t)i);
        outside |= clobber_call(just_resume, ca, v);
        fill_regs(v, 5000 + (uint64_t)i);
        outside |= clobber_call(just_resume, cb, v);
    }
    cr_assert_eq(co_resume(ca), 1);
    cr_assert_eq(co_resume(cb), 1);
    cr_assert_eq(outside | a.inside | b.inside, 0,
                 "registers changed across switches: thread %s; first "
                 "coroutine %s; second %s",
                 regs_in(outside), regs_in(a.inside), regs_in(b.inside));
    co_destroy(ca);
    co_destroy(cb);
}

/* ===================================================================== */
/* Floating-point control                                                */
/* ===================================================================== */

struct fpctl {
    unsigned start_mxcsr, start_cw; /* what the coroutine found */
    int bad_rounds;                 /* rounds its own values were lost */
    unsigned seen_mxcsr, seen_cw;   /* the first wrong values */
};

#define MX_TOWARD_ZERO (0x1F80u | 0x6000u)
#define CW_TOWARD_ZERO (0x037Fu | 0x0C00u)
#define MX_DOWN (0x1F80u | 0x2000u)
#define CW_DOWN (0x037Fu | 0x0400u)

static void
body_fp(void *arg)
{
    struct fpctl *f = arg;
    f->start_mxcsr = get_mxcsr();
    f->start_cw = get_x87cw();
    set_mxcsr(MX_TOWARD_ZERO);
    set_x87cw(CW_TOWARD_ZERO);
    for (int i = 0; i < ROUNDS; i++) {
        co_yield();
        unsigned m = get_mxcsr(), c = get_x87cw();
        if (m != MX_TOWARD_ZERO || c != CW_TOWARD_ZERO) {
            if (f->bad_rounds++ == 0) {
                f->seen_mxcsr = m;
                f->seen_cw = c;
            }
            set_mxcsr(MX_TOWARD_ZERO);
            set_x87cw(CW_TOWARD_ZERO);
        }
    }
}

TK_TEST(switch, fp_control_preserved,
        .description = "[CO-2] MXCSR and the x87 control word stay with "
                       "their context")
{
    struct fpctl f = {0, 0, 0, 0, 0};
    struct co *co = create_ok(body_fp, &f, 0);
    int bad = 0;
    unsigned seen_m = 0, seen_c = 0;

    /* The creator's rounding mode is not the new coroutine's. */
    set_mxcsr(MX_DOWN);
    set_x87cw(CW_DOWN);
    for (int i = 0; i <= ROUNDS; i++) {
        cr_assert_geq(co_resume(co), 0);
        unsigned m = get_mxcsr(), c = get_x87cw();
        if (m != MX_DOWN || c != CW_DOWN) {
            if (bad++ == 0) {
                seen_m = m;
                seen_c = c;
            }
            set_mxcsr(MX_DOWN);
            set_x87cw(CW_DOWN);
        }
    }
    set_mxcsr(CO_MXCSR_INIT);
    set_x87cw(CO_X87CW_INIT);
    cr_assert_eq(co->state, CO_FINISHED);
    cr_assert_eq(f.start_mxcsr, CO_MXCSR_INIT,
                 "a new coroutine started with MXCSR %#x, expected %#x",
                 f.start_mxcsr, CO_MXCSR_INIT);
    cr_assert_eq(f.start_cw, CO_X87CW_INIT,
                 "a new coroutine started with x87 control word %#x, "
                 "expected %#x",
                 f.start_cw, CO_X87CW_INIT);
    cr_assert_eq(bad, 0,
                 "after co_resume the resumer found MXCSR %#x and x87 "
                 "control %#x instead of its own %#x and %#x (%d times): "
                 "co_switch must save and restore both",
                 seen_m, seen_c, MX_DOWN, CW_DOWN, bad);
    cr_assert_eq(f.bad_rounds, 0,
                 "after co_yield the coroutine found MXCSR %#x and x87 "
                 "control %#x instead of its own %#x and %#x",
                 f.seen_mxcsr, f.seen_cw, MX_TOWARD_ZERO, CW_TOWARD_ZERO);
    co_destroy(co);
}

/* ===================================================================== */
/* Alignment, printf and SSE                                             */
/* ===================================================================== */

struct align {
    uintptr_t frame, nested; /* frame addresses, mod 16 */
    int sse_ok;
    char text[64];
};

/* A nested call: its frame must be aligned as well. */
static __attribute__((noinline)) uintptr_t
nested_frame(void)
{
    return (uintptr_t)__builtin_frame_address(0) & 15;
}

/* movaps faults on an address that is not a multiple of 16. */
static __attribute__((noinline)) int
sse_probe(void)
{
    float v[4] __attribute__((aligned(16))) = {1, 2, 3, 4};
    if ((uintptr_t)v & 15)
        return 0; /* the compiler trusted an unaligned stack */
    __asm__ volatile("movaps (%0), %%xmm0\n\t"
                     "addps %%xmm0, %%xmm0\n\t"
                     "movaps %%xmm0, (%0)"
                     :
                     : "r"(v)
                     : "xmm0", "memory");
    return v[3] == 8.0f;
}

static void
body_align(void *arg)
{
    struct align *a = arg;
    /* At -O0 the frame address is rsp at entry minus 8: a multiple of 16
     * exactly when the ABI's rule (rsp + 8 aligned at entry) holds. */
    a->frame = (uintptr_t)__builtin_frame_address(0) & 15;
    a->nested = nested_frame();
    if (a->frame != 0 || a->nested != 0)
        return; /* reported by the test, without crashing */
    a->sse_ok = sse_probe();
    co_yield();
    snprintf(a->text, sizeof(a->text), "%f %.3e", 3.25, 1.0 / 3.0);
}

TK_TEST(switch, aligned_stack_printf_sse,
        .description = "[CO-3] the body starts on an ABI-aligned stack: SSE "
                       "and printf(\"%f\") work")
{
    struct align a = {1, 1, 0, ""};
    struct co *co = create_ok(body_align, &a, 0);

    while (co_resume(co) == 0)
        ;
    cr_assert_eq(a.frame, 0,
                 "the body's frame address is %lu mod 16, expected 0: at "
                 "its entry rsp + 8 must be a multiple of 16 (mind the "
                 "return address co_trampoline's call pushes)",
                 (unsigned long)a.frame);
    cr_assert_eq(a.nested, 0, "a nested call's frame is misaligned");
    cr_assert(a.sse_ok, "movaps on an aligned local went wrong");
    cr_assert_str_eq(a.text, "3.250000 3.333e-01",
                     "snprintf(\"%%f\") in a coroutine gave \"%s\"", a.text);
    co_destroy(co);
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
    struct co *co = create_ok(body_deep, &d, 256 * 1024);
    struct co *other = create_ok(body_deep, &e, 256 * 1024);
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
    struct trace *t;
};

static void
body_inner(void *arg)
{
    struct trace *t = arg;
    note(t, 'i');
    co_yield();
    note(t, 'j');
}

static void
body_outer(void *arg)
{
    struct nest *n = arg;
    note(n->t, 'o');
    cr_assert_eq(co_resume(n->inner), 0);
    note(n->t, 'p');
    co_yield();
    note(n->t, 'q');
    cr_assert_eq(co_resume(n->inner), 1);
    note(n->t, 'r');
}

TK_TEST(switch, nested_resume,
        .description = "[CO-9] a coroutine resumes another; yield returns "
                       "to the resumer")
{
    struct trace t = {{0}, 0};
    struct nest n = {NULL, &t};
    n.inner = create_ok(body_inner, &t, 0);
    struct co *outer = create_ok(body_outer, &n, 0);

    cr_assert_eq(co_resume(outer), 0);
    note(&t, 'M');
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
    struct co *co = create_ok(body_count, NULL, CO_STACK_MIN + 1);
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
        v[i] = create_ok(body_count, &count, 1024 * 1024);
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
    struct co *co = create_ok(body_overflow, NULL, CO_STACK_MIN);
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
    struct trace t = {{0}, 0};
    struct co *co = create_ok(body_abc, &t, 0);

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
    struct co *co = create_ok(body_destroy_self, &r, 0);

    cr_assert_eq(co_resume(co), 1);
    cr_assert_eq(r, -EBUSY, "co_destroy on itself returned %d", r);
    cr_assert_eq(co_destroy(co), 0);
}
