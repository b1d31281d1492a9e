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
 * The stacks (depth, nesting, 100,000 coroutines, lazy commit, the guard
 * page, destroy) are tested in test_stack.c.
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

/* ===================================================================== */
/* Resume, yield, finish                                                 */
/* ===================================================================== */

TK_TEST(switch, runs_and_yields,
        .description = "[CO-7] resume runs to the next yield; 1 when done")
{
    struct ct_trace t = {{0}, 0};
    struct co *co = ct_create_ok(ct_body_abc, &t, 0);

    cr_assert_eq(co->state, CO_READY);
    cr_assert_eq(t.n, 0, "co_create ran the body; it must only prepare it");
    for (int i = 0; i < 2; i++) {
        int r = co_resume(co);
        cr_assert_eq(r, 0, "co_resume returned %d after a yield, expected 0",
                     r);
        ct_note(&t, (char)('1' + i));
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
    struct ct_trace t = {{0}, 0};
    struct co *co = ct_create_ok(ct_body_abc, &t, 0);

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
    struct co *co = ct_create_ok(body_resume_self, &r, 0);

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
    struct co *co = ct_create_ok(body_clobber, &c, 0);
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
    struct co *ca = ct_create_ok(body_clobber_pair, &a, 0);
    struct co *cb = ct_create_ok(body_clobber_pair, &b, 0);
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
    struct co *co = ct_create_ok(body_fp, &f, 0);
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
    struct co *co = ct_create_ok(body_align, &a, 0);

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
