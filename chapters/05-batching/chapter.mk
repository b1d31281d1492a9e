# chapter.mk - chapter 05's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 05-batching

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files.
05-batching_SRC := bat_writev.c bat_pipeline.c bat_log.c
# Given by the course: the checksum the log uses.
05-batching_GIVEN := bat_crc32c.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
05-batching_TESTS := test_writev.c test_pipeline.c test_log.c
05-batching_BENCH := bench.c

# kvd (the server the pipelines talk to) and resp (the client library),
# from shared/kvd/kit.mk.
05-batching_TEST_DEPS := $(KVD_T_OBJ)
05-batching_BENCH_DEPS := $(KVD_B_OBJ)
