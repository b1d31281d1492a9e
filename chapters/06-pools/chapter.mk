# chapter.mk - chapter 06's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 06-pools

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files (and a
# header of its own, pool_int.h, which the grader stages with them).
06-pools_SRC := pool.c pool_health.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
06-pools_TESTS := helpers.c test_core.c test_health.c
06-pools_BENCH := bench.c

# kvd (the server the pool talks to) and resp (the client library),
# from shared/kvd/kit.mk.
06-pools_TEST_DEPS := $(KVD_T_OBJ)
06-pools_BENCH_DEPS := $(KVD_B_OBJ)

# The sizing experiment (not graded): make demos CH=06.
06-pools_DEMOS := sizing.c
