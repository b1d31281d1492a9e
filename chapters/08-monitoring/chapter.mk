# chapter.mk - chapter 08's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 08-monitoring

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files.
08-monitoring_SRC := mon_disk.c mon_hist.c mon_proc.c mon_why.c mon_tcp.c
08-monitoring_GIVEN := mon_num.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
08-monitoring_TESTS := oracle.c test_disk.c test_hist.c test_proc.c test_why.c
08-monitoring_BENCH := bench.c

# kvd (the server whose client's latencies the histogram records) and
# resp (the client library), from shared/kvd/kit.mk.
08-monitoring_TEST_DEPS := $(KVD_T_OBJ)
08-monitoring_BENCH_DEPS := $(KVD_B_OBJ)

# ceil() for the nearest rank, and the tests' own arithmetic.
08-monitoring_LIBS := -lm

# The predict-then-measure experiment on /proc/self/io, "is it IO or
# CPU?" on any process, a kvd client's latencies measured and corrected,
# and pidstat -d -u for one process (not graded): make demos CH=08.
08-monitoring_DEMOS := counters.c why.c latency.c pidio.c
