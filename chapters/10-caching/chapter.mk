# chapter.mk - chapter 10's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 10-caching

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). Exercise 1 is cache.c; exercise 2, aside.c, uses it.
10-caching_SRC := cache.c aside.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
10-caching_TESTS := helpers.c test_lru.c test_aside.c
10-caching_BENCH := bench.c

# kvd plays the slow "database" behind the loaders; resp talks to it
# (shared/kvd/kit.mk).
10-caching_TEST_DEPS := $(KVD_T_OBJ)
10-caching_BENCH_DEPS := $(KVD_B_OBJ)
10-caching_LIBS := -lm
