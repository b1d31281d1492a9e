/*
 * co_core.c - exercise 1 of chapter 07: coroutines on stacks of their own.
 *
 * co_create maps a stack with a guard page, puts the struct co at its top
 * and builds below it the frame co_switch expects, so that the first
 * co_resume "returns" into co_trampoline (src/co_switch.S), which calls
 * co_body here. co_resume and co_yield are one co_switch each; the only
 * state besides the struct is the thread's current coroutine.
 *
 * Sections: the stack mapping; the initial frame; resume and yield.
 */
#include "co.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

/*
 * MADV_GUARD_INSTALL (Linux 6.13) makes pages fault like PROT_NONE without
 * splitting the mapping in two. Older headers lack it; older kernels say
 * EINVAL, and co_create falls back to mprotect.
 */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* The coroutine running on this thread, or NULL for the thread itself. */
static _Thread_local struct co *current;

struct co *
co_current(void)
{
    return current;
}

/* ===================================================================== */
/* The stack mapping                                                     */
/* ===================================================================== */

/* Room for the struct co at the top of the mapping (a multiple of 64). */
#define CO_HEADER ((sizeof(struct co) + 63) & ~(size_t)63)

/*
 * Maps guard page + stack. Returns the mapping or NULL with errno set.
 * The guard page comes first: stacks grow down, towards it.
 */
static void *
map_stack(size_t map_len, size_t page)
{
    /* TODO(CO-S2): map_len bytes, readable and writable, committed only
     * when touched; then make the first page (page bytes) fault on any
     * access. On failure unmap what was mapped, keep errno, return NULL. */
    (void)map_len;
    (void)page;
    errno = ENOSYS;
    return NULL;
}

/* ===================================================================== */
/* The initial frame                                                     */
/* ===================================================================== */

/*
 * The first function a coroutine runs, called by co_trampoline. It never
 * returns: a finished coroutine switches back to its resumer for good.
 */
static void
co_body(struct co *co)
{
    co->fn(co->arg);
    co->state = CO_FINISHED;
    co_switch(&co->sp, co->back);
    abort(); /* a finished coroutine was switched to: a bug in co_resume */
}

/*
 * Builds, below top (16-byte aligned), the frame co_switch pops: see the
 * layout in co_switch.S. Returns the stack pointer to switch to.
 */
static void *
initial_frame(struct co *co, uintptr_t top)
{
    /* TODO(CO-S3): write the frame co_switch restores (MXCSR and x87
     * control word, r15, r14, r13 = co, r12 = co_body, rbx, rbp, return
     * address = co_trampoline), placed so that rsp + 8 is a multiple of
     * 16 when co_body starts. Return its lowest address. */
    (void)co;
    (void)top;
    (void)co_body;
    return NULL;
}

struct co *
co_create(co_entry_cb fn, void *arg, size_t stack_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (stack_size == 0)
        stack_size = CO_STACK_DEFAULT;
    if (fn == NULL || stack_size < CO_STACK_MIN || stack_size > SIZE_MAX / 2) {
        errno = EINVAL;
        return NULL;
    }
    /* The struct sits at the top, above the usable stack. */
    size_t stack_len = (stack_size + CO_HEADER + page - 1) & ~(page - 1);
    size_t map_len = page + stack_len;
    char *map = map_stack(map_len, page);
    if (map == NULL)
        return NULL;

    struct co *co = (struct co *)(void *)(map + map_len - CO_HEADER);
    *co = (struct co){
        .state = CO_READY,
        .fn = fn,
        .arg = arg,
        .map = map,
        .map_len = map_len,
        .heap_idx = SIZE_MAX,
        .wait_fd = -1,
    };
    co->sp = initial_frame(co, (uintptr_t)co & ~(uintptr_t)15);
    if (co->sp == NULL) {
        munmap(map, map_len);
        errno = ENOSYS;
        return NULL;
    }
    /*
     * Valgrind takes a jump of the stack pointer for a huge stack frame
     * unless told where stacks are; then memcheck sees no stack switch
     * and flags the frames co_switch reads. Outside Valgrind this is a
     * few no-op instructions.
     */
    co->vg_id = VALGRIND_STACK_REGISTER(map + page, map + map_len);
    return co;
}

int
co_destroy(struct co *co)
{
    if (co == NULL || co->scheduled)
        return -EINVAL;
    if (co->state == CO_RUNNING)
        return -EBUSY;
    /* The struct lives in the mapping: read what munmap needs first. */
    void *map = co->map;
    size_t map_len = co->map_len;
    VALGRIND_STACK_DEREGISTER(co->vg_id);
    munmap(map, map_len);
    return 0;
}

/* ===================================================================== */
/* Resume and yield                                                      */
/* ===================================================================== */

int
co_resume(struct co *co)
{
    if (co == NULL || co->state == CO_FINISHED)
        return -EINVAL;
    if (co->state == CO_RUNNING)
        return -EBUSY;
    /* TODO(CO-S4): remember who resumes co, mark it running, make it
     * current, and switch to it, keeping this side's stack pointer where
     * co_yield will find it. When the switch returns, the resumer is
     * current again: return 1 if co finished, else 0. */
    return -ENOSYS;
}

int
co_yield(void)
{
    struct co *co = current;

    if (co == NULL)
        return -EPERM;
    /* TODO(CO-S5): mark co suspended and switch back to its resumer,
     * saving this stack pointer for the next co_resume. */
    return -ENOSYS;
}
