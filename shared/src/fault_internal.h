/*
 * fault_internal.h - what the two halves of the fault-injection layer
 * share: fault.c keeps the plans and observers, fault_calls.c the
 * replacements of the calls that move no bytes. Not for tests: they use
 * iolab/fault.h.
 */
#ifndef IOLAB_FAULT_INTERNAL_H
#define IOLAB_FAULT_INTERNAL_H

#include "iolab/fault.h"

#include <stdbool.h>

/*
 * Counts a call of op on descriptor fd (-1: none), shows it to op's
 * fi_observe observer, and takes its step. Returns true (with errno set)
 * when the call must fail without reaching the kernel; short and zero
 * steps mean nothing here.
 */
bool fi_fails_here(enum fi_op op, int fd);

/* Shows a finished memory call to its fi_observe_mem observer, if any;
 * errno is kept. */
void fi_show_mem(const struct fi_mem_call *call);

#endif /* IOLAB_FAULT_INTERNAL_H */
