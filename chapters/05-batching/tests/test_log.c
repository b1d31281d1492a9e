/*
 * test_log.c - exercise 3 of chapter 05: the log with group commit.
 *
 * Records are checked byte for byte through bat_log_scan. Torn tails are
 * made by hand (cut, damaged, garbage), a real crash by SIGKILL of a child
 * that appends from several threads. Group commit itself is checked
 * deterministically through the before_sync hook: the test holds the
 * first sync "in flight" until other threads have written their records,
 * then counts the syncs. Sync failures are injected with the fault layer
 * (FI_FSYNC covers fsync and fdatasync).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bat.h"
#include "iolab/fault.h"
#include "iolab/testkit.h"

/* ---- helpers ------------------------------------------------------------ */

static char *
log_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tk_tmpdir(), name);
    return path;
}

static struct bat_log *
open_log(const char *path, const struct bat_log_options *opts)
{
    struct bat_log *log = NULL;

    int err = bat_log_open(path, opts, &log);
    cr_assert_eq(err, 0, "bat_log_open(%s) returned %d (%s)", path, err,
                 strerror(-err));
    cr_assert_not_null(log, "bat_log_open returned 0 but no log");
    return log;
}

/* The payload of record i in the tests' streams: tag, number, filler. */
static size_t
make_payload(char *buf, size_t cap, int tag, int i)
{
    int n = snprintf(buf, cap, "%d:%d:", tag, i);
    size_t len = (size_t)n + (size_t)((i * 37 + tag * 11) % 150);

    if (len > cap)
        len = cap;
    for (size_t k = (size_t)n; k < len; k++)
        buf[k] = (char)('a' + (k + (size_t)i) % 26);
    return len;
}

/* What a scan reported: up to MAX_SEEN records, copied. */
#define MAX_SEEN 4096
struct seen {
    size_t n;
    char *rec[MAX_SEEN];
    size_t len[MAX_SEEN];
};

static int
collect(const void *data, size_t len, void *arg)
{
    struct seen *s = arg;

    cr_assert_lt(s->n, MAX_SEEN, "the scan reported too many records");
    s->rec[s->n] = tk_xmalloc(len + 1);
    memcpy(s->rec[s->n], data, len);
    s->rec[s->n][len] = 0; /* for sscanf */
    s->len[s->n] = len;
    s->n++;
    return 0;
}

static void
seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rec[i]);
    s->n = 0;
}

static long
scan(const char *path, struct seen *s)
{
    seen_free(s);
    return bat_log_scan(path, collect, s);
}

static off_t
file_size(const char *path)
{
    struct stat st;

    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return st.st_size;
}

/* Writes one record in the documented format, by hand. */
static void
put_record(int fd, const void *data, uint32_t len)
{
    unsigned char hdr[BAT_REC_HDR];

    for (int k = 0; k < 4; k++)
        hdr[k] = (unsigned char)(len >> (8 * k));
    uint32_t crc = bat_crc32c(bat_crc32c(0, hdr, 4), data, len);
    for (int k = 0; k < 4; k++)
        hdr[4 + k] = (unsigned char)(crc >> (8 * k));
    tk_write_all(fd, hdr, sizeof(hdr));
    tk_write_all(fd, data, len);
}

/* ---- format, scan, append ----------------------------------------------- */

TK_TEST(commit, append_then_scan,
        .description = "[BAT-20][BAT-23] appended records come back from a "
                       "scan, in order, byte for byte; no descriptor is left")
{
    struct seen s = {0};
    char buf[256];
    const char *path = log_path("a.log");
    int fds = tk_count_open_fds();

    struct bat_log *log = open_log(path, NULL);
    for (int i = 0; i < 50; i++) {
        size_t len = i == 3 ? 0 : make_payload(buf, sizeof(buf), 1, i);
        int err = bat_log_append(log, buf, len);
        cr_assert_eq(err, 0, "append %d returned %d (%s)", i, err,
                     strerror(-err));
    }
    struct bat_log_stats st;
    bat_log_stats(log, &st);
    cr_assert_eq(st.appends, 50, "stats.appends is %llu after 50 appends",
                 (unsigned long long)st.appends);
    cr_assert_eq(st.durable, 50,
                 "stats.durable is %llu after 50 appends "
                 "returned 0",
                 (unsigned long long)st.durable);
    cr_assert(st.syncs >= 1 && st.syncs <= 50,
              "stats.syncs is %llu for 50 appends from one thread "
              "(expected 1..50)",
              (unsigned long long)st.syncs);
    cr_assert_eq(bat_log_close(log), 0);
    cr_assert_eq(tk_count_open_fds(), fds,
                 "after bat_log_open, 50 appends and bat_log_close, %d "
                 "descriptors are open instead of %d: close every "
                 "descriptor the log opened, on the paths that succeed too",
                 tk_count_open_fds(), fds);

    long n = scan(path, &s);
    cr_assert_eq(n, 50, "the scan found %ld records, expected 50", n);
    cr_assert_eq(tk_count_open_fds(), fds,
                 "bat_log_scan left a descriptor open");
    for (int i = 0; i < 50; i++) {
        size_t len = i == 3 ? 0 : make_payload(buf, sizeof(buf), 1, i);
        cr_assert(s.len[i] == len && memcmp(s.rec[i], buf, len) == 0,
                  "record %d came back altered (%zu bytes, expected %zu)", i,
                  s.len[i], len);
    }
    seen_free(&s);
    cr_assert_eq(bat_log_scan(log_path("missing.log"), NULL, NULL), -ENOENT,
                 "scanning a missing file should return -ENOENT");
}

TK_TEST(commit, file_format,
        .description = "[BAT-20] the file is exactly the documented format; "
                       "records written by hand are read")
{
    struct seen s = {0};
    unsigned char want[BAT_REC_HDR + 5], got[64];
    const char *path = log_path("f.log");

    cr_assert_eq(bat_crc32c(0, "123456789", 9), 0xE3069283u,
                 "bat_crc32c is not CRC-32C (it is given: restore it)");
    struct bat_log *log = open_log(path, NULL);
    cr_assert_eq(bat_log_append(log, "hello", 5), 0);
    cr_assert_eq(bat_log_close(log), 0);

    /* len 5, little-endian; crc over the 4 length bytes then "hello". */
    want[0] = 5;
    want[1] = want[2] = want[3] = 0;
    uint32_t crc = bat_crc32c(bat_crc32c(0, want, 4), "hello", 5);
    for (int k = 0; k < 4; k++)
        want[4 + k] = (unsigned char)(crc >> (8 * k));
    memcpy(want + BAT_REC_HDR, "hello", 5);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = tk_read_exact(fd, got, sizeof(got), 1000);
    close(fd);
    cr_assert_eq(n, (ssize_t)sizeof(want),
                 "the file holds %zd bytes after one 5-byte record, "
                 "expected %zu (8 of header, 5 of payload)",
                 n, sizeof(want));
    cr_assert_arr_eq(got, want, sizeof(want),
                     "the record's bytes are not the documented format "
                     "(u32 len LE, u32 crc32c LE of len bytes + payload, "
                     "payload)");

    /* Records written by hand are valid. */
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    put_record(fd, "by hand", 7);
    put_record(fd, "", 0);
    close(fd);
    long count = scan(path, &s);
    cr_assert_eq(count, 3, "a scan of 3 valid records returned %ld", count);
    cr_assert(s.len[1] == 7 && memcmp(s.rec[1], "by hand", 7) == 0,
              "the second record should be \"by hand\"");
    cr_assert_eq(s.len[2], 0, "the third record is empty");
    seen_free(&s);
}

/* ---- torn tails -----------------------------------------------------------
 */

/* Writes three good records (17 + 8 + 11 bytes of payload) by hand. */
static off_t
three_good(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    cr_assert_geq(fd, 0);
    put_record(fd, "first good record", 17);
    put_record(fd, "second!!", 8);
    put_record(fd, "third one..", 11);
    close(fd);
    return 3 * BAT_REC_HDR + 17 + 8 + 11;
}

/* The syncs of the log file itself, once it is cut to its valid prefix
 * (the directory's sync [BAT-27] does not make the cut durable). */
struct cut_watch {
    ino_t ino;  /* the log */
    off_t good; /* its size once cut */
    int synced; /* fsync/fdatasync calls on it at that size */
};

static void
on_cut_sync(enum fi_op op, int fd, void *arg)
{
    struct cut_watch *w = arg;
    struct stat st;

    (void)op;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == w->ino &&
        st.st_size == w->good)
        w->synced++;
}

/*
 * Checks that a file whose valid prefix is the three good records scans to
 * 3, and that opening it cuts the tail, syncs the cut file, and appends
 * right after them.
 */
static void
check_recovery(const char *path, off_t good, const char *what)
{
    struct seen s = {0};
    struct stat st;

    long n = scan(path, &s);
    cr_assert_eq(n, 3,
                 "%s: the scan returned %ld, expected the 3 valid "
                 "records before it",
                 what, n);
    cr_assert(s.len[2] == 11 && memcmp(s.rec[2], "third one..", 11) == 0,
              "%s: the third record came back altered", what);
    cr_assert_eq(stat(path, &st), 0);
    struct cut_watch w = {.ino = st.st_ino, .good = good};
    cr_assert_eq(fi_observe(FI_FSYNC, on_cut_sync, &w), 0);
    struct bat_log *log = open_log(path, NULL);
    fi_observe(FI_FSYNC, NULL, NULL);
    cr_assert_eq(file_size(path), good,
                 "%s: after bat_log_open the file is %lld bytes; expected "
                 "%lld, the valid prefix: cut the torn tail off [BAT-22]",
                 what, (long long)file_size(path), (long long)good);
    cr_assert_gt(w.synced, 0,
                 "%s: bat_log_open cut the torn tail off but made no "
                 "fsync/fdatasync of the log once cut (a sync of its "
                 "directory does not cover the file's data): make the cut "
                 "durable before the first append, or a crash can bring "
                 "the garbage back in front of new records [BAT-22]",
                 what);
    cr_assert_eq(bat_log_append(log, "after recovery", 14), 0);
    cr_assert_eq(bat_log_close(log), 0);
    n = scan(path, &s);
    cr_assert_eq(n, 4,
                 "%s: after recovery and one append the scan found "
                 "%ld records, expected 4",
                 what, n);
    cr_assert(s.len[3] == 14 && memcmp(s.rec[3], "after recovery", 14) == 0,
              "%s: the record appended after recovery came back altered", what);
    seen_free(&s);
}

TK_TEST(commit, torn_tail_truncated,
        .description = "[BAT-21][BAT-22] a record cut short at any byte is "
                       "dropped and cut off by open")
{
    const char *path = log_path("t.log");
    char what[80];

    /* Cut a fourth record (8 + 20 bytes) after each of its bytes. */
    for (size_t cut = 1; cut < BAT_REC_HDR + 20; cut++) {
        off_t good = three_good(path);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        put_record(fd, "twenty bytes of data", 20);
        close(fd);
        cr_assert_eq(truncate(path, good + (off_t)cut), 0);
        snprintf(what, sizeof(what), "a 4th record cut after %zu of %d bytes",
                 cut, BAT_REC_HDR + 20);
        check_recovery(path, good, what);
    }
}

TK_TEST(commit, torn_tail_bad_checksum,
        .description = "[BAT-21][BAT-22] a record with a damaged byte, and "
                       "everything after it, is dropped")
{
    const char *path = log_path("c.log");

    /* Damage each byte of a fourth record in turn; a fifth follows it. */
    for (int at = 0; at < BAT_REC_HDR + 6; at++) {
        char what[80];
        off_t good = three_good(path);
        /* Not O_APPEND: on Linux, pwrite ignores its offset then. */
        int fd = open(path, O_RDWR | O_CLOEXEC);
        lseek(fd, 0, SEEK_END);
        put_record(fd, "fourth", 6);
        put_record(fd, "fifth, valid but after a bad one", 32);
        unsigned char c;
        cr_assert_eq(pread(fd, &c, 1, good + at), 1);
        c ^= 0x10;
        cr_assert_eq(pwrite(fd, &c, 1, good + at), 1);
        close(fd);
        snprintf(what, sizeof(what), "byte %d of a 4th record flipped", at);
        check_recovery(path, good, what);
    }
}

TK_TEST(commit, torn_tail_garbage,
        .description = "[BAT-21][BAT-22] garbage after the last good record "
                       "(random bytes, zeros, a huge length) is dropped")
{
    const char *path = log_path("g.log");
    unsigned char junk[300];

    off_t good = three_good(path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    tk_fill(junk, sizeof(junk), 42);
    tk_write_all(fd, junk, sizeof(junk));
    close(fd);
    check_recovery(path, good, "300 random bytes after the records");

    good = three_good(path);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    memset(junk, 0, sizeof(junk));
    tk_write_all(fd, junk, sizeof(junk));
    close(fd);
    check_recovery(path, good, "300 zero bytes after the records");

    /* A header claiming 4 GiB - 1 bytes, followed by a few. */
    good = three_good(path);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    memset(junk, 0xff, 16);
    tk_write_all(fd, junk, 16);
    close(fd);
    check_recovery(path, good, "a header with length 0xffffffff");
}

TK_TEST(commit, open_errors,
        .description = "[BAT-22] open reports -errno and leaks nothing; "
                       "append refuses records over BAT_REC_MAX")
{
    struct bat_log *log = NULL;
    int fds = tk_count_open_fds();

    int err = bat_log_open(log_path("no/such/dir.log"), NULL, &log);
    cr_assert_eq(err, -ENOENT,
                 "a log in a missing directory: expected "
                 "-ENOENT, got %d",
                 err);
    cr_assert_null(log, "*out must be untouched on failure");
    err = bat_log_open(tk_tmpdir(), NULL, &log);
    cr_assert_eq(err, -EISDIR,
                 "a directory as the log: expected -EISDIR, "
                 "got %d",
                 err);
    cr_assert_eq(tk_count_open_fds(), fds,
                 "a failed bat_log_open left a descriptor open");

    log = open_log(log_path("big.log"), NULL);
    char *big = tk_xmalloc(BAT_REC_MAX + 1);
    memset(big, 'b', BAT_REC_MAX + 1);
    err = bat_log_append(log, big, BAT_REC_MAX + 1);
    cr_assert_eq(err, -EINVAL,
                 "a record of BAT_REC_MAX + 1 bytes: expected "
                 "-EINVAL, got %d",
                 err);
    cr_assert_eq(bat_log_append(log, big, BAT_REC_MAX), 0,
                 "a record of exactly BAT_REC_MAX bytes must be accepted");
    cr_assert_eq(bat_log_close(log), 0);
    free(big);
    cr_assert_eq(bat_log_scan(log_path("big.log"), NULL, NULL), 1);
}

/* ---- the log's name: its directory is synced ------------------------------
 */

/* What the fault layer showed of the syncs made during one bat_log_open. */
struct dir_watch {
    ino_t dir_ino;      /* the directory that should be synced */
    const char *path;   /* the log, to see whether it exists yet */
    int dir_syncs;      /* fsync/fdatasync calls on that directory */
    int other_dirs;     /* ... on some other directory */
    bool synced_before; /* a sync of it came before the log existed */
};

static void
on_sync(enum fi_op op, int fd, void *arg)
{
    struct dir_watch *w = arg;
    struct stat st, log;

    (void)op;
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    if (st.st_ino != w->dir_ino) {
        w->other_dirs++;
        return;
    }
    w->dir_syncs++;
    if (stat(w->path, &log) != 0)
        w->synced_before = true;
}

TK_TEST(commit, open_syncs_the_directory,
        .description = "[BAT-27] bat_log_open syncs the directory that holds "
                       "the log, after creating it; a failed sync fails the "
                       "open")
{
    char dir[512], path[600];
    struct stat st;

    /* A directory of its own, so the right one can be told from others. */
    snprintf(dir, sizeof(dir), "%s/logs", tk_tmpdir());
    cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s: %s", dir, strerror(errno));
    cr_assert_eq(stat(dir, &st), 0);
    snprintf(path, sizeof(path), "%s/new.log", dir);
    struct dir_watch w = {.dir_ino = st.st_ino, .path = path};

    fi_reset();
    cr_assert_eq(fi_observe(FI_FSYNC, on_sync, &w), 0);
    struct bat_log *log = open_log(path, NULL);
    fi_observe(FI_FSYNC, NULL, NULL);
    cr_assert_geq(w.dir_syncs, 1,
                  "bat_log_open created %s and returned without an fsync of "
                  "its directory (%d syncs of other directories): a crash "
                  "could lose the log's name, and every record with it",
                  path, w.other_dirs);
    cr_assert_not(w.synced_before,
                  "the directory was synced before the log existed in it: "
                  "sync it after open(O_CREAT), or the new name is not "
                  "covered");
    struct bat_log_stats sts;
    bat_log_stats(log, &sts);
    cr_assert_eq(sts.syncs, 0,
                 "stats.syncs is %llu after open: it counts the syncs of "
                 "appends only",
                 (unsigned long long)sts.syncs);
    cr_assert_eq(bat_log_append(log, "one", 3), 0);
    cr_assert_eq(bat_log_close(log), 0);

    /* The directory's sync fails: the log's name may not be durable. */
    snprintf(path, sizeof(path), "%s/eio.log", dir);
    int fds = tk_count_open_fds();
    struct bat_log *none = NULL;
    fi_reset();
    cr_assert_eq(fi_plan(FI_FSYNC, "err:EIO *"), 0);
    int err = bat_log_open(path, NULL, &none);
    fi_reset();
    cr_assert_eq(err, -EIO,
                 "every sync failed with EIO, yet bat_log_open returned %d: "
                 "a log whose name may be lost cannot promise [BAT-23]",
                 err);
    cr_assert_null(none, "*out must be untouched on failure");
    cr_assert_eq(tk_count_open_fds(), fds,
                 "a failed bat_log_open left a descriptor open");
}

/* ---- group commit, observed through the sync hook --------------------------
 */

#define FOLLOWERS 6
#define WAIT_MS 10000 /* for a state that correct code reaches at once */

struct hook {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;           /* before_sync calls so far */
    bool release;        /* the first sync may go on */
    int returned;        /* appends that have returned */
    int returned_at_2nd; /* appends returned when the 2nd sync began */
};

static void
before_sync(void *arg)
{
    struct hook *h = arg;

    pthread_mutex_lock(&h->lock);
    h->calls++;
    if (h->calls == 2)
        h->returned_at_2nd = __atomic_load_n(&h->returned, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&h->cond);
    /* Hold the first sync in flight until the test releases it. */
    while (h->calls == 1 && !h->release)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

struct appender {
    struct bat_log *log;
    struct hook *hook;
    int tag;
    int result;
    pthread_t th;
};

static void *
append_one(void *arg)
{
    struct appender *a = arg;
    char buf[64];

    size_t len = make_payload(buf, sizeof(buf), a->tag, 0);
    a->result = bat_log_append(a->log, buf, len);
    __atomic_add_fetch(&a->hook->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/*
 * One leader's sync held in flight while FOLLOWERS other threads append:
 * starts them all, waits until every record is written, and returns with
 * the first sync still held. a[0] is the leader.
 */
static void
hold_first_sync(struct bat_log *log, const char *path, struct hook *h,
                struct appender a[FOLLOWERS + 1])
{
    char buf[64];
    off_t want = 0;

    for (int i = 0; i <= FOLLOWERS; i++) {
        a[i] = (struct appender){.log = log, .hook = h, .tag = i};
        want += BAT_REC_HDR + (off_t)make_payload(buf, sizeof(buf), i, 0);
    }
    pthread_create(&a[0].th, NULL, append_one, &a[0]);

    long long t0 = tk_now_ms();
    pthread_mutex_lock(&h->lock);
    while (h->calls == 0 && tk_now_ms() - t0 < WAIT_MS) {
        pthread_mutex_unlock(&h->lock);
        sched_yield();
        pthread_mutex_lock(&h->lock);
    }
    int calls = h->calls;
    pthread_mutex_unlock(&h->lock);
    cr_assert_eq(calls, 1,
                 "one append from one thread: before_sync was never called "
                 "within %d s; call it just before each sync [BAT-25]",
                 WAIT_MS / 1000);

    for (int i = 1; i <= FOLLOWERS; i++)
        pthread_create(&a[i].th, NULL, append_one, &a[i]);
    /*
     * Watch the file, not bat_log_stats: a log that wrongly holds its lock
     * in the hook would block the stats call too, and the test would hang
     * instead of explaining.
     */
    off_t size;
    t0 = tk_now_ms();
    while ((size = file_size(path)) < want && tk_now_ms() - t0 < WAIT_MS) {
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(size, want,
                 "while one sync was in flight, %d other threads appended, "
                 "but after %d s the file holds %lld bytes, not the %lld "
                 "of all %d records: writing a record must not wait for a "
                 "sync in flight (is a lock held during the sync or the "
                 "hook?)",
                 FOLLOWERS, WAIT_MS / 1000, (long long)size, (long long)want,
                 FOLLOWERS + 1);
    cr_assert_eq(__atomic_load_n(&h->returned, __ATOMIC_SEQ_CST), 0,
                 "an append returned while the only sync was still held "
                 "before it began: an append returns only once durable "
                 "[BAT-23]");
}

static void
release_first_sync(struct hook *h, struct appender a[FOLLOWERS + 1])
{
    pthread_mutex_lock(&h->lock);
    h->release = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    for (int i = 0; i <= FOLLOWERS; i++)
        pthread_join(a[i].th, NULL);
}

/*
 * Which follower leads the second sync depends on which one the scheduler
 * wakes first, so the scenario runs GC_ROUNDS times, each on a fresh log:
 * a leader that covered only its own record, and not every record written
 * before its sync began, shows up in the rounds it is not the last writer.
 */
#define GC_ROUNDS 8

TK_TEST(commit, group_commit_one_sync_for_followers,
        .description = "[BAT-24][BAT-25][BAT-23] records written while a "
                       "sync is in flight share the next sync")
{
    for (int round = 0; round < GC_ROUNDS; round++) {
        struct hook h = {.lock = PTHREAD_MUTEX_INITIALIZER,
                         .cond = PTHREAD_COND_INITIALIZER};
        struct bat_log_options opts = {.before_sync = before_sync,
                                       .sync_arg = &h};
        struct appender a[FOLLOWERS + 1];
        struct seen s = {0};
        char name[32];

        snprintf(name, sizeof(name), "gc%d.log", round);
        const char *path = log_path(name);
        struct bat_log *log = open_log(path, &opts);
        fi_reset();
        hold_first_sync(log, path, &h, a);
        release_first_sync(&h, a);

        for (int i = 0; i <= FOLLOWERS; i++)
            cr_assert_eq(a[i].result, 0, "round %d: append %d returned %d (%s)",
                         round, i, a[i].result, strerror(-a[i].result));
        struct bat_log_stats st;
        bat_log_stats(log, &st);
        cr_assert_eq(h.calls, 2,
                     "round %d: %d syncs for 1 record and then %d records "
                     "written while it was in flight; expected 2: the "
                     "second sync covers every record written before it "
                     "began, not only its leader's [BAT-24]",
                     round, h.calls, FOLLOWERS);
        cr_assert_leq(h.returned_at_2nd, 1,
                      "%d appends had returned when the second sync began; "
                      "only the first record was covered by the first sync: "
                      "the others must wait for a sync that began after "
                      "their write [BAT-23]",
                      h.returned_at_2nd);
        cr_assert_eq(fi_calls(FI_FSYNC), 2,
                     "%lu fsync/fdatasync calls; expected 2 (and before_sync "
                     "called before each)",
                     fi_calls(FI_FSYNC));
        cr_assert_eq(st.syncs, 2, "stats.syncs is %llu, expected 2",
                     (unsigned long long)st.syncs);
        cr_assert_eq(st.durable, FOLLOWERS + 1);
        cr_assert_eq(bat_log_close(log), 0);
        cr_assert_eq(scan(path, &s), FOLLOWERS + 1,
                     "the scan should find the %d records", FOLLOWERS + 1);
        seen_free(&s);
    }
}

TK_TEST(commit, failed_sync_fails_covered_appends,
        .description = "[BAT-26] a failed sync fails every append it covered "
                       "and every later one; no sync is trusted again")
{
    struct hook h = {.lock = PTHREAD_MUTEX_INITIALIZER,
                     .cond = PTHREAD_COND_INITIALIZER};
    struct bat_log_options opts = {.before_sync = before_sync, .sync_arg = &h};
    struct appender a[FOLLOWERS + 1];
    const char *path = log_path("eio.log");

    struct bat_log *log = open_log(path, &opts);
    fi_reset();
    cr_assert_eq(fi_plan(FI_FSYNC, "err:EIO"), 0);
    hold_first_sync(log, path, &h, a);
    release_first_sync(&h, a);

    for (int i = 0; i <= FOLLOWERS; i++)
        cr_assert_eq(a[i].result, -EIO,
                     "append %d returned %d; the only sync failed with EIO, "
                     "so every append must return -EIO (%s)",
                     i, a[i].result,
                     i == 0 ? "it covered this record"
                            : "this record was waiting for a later sync, "
                              "and a failed log syncs no more");
    cr_assert_eq(fi_calls(FI_FSYNC), 1,
                 "%lu syncs; after the first failed, the log must not sync "
                 "again: a second fsync may succeed although the data of "
                 "the first was lost (fsyncgate)",
                 fi_calls(FI_FSYNC));
    off_t size = file_size(path);
    int err = bat_log_append(log, "later", 5);
    cr_assert_eq(err, -EIO,
                 "an append after a failed sync returned %d, "
                 "expected -EIO: the log is failed for good",
                 err);
    cr_assert_eq(file_size(path), size,
                 "an append to a failed log wrote to the file");
    cr_assert_eq(fi_calls(FI_FSYNC), 1, "an append to a failed log synced");
    err = bat_log_close(log);
    cr_assert_eq(err, -EIO,
                 "closing a failed log returned %d, expected the "
                 "error that failed it, -EIO",
                 err);
}

TK_TEST(commit, failure_keeps_earlier_records,
        .description = "[BAT-26][BAT-23] records confirmed before a failure "
                       "stay; a failed write also fails the log")
{
    struct seen s = {0};
    const char *path = log_path("later.log");

    struct bat_log *log = open_log(path, NULL);
    fi_reset();
    cr_assert_eq(fi_plan(FI_FSYNC, "pass err:EIO"), 0);
    cr_assert_eq(bat_log_append(log, "one", 3), 0,
                 "the first append (its sync passes) should return 0");
    int err = bat_log_append(log, "two", 3);
    cr_assert_eq(err, -EIO,
                 "the second append's sync failed: expected "
                 "-EIO, got %d",
                 err);
    err = bat_log_append(log, "three", 5);
    cr_assert_eq(err, -EIO,
                 "an append after a failed sync: expected -EIO, "
                 "got %d",
                 err);
    cr_assert_eq(fi_calls(FI_FSYNC), 2,
                 "%lu syncs: a failed log must not sync again",
                 fi_calls(FI_FSYNC));
    cr_assert_eq(bat_log_close(log), -EIO);
    long n = scan(path, &s);
    cr_assert_geq(n, 1, "the record confirmed before the failure is gone");
    cr_assert(s.len[0] == 3 && memcmp(s.rec[0], "one", 3) == 0,
              "the first record came back altered");
    seen_free(&s);

    /* A write that fails (disk full) fails the log too. */
    log = open_log(log_path("full.log"), NULL);
    fi_reset();
    cr_assert_eq(fi_plan(FI_WRITEV, "err:ENOSPC"), 0);
    cr_assert_eq(fi_plan(FI_WRITE, "err:ENOSPC"), 0);
    err = bat_log_append(log, "no room", 7);
    cr_assert_eq(err, -ENOSPC,
                 "a write failing with ENOSPC: expected "
                 "-ENOSPC, got %d",
                 err);
    unsigned long writes = fi_calls(FI_WRITEV) + fi_calls(FI_WRITE);
    err = bat_log_append(log, "again", 5);
    cr_assert_eq(err, -ENOSPC,
                 "an append after a failed write: expected "
                 "-ENOSPC (the log is failed), got %d",
                 err);
    cr_assert_eq(fi_calls(FI_WRITEV) + fi_calls(FI_WRITE), writes,
                 "an append to a failed log wrote again");
    cr_assert_eq(fi_calls(FI_FSYNC), 0, "a failed log synced");
    cr_assert_eq(bat_log_close(log), -ENOSPC);
}

/* ---- many threads ---------------------------------------------------------
 */

#define THREADS 8
#define PER_THREAD 40

struct worker {
    struct bat_log *log;
    int tag;
    int failures; /* appends that did not return 0 */
    int first_err;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char buf[256];

    for (int i = 0; i < PER_THREAD; i++) {
        size_t len = make_payload(buf, sizeof(buf), w->tag, i);
        int err = bat_log_append(w->log, buf, len);
        if (err != 0 && w->failures++ == 0)
            w->first_err = err;
    }
    return NULL;
}

/*
 * Checks that the records of s are well-formed payloads of the tests'
 * streams, each thread's in order without gaps from 0, and returns in
 * next[t] how many of thread t's records were found.
 */
static void
check_streams(const struct seen *s, int nthreads, int *next)
{
    char want[256];

    for (int t = 0; t < nthreads; t++)
        next[t] = 0;
    for (size_t k = 0; k < s->n; k++) {
        int t = -1, i = -1;
        sscanf(s->rec[k], "%d:%d:", &t, &i);
        cr_assert(t >= 0 && t < nthreads,
                  "record %zu is not one the test appended", k);
        size_t len = make_payload(want, sizeof(want), t, i);
        cr_assert(s->len[k] == len && memcmp(s->rec[k], want, len) == 0,
                  "record %zu (thread %d, number %d) came back altered", k, t,
                  i);
        cr_assert_eq(i, next[t],
                     "record %zu is thread %d's number %d, expected number "
                     "%d: records lost, repeated or reordered",
                     k, t, i, next[t]);
        next[t]++;
    }
}

TK_TEST(commit, many_threads,
        .description = "[BAT-23][BAT-24] 8 threads x 40 appends: all durable, "
                       "none lost, torn or interleaved")
{
    struct worker w[THREADS];
    pthread_t th[THREADS];
    struct seen s = {0};
    int next[THREADS];
    const char *path = log_path("mt.log");

    struct bat_log *log = open_log(path, NULL);
    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct worker){.log = log, .tag = t};
        pthread_create(&th[t], NULL, worker_main, &w[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(w[t].failures, 0,
                     "thread %d: %d appends failed, the "
                     "first with %d (%s)",
                     t, w[t].failures, w[t].first_err,
                     strerror(-w[t].first_err));
    struct bat_log_stats st;
    bat_log_stats(log, &st);
    cr_assert_eq(st.appends, THREADS * PER_THREAD);
    cr_assert_eq(st.durable, THREADS * PER_THREAD);
    cr_assert(st.syncs >= 1 && st.syncs <= THREADS * PER_THREAD,
              "stats.syncs is %llu for %d appends",
              (unsigned long long)st.syncs, THREADS * PER_THREAD);
    cr_assert_eq(bat_log_close(log), 0);

    long n = scan(path, &s);
    cr_assert_eq(n, THREADS * PER_THREAD,
                 "the scan found %ld records, "
                 "expected %d",
                 n, THREADS * PER_THREAD);
    check_streams(&s, THREADS, next);
    seen_free(&s);
}

/* ---- a real crash -----------------------------------------------------------
 */

#define CRASH_THREADS 4
#define CRASH_AFTER 60 /* confirmations the parent waits for, then kills */

struct confirm {
    int tag, i; /* i < 0: append failed with error -i... see child_main */
};

struct crash_worker {
    struct bat_log *log;
    int tag;
    int wfd; /* the pipe to the parent */
};

static void *
crash_worker_main(void *arg)
{
    struct crash_worker *w = arg;
    char buf[256];

    for (int i = 0;; i++) {
        size_t len = make_payload(buf, sizeof(buf), w->tag, i % 100000);
        int err = bat_log_append(w->log, buf, len);
        /* One small write per message: atomic on a pipe (PIPE_BUF). */
        struct confirm c = {.tag = w->tag, .i = err == 0 ? i : err};
        if (write(w->wfd, &c, sizeof(c)) != (ssize_t)sizeof(c) || err != 0)
            break;
    }
    return NULL;
}

/* The child: append from several threads until killed. */
static _Noreturn void
child_main(const char *path, int wfd)
{
    struct crash_worker w[CRASH_THREADS];
    pthread_t th[CRASH_THREADS];
    struct bat_log *log = NULL;

    int err = bat_log_open(path, NULL, &log);
    if (err != 0) {
        struct confirm c = {.tag = -1, .i = err};
        (void)!write(wfd, &c, sizeof(c));
        _exit(1);
    }
    for (int t = 0; t < CRASH_THREADS; t++) {
        w[t] = (struct crash_worker){.log = log, .tag = t, .wfd = wfd};
        pthread_create(&th[t], NULL, crash_worker_main, &w[t]);
    }
    for (int t = 0; t < CRASH_THREADS; t++)
        pthread_join(th[t], NULL);
    _exit(2); /* every worker stopped on an error */
}

TK_TEST(commit, crash_keeps_confirmed_records,
        .description = "[BAT-23][BAT-22] after SIGKILL mid-run, every "
                       "record whose append returned is found")
{
    int confirmed[CRASH_THREADS] = {0}; /* records 0..n-1 confirmed */
    int next[CRASH_THREADS];
    struct seen s = {0};
    struct confirm c;
    int p[2], got = 0;
    const char *path = log_path("crash.log");

    tk_pipe(p);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        child_main(path, p[1]);
    }
    close(p[1]);
    bool killed = false;
    for (;;) {
        ssize_t n = tk_read_exact(p[0], &c, sizeof(c), 20000);
        if (n == -ETIMEDOUT) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            cr_assert_fail("the child confirmed no append for 20 s");
        }
        if (n != (ssize_t)sizeof(c))
            break; /* EOF: the child is dead */
        cr_assert(c.tag >= 0 && c.i >= 0, "in the child, %s returned %d (%s)",
                  c.tag < 0 ? "bat_log_open" : "bat_log_append", c.i,
                  strerror(-c.i));
        cr_assert_eq(c.i, confirmed[c.tag], "confirmations out of order");
        confirmed[c.tag]++;
        if (++got == CRASH_AFTER && !killed) {
            kill(pid, SIGKILL); /* mid-run: appends are in flight */
            killed = true;
        }
    }
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the child ended before it was killed (status 0x%x)", status);

    long n = scan(path, &s);
    cr_assert_geq(n, got,
                  "after the crash the scan found %ld records; %d "
                  "appends had returned 0",
                  n, got);
    check_streams(&s, CRASH_THREADS, next);
    for (int t = 0; t < CRASH_THREADS; t++)
        cr_assert_geq(next[t], confirmed[t],
                      "thread %d: %d appends returned 0 before the crash, "
                      "but only its first %d records are in the log",
                      t, confirmed[t], next[t]);

    /* Recovery, then the log goes on. */
    struct bat_log *log = open_log(path, NULL);
    cr_assert_eq(bat_log_append(log, "9:0:after the crash", 19), 0);
    cr_assert_eq(bat_log_close(log), 0);
    long m = scan(path, &s);
    cr_assert_eq(m, n + 1,
                 "after recovery and one append the scan found %ld "
                 "records, expected %ld",
                 m, n + 1);
    seen_free(&s);
}
