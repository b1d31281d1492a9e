# chapter.mk - chapter 07's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 07-coroutines

# The student's files: src/ in the tree being built. co_switch.S is
# assembly through the C preprocessor (the Makefile builds .S like .c).
07-coroutines_SRC := co_switch.S co_core.c co_sched.c co_io.c co_echo.c co_kv.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
07-coroutines_TESTS := test_switch.c test_stack.c test_sched.c test_sched_io.c helpers.c test_echo.c test_kv.c
07-coroutines_BENCH := bench.c bench_kv.c fcontext.c

# kvd (the server exercise 4's pool talks to) and resp (its reply parser
# and encoder), from shared/kvd/kit.mk.
07-coroutines_TEST_DEPS := $(KVD_T_OBJ)
07-coroutines_BENCH_DEPS := $(KVD_B_OBJ)

# A demo (make demos CH=07): what a thread stack and a coroutine stack cost.
07-coroutines_DEMOS := stack_cost.c
