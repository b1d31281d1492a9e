# chapter.mk - chapter 03's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 03-mmap

# The student's files: src/ in the tree being built (skeleton, solution or
# a submission). The reference solution has exactly the same files.
03-mmap_SRC := mm_scan.c mm_edit.c mm_ring.c

# The graded tests (Criterion), with their shared helpers (helpers.c), and
# the benchmark, always from chapters/.
03-mmap_TESTS := helpers.c test_scan.c test_window.c test_edit.c test_ring.c
03-mmap_BENCH := bench.c
# The tests read peak resident memory with the perf kit's pk_peak_rss_kib.
03-mmap_TEST_DEPS := $(PERFKIT_OBJ)

# Demo programs (make demos CH=03): SIGBUS when a mapped file shrinks,
# mmap against read for sequential and random access, and the
# store-buffering litmus test behind the ring's sleep and wake-up.
03-mmap_DEMOS := sigbus.c compare.c litmus.c
