/*
 * fcontext.h - Boost.Context's switch, timed for comparison (fcontext.c).
 */
#ifndef CO_BENCH_FCONTEXT_H
#define CO_BENCH_FCONTEXT_H

/*
 * ns per jump_fcontext round trip (two jumps), over pairs round trips;
 * -1 when Boost.Context (libboost-context-dev) is not installed.
 */
double time_fcontext(int pairs);

#endif /* CO_BENCH_FCONTEXT_H */
