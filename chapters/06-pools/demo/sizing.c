/*
 * sizing.c - chapter 06's sizing experiment (a demo, not graded): how
 * big should a pool be? Little's law says L = lambda * W: to carry
 * lambda requests per second that each hold a connection W seconds, a
 * pool needs about L connections busy on average. Fewer, and requests
 * queue for a connection without bound; more, and nothing gets faster.
 *
 * kvd holds every reply RTT_US (a service time that costs it no CPU), and
 * THREADS client threads send requests on a fixed schedule (an open loop:
 * a request's latency is counted from when it was due, so a queue that
 * builds up shows in full). For each pool size it prints the throughput
 * achieved and the median and 99th percentile latency.
 *
 * Build and run: make demos CH=06 && build/grade/chapters/06-pools/demo/sizing
 *   [--chart DIR] [rate_per_s [rtt_us [seconds]]]    defaults: 2000 2000 2
 * --chart DIR also writes the table to DIR/sizing.tsv (make charts).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iolab/die.h"
#include "iolab/kvd.h"
#include "iolab/perfkit.h"
#include "iolab/resp.h"
#include "pool.h"

#define THREADS 64 /* clients; more than any pool size tried */

struct client {
    struct pool *p;
    uint64_t start_ns;  /* the schedule's origin */
    uint64_t period_ns; /* between this client's requests */
    uint64_t offset_ns; /* its first request */
    int n;              /* requests to send */
    double *lat_ms;     /* n latencies */
    int done;           /* requests completed */
    pthread_t th;
};

static void
sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void *
client(void *arg)
{
    struct client *c = arg;

    for (int i = 0; i < c->n; i++) {
        uint64_t due = c->start_ns + c->offset_ns + (uint64_t)i * c->period_ns;
        sleep_until(due);
        struct resp_conn *conn = NULL;
        struct resp_reply r = {0};
        if (pool_acquire(c->p, 60000, &conn) < 0)
            continue;
        int err = resp_call(conn, &r, 60000, "PING", NULL);
        resp_reply_free(&r);
        pool_release(c->p, conn, err == 0);
        if (err == 0)
            c->lat_ms[c->done++] = (pk_now_ns() - due) / 1e6;
    }
    return NULL;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    const char *chart = NULL;
    if (argc > 2 && strcmp(argv[1], "--chart") == 0) {
        chart = argv[2];
        argv += 2;
        argc -= 2;
    }
    double rate = argc > 1 ? atof(argv[1]) : 2000;
    unsigned rtt = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
    double secs = argc > 3 ? atof(argv[3]) : 2;
    static const unsigned sizes[] = {1, 2, 3, 4, 5, 6, 8, 16, 32, 64};
    struct kvd_config kc = {.rtt_delay_us = rtt};
    struct kvd *kv = NULL;

    if (rate <= 0 || secs <= 0 || kvd_start(&kc, &kv) < 0)
        die("usage: sizing [--chart DIR] [rate_per_s [rtt_us [seconds]]]");
    FILE *d = pk_chart_open(chart, "sizing",
                            "pool_size done_per_s p50_ms p99_ms little_l");
    int per = (int)(rate * secs / THREADS);
    printf("offered %.0f req/s for %.1f s, service %u us: Little's law "
           "L = %.2f busy connections\n",
           rate, secs, rtt, rate * rtt / 1e6);
    printf("%5s %12s %9s %9s %8s\n", "size", "done req/s", "p50 ms", "p99 ms",
           "conns");
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct pool_config pc = {.port = kvd_port(kv), .max_size = sizes[s]};
        struct pool *p = NULL;
        struct client c[THREADS];
        double *all = calloc((size_t)per * THREADS + 1, sizeof(double));
        size_t n = 0;

        if (all == NULL || pool_open(&pc, &p) < 0)
            die("pool_open failed");
        kvd_reset_stats(kv);
        uint64_t t0 = pk_now_ns() + 50000000u;
        uint64_t period = (uint64_t)(1e9 * THREADS / rate);
        for (int i = 0; i < THREADS; i++) {
            c[i] = (struct client){.p = p,
                                   .start_ns = t0,
                                   .period_ns = period,
                                   .offset_ns = period * (uint64_t)i / THREADS,
                                   .n = per,
                                   .lat_ms = calloc((size_t)per + 1, 8)};
            if (c[i].lat_ms == NULL ||
                pthread_create(&c[i].th, NULL, client, &c[i]) != 0)
                die("pthread_create failed");
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(c[i].th, NULL);
            memcpy(all + n, c[i].lat_ms, (size_t)c[i].done * sizeof(double));
            n += (size_t)c[i].done;
            free(c[i].lat_ms);
        }
        double wall = (pk_now_ns() - t0) / 1e9;
        struct kvd_stats ks;
        kvd_stats(kv, &ks);
        qsort(all, n, sizeof(double), cmp);
        printf("%5u %12.0f %9.2f %9.2f %8llu\n", sizes[s], n / wall,
               n ? all[n / 2] : 0, n ? all[n * 99 / 100] : 0,
               (unsigned long long)ks.accepted);
        if (d != NULL)
            fprintf(d, "%u\t%.0f\t%.3f\t%.3f\t%.2f\n", sizes[s], n / wall,
                    n ? all[n / 2] : 0, n ? all[n * 99 / 100] : 0,
                    rate * rtt / 1e6);
        fflush(stdout);
        pool_close(p);
        free(all);
    }
    kvd_stop(kv);
    if (d != NULL && fclose(d) != 0)
        die_errno("write", "sizing.tsv");
    return 0;
}
