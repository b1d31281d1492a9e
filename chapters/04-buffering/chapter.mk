# chapter.mk - chapter 04's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 04-buffering

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files.
04-buffering_SRC := buf_writer.c buf_reader.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
04-buffering_TESTS := test_writer.c test_reader.c
04-buffering_BENCH := bench.c

# Demo programs (make demos CH=04): the buffer-size sweep of exercise 3,
# and stdio's buffer duplicated by fork.
04-buffering_DEMOS := sweep.c forkdup.c
