/*
 * kvd_control.c - what other threads call on a running server
 * (iolab/kvd.h): its port, its counters, and the run-time controls.
 *
 * A control call fills in the control block's request under its mutex,
 * wakes the loop through the eventfd, and waits on the condition variable
 * until the loop (kvd_server.c, control_apply) has applied it; so each
 * call returns once the change is in force. The counters have a mutex of
 * their own, taken by the loop when it updates them (kvd_conn.c).
 */
#include "iolab/kvd.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "kvd_conn.h"
#include "kvd_server.h"

unsigned short
kvd_port(const struct kvd *kv)
{
    return kv->port;
}

void
kvd_stats(struct kvd *kv, struct kvd_stats *out)
{
    pthread_mutex_lock(&kv->stats_mu);
    *out = kv->stats;
    pthread_mutex_unlock(&kv->stats_mu);
}

void
kvd_reset_stats(struct kvd *kv)
{
    pthread_mutex_lock(&kv->stats_mu);
    kv->stats = (struct kvd_stats){.connected = kv->stats.connected,
                                   .keys = kv->stats.keys};
    kv->refused = 0;
    pthread_mutex_unlock(&kv->stats_mu);
}

void
kvd_control_submit(struct kvd *kv)
{
    struct control *ctl = &kv->ctl;
    uint64_t one = 1;
    uint64_t mine = ++ctl->req; /* called with ctl->mu held */

    (void)!write(kv->evfd, &one, sizeof(one));
    while (ctl->done < mine)
        pthread_cond_wait(&ctl->cv, &ctl->mu);
    pthread_mutex_unlock(&ctl->mu);
}

int
kvd_set_delays(struct kvd *kv, unsigned rtt_delay_us, unsigned accept_delay_us)
{
    if (rtt_delay_us > KVD_MAX_DELAY_US || accept_delay_us > KVD_MAX_DELAY_US)
        return -EINVAL;
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.set_delays = true;
    kv->ctl.r.rtt_us = rtt_delay_us;
    kv->ctl.r.accept_us = accept_delay_us;
    kvd_control_submit(kv);
    return 0;
}

int
kvd_drop_all(struct kvd *kv)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.drop_all = true;
    kvd_control_submit(kv);
    return 0;
}

int
kvd_refuse_for(struct kvd *kv, unsigned ms)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.refuse = true;
    kv->ctl.r.refuse_ms = ms;
    kvd_control_submit(kv);
    return 0;
}

int
kvd_close_after(struct kvd *kv, unsigned ncommands)
{
    pthread_mutex_lock(&kv->ctl.mu);
    kv->ctl.r.close_after = true;
    kv->ctl.r.close_n = ncommands;
    kvd_control_submit(kv);
    return 0;
}
