# chapter.mk - chapter 09's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 09-async-io

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). Exercise 1 is copy.c; exercise 2, echo.c; exercise 3,
# zerocopy.c (sendfile, splice) and zc_send.c (MSG_ZEROCOPY).
09-async-io_SRC := copy.c echo.c zerocopy.c zc_send.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
09-async-io_TESTS := uiot.c test_copy.c test_echo.c test_zerocopy.c test_zc.c
09-async-io_BENCH := bench.c bench_echo.c bench_zc.c

# liburing (Debian's liburing-dev; grader/deps.sh installs it).
09-async-io_LIBS := -luring
