# chapter.mk - chapter 01's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 01-blocking-io

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files.
01-blocking-io_SRC := nb_io.c nb_server.c nb_prethread.c
# Given by the course: the blocking baseline the bench measures against.
01-blocking-io_GIVEN := nb_blocking.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
01-blocking-io_TESTS := test_rw.c test_nonblock.c test_serve.c test_prethread.c
01-blocking-io_BENCH := bench.c
