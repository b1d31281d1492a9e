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

// SOLUTION-BEGIN
/*
 * Reads all of fd (from offset 0) into a new buffer: *buf (free it) and
 * *size. The logs of the course are small enough to hold in memory; a
 * database would map the file or read it in pieces.
 */
static int
read_whole(int fd, unsigned char **buf, size_t *size)
{
    struct stat st;

    if (fstat(fd, &st) == -1)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    size_t cap = (size_t)st.st_size, len = 0;
    unsigned char *p = malloc(cap > 0 ? cap : 1);
    if (p == NULL)
        return -ENOMEM;
    /* Read to EOF (the file may be shorter than fstat said, never longer
     * than what we keep: bytes past cap are beyond the size we saw). */
    while (len < cap) {
        ssize_t n = pread(fd, p + len, cap - len, (off_t)len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            int err = -errno;
            free(p);
            return err;
        }
        if (n == 0)
            break; /* EOF: the file shrank meanwhile */
        len += (size_t)n;
    }
    *buf = p;
    *size = len;
    return 0;
}

/*
 * Walks the valid prefix of buf[0..size): calls cb for each record (when
 * cb is not NULL) and stores the prefix's length in *end. Returns the
 * number of records, or cb's non-zero value.
 */
static long
walk_records(const unsigned char *buf, size_t size, bat_record_cb cb, void *arg,
             size_t *end)
{
    const unsigned char *data;
    size_t off = 0, len, step;
    long count = 0;

    while ((step = valid_record(buf + off, size - off, &data, &len)) > 0) {
        if (cb != NULL) {
            int r = cb(data, len, arg);
            if (r != 0)
                return r;
        }
        off += step;
        count++;
    }
    *end = off;
    return count;
}
// SOLUTION-STUB
// /* Your helpers for scan and open (read the file, walk its records). */
// SOLUTION-END

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
    // SOLUTION-BEGIN
    unsigned char *buf;
    size_t size, end;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    int err = read_whole(fd, &buf, &size);
    close(fd);
    if (err < 0)
        return err;
    long count = walk_records(buf, size, cb, arg, &end);
    free(buf);
    return count;
    // SOLUTION-STUB
    // (void)path;
    // (void)cb;
    // (void)arg;
    // (void)valid_record;
    // return -ENOSYS;
    // SOLUTION-END
}

/* ===================================================================== */
/* The log: open, append with group commit, stats, close                 */
/* ===================================================================== */

// SOLUTION-BEGIN
/*
 * How long a leader waits, at most, for other appenders' records before it
 * fixes what its sync covers (see gather below).
 */
#ifndef BAT_GATHER_US
#define BAT_GATHER_US 200 /* a fraction of one sync on a disk; 0: none */
#endif

/*
 * Appends are numbered in the order their records were written (seq).
 * Invariants, all under lock:
 *  - durable <= written: records 1..durable are known to be on disk;
 *  - syncing is true while exactly one thread (the leader) runs a sync,
 *    without the lock, covering records 1..its target;
 *  - error != 0 means the log failed: nothing is written or synced again,
 *    and every append not yet durable returns error.
 */
struct bat_log {
    int fd;                      /* O_APPEND: every write lands at the end */
    pthread_mutex_t lock;        /* protects everything below */
    pthread_cond_t sync_done;    /* broadcast whenever a sync ends */
    pthread_cond_t wrote;        /* signalled when a record is written */
    uint64_t written;            /* seq of the last record written */
    uint64_t durable;            /* seq of the last record made durable */
    uint64_t last_batch;         /* records the last sync made durable */
    bool syncing;                /* a leader's sync is in flight */
    int error;                   /* 0, or the -errno that failed the log */
    struct bat_log_options opts; /* the sync hook */
    struct bat_log_stats stats;  /* counters, see bat.h */
};

/*
 * The leader's short wait for company, an idea PostgreSQL calls
 * commit_delay. When a sync ends, the threads it covered return, and come
 * back with their next records a moment later; a sync that started at once
 * would leave without them, so batches would alternate between big and
 * small. The leader waits until as many records are pending as the last
 * sync covered, or BAT_GATHER_US, whichever comes first. A lone appender
 * (last batch of 1) never waits. Called and returns with the lock held.
 */
static void
gather(struct bat_log *log)
{
    struct timespec deadline;

    if (BAT_GATHER_US == 0 || log->written - log->durable >= log->last_batch)
        return;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += BAT_GATHER_US * 1000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (log->written - log->durable < log->last_batch && log->error == 0)
        if (pthread_cond_timedwait(&log->wrote, &log->lock, &deadline) ==
            ETIMEDOUT)
            break;
}

/* fdatasync, retried on EINTR (which interrupts waiting, not writeback). */
static int
sync_data(int fd)
{
    while (fdatasync(fd) == -1) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

/*
 * Makes the directory entry of the file at path durable: fsync on the
 * directory that holds it [BAT-27]. Syncing the file makes its data and
 * inode durable, not its name; without this, a crash soon after the file
 * was created can leave no file at all (fsync(2), NOTES). Done at every
 * open, not only at creation: the file may have been created by a process
 * that crashed before it got this far.
 */
static int
sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL   ? strdup(".")
                : slash == path ? strdup("/")
                                : strndup(path, (size_t)(slash - path));
    int err = 0;

    if (dir == NULL)
        return -ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd == -1)
        return -errno;
    while (fsync(fd) == -1) {
        if (errno != EINTR) {
            err = -errno;
            break;
        }
    }
    close(fd);
    return err;
}
// SOLUTION-STUB
// struct bat_log {
//     int fd; /* replace this with what your log needs */
// };
// SOLUTION-END

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
    // SOLUTION-BEGIN
    unsigned char *buf = NULL;
    size_t size, end;
    int err;

    struct bat_log *log = calloc(1, sizeof(*log));
    if (log == NULL)
        return -ENOMEM;
    if (opts != NULL)
        log->opts = *opts;
    log->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log->fd == -1) {
        err = -errno;
        goto out_free;
    }
    /*
     * Recovery: find the valid prefix and cut the torn tail off, so the
     * next record follows the last valid one. The cut is synced: a crash
     * right after must not bring the garbage back in front of new records.
     * Then the log's name is made durable [BAT-27]: an append that returns
     * 0 promises that a crash loses nothing [BAT-23], and a log whose
     * directory entry was lost would lose everything.
     */
    err = read_whole(log->fd, &buf, &size);
    if (err < 0)
        goto out_close;
    walk_records(buf, size, NULL, NULL, &end);
    free(buf);
    if (end < size) {
        if (ftruncate(log->fd, (off_t)end) == -1) {
            err = -errno;
            goto out_close;
        }
        err = sync_data(log->fd);
        if (err < 0)
            goto out_close;
    }
    err = sync_parent_dir(path);
    if (err < 0)
        goto out_close;
    err = pthread_mutex_init(&log->lock, NULL);
    if (err != 0) {
        err = -err;
        goto out_close;
    }
    err = pthread_cond_init(&log->sync_done, NULL);
    if (err != 0) {
        err = -err;
        goto out_mutex;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* for gather() */
    err = pthread_cond_init(&log->wrote, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0) {
        err = -err;
        goto out_cond;
    }
    *out = log;
    return 0;

out_cond:
    pthread_cond_destroy(&log->sync_done);
out_mutex:
    pthread_mutex_destroy(&log->lock);
out_close:
    close(log->fd);
out_free:
    free(log);
    return err;
    // SOLUTION-STUB
    // (void)path;
    // (void)opts;
    // (void)out;
    // return -ENOSYS;
    // SOLUTION-END
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
    // SOLUTION-BEGIN
    struct iovec iov[2] = {
        {.iov_base = hdr, .iov_len = sizeof(hdr)},
        {.iov_base = (void *)data, .iov_len = len},
    };
    int err = 0;

    pthread_mutex_lock(&log->lock);
    if (log->error != 0) {
        err = log->error;
        goto out_unlock;
    }
    /*
     * Writing under the lock keeps each record contiguous and numbers the
     * records in file order. It does not wait for the disk: a write only
     * copies into the page cache, and runs while a sync is in flight.
     */
    ssize_t n = bat_writev_full(log->fd, iov, 2);
    if (n < 0) {
        /* Maybe half a record in the file: nothing after it is safe. */
        log->error = (int)n;
        pthread_cond_broadcast(&log->sync_done);
        err = (int)n;
        goto out_unlock;
    }
    uint64_t seq = ++log->written;
    log->stats.appends++;
    pthread_cond_signal(&log->wrote); /* a leader may be gathering */

    while (log->durable < seq) {
        if (log->error != 0) {
            err = log->error;
            goto out_unlock;
        }
        if (log->syncing) {
            /* A follower: the sync in flight may not cover us; wait. */
            pthread_cond_wait(&log->sync_done, &log->lock);
            continue;
        }
        /*
         * The leader: one sync for every record written so far, ours and
         * those of the followers that queued while the last sync ran.
         */
        log->syncing = true;
        gather(log);
        uint64_t target = log->written;
        log->stats.syncs++;
        pthread_mutex_unlock(&log->lock);
        if (log->opts.before_sync != NULL)
            log->opts.before_sync(log->opts.sync_arg);
        int r = sync_data(log->fd);
        pthread_mutex_lock(&log->lock);
        log->syncing = false;
        if (r < 0)
            log->error = r; /* fsyncgate: never sync and trust again */
        else if (log->error == 0) {
            log->last_batch = target - log->durable;
            log->durable = target;
        }
        pthread_cond_broadcast(&log->sync_done);
    }
    log->stats.durable++;

out_unlock:
    pthread_mutex_unlock(&log->lock);
    return err;
    // SOLUTION-STUB
    // (void)log;
    // (void)hdr;
    // return -ENOSYS;
    // SOLUTION-END
}

/* TODO(commit.4): copy the log's counters, consistently, into *out. */
void
bat_log_stats(struct bat_log *log, struct bat_log_stats *out)
{
    // SOLUTION-BEGIN
    pthread_mutex_lock(&log->lock);
    *out = log->stats;
    pthread_mutex_unlock(&log->lock);
    // SOLUTION-STUB
    // (void)log;
    // *out = (struct bat_log_stats){0};
    // SOLUTION-END
}

/*
 * TODO(commit.5): close and free the log; return the error that failed it
 * [BAT-26], or close's error, or 0.
 */
int
bat_log_close(struct bat_log *log)
{
    // SOLUTION-BEGIN
    int err = log->error;

    if (close(log->fd) == -1 && err == 0)
        err = -errno;
    pthread_cond_destroy(&log->wrote);
    pthread_cond_destroy(&log->sync_done);
    pthread_mutex_destroy(&log->lock);
    free(log);
    return err;
    // SOLUTION-STUB
    // (void)log;
    // return -ENOSYS;
    // SOLUTION-END
}
