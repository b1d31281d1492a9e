/*
 * echo_load.c - a load generator for any echo server on 127.0.0.1.
 *
 *   echo_load -p PORT [-c CONNS] [-s BYTES] [-d SECONDS]
 *
 * Opens CONNS connections (default 50); on each, sends a request of BYTES
 * bytes (default 64), waits for the whole echo, checks it and sends the
 * next, for SECONDS seconds (default 5), all from one thread (see
 * bench/loadgen.c). Prints requests per second. Run it in its own
 * process, next to the server under test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iolab/die.h"
#include "../bench/loadgen.h"

int
main(int argc, char **argv)
{
    struct lg_opts o = {.conns = 50, .msg = 64, .duration_ms = 5000};
    struct lg_result r;
    int opt;

    die_init(argv[0]);
    while ((opt = getopt(argc, argv, "p:c:s:d:")) != -1) {
        switch (opt) {
        case 'p':
            o.port = (unsigned short)die_number("-p", optarg, 1, 65535);
            break;
        case 'c':
            o.conns = (int)die_number("-c", optarg, 1, 100000);
            break;
        case 's':
            o.msg = die_number("-s", optarg, 1, 16u << 20);
            break;
        case 'd':
            o.duration_ms = (unsigned)die_number("-d", optarg, 1, 3600) * 1000;
            break;
        default:
            die("usage: echo_load -p PORT [-c CONNS] [-s BYTES] [-d SECONDS]");
        }
    }
    if (o.port == 0) /* -p is required; the others have defaults */
        die("usage: echo_load -p PORT [-c CONNS] [-s BYTES] [-d SECONDS]");
    lg_raise_nofile();
    int err = lg_run(&o, &r);
    if (err != 0)
        die_neg("connect", "127.0.0.1", err);
    printf("%d connections, %zu-byte requests: %llu requests in %.2f s = "
           "%.0f requests/s, %llu errors\n",
           o.conns, o.msg, r.requests, r.seconds,
           (double)r.requests / r.seconds, r.errors);
    return r.errors == 0 ? 0 : 1;
}
