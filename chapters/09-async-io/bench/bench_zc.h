/*
 * bench_zc.h - the MSG_ZEROCOPY part of chapter 09's benchmark
 * (bench_zc.c), called by bench.c's main while its sink is up.
 */
#ifndef BENCH_ZC_H
#define BENCH_ZC_H

/*
 * bench_zc - sender CPU time per GiB with and without MSG_ZEROCOPY for
 * send sizes from 4 KiB to 1 MiB, to the sink listening on sink_port;
 * reports the zc_cpu_ratio_* and zc_break_even_kib info metrics.
 */
void bench_zc(int runs, unsigned short sink_port);

#endif /* BENCH_ZC_H */
