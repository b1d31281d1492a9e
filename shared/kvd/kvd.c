/*
 * kvd.c - the kvd server: event loop, connections, timers, control.
 * (Work in progress: every entry point is a stub for now.)
 */
#include "iolab/kvd.h"

#include <errno.h>

int
kvd_start(const struct kvd_config *cfg, struct kvd **out)
{
    (void)cfg;
    (void)out;
    return -ENOSYS;
}

unsigned short
kvd_port(const struct kvd *kv)
{
    (void)kv;
    return 0;
}

void
kvd_stats(struct kvd *kv, struct kvd_stats *out)
{
    (void)kv;
    *out = (struct kvd_stats){0};
}

void
kvd_reset_stats(struct kvd *kv)
{
    (void)kv;
}

int
kvd_set_delays(struct kvd *kv, unsigned rtt_delay_us, unsigned accept_delay_us)
{
    (void)kv;
    (void)rtt_delay_us;
    (void)accept_delay_us;
    return -ENOSYS;
}

int
kvd_drop_all(struct kvd *kv)
{
    (void)kv;
    return -ENOSYS;
}

int
kvd_refuse_for(struct kvd *kv, unsigned ms)
{
    (void)kv;
    (void)ms;
    return -ENOSYS;
}

int
kvd_close_after(struct kvd *kv, unsigned ncommands)
{
    (void)kv;
    (void)ncommands;
    return -ENOSYS;
}

void
kvd_stop(struct kvd *kv)
{
    (void)kv;
}

int
kvd_spawn(const struct kvd_config *cfg, pid_t *pid, unsigned short *port)
{
    (void)cfg;
    (void)pid;
    (void)port;
    return -ENOSYS;
}

int
kvd_reap(pid_t pid, int sig)
{
    (void)pid;
    (void)sig;
    return -ENOSYS;
}
