/*
 * kvd_server.h - a server without its thread, for kvd_spawn (kvd_spawn.c),
 * which runs the loop in a forked child's only thread (kvd_start does the
 * same in a new thread, kvd_server.c); and the control block's hand-over,
 * for the control calls (kvd_control.c). Nothing here is part of the
 * course's API (that is iolab/kvd.h).
 */
#ifndef KVD_SERVER_H
#define KVD_SERVER_H

#include "iolab/kvd.h"

#include <stdbool.h>

/*
 * kvd_server_new - a listening, ready-to-loop server on 127.0.0.1, as
 * kvd_start describes (cfg NULL: all zero), but no thread. With
 * with_signals, SIGTERM and SIGINT are blocked in the calling thread and
 * taken by the loop through a signalfd: either ends kvd_server_loop.
 * Returns 0 and *out, or -errno as kvd_start; on failure nothing is left.
 */
int kvd_server_new(const struct kvd_config *cfg, bool with_signals,
                   struct kvd **out);

/*
 * Runs the loop in the calling thread until the server is stopped (the
 * control block's stop request, or a signal taken with with_signals).
 */
void kvd_server_loop(struct kvd *kv);

/*
 * Closes every connection and descriptor and frees kv. The loop must not
 * be running.
 */
void kvd_server_free(struct kvd *kv);

/*
 * kvd_control_submit - hand the request filled in kv's control block to
 * the loop and wait until it is applied (kvd_control.c). Called with the
 * control block's mutex held; returns with it released.
 */
void kvd_control_submit(struct kvd *kv);

#endif /* KVD_SERVER_H */
