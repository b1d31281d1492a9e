/*
 * latency.c - chapter 08's histogram at work: a kvd client that means to
 * send one request every INTERVAL microseconds records each round trip
 * in two of your histograms, one as measured and one with the
 * coordinated-omission correction (mon_hist_record_corrected), while the
 * server holds one request in the middle for STALL milliseconds. The two
 * are printed side by side on stderr; the corrected one goes to stdout in
 * the Prometheus text format. Not graded.
 *
 *     make demos CH=08
 *     build/chapters/08-monitoring/demo/latency [REQUESTS [INTERVAL_US
 *         [STALL_MS]]] | promtool check metrics
 *
 * The defaults: 2000 requests, one every 500 us, a 50 ms stall.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/resp.h"
#include "mon.h"

static long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct mon_hist *
new_hist(void)
{
    struct mon_hist *h;
    int err = mon_hist_new(MON_HIST_HOUR_US, 3, &h);
    if (err < 0)
        die_neg("mon_hist_new", "1 hour, 3 digits", err);
    return h;
}

/* One row of the table: count, mean and percentiles of h. */
static void
show(const char *what, const struct mon_hist *h)
{
    static const double ps[] = {50, 90, 99, 99.9, 100};
    struct mon_hist_stats st;
    mon_hist_stats(h, &st);
    fprintf(stderr, "%-10s %7" PRIu64 " %9.0f", what, st.count,
            st.count != 0 ? (double)st.sum / (double)st.count : 0.0);
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t v = 0;
        int err = mon_hist_percentile(h, ps[i], &v);
        if (err < 0)
            die_neg("mon_hist_percentile", what, err);
        fprintf(stderr, " %9" PRIu64, v);
    }
    fprintf(stderr, "\n");
}

int
main(int argc, char **argv)
{
    die_init(argv[0]);
    if (argc > 4)
        die("usage: %s [REQUESTS [INTERVAL_US [STALL_MS]]]", argv[0]);
    unsigned long n =
        argc > 1 ? die_number("REQUESTS", argv[1], 10, 1000000) : 2000;
    unsigned long interval =
        argc > 2 ? die_number("INTERVAL_US", argv[2], 1, 1000000) : 500;
    unsigned long stall =
        argc > 3 ? die_number("STALL_MS", argv[3], 0, 60000) : 50;

    struct kvd *kv;
    int err = kvd_start(NULL, &kv);
    if (err < 0)
        die_neg("kvd_start", "port 0", err);
    struct resp_conn *c;
    err = resp_connect(NULL, kvd_port(kv), 5000, &c);
    if (err < 0)
        die_neg("resp_connect", "127.0.0.1", err);
    struct mon_hist *raw = new_hist(), *fixed = new_hist();

    long long start = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        if (i == n / 2 || i == n / 2 + 1)
            kvd_set_delays(kv, i == n / 2 ? (unsigned)stall * 1000 : 0, 0);
        long long due = start + (long long)(i * interval * 1000);
        struct timespec ts = {due / 1000000000LL, due % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR)
            ;
        struct resp_reply r = {0};
        long long t0 = now_ns();
        err = resp_call(c, &r, 60000, "GET", "k", NULL);
        long long t1 = now_ns();
        if (err < 0)
            die_neg("GET", "k", err);
        resp_reply_free(&r);
        uint64_t us = (uint64_t)((t1 - t0 + 999) / 1000);
        if (mon_hist_record(raw, us) < 0 ||
            mon_hist_record_corrected(fixed, us, interval) < 0)
            die("a round trip of %" PRIu64 " us is out of range", us);
    }
    resp_close(c);
    kvd_stop(kv);

    fprintf(stderr,
            "%lu GETs meant one every %lu us; request %lu held %lu ms by "
            "the server\n(microseconds)  count      mean       p50       p90 "
            "      p99     p99.9       max\n",
            n, interval, n / 2, stall);
    show("measured", raw);
    show("corrected", fixed);

    static const uint64_t le[] = {100,    250,    500,    1000,  2500,
                                  5000,   10000,  25000,  50000, 100000,
                                  250000, 500000, 1000000};
    char buf[4096];
    ssize_t len =
        mon_hist_prometheus(fixed, "kvd_get_duration_seconds", le,
                            sizeof(le) / sizeof(le[0]), 1e-6, buf, sizeof(buf));
    if (len < 0)
        die_neg("mon_hist_prometheus", "kvd_get_duration_seconds", len);
    fwrite(buf, 1, (size_t)len, stdout);
    mon_hist_free(raw);
    mon_hist_free(fixed);
    return 0;
}
