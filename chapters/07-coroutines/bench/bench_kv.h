/*
 * bench_kv.h - exercise 4's part of the benchmark (bench_kv.c), called
 * from bench.c's main.
 */
#ifndef CO_BENCH_KV_H
#define CO_BENCH_KV_H

/* Measures the pool and reports its metrics; runs: timed alternations. */
void bench_kv(int runs);

#endif /* CO_BENCH_KV_H */
