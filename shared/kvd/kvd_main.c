/*
 * kvd_main.c - the kvd command: the server of kvd.h on a port of your
 * choice, until SIGINT or SIGTERM.
 *
 *   build/kit/kvd/kvd --port 6390 --latency-us 200 --accept-delay-us 0
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

/* Parses a whole decimal number in [0, max]; exits with a message if not. */
static unsigned long
number(const char *opt, const char *s, unsigned long max)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || v > max) {
        fprintf(stderr, "kvd: %s '%s': expected a number from 0 to %lu\n", opt,
                s, max);
        exit(2);
    }
    return v;
}

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

    while ((opt = getopt_long(argc, argv, "p:l:a:m:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            cfg.port = (unsigned short)number("--port", optarg, 65535);
            break;
        case 'l':
            cfg.rtt_delay_us =
                (unsigned)number("--latency-us", optarg, KVD_MAX_DELAY_US);
            break;
        case 'a':
            cfg.accept_delay_us =
                (unsigned)number("--accept-delay-us", optarg, KVD_MAX_DELAY_US);
            break;
        case 'm':
            cfg.max_frame = number("--max-frame", optarg, 1ul << 30);
            if (cfg.max_frame < 64) {
                fprintf(stderr, "kvd: --max-frame: at least 64 bytes\n");
                return 2;
            }
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
