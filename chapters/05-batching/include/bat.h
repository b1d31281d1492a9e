/*
 * bat.h - the contract of chapter 05: batching.
 *
 * Three ways to pay for many operations with one expensive step:
 *  1. gathered writes: many buffers, one writev(2) system call;
 *  2. pipelining: many commands, one network round trip to kvd (the
 *     course's Redis-protocol server; the client library is resp.h);
 *  3. group commit: many appends to a log, one fdatasync(2).
 *
 * The specification; conventions: shared/include/iolab/CONVENTIONS.md.
 */
#ifndef IOLAB_BAT_H
#define IOLAB_BAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "iolab/resp.h"

/* ===================================================================== */
/* Exercise 1 (gather): gathered writes                                  */
/* ===================================================================== */

/*
 * How many iovec entries bat_writev_full copies into a private window after
 * a partial write (see below). Large enough that a partial write costs one
 * extra system call per window, small enough to live on the stack.
 */
#ifndef BAT_IOV_WINDOW
#define BAT_IOV_WINDOW 64 /* 1 KiB of iovecs on the stack */
#endif

/*
 * bat_writev_full - write every byte of iov[0..iovcnt) to fd, in order,
 * with writev(2), however many calls that takes.
 *
 * fd:     any writable descriptor (file, pipe, socket), blocking or not.
 * iov:    the buffers, in the order their bytes must appear. Entries may
 *         have iov_len 0. The array and the buffers are only read: [BAT-1]
 *         the caller's array is never modified, and no payload byte is
 *         copied by this function (the kernel reads them from where they
 *         are).
 * iovcnt: the number of entries, 0 or more, and may exceed IOV_MAX.
 *
 * Returns:
 *  - the total number of bytes (the sum of every iov_len) once the kernel
 *    has accepted all of them. [BAT-2] A writev(2) may accept fewer bytes
 *    than asked for, stopping anywhere: between buffers, or in the middle
 *    of one. The function continues from exactly that byte.
 *  - 0 at once, without a system call, when the total is 0 (iovcnt 0, or
 *    every entry empty). [BAT-3] Empty entries anywhere in the array are
 *    harmless.
 *  - [BAT-4] Arrays longer than IOV_MAX (1024 on Linux; the kernel refuses
 *    more with EINVAL) are written in slices of at most IOV_MAX entries.
 *  - -errno when a writev failed (-EPIPE when the reader is gone, -EBADF,
 *    -ENOSPC, -EAGAIN on a full non-blocking descriptor, ...). [BAT-5]
 *    The error wins even when some bytes were written before it: after an
 *    error, treat the stream as failed.
 *  - -EIO if writev ever returns 0 while bytes remain: no progress and no
 *    reason, so looping again could spin forever. [BAT-5]
 *  - -EINVAL when iovcnt is negative or the total exceeds SSIZE_MAX.
 *
 * [BAT-6] EINTR is retried; the caller never sees -EINTR.
 *
 * [BAT-7] Cost: when nothing is partial, exactly one system call per slice
 * of IOV_MAX entries: the function hands the caller's array to the kernel
 * as it is. After a partial write it hands over a private window of at
 * most BAT_IOV_WINDOW entries, the first one trimmed to the bytes still
 * owed.
 *
 * The caller should ignore SIGPIPE when fd is a pipe or socket whose
 * reader may go away. Thread safety: as writev(2) on the same descriptor.
 */
ssize_t bat_writev_full(int fd, const struct iovec *iov, int iovcnt);

/* ===================================================================== */
/* Exercise 2 (pipeline): many commands, one round trip                  */
/* ===================================================================== */

/*
 * One command for kvd, as for resp_encode: argc arguments (the first is
 * the command name, "SET"), their bytes, and their lengths (NULL: each
 * argument is a NUL-terminated string).
 */
struct bat_cmd {
    int argc;                /* at least 1 */
    const char *const *argv; /* the arguments */
    const size_t *lens;      /* their lengths, or NULL for strlen */
};

/* What is known about one command of a pipeline after bat_pipeline. */
enum bat_state {
    BAT_NOT_SENT = 0, /* never sent: certainly not executed */
    BAT_UNKNOWN,      /* sent, but no reply came: it may or may not have
                         been executed; only the server knows */
    BAT_REPLIED,      /* the reply is in bat_result.reply; it may be an
                         error reply (RESP_ERROR) for this command alone */
};

/*
 * One command's outcome. reply is meaningful (and owned) only for
 * BAT_REPLIED; free a whole array with bat_results_free.
 */
struct bat_result {
    enum bat_state state;    /* see enum bat_state */
    struct resp_reply reply; /* BAT_REPLIED: the server's reply */
};

/*
 * bat_pipeline - send cmds[0..n) on c in batches of at most batch
 * commands: for each batch, encode its commands into one buffer, send the
 * buffer with one write, then read the batch's replies, in order, with
 * resp_read_reply. Then the next batch.
 *
 * c:          a connection from resp_connect, with no replies pending.
 * cmds:       n commands (n may be 0).
 * batch:      commands per round trip, at least 1 (1: one at a time; more
 *             than n: everything in one batch).
 * res:        n results, written by the function: every res[i] is set,
 *             whatever happens.
 * timeout_ms: the most to wait for each reply (negative: no bound).
 *
 * Returns:
 *  - 0 when every command got its reply. [BAT-10] An error reply
 *    (RESP_ERROR, such as INCR of a value that is not a number) concerns
 *    that command only: it is stored as its reply, and the pipeline goes
 *    on, so every command is BAT_REPLIED.
 *  - -errno when the connection failed (-ECONNRESET when the server closed
 *    it, -EPIPE, -ETIMEDOUT when a reply did not come in time, -EPROTO).
 *    [BAT-11] The caller then learns exactly what happened to each
 *    command: the commands whose reply arrived are BAT_REPLIED; the rest
 *    of the batch in flight is BAT_UNKNOWN (the server may have executed
 *    them and lost only the replies); the commands of later batches are
 *    BAT_NOT_SENT. The connection is unusable afterwards: close it.
 *  - -EINVAL when batch is 0 (nothing is sent; every command NOT_SENT), or
 *    when a command cannot be encoded (argc < 1, a NULL argument): the
 *    batch holding it and every later one are not sent, and what was sent
 *    before is reported as above.
 *  - -ENOMEM, like -EINVAL.
 *
 * Cost [BAT-12]: exactly one write (write, writev or send: the tests
 * count these) per batch when the kernel takes each batch whole, so
 * ceil(n / batch) writes and about as many round trips to the server;
 * n == 0 makes no system call at all. A partial write is continued from
 * where it stopped, and EINTR retried, as in exercise 1. [BAT-13]
 *
 * [BAT-14] A server that vanished is an error (-EPIPE, -ECONNRESET), never
 * a SIGPIPE that kills the process: send with MSG_NOSIGNAL.
 *
 * Memory: a batch's encoded commands are held in one buffer, freed before
 * returning. The caller must keep a batch's bytes (and its replies) within
 * what the socket buffers hold, or the client and server can each wait for
 * the other to read: a few thousand small commands per batch is safe.
 *
 * Thread safety: one thread at a time per connection, as for resp.h.
 */
int bat_pipeline(struct resp_conn *c, const struct bat_cmd *cmds, size_t n,
                 size_t batch, struct bat_result *res, int timeout_ms);

/* bat_results_free - free the replies held by res[0..n). Given complete. */
void bat_results_free(struct bat_result *res, size_t n);

/* ===================================================================== */
/* Exercise 3 (commit): a log with group commit                           */
/* ===================================================================== */

/*
 * The file format (fixed: the tests read and write it by hand).
 *
 * A log file is a sequence of records, each
 *
 *     u32 len     payload length in bytes, little-endian, 0..BAT_REC_MAX
 *     u32 crc     bat_crc32c(0, first 4 bytes (len) then the payload),
 *                 little-endian
 *     len bytes   the payload
 *
 * with nothing between records. A record is *valid* when its header is
 * complete, len is at most BAT_REC_MAX, the payload is complete, and the
 * checksum matches. The valid prefix of a file is its longest run of valid
 * records from offset 0; whatever follows it (a record cut short by a
 * crash, a record whose bytes were damaged, garbage) is the *torn tail*.
 */
#define BAT_REC_HDR 8 /* bytes of header before each payload */
#ifndef BAT_REC_MAX
#define BAT_REC_MAX (1u << 20) /* 1 MiB: a larger len is garbage, not data */
#endif

/*
 * bat_crc32c - CRC-32C (Castagnoli, the checksum of iSCSI, ext4 metadata
 * and many databases) of buf[0..len), continuing from crc (0 to start).
 * bat_crc32c(0, "123456789", 9) == 0xE3069283. Given complete.
 */
uint32_t bat_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * bat_record_cb - called by bat_log_scan for each valid record, in file
 * order: payload, its length, and the caller's argument. The payload is
 * only valid during the call. Return 0 to go on; any other value stops the
 * scan, and bat_log_scan returns that value.
 */
typedef int (*bat_record_cb)(const void *data, size_t len, void *arg);

/*
 * bat_log_scan - read the log file at path and report its valid prefix.
 *
 * Returns the number of valid records (0 for an empty file) [BAT-20],
 * after calling cb (if not NULL) for each of them in order. Bytes after
 * the valid prefix are ignored, never reported [BAT-21]: a truncated
 * record, a record with a wrong checksum or an impossible length, and
 * anything after such a record. The file is not modified.
 * Returns -errno if the file cannot be opened or read (-ENOENT, ...), or
 * cb's non-zero value if cb stopped the scan.
 */
long bat_log_scan(const char *path, bat_record_cb cb, void *arg);

/* bat_sync_cb - see bat_log_options.before_sync. */
typedef void (*bat_sync_cb)(void *arg);

struct bat_log_options {
    /*
     * If not NULL, called by the thread about to sync, immediately before
     * every fdatasync (or fsync) an append makes, with no lock of the log
     * held, and with sync_arg. [BAT-25] Tests use it to hold a sync "in
     * flight" for as long as they like; it must return for the sync to go
     * on. For the rules below, the sync begins when before_sync is called:
     * what it covers is fixed by then, and records written during the call
     * wait for the next sync. NULL: no call.
     */
    bat_sync_cb before_sync;
    void *sync_arg; /* passed to before_sync */
};

/* Counters of a log, for tests and benchmarks. */
struct bat_log_stats {
    uint64_t appends; /* appends whose record was written to the file */
    uint64_t durable; /* appends that returned 0 (their record is durable) */
    uint64_t syncs;   /* syncs appends made, failed ones included */
};

struct bat_log; /* opaque: defined in src/bat_log.c */

/*
 * bat_log_open - open the log at path for appending, creating it (mode
 * 0600) if it does not exist.
 *
 * Recovery [BAT-22]: an existing file is cut back to its valid prefix (the
 * torn tail is removed with ftruncate and the cut is made durable) before
 * the first append, so a new record never lands after garbage, where a
 * scan would never reach it.
 *
 * [BAT-27] The log's name is durable when bat_log_open returns: after the
 * file was opened or created, it syncs (fsync) the directory that holds
 * the log. A sync of the file makes its data durable, not its directory
 * entry: without the directory's sync, a crash soon after the log was
 * created could leave no log at all, and [BAT-23] would be a lie
 * (fsync(2), NOTES). If that sync fails, the open fails with its -errno.
 * This sync is not an append's: it is not counted in bat_log_stats and
 * before_sync is not called for it.
 *
 * opts may be NULL (no hook). On success *out is a log owned by the
 * caller, to be closed with bat_log_close. Returns 0, or -errno (-ENOENT
 * for a missing directory, -EISDIR, -EACCES, -ENOMEM, ...); then *out is
 * untouched and nothing is leaked.
 */
int bat_log_open(const char *path, const struct bat_log_options *opts,
                 struct bat_log **out);

/*
 * bat_log_append - append one record (len bytes of data, len at most
 * BAT_REC_MAX) and return once it is durable.
 *
 * Thread safety: any number of threads may append to one log at once.
 * Records are never interleaved: each record's bytes are contiguous.
 *
 * Returns:
 *  - 0 when the record is in the file and a fdatasync (or fsync) that
 *    began after the record was written has succeeded. [BAT-23] A crash
 *    after this return loses nothing: bat_log_scan reports the record.
 *  - -EINVAL for len > BAT_REC_MAX (nothing is written).
 *  - -errno when the record could not be written or made durable.
 *
 * Group commit [BAT-24]: while one thread's sync is in flight, other
 * threads write their records and wait; when that sync returns, one of
 * them makes one sync for all the records written meanwhile. No sync
 * covers fewer records than were written and not yet durable when it
 * began, and no thread syncs while another's sync is in flight.
 *
 * Failure [BAT-26]: a failed sync fails every append it was covering
 * (they return its -errno, typically -EIO), and the log becomes *failed*:
 * every append waiting for a later sync, and every later append, returns
 * the same -errno without writing or syncing anything. This is the lesson
 * of "fsyncgate" (see the README): after a failed fsync the kernel may
 * have dropped the dirty pages and marked them clean, so a second fsync
 * can succeed although the data never reached the disk. A log that went on
 * would tell its callers that lost records are durable. A failed write
 * (-ENOSPC, ...) fails the log in the same way, since it may leave a
 * partial record in the file.
 *
 * Records whose append failed may or may not be found by a later scan,
 * like records whose append was still running when the process crashed:
 * the contract is only that every record whose append returned 0 is found.
 */
int bat_log_append(struct bat_log *log, const void *data, size_t len);

/* bat_log_stats - a snapshot of log's counters; safe from any thread. */
void bat_log_stats(struct bat_log *log, struct bat_log_stats *out);

/*
 * bat_log_close - close the log and free it. No append may be running or
 * start. Returns 0, or the -errno that failed the log [BAT-26], or the
 * error of close(2). The log is freed in every case.
 */
int bat_log_close(struct bat_log *log);

#endif /* IOLAB_BAT_H */
