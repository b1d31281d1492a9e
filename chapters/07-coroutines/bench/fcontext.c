/*
 * fcontext.c - Boost.Context's jump_fcontext, timed beside co_switch.
 *
 * Boost.Context's switch is the same idea as co_switch (the callee-saved
 * registers and the FP control words pushed on the stack, the stack
 * pointer swapped, no system call) in Boost's own assembly. Its two entry
 * points have C linkage, so C can call them. They are looked up at run
 * time (dlopen) rather than linked, so that the course neither needs nor
 * builds against libboost-context-dev: without it, the bench says so and
 * times the others.
 */
#include "fcontext.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#include "iolab/perfkit.h"

/* Boost.Context 1.74's types (boost/context/detail/fcontext.hpp). */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx; /* the context that jumped here */
    void *data;      /* what it passed */
} transfer_t;

static transfer_t (*jump)(fcontext_t to, void *vp);
static fcontext_t (*make)(void *sp, size_t size, void (*fn)(transfer_t));

/* The other side: jumps straight back, for ever. */
static void
bounce(transfer_t t)
{
    for (;;)
        t = jump(t.fctx, NULL);
}

double
time_fcontext(int pairs)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    static void *lib;

    if (lib == NULL) {
        lib = dlopen("libboost_context.so", RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL)
            return -1;
        /* dlsym's void * to a function pointer, as POSIX allows. */
        *(void **)&jump = dlsym(lib, "jump_fcontext");
        *(void **)&make = dlsym(lib, "make_fcontext");
    }
    if (jump == NULL || make == NULL)
        return -1;
    /* The stack grows down: make_fcontext takes its top. */
    transfer_t t =
        jump(make(stack + sizeof(stack), sizeof(stack), bounce), NULL);
    uint64_t t0 = pk_now_ns();
    for (int i = 0; i < pairs; i++)
        t = jump(t.fctx, NULL);
    return (double)(pk_now_ns() - t0) / pairs;
}
