# chapter.mk - chapter 02's part of the top-level Makefile.
# The files each build is made of; the rules themselves live in ../../Makefile.

CHAPTERS += 02-multiplexing

# The student's files: src/ in the tree being built.
02-multiplexing_SRC := mux_serve.c mux_conn.c mux_select.c mux_poll.c mux_epoll.c

# The graded tests (Criterion) and the benchmark, always from chapters/.
02-multiplexing_TESTS := helpers.c test_echo.c test_stress.c test_faults.c
02-multiplexing_BENCH := bench.c

# Demo programs (make demos CH=02): the echo server on a port, and a load
# generator to drive it from another process.
02-multiplexing_DEMOS := echo_server.c echo_load.c

# The load generator is shared by the bench and the demos.
02-multiplexing_BENCH_DEPS := $(CB)/02-multiplexing/b/bench/loadgen.o
