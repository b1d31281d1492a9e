/*
 * die.h - the one way demo programs and benchmarks report a fatal error.
 *
 * Every message has the shape   prog: action 'arg': reason
 * so a student can tell at a glance what failed, on what, and why.
 */
#ifndef IOLAB_DIE_H
#define IOLAB_DIE_H

/* Sets the program name used as the prefix (argv[0]'s last component). */
void die_init(const char *argv0);

/* Prints "prog: action 'arg': strerror(errno)" and exits with status 1. */
_Noreturn void die_errno(const char *action, const char *arg);

/* Same, with the reason given as a negative errno value (-EAGAIN, ...). */
_Noreturn void die_neg(const char *action, const char *arg, long neg_errno);

/* Prints "prog: " and a printf-style message, and exits with status 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses s, a command-line argument named what, as a whole decimal number
 * from min to max and returns it. Anything else (empty, a sign, trailing
 * characters, out of range) prints
 *     prog: what 's': expected a whole number from MIN to MAX
 * and exits with status 2, the usual status for a bad argument.
 */
unsigned long die_number(const char *what, const char *s, unsigned long min,
                         unsigned long max);

#endif /* IOLAB_DIE_H */
