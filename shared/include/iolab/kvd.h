/*
 * kvd.h - kvd, the course's key-value server, embedded in a program.
 *
 * kvd is a small single-threaded epoll server that speaks the Redis
 * protocol (RESP2), so real tools (redis-cli, redis-benchmark) and the
 * course's own client (resp.h) talk to it. Chapters 05 (batching) and 06
 * (connection pools) use it as the far end of every round trip: it counts
 * what a client costs it (connections, commands, round trips, bytes), it
 * can add a delay to each round trip and to each new connection, and it
 * can inject faults (drop every connection, refuse connections for a
 * while, close a connection after N more commands).
 *
 * It runs three ways: as a thread of the calling process (kvd_start), as
 * a forked child process (kvd_spawn), and as a command (build/kvd/kvd,
 * see shared/kvd/README.md). The commands it understands and its exact
 * replies are listed in shared/kvd/README.md.
 *
 * Conventions: functions that act return 0 or a negative errno value.
 * Every sentence tagged [KVD-n] is checked by a test in shared/kvd/tests/
 * whose description names the same tag.
 */
#ifndef IOLAB_KVD_H
#define IOLAB_KVD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The largest request frame (one command with all its arguments, as sent)
 * when kvd_config.max_frame is 0. A bulk string or inline line longer than
 * the limit is refused before it is read, so a hostile client cannot make
 * the server allocate more than about this much per connection.
 */
#ifndef KVD_DEFAULT_MAX_FRAME
/* 16 MiB: far above any value a lab stores. */
#define KVD_DEFAULT_MAX_FRAME (16u << 20)
#endif

/* Replies one batch may produce before the rest of the input waits. */
#ifndef KVD_BATCH_OUT
#define KVD_BATCH_OUT (4u << 20) /* 4 MiB: thousands of small replies */
#endif

/* How a server is configured at start. Zero-initialise, then set fields. */
struct kvd_config {
    unsigned short port;      /* 0: the kernel chooses; read it with kvd_port */
    unsigned rtt_delay_us;    /* delay added to each round trip (below) */
    unsigned accept_delay_us; /* delay before a new connection is served */
    size_t max_frame;         /* 0: KVD_DEFAULT_MAX_FRAME; 64 to 1 GiB */
};

/*
 * What the server has done, and two gauges of what it holds now. The
 * counters only grow, until kvd_reset_stats sets them back to 0; the
 * gauges, connected and keys, go up and down with the server's state, and
 * a reset keeps them: they describe the present, not the past.
 */
struct kvd_stats {
    uint64_t accepted;    /* connections accepted, ever (refused ones too) */
    uint64_t connected;   /* gauge: connections open now */
    uint64_t commands;    /* commands processed (errors included) */
    uint64_t round_trips; /* reads that produced at least one reply */
    uint64_t bytes_in;    /* bytes read from clients */
    uint64_t bytes_out;   /* reply bytes released to clients */
    uint64_t keys;        /* gauge: keys stored now (expired ones not yet
                             reaped included) */
    uint64_t expired;     /* keys removed because their time ran out */
};

struct kvd; /* opaque: one running server */

/*
 * kvd_start - start a server in a new thread of this process, listening on
 * 127.0.0.1.
 *
 * cfg: the configuration, copied (the caller may free it at once). NULL
 *      means all zero: a kernel-chosen port, no delays.
 * out: receives the server; release it with kvd_stop.
 *
 * Returns 0 once the socket listens, so a client may connect at once (no
 * sleep needed) [KVD-1]; or -EADDRINUSE (the port is taken), -EINVAL
 * (max_frame outside 64 bytes to 1 GiB, a delay over KVD_MAX_DELAY_US),
 * -ENOMEM, -EMFILE, or another -errno from socket,
 * bind, epoll or thread creation. On failure nothing is left allocated
 * and *out is not written.
 *
 * The server thread blocks every signal, so SIGPIPE and the caller's
 * signals are never delivered to it; writes to vanished clients are errors,
 * never deaths [KVD-2].
 *
 * Round-trip delay: the replies produced by one read from a connection
 * (all the complete commands in it) are held for rtt_delay_us, by a timer,
 * never by sleeping, so other connections are served meanwhile [KVD-3].
 * While a connection's replies are held, its further input is not read,
 * so its replies keep their order and a pipelined batch pays the delay
 * once [KVD-4].
 *
 * One batch's replies are bounded: once they reach KVD_BATCH_OUT bytes,
 * the commands left in the buffer wait until the batch is sent, then run
 * as the next batch (and count as another round trip) [KVD-13]. Memory for
 * a client that pipelines many large GETs stays bounded.
 *
 * Accept delay: a new connection is accepted (and counted) at once, but
 * nothing it sends is read until accept_delay_us have passed [KVD-5].
 *
 * Thread safety: any number of servers may run at once.
 */
int kvd_start(const struct kvd_config *cfg, struct kvd **out);

/* The TCP port the server listens on (never 0). Safe from any thread. */
unsigned short kvd_port(const struct kvd *kv);

/*
 * kvd_stats - a consistent snapshot of the counters into *out.
 *
 * The counters of a round trip are updated before its replies are
 * written, so once a client has read a reply, the snapshot includes the
 * command, the round trip and the bytes that produced it [KVD-6]. Reply
 * bytes count in bytes_out when they are released to the socket (written,
 * or queued behind a full socket); replies held by the round-trip delay
 * count when the delay ends.
 * Safe from any thread.
 */
void kvd_stats(struct kvd *kv, struct kvd_stats *out);

/*
 * Sets every counter back to 0 and keeps the gauges (connected, keys).
 * Any thread.
 */
void kvd_reset_stats(struct kvd *kv);

/*
 * kvd_set_delays - change both delays at run time.
 *
 * Returns 0 once the server applies them: every read processed after the
 * call returns is held for the new rtt delay, and every connection
 * accepted after it waits the new accept delay. Replies already held keep
 * their old release time. Returns -EINVAL for a delay over 60 s
 * (KVD_MAX_DELAY_US). Any thread.
 */
#ifndef KVD_MAX_DELAY_US
#define KVD_MAX_DELAY_US 60000000u /* a minute: longer is surely a mistake */
#endif
int kvd_set_delays(struct kvd *kv, unsigned rtt_delay_us,
                   unsigned accept_delay_us);

/*
 * kvd_drop_all - close every client connection now, without sending the
 * replies still held or unsent [KVD-7]. Returns 0 once they are closed:
 * a client's next read sees EOF (or a reset, if it had sent data the
 * server never read). New connections are served as usual. Any thread.
 */
int kvd_drop_all(struct kvd *kv);

/*
 * kvd_refuse_for - for ms milliseconds from now, accept each new
 * connection and close it at once, without reading from it [KVD-8]; the
 * client sees EOF or a reset. Connections open now are not touched. 0
 * ends a refusal in force. Returns 0 once in force. Any thread.
 */
int kvd_refuse_for(struct kvd *kv, unsigned ms);

/*
 * kvd_close_after - each connection open now is closed after ncommands
 * more commands [KVD-9]: those commands are executed and answered (after
 * the round-trip delay, if any), then the connection is closed, and
 * whatever it sent after them is neither executed nor answered.
 * ncommands 0 closes them as soon as their pending replies are sent.
 * Connections accepted later are not affected. Returns 0 once in force.
 * Any thread.
 */
int kvd_close_after(struct kvd *kv, unsigned ncommands);

/*
 * kvd_stop - stop the server, close every connection and the listening
 * socket, join the thread and free everything [KVD-10]. kv may be NULL
 * (nothing happens). kv is invalid afterwards. Do not call it twice or
 * from two threads for the same server.
 */
void kvd_stop(struct kvd *kv);

/*
 * kvd_spawn - the same server in a forked child process, for tests that
 * must kill it or that want it out of their own address space.
 *
 * cfg:  as for kvd_start (NULL: all zero).
 * pid:  receives the child's pid.
 * port: receives the port it listens on.
 *
 * Returns 0 once the child listens (the port comes back through a pipe,
 * never after a sleep) [KVD-11]; or -errno (fork, pipe, or the child's
 * own start error, e.g. -EADDRINUSE); then no child is left running.
 *
 * The child serves until SIGTERM or SIGINT, then closes everything, frees
 * its memory and exits with status 0 [KVD-12]; SIGKILL kills it at once.
 * The caller must reap it (kvd_reap does both). The child closes every
 * descriptor it inherited except 0, 1 and 2, so the caller's sockets
 * behave as if it did not exist (a connection the caller closes sees its
 * EOF) [KVD-14]; and it never returns into the caller's code. When the
 * thread that called kvd_spawn ends (or its process dies, say a test
 * that failed before it could reap the child), the child gets SIGTERM and
 * exits [KVD-15], so no server outlives the program that started it. Call it
 * from a single-threaded moment if possible: like any fork, the child gets only
 * the calling thread.
 *
 * The control calls above do not reach a child; the KVD command of the
 * protocol (README) does the same over any connection.
 */
int kvd_spawn(const struct kvd_config *cfg, pid_t *pid, unsigned short *port);

/*
 * kvd_reap - send sig to a child started by kvd_spawn (0: send nothing)
 * and wait for it to exit. Returns its wait status (>= 0, as waitpid's
 * wstatus) or -errno from kill or waitpid (-ECHILD: not our child).
 */
int kvd_reap(pid_t pid, int sig);

#endif /* IOLAB_KVD_H */
