/*
 * kvd_cmd.h - kvd's commands (kvd_cmd.c): one call executes one command
 * and appends its reply.
 *
 * The commands see the server only through what they are handed: the key
 * space, the reply buffer, the time, and a small table of operations
 * (struct kcmd_ops) that the server fills in, as the backends of Redis's
 * ae.c see only the loop. So kvd_cmd.c includes none of the server's
 * internals, and the server and its connections depend on the commands,
 * never the other way round. The server and the connection are passed
 * back to the operations as opaque pointers.
 *
 * This header is the specification; the commands' replies are Redis's
 * own (shared/kvd/README.md lists them) and are checked by
 * shared/kvd/tests/test_kvd.c. Nothing here is part of the course's API.
 */
#ifndef KVD_CMD_H
#define KVD_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "kvd_out.h"
#include "kvd_req.h"
#include "kvd_store.h"

struct kvd;   /* the server: opaque here */
struct kconn; /* one of its connections: opaque here */

/*
 * What a command may ask of the server. Every operation runs in the
 * server's thread, while the command runs, and returns when it is done.
 */
struct kcmd_ops {
    /* INFO: appends the INFO text of section (NULL, "all", "default",
     * "everything": every section) as one bulk string to out. */
    void (*info)(struct kvd *kv, struct kout *out, const char *section,
                 size_t len);
    /* CONFIG RESETSTAT, KVD RESETSTATS: counters to 0, gauges kept. */
    void (*reset_stats)(struct kvd *kv);
    /* KVD DELAY: both delays, in microseconds (already range-checked). */
    void (*set_delays)(struct kvd *kv, unsigned rtt_us, unsigned accept_us);
    /* KVD DROP: closes every connection, the one running the command too
     * (its reply is then never sent). */
    void (*drop_all)(struct kvd *kv);
    /* KVD REFUSE: refuse new connections for ms milliseconds (0: stop). */
    void (*refuse)(struct kvd *kv, unsigned ms);
    /* KVD CLOSEAFTER: every open connection closes after n more commands;
     * self is the one running the command. */
    void (*close_after)(struct kvd *kv, unsigned n, struct kconn *self);
    /* QUIT: close c once the replies before and including this are sent. */
    void (*quit)(struct kconn *c);
};

/* Everything one command runs with. */
struct kcmd_ctx {
    const struct kcmd_ops *ops; /* the server's operations */
    struct kvd *kv;             /* their server argument */
    struct kconn *conn;         /* the connection running the command */
    struct kstore *store;       /* the keys */
    struct kout *out;           /* the reply goes here */
    int64_t now;                /* CLOCK_MONOTONIC, in ms */
};

/*
 * kvd_exec - execute the command argv[0..argc) (argc >= 1; the name is
 * matched in any case) and append exactly one reply to x->out: the
 * command's, or an error for an unknown command or a wrong number of
 * arguments. Never fails: out of memory shows as x->out->oom.
 */
void kvd_exec(const struct kcmd_ctx *x, int argc, const struct karg *argv);

#endif /* KVD_CMD_H */
