/*
 * co_switch.S - exercise 1 of chapter 07: the context switch, in x86-64
 * assembly (GNU as, AT&T syntax; the C preprocessor runs first).
 *
 *     void co_switch(void **save_sp, void *load_sp);
 *
 * The System V AMD64 ABI (section 3.2.1) lets a called function destroy
 * every register except rbx, rbp, r12-r15, rsp, the control bits of MXCSR
 * and the x87 control word. co_switch is called like any function, so the
 * compiler has already saved everything else around the call: the switch
 * saves exactly the preserved set, on the stack it is leaving, and keeps
 * only the stack pointer (see co.h, [CO-1] to [CO-4]).
 *
 * The frame co_switch leaves on a suspended stack, from the saved sp up:
 *
 *     sp + 0    MXCSR (4 bytes), x87 control word (2), padding (2)
 *     sp + 8    r15
 *     sp + 16   r14
 *     sp + 24   r13
 *     sp + 32   r12
 *     sp + 40   rbx
 *     sp + 48   rbp
 *     sp + 56   return address
 *
 * co_core.c builds the same frame on a new stack, with co_trampoline (at
 * the end of this file) as the return address, so a coroutine's first switch "returns" into it.
 */

        .text

        .globl  co_switch
        .type   co_switch, @function
co_switch:
        .cfi_startproc
     /* TODO(CO-S1): save rbp, rbx, r12-r15, MXCSR and the x87 control
      * word on this stack; store rsp in *save_sp (rdi); load load_sp
      * (rsi) into rsp; restore the same frame from it and return. The
      * frame's layout is above: co_core.c builds it for new stacks.
      * Until then the switch does nothing and co_resume must refuse. */
     ret
        .cfi_endproc
        .size   co_switch, .-co_switch

/*
 * co_trampoline - where a new coroutine's first switch returns to.
 * co_core.c puts the C function to call in r12 and its argument in r13;
 * here rsp is 16-byte aligned, so the call leaves rsp + 8 aligned at the
 * callee's entry, as the ABI requires. The C function never returns (a
 * finished coroutine switches away for good), so ud2 marks a bug.
 * Given: not part of the exercise.
 */
        .globl  co_trampoline
        .type   co_trampoline, @function
co_trampoline:
        .cfi_startproc
        /* The end of the call chain, for debuggers and unwinders. */
        .cfi_undefined rip
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   co_trampoline, .-co_trampoline

        .section .note.GNU-stack, "", @progbits
