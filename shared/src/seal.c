/*
 * seal.c - the seccomp filter declared in iolab/seal.h.
 *
 * The filter is a short classic-BPF program over struct seccomp_data
 * (Documentation/userspace-api/seccomp_filter.rst): a foreign architecture
 * or an x32 call is killed (either could reach exit under another number);
 * ptrace and process_vm_writev fail with EPERM; exit and exit_group with
 * a sealed status are allowed only from the address just past the system
 * call instruction in seal_exit, which is what the kernel reports as the
 * instruction pointer of a system call.
 */
#include "iolab/seal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#if defined(__x86_64__)
#define SEAL_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SEAL_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * LeakSanitizer stops the world with ptrace, from a task of the test's own
 * process, so a sanitizer build (make sanitize: never graded, and the
 * grader refuses sanitizer symbols in a submission) keeps ptrace; the rule
 * that would deny it denies process_vm_writev a second time instead.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SEAL_DENIED_PTRACE SYS_process_vm_writev
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SEAL_DENIED_PTRACE SYS_process_vm_writev
#endif
#endif
#ifndef SEAL_DENIED_PTRACE
#define SEAL_DENIED_PTRACE SYS_ptrace
#endif

/* The address just past seal_exit's system call instruction. */
extern const char iolab_seal_exit_ip[];

__attribute__((noinline)) _Noreturn void
seal_exit(int status)
{
#if defined(__x86_64__)
    __asm__ volatile("syscall\n\t"
                     ".globl iolab_seal_exit_ip\n\t"
                     ".hidden iolab_seal_exit_ip\n"
                     "iolab_seal_exit_ip:\n\t"
                     "ud2"
                     :
                     : "a"((long)SYS_exit_group), "D"((long)status)
                     : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_exit_group;
    register long x0 __asm__("x0") = status;
    __asm__ volatile("svc #0\n\t"
                     ".globl iolab_seal_exit_ip\n\t"
                     ".hidden iolab_seal_exit_ip\n"
                     "iolab_seal_exit_ip:\n\t"
                     "brk #0"
                     :
                     : "r"(x8), "r"(x0)
                     : "memory");
#endif
    _exit(status); /* no seal on this architecture */
}

#ifdef SEAL_ARCH
#define LD(field)                                                              \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define LD_AT(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LO 0
#define HI 4
#else
#define LO 4
#define HI 0
#endif
#endif

bool
seal_exits(int a, int b)
{
#ifdef SEAL_ARCH
    if (RUNNING_ON_VALGRIND)
        return false;
    uint64_t ip = (uint64_t)(uintptr_t)iolab_seal_exit_ip;
    const uint32_t arg0 = offsetof(struct seccomp_data, args[0]);
    const uint32_t ipoff = offsetof(struct seccomp_data, instruction_pointer);
    struct sock_filter f[] = {
        /* 0 */ LD(arch),
        /* 1 */ JEQ(SEAL_ARCH, 1, 0),
        /* 2 */ RET(SECCOMP_RET_KILL_PROCESS),
        /* 3 */ LD(nr),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
        /* 5 */ RET(SECCOMP_RET_KILL_PROCESS), /* x32 */
        /* 6 */ JEQ(SYS_exit_group, 5, 0),
        /* 7 */ JEQ(SYS_exit, 4, 0),
        /* 8 */ JEQ(SEAL_DENIED_PTRACE, 2, 0),
        /* 9 */ JEQ(SYS_process_vm_writev, 1, 0),
        /* 10 */ RET(SECCOMP_RET_ALLOW),
        /* 11 */ RET(SECCOMP_RET_ERRNO | EPERM),
        /* 12 */ LD_AT(arg0 + LO),
        /* 13 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
        /* 14 */ JEQ((uint32_t)a, 2, 0),
        /* 15 */ JEQ((uint32_t)b, 1, 0),
        /* 16 */ RET(SECCOMP_RET_ALLOW),
        /* 17 */ LD_AT(ipoff + LO),
        /* 18 */ JEQ((uint32_t)ip, 0, 3),
        /* 19 */ LD_AT(ipoff + HI),
        /* 20 */ JEQ((uint32_t)(ip >> 32), 0, 1),
        /* 21 */ RET(SECCOMP_RET_ALLOW),
        /* 22 */ RET(SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return false;
    return true;
#else
    (void)a;
    (void)b;
    return false;
#endif
}
