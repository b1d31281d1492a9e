/*
 * bat_log.c - exercise 3 of chapter 05: an append-only log with group
 * commit and crash recovery.
 *
 * The contract is in include/bat.h (the file format, scan, open, append,
 * the failure rules). Organisation: the record format (given), reading a
 * log (scan, recovery), then the log itself (open, append with group
 * commit, stats, close). Each TODO's stub returns -ENOSYS.
 *
 * Appends write their record with bat_writev_full from exercise 1, so do
 * exercise 1 first.
 */
#include "bat.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ===================================================================== */
/* The record format (given)                                             */
/* ===================================================================== */

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Fills hdr[0..BAT_REC_HDR) for a record of len bytes of data. */
static void
record_header(unsigned char *hdr, const void *data, size_t len)
{
    put_le32(hdr, (uint32_t)len);
    uint32_t crc = bat_crc32c(0, hdr, 4);
    put_le32(hdr + 4, bat_crc32c(crc, data, len));
}

/*
 * Length of the valid record starting at buf[0..avail), or 0 if there is
 * none there (incomplete header or payload, impossible length, wrong
 * checksum). *data and *len then describe its payload.
 */
static size_t
valid_record(const unsigned char *buf, size_t avail, const unsigned char **data,
             size_t *len)
{
    if (avail < BAT_REC_HDR)
        return 0;
    uint32_t n = get_le32(buf);
    if (n > BAT_REC_MAX || avail - BAT_REC_HDR < n)
        return 0;
    uint32_t crc = bat_crc32c(0, buf, 4);
    if (bat_crc32c(crc, buf + BAT_REC_HDR, n) != get_le32(buf + 4))
        return 0;
    *data = buf + BAT_REC_HDR;
    *len = n;
    return BAT_REC_HDR + (size_t)n;
}

/* ===================================================================== */
/* Reading a log: scan and recovery                                      */
/* ===================================================================== */

/* Your helpers for scan and open (read the file, walk its records). */

/*
 * TODO(commit.1): report the valid records of the file at path, in order,
 * through cb, and return their number [BAT-20]. Stop at the first record
 * that is incomplete, has an impossible length or a wrong checksum: it and
 * everything after it are the torn tail, never reported [BAT-21]. The
 * given valid_record() checks one record.
 */
long
bat_log_scan(const char *path, bat_record_cb cb, void *arg)
{
    (void)path;
    (void)cb;
    (void)arg;
    (void)valid_record;
    return -ENOSYS;
}

/* ===================================================================== */
/* The log: open, append with group commit, stats, close                 */
/* ===================================================================== */

struct bat_log {
    int fd; /* replace this with what your log needs */
};

/*
 * TODO(commit.2): open or create the log, cut an existing file back to its
 * valid prefix and make the cut durable [BAT-22], make the log's name
 * durable by syncing the directory that holds it [BAT-27], and set up
 * what appends need. On failure return -errno with nothing leaked and
 * *out untouched.
 */
int
bat_log_open(const char *path, const struct bat_log_options *opts,
             struct bat_log **out)
{
    (void)path;
    (void)opts;
    (void)out;
    return -ENOSYS;
}

/*
 * TODO(commit.3): write the record (header and payload, contiguous, with
 * write or writev) and return 0 only once a sync that began after the write
 * has succeeded [BAT-23]. One sync serves every record written while the
 * previous one was in flight: a leader syncs, followers wait [BAT-24]; call
 * the before_sync hook just before each sync, with no lock held [BAT-25].
 * A failed write or sync fails the log for good [BAT-26].
 */
int
bat_log_append(struct bat_log *log, const void *data, size_t len)
{
    unsigned char hdr[BAT_REC_HDR];

    if (len > BAT_REC_MAX)
        return -EINVAL;
    record_header(hdr, data, len);
    (void)log;
    (void)hdr;
    return -ENOSYS;
}

/* TODO(commit.4): copy the log's counters, consistently, into *out. */
void
bat_log_stats(struct bat_log *log, struct bat_log_stats *out)
{
    (void)log;
    *out = (struct bat_log_stats){0};
}

/*
 * TODO(commit.5): close and free the log; return the error that failed it
 * [BAT-26], or close's error, or 0.
 */
int
bat_log_close(struct bat_log *log)
{
    (void)log;
    return -ENOSYS;
}
