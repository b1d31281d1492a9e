/*
 * kvd_main.c - the kvd command: the server of kvd.h on a port of your
 * choice, until SIGINT or SIGTERM.
 *
 *   build/kvd/kvd --port 6390 --latency-us 200 --accept-delay-us 0
 *
 * It prints one line on standard output once it listens,
 * "kvd listening on 127.0.0.1:PORT", so a script that passes --port 0 can
 * read the port the kernel chose. The delays can be changed at run time
 * with the KVD DELAY command (see shared/kvd/README.md).
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iolab/die.h"

static const char usage[] =
    "usage: kvd [--port N] [--latency-us US] [--accept-delay-us US]\n"
    "           [--max-frame BYTES]\n"
    "\n"
    "A small Redis-protocol key-value server for the iolab course.\n"
    "\n"
    "  --port N              TCP port on 127.0.0.1 (default 6390; 0: any\n"
    "                        free port, printed at start)\n"
    "  --latency-us US       delay every round trip (the replies to one\n"
    "                        read) by US microseconds (default 0)\n"
    "  --accept-delay-us US  delay serving each new connection (default 0)\n"
    "  --max-frame BYTES     refuse commands larger than this (default\n"
    "                        16 MiB)\n"
    "  --help                this text\n"
    "\n"
    "Stops cleanly on SIGINT (Ctrl-C) or SIGTERM.\n";

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"latency-us", required_argument, NULL, 'l'},
        {"accept-delay-us", required_argument, NULL, 'a'},
        {"max-frame", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct kvd_config cfg = {.port = 6390};
    struct kvd *kv;
    int opt, sig;

    die_init(argv[0]);
    while ((opt = getopt_long(argc, argv, "p:l:a:m:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            cfg.port = (unsigned short)die_number("--port", optarg, 0, 65535);
            break;
        case 'l':
            cfg.rtt_delay_us = (unsigned)die_number("--latency-us", optarg, 0,
                                                    KVD_MAX_DELAY_US);
            break;
        case 'a':
            cfg.accept_delay_us = (unsigned)die_number(
                "--accept-delay-us", optarg, 0, KVD_MAX_DELAY_US);
            break;
        case 'm':
            cfg.max_frame = die_number("--max-frame", optarg, 64, 1ul << 30);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kvd: unexpected argument '%s'\n%s", argv[optind],
                usage);
        return 2;
    }

    /* Signals are taken with sigwait; the server thread blocks them all. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int err = kvd_start(&cfg, &kv);
    if (err < 0) {
        fprintf(stderr, "kvd: cannot listen on 127.0.0.1:%u: %s\n", cfg.port,
                strerror(-err));
        return 1;
    }
    printf("kvd listening on 127.0.0.1:%u\n", kvd_port(kv));
    fflush(stdout);
    while (sigwait(&set, &sig) != 0)
        ;
    kvd_stop(kv);
    return 0;
}
