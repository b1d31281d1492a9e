/*
 * seal.h - the test kit's proof that a test body ran to its end.
 *
 * A graded test passes when its worker process exits with TK_EXIT_DONE
 * (testkit.h), and is skipped when it exits with TK_EXIT_SKIP. The code
 * under test runs in that same process, so without more it could simply
 * exit with either status. seal_exits() closes that door with a seccomp
 * filter (seccomp(2), "Pitfalls": the filter sees the instruction
 * pointer): from then on an exit or exit_group system call whose status
 * ends in one of those two values kills the process, unless it is made by
 * the single system call instruction inside seal_exit(). The filter is
 * inherited by children and kept across execve, so neither a libc exit, a
 * raw system call, a 32-bit int $0x80 nor another program can produce the
 * status. It also refuses ptrace and process_vm_writev, which could steer
 * another process into that instruction.
 *
 * What it cannot stop: code that finds seal_exit (or tk_done) in its own
 * process's memory and jumps there. The grader refuses objects that name
 * the kits' functions; a submission that digs them out of memory at run
 * time is beyond what any in-process check can prevent.
 */
#ifndef IOLAB_SEAL_H
#define IOLAB_SEAL_H

#include <stdbool.h>

/*
 * seal_exits - installs the filter for the statuses a and b (0-255).
 * Returns true when it is in force; false when this machine or build
 * cannot (no seccomp, another architecture, running under Valgrind,
 * which makes every system call from its own code).
 */
bool seal_exits(int a, int b);

/* seal_exit - exits the process with status through the pinned call. */
_Noreturn void seal_exit(int status);

#endif /* IOLAB_SEAL_H */
