/*
 * bench_zc.c - chapter 09's benchmark, MSG_ZEROCOPY part: where does
 * lending pages to the kernel start to pay?
 *
 * For each send size from 4 KiB to 1 MiB, the sending thread's CPU time
 * to push ZC_MIB MiB to the sink (a process of its own that reads and
 * discards) is measured twice in the same run: with plain send(2) calls
 * from one buffer, and with uio_zc_stream over ZC_BUFS buffers of that
 * size (MSG_ZEROCOPY, notifications read, buffers reused only when free).
 * The ratio zero-copy over plain, median of --runs runs, is reported for
 * each size, with the smallest size whose median is below 1, and the
 * share of the ids the kernel reported as copied (zc_copied_fraction).
 *
 * Not graded, and not what a network card would show: on loopback the
 * kernel copies every zero-copy segment as it loops it back (the
 * notification says SO_EE_CODE_ZEROCOPY_COPIED), so the copy is not
 * saved, only moved, and the page pinning and notifications come on top.
 * The kernel's own measurements are in Documentation/networking/
 * msg_zerocopy.rst.
 */
#include "bench_zc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "uio.h"

#define ZC_MIB 32 /* per size and mode: enough CPU time to measure */
#define ZC_BUFS 8 /* buffers in flight for the zero-copy sender */
#define ZC_TIMEOUT_MS 20000

static const size_t zc_sizes[] = {4096, 16384, 65536, 262144, 1048576};
static const char *const zc_names[] = {"zc_cpu_ratio_4k", "zc_cpu_ratio_16k",
                                       "zc_cpu_ratio_64k", "zc_cpu_ratio_256k",
                                       "zc_cpu_ratio_1m"};
#define NSIZES (sizeof(zc_sizes) / sizeof(zc_sizes[0]))

/* Ids completed, those reported COPIED, and ENOBUFS met, over every
 * zero-copy run. */
static uint64_t zc_completed, zc_copied, zc_enobufs;

/* fill's state: how many bytes are left to stream. */
struct left {
    size_t bytes;
};

static size_t
fill(char *buf, size_t cap, void *arg)
{
    struct left *l = arg;
    size_t n = l->bytes < cap ? l->bytes : cap;

    /* One byte a page is enough to make the pages the sender's own. */
    for (size_t i = 0; i < n; i += 4096)
        buf[i] = (char)i;
    l->bytes -= n;
    return n;
}

/* The sending thread's CPU ns to send ZC_MIB MiB in pieces of size. */
static double
cpu_plain(int sock, size_t size, char *buf)
{
    size_t total = (size_t)ZC_MIB * 1024 * 1024;
    uint64_t t0 = pk_thread_cpu_ns();

    for (size_t done = 0; done < total; done += size) {
        fill(buf, size, &(struct left){size});
        int err = pk_send_all(sock, buf, size);
        if (err < 0)
            die("plain send: %s", strerror(-err));
    }
    return (double)(pk_thread_cpu_ns() - t0);
}

/* The same with uio_zc_stream; -1 (and why, on stdout) if it failed. */
static double
cpu_zerocopy(int sock, size_t size)
{
    struct uio_zc zc;
    struct left l = {(size_t)ZC_MIB * 1024 * 1024};
    uint64_t t0 = pk_thread_cpu_ns();

    int err = uio_zc_open(&zc, sock, ZC_BUFS, size);
    if (err < 0) {
        printf(" uio_zc_open: %s\n", strerror(-err));
        return -1;
    }
    if (!zc.zerocopy) {
        printf(" SO_ZEROCOPY refused: %s\n", strerror(-zc.refused));
        uio_zc_close(&zc);
        return -1;
    }
    ssize_t n = uio_zc_stream(&zc, fill, &l);
    err = uio_zc_close(&zc);
    if (n < 0 || err < 0) {
        printf(" uio_zc_stream: %s, uio_zc_close: %s\n",
               strerror(n < 0 ? (int)-n : 0), strerror(-err));
        return -1;
    }
    zc_completed += zc.stats.completed;
    zc_copied += zc.stats.copied;
    zc_enobufs += zc.stats.enobufs;
    return (double)(pk_thread_cpu_ns() - t0);
}

void
bench_zc(int runs, unsigned short sink_port)
{
    double ratio[NSIZES][PK_MAX_RUNS];
    char *buf = malloc(zc_sizes[NSIZES - 1]);

    if (buf == NULL)
        die("malloc: %s", strerror(ENOMEM));
    printf("MSG_ZEROCOPY: sender CPU per GiB, %d MiB per size, %d runs "
           "(loopback: the kernel copies anyway)\n",
           ZC_MIB, runs);
    for (int r = 0; r < runs; r++) {
        printf("  run %d:", r + 1);
        for (size_t k = 0; k < NSIZES; k++) {
            int s = pk_dial_tcp(sink_port, ZC_TIMEOUT_MS);
            if (s < 0)
                die("connect to the sink: %s", strerror(-s));
            double plain = cpu_plain(s, zc_sizes[k], buf);
            double zcopy = cpu_zerocopy(s, zc_sizes[k]);
            close(s);
            if (zcopy < 0) {
                printf("  not measured: the zero-copy sender failed\n");
                free(buf);
                return;
            }
            ratio[k][r] = zcopy / plain;
            printf(" %zuK %.0f/%.0f ms/GiB x%.2f", zc_sizes[k] / 1024,
                   plain / 1e6 * 1024 / ZC_MIB, zcopy / 1e6 * 1024 / ZC_MIB,
                   ratio[k][r]);
        }
        printf("\n");
    }

    double even = 0;
    for (size_t k = 0; k < NSIZES; k++) {
        double med = pk_median(ratio[k], (size_t)runs);
        printf("  %zu KiB: zero-copy / plain = %.2f (median)\n",
               zc_sizes[k] / 1024, med);
        pk_metric(zc_names[k], med);
        if (even == 0 && med < 1)
            even = (double)zc_sizes[k] / 1024;
    }
    pk_metric("zc_break_even_kib", even);
    if (zc_completed > 0) {
        double copied = (double)zc_copied / (double)zc_completed;
        printf("  notifications: %llu ids completed, %.0f%% of them "
               "COPIED; ENOBUFS met %llu times\n",
               (unsigned long long)zc_completed, copied * 100,
               (unsigned long long)zc_enobufs);
        pk_metric("zc_copied_fraction", copied);
    }
    free(buf);
}
