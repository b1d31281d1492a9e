/*
 * mon.h - the contract of chapter 08: measuring IO with the kernel's own
 * counters.
 *
 *  - Exercise 1 (disk): `iostat -x` in C. Parse /proc/diskstats, and from
 *    two snapshots compute what iostat(1) prints: r/s, w/s, rkB/s, wkB/s,
 *    r_await, w_await, aqu-sz and %util. Pure functions over text: the
 *    tests feed recorded snapshots.
 *  - Exercise 2 (hist): a latency histogram with log-linear buckets, a
 *    footprint fixed when it is made, recording without allocating or
 *    entering the kernel, percentiles within a stated relative error,
 *    merging, the coordinated-omission correction, and the Prometheus text
 *    format.
 *  - Exercise 3 (proc): what `pidstat -d` shows per process, from
 *    /proc/PID/stat and /proc/PID/io.
 *  - Exercise 4 (why): is a process CPU-bound, IO-bound or waiting on
 *    something else? From the kernel's own accounting: /proc/PID/stat,
 *    /proc/PID/schedstat, and for the machine /proc/pressure (PSI); and a
 *    TCP connection's health from TCP_INFO.
 *
 * This header is the specification. Every sentence tagged [MON-n] is
 * checked by a test whose description names the same tag. The conventions
 * every contract shares are in shared/include/iolab/CONVENTIONS.md.
 */
#ifndef IOLAB_MON_H
#define IOLAB_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * mon_parse_u64 - given complete (src/mon_num.c): reads one unsigned
 * decimal number at *p, digits only (no blank, no sign), and moves *p past
 * it. Returns false, with *p and *out unchanged, when there is no digit or
 * the value exceeds UINT64_MAX.
 */
bool mon_parse_u64(const char **p, uint64_t *out);

/*
 * mon_read_text - given complete (src/mon_num.c): reads a small file
 * (a /proc file) into buf[0..cap), at most cap - 1 bytes, NUL-terminated;
 * cap must be at least 1. Returns 0, or -errno from open or read.
 */
int mon_read_text(const char *path, char *buf, size_t cap);

/* ======================================================================
 * Exercise 1: /proc/diskstats and iostat's formulas
 * ====================================================================== */

/* The longest device name kept, with its NUL (the kernel's DISK_NAME_LEN
 * is 32). */
#define MON_DISK_NAME_MAX 32

/*
 * One line of /proc/diskstats, field by field as the kernel's
 * Documentation/admin-guide/iostats.rst numbers them. Counters count
 * since boot; in_flight is the only gauge. Sectors are 512 bytes whatever
 * the device's own sector size. Times are milliseconds.
 */
struct mon_disk {
    unsigned major, minor;         /* the device number */
    char name[MON_DISK_NAME_MAX];  /* "sda", "nvme0n1p2", NUL-terminated */
    uint64_t rd_ios;               /* field 1: reads completed */
    uint64_t rd_merges;            /* field 2: reads merged */
    uint64_t rd_sectors;           /* field 3: sectors read */
    uint64_t rd_ticks;             /* field 4: ms spent reading */
    uint64_t wr_ios;               /* field 5: writes completed */
    uint64_t wr_merges;            /* field 6: writes merged */
    uint64_t wr_sectors;           /* field 7: sectors written */
    uint64_t wr_ticks;             /* field 8: ms spent writing */
    uint64_t in_flight;            /* field 9: IOs in progress (gauge) */
    uint64_t io_ticks;             /* field 10: ms with at least one IO in
                                      progress ("busy" time) */
    uint64_t time_in_queue;        /* field 11: weighted ms: each ms counts
                                      once per IO in progress */
    uint64_t dc_ios, dc_merges;    /* fields 12, 13: discards (4.18+) */
    uint64_t dc_sectors, dc_ticks; /* fields 14, 15 */
    uint64_t fl_ios, fl_ticks;     /* fields 16, 17: flushes (5.5+) */
    unsigned nstats;               /* 11, 15 or 17: how many fields the line
                                      had; the absent ones are 0 */
};

/*
 * mon_disk_parse_line - parses one line of /proc/diskstats: major, minor,
 * name, then 11, 15 or 17 unsigned decimal fields, separated by spaces or
 * tabs, with a trailing newline allowed.
 *
 * [MON-1] A line with 11, 15 or 17 fields fills *out, every field in its
 * place and the absent ones 0, sets nstats, and returns 0.
 * [MON-2] Any other line returns -EINVAL and leaves *out unchanged: a
 * wrong number of fields, a field that is not an unsigned decimal number
 * (a sign, a letter, nothing), a number above UINT64_MAX (or above
 * UINT_MAX for major and minor), a name of MON_DISK_NAME_MAX characters
 * or more. It never reads past the line's NUL.
 */
int mon_disk_parse_line(const char *line, struct mon_disk *out);

/*
 * mon_disk_parse - parses the whole text of /proc/diskstats (NUL-
 * terminated) into out[0..max). Returns the number of devices.
 * [MON-3] One malformed line rejects the snapshot: -EINVAL, whatever came
 * before it (a snapshot with a broken line is not one to compute rates
 * from). More than max devices: -ENOSPC. Empty text: 0 devices. The
 * text's last line may lack its newline; an empty line is malformed.
 */
ssize_t mon_disk_parse(const char *text, struct mon_disk *out, size_t max);

/*
 * What `iostat -x` prints for one device over one interval (iostat(1),
 * sysstat 12). Every rate is per second of the interval.
 */
struct mon_disk_rates {
    double r_s;     /* reads completed per second */
    double w_s;     /* writes completed per second */
    double rkb_s;   /* kB (1024 bytes) read per second */
    double wkb_s;   /* kB written per second */
    double r_await; /* mean ms per read completed, queue + service; 0
                       when no read completed */
    double w_await; /* the same for writes */
    double aqu_sz;  /* mean number of requests queued or in service */
    double util;    /* % of the interval with at least one IO in flight */
};

/*
 * mon_disk_delta - one counter's increase between two snapshots.
 * [MON-4] The rule for a counter that went down: when both values fit in
 * 32 bits, the counter wrapped at 2^32 (the kernel prints the times,
 * fields 4, 8, 10, 11, 15 and 17, as 32-bit unsigned ints, and on a 32-bit
 * kernel every counter is 32 bits), and the increase is
 * cur + 2^32 - prev. Otherwise it cannot be a wrap of a 64-bit counter
 * within one interval: the counters restarted, and it returns false.
 * Returns true with *out set when there is an increase to report.
 */
bool mon_disk_delta(uint64_t prev, uint64_t cur, uint64_t *out);

/*
 * mon_disk_rates - what iostat -x prints for one device, from two
 * snapshots of it taken interval_ms apart. With d() the increase of a
 * field (mon_disk_delta) and t = interval_ms / 1000 seconds:
 * [MON-5] r/s = d(rd_ios) / t; w/s = d(wr_ios) / t;
 * rkB/s = d(rd_sectors) / 2 / t; wkB/s = d(wr_sectors) / 2 / t.
 * [MON-6] r_await = d(rd_ticks) / d(rd_ios), 0 when d(rd_ios) is 0;
 * w_await likewise from wr_ticks and wr_ios.
 * [MON-7] aqu-sz = d(time_in_queue) / interval_ms (field 11, the weighted
 * time); %util = 100 * d(io_ticks) / interval_ms (field 10, the busy
 * time), not clamped to 100.
 * [MON-8] Returns 0; -EINVAL when interval_ms is 0 or the two are not the
 * same device (major, minor and name); -ERANGE when a counter restarted
 * (mon_disk_delta said false). *out is written only on success.
 */
int mon_disk_rates(const struct mon_disk *prev, const struct mon_disk *cur,
                   uint64_t interval_ms, struct mon_disk_rates *out);

/* One device of mon_disk_diff's report. */
struct mon_disk_row {
    char name[MON_DISK_NAME_MAX]; /* the device's name */
    struct mon_disk_rates rates;  /* over the interval */
};

/*
 * mon_disk_diff - iostat's report: the rates of every device of cur that
 * prev also has, in cur's order, into out[0..max). Returns the number of
 * rows.
 * [MON-9] A device is the same device in both snapshots when major, minor
 * and name all match. A device only in cur (attached during the
 * interval), only in prev (detached), or whose counters restarted, has no
 * row. -EINVAL when interval_ms is 0; -ENOSPC when the rows do not fit.
 */
ssize_t mon_disk_diff(const struct mon_disk *prev, size_t nprev,
                      const struct mon_disk *cur, size_t ncur,
                      uint64_t interval_ms, struct mon_disk_row *out,
                      size_t max);

/* ======================================================================
 * Exercise 2: a latency histogram
 * ====================================================================== */

/*
 * A histogram of non-negative integer values (the course records
 * microseconds: 1 us to 1 hour is MON_HIST_HOUR_US). Opaque: its layout is
 * yours.
 */
struct mon_hist;

#define MON_HIST_HOUR_US 3600000000ULL /* one hour in microseconds */

/*
 * mon_hist_new - makes a histogram for values 0..max_value kept to
 * `digits` significant decimal digits.
 * [MON-10] Returns 0 and *out, or -EINVAL (max_value < 2, digits not 1..5,
 * max_value above 2^62) or -ENOMEM, and then *out is untouched. All the
 * memory the histogram will ever use is allocated here, in one piece.
 */
int mon_hist_new(uint64_t max_value, int digits, struct mon_hist **out);

/* Frees h (NULL is allowed). */
void mon_hist_free(struct mon_hist *h);

/*
 * mon_hist_footprint - the bytes h holds, everything mon_hist_new
 * allocated. [MON-11] It depends only on max_value and digits, never on
 * what was recorded; for 1 hour in microseconds at 3 digits it is at most
 * 256 KiB.
 */
size_t mon_hist_footprint(const struct mon_hist *h);

/*
 * mon_hist_record - counts one value.
 * [MON-12] Returns 0, or -ERANGE for a value above max_value, which is then
 * not counted. It allocates nothing and makes no system call (the bench
 * counts both).
 */
int mon_hist_record(struct mon_hist *h, uint64_t value);

/*
 * mon_hist_record_corrected - counts value, measured by a loop that meant
 * to start one operation every `interval` units, and corrects for
 * coordinated omission: a value of v > interval hid the operations that
 * should have started during it, and those would have waited v - interval,
 * v - 2*interval, ... .
 * [MON-13] It counts value, then v - k*interval for k = 1, 2, ... while
 * that is at least interval. interval 0 counts value alone. Returns 0, or
 * -ERANGE (value above max_value: nothing counted).
 */
int mon_hist_record_corrected(struct mon_hist *h, uint64_t value,
                              uint64_t interval);

/* Exact facts about what was recorded (not rounded to buckets). */
struct mon_hist_stats {
    uint64_t count; /* values counted */
    uint64_t min;   /* smallest value counted; 0 when count is 0 */
    uint64_t max;   /* largest; 0 when count is 0 */
    uint64_t sum;   /* sum of the values counted */
};

/* [MON-14] The exact count, min, max and sum of every value counted. */
void mon_hist_stats(const struct mon_hist *h, struct mon_hist_stats *out);

/*
 * mon_hist_percentile - the value at percentile p (0..100), by the
 * nearest-rank rule: with n values counted, the value of rank
 * r = ceil(p / 100 * n) in ascending order, r at least 1.
 * [MON-15] The answer is the largest value of the bucket that holds the
 * value x of rank r: x <= *out <= x + x / 10^digits, and values below
 * 2 * 10^digits are exact. p = 0 gives the bucket of the minimum; p = 100
 * that of the maximum.
 * [MON-16] Returns 0; -EINVAL for p outside 0..100 (or NaN); -ENODATA when
 * nothing was counted. *out is written only on success.
 */
int mon_hist_percentile(const struct mon_hist *h, double p, uint64_t *out);

/*
 * mon_hist_merge - adds every value src counted to dst, as if each had
 * been recorded into dst (per-thread histograms, merged to report).
 * [MON-17] Returns 0, or -EINVAL when the two were made with a different
 * max_value or digits (then dst is unchanged). src is unchanged.
 */
int mon_hist_merge(struct mon_hist *dst, const struct mon_hist *src);

/*
 * mon_hist_prometheus - writes h as one histogram in the Prometheus text
 * exposition format into buf[0..len): a "# TYPE name histogram" line,
 * then one name_bucket{le="B"} line per bound of le[0..nle) and one for
 * le="+Inf", then name_sum and name_count. Bounds and the sum are in the
 * recorded unit times `unit` (1e-6 turns microseconds into seconds, the
 * Prometheus base unit); printed with %.17g, so they read back exactly.
 * [MON-18] Each _bucket line holds the number of values whose bucket's
 * largest value is at most that bound (cumulative: never decreasing);
 * +Inf and _count hold the count, _sum the exact sum times unit. Returns
 * the bytes written, not counting the NUL it ends with.
 * [MON-19] -EINVAL when name is not a metric name ([a-zA-Z_:] then
 * [a-zA-Z0-9_:]*) or the bounds do not strictly increase; -ENOSPC when the
 * text and its NUL do not fit in len.
 */
ssize_t mon_hist_prometheus(const struct mon_hist *h, const char *name,
                            const uint64_t *le, size_t nle, double unit,
                            char *buf, size_t len);

/* ======================================================================
 * Exercise 3: per-process IO, /proc/[pid]/stat and /proc/[pid]/io
 * ====================================================================== */

/* Room for a command name (the kernel keeps 15 characters and a NUL). */
#define MON_COMM_MAX 64

/*
 * One process, from /proc/PID/stat (fields numbered as in proc(5)) and
 * /proc/PID/io (Documentation/filesystems/proc.rst, "/proc/<pid>/io").
 */
struct mon_proc {
    int pid;                 /* stat field 1 */
    char comm[MON_COMM_MAX]; /* field 2, without its parentheses */
    char state;              /* field 3: R, S, D (uninterruptible), Z, ... */
    uint64_t utime, stime;   /* fields 14, 15: CPU time, clock ticks */
    uint64_t starttime;      /* field 22: start, in ticks after boot: a pid
                                reused by another process has another */
    uint64_t blkio_ticks;    /* field 42: ticks spent waiting for block IO
                                (0 unless delay accounting is on) */
    bool has_io;             /* the io fields below were read */
    uint64_t rchar, wchar;   /* bytes through read/write calls, cache or not */
    uint64_t syscr, syscw;   /* read and write calls */
    uint64_t read_bytes;     /* bytes fetched from storage, readahead too */
    uint64_t write_bytes;    /* bytes dirtied for storage */
    uint64_t cancelled_write_bytes; /* dirtied, then truncated away */
};

/*
 * mon_proc_parse_stat - parses the text of /proc/PID/stat into the stat
 * fields of *out (the io fields are left alone).
 * [MON-20] comm is what lies between the first '(' and the last ')': a
 * command name may hold spaces and parentheses. The fields after it are
 * counted from the last ')'. Returns 0, or -EINVAL (and *out untouched)
 * for text with no parentheses, fewer than 42 fields, a state that is not
 * one character, or a field that is not a number where one is read.
 */
int mon_proc_parse_stat(const char *text, struct mon_proc *out);

/*
 * mon_proc_parse_io - parses the text of /proc/PID/io into the io fields
 * of *out and sets has_io.
 * [MON-21] Lines are "key: value", in any order; all seven keys (rchar,
 * wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes)
 * are required, other keys are ignored. Returns 0, or -EINVAL (and *out
 * untouched) for a missing key or a value that is not a number.
 */
int mon_proc_parse_io(const char *text, struct mon_proc *out);

/*
 * mon_proc_read - reads /proc/PID/stat and /proc/PID/io into *out.
 * [MON-22] Returns 0; -ESRCH when there is no such process (it exited
 * between the listing and the read). An io file the caller may not read
 * (another user's process: -EACCES) is no error: has_io is false.
 */
int mon_proc_read(int pid, struct mon_proc *out);

/* A process's activity over an interval, per second. */
struct mon_proc_rates {
    double rchar_s, wchar_s; /* bytes through read/write calls */
    double read_bytes_s;     /* bytes fetched from storage */
    double write_bytes_s;    /* bytes dirtied */
    double cancelled_s;      /* dirtied bytes truncated away */
    double cpu_pct;          /* 100 * CPU seconds / seconds */
};

/*
 * mon_proc_rates - the rates of one process between two snapshots taken
 * interval_ms apart; ticks_per_s is sysconf(_SC_CLK_TCK).
 * [MON-23] Each byte rate is the counter's increase over interval_ms /
 * 1000 seconds; cpu_pct = 100 * (d(utime) + d(stime)) / ticks_per_s /
 * seconds. Returns 0; -EINVAL when interval_ms or ticks_per_s is 0 or the
 * two are not the same process (pid and starttime); -ENODATA when either
 * snapshot lacks its io fields. *out is written only on success.
 */
int mon_proc_rates(const struct mon_proc *prev, const struct mon_proc *cur,
                   uint64_t interval_ms, long ticks_per_s,
                   struct mon_proc_rates *out);

/* ======================================================================
 * Exercise 4: is it IO or CPU? /proc/PID/schedstat and /proc/pressure
 * ====================================================================== */

/*
 * /proc/PID/schedstat (Documentation/scheduler/sched-stats.rst): three
 * counters since the task started, for its main thread.
 */
struct mon_sched {
    uint64_t run_ns;  /* time spent on a CPU */
    uint64_t wait_ns; /* time spent runnable, waiting in a run queue */
    uint64_t slices;  /* timeslices run on a CPU */
};

/*
 * mon_sched_parse - parses the text of /proc/PID/schedstat.
 * [MON-24] Exactly three unsigned decimal numbers, in the order run time,
 * run-queue wait, timeslices, separated by one space, with a trailing
 * newline allowed. Returns 0, or -EINVAL (and *out untouched) for any
 * other text.
 */
int mon_sched_parse(const char *text, struct mon_sched *out);

/* One line of a /proc/pressure file. */
struct mon_psi_line {
    double avg10, avg60, avg300; /* % of the last 10, 60, 300 s stalled */
    uint64_t total_us;           /* stalled time since boot, microseconds */
};

/*
 * A /proc/pressure/{cpu,io,memory} file (Documentation/accounting/psi.rst).
 * "some": the share of time at least one task was stalled on the resource;
 * "full": the share of time every non-idle task was stalled at once.
 */
struct mon_psi {
    struct mon_psi_line some;
    struct mon_psi_line full;
    bool has_full; /* the file had a "full" line (cpu has none before 5.13) */
};

/*
 * mon_psi_parse - parses the text of one /proc/pressure file.
 * [MON-25] Each line is "some" or "full" followed by exactly
 * " avg10=A avg60=B avg300=C total=T": A, B and C decimal numbers with an
 * optional fraction ("0.00", "75.06"), T an unsigned decimal number. The
 * two lines may come in either order; "some" is required and each may
 * appear once; each line's values go to its own member, whatever the order.
 * A trailing newline is allowed. Returns 0, or -EINVAL (and *out
 * untouched) for any other text.
 */
int mon_psi_parse(const char *text, struct mon_psi *out);

/*
 * mon_psi_read - reads dir/resource, where dir is NULL for
 * "/proc/pressure" and resource is "cpu", "io" or "memory".
 * [MON-26] Returns 0 with *out filled; -ENOENT when the file is absent or
 * the kernel refuses to read it (-EOPNOTSUPP: built with PSI but booted
 * with psi=0): PSI is not available here, which a report shows as such
 * and is not a fault; -EINVAL when its text does not parse; another
 * -errno from open or read. *out is written only on success.
 */
int mon_psi_read(const char *dir, const char *resource, struct mon_psi *out);

/*
 * One look at a process: what its stat and schedstat files said, and when.
 */
struct mon_why_point {
    int pid;
    uint64_t starttime;    /* stat field 22: with pid, which process */
    char state;            /* stat field 3 at this instant */
    uint64_t utime, stime; /* stat fields 14, 15: clock ticks */
    uint64_t blkio_ticks;  /* stat field 42: ticks waiting for block IO;
                              stays 0 when delay accounting is off
                              (kernel.task_delayacct = 0, the default) */
    bool has_sched;        /* sched below was read */
    struct mon_sched sched;
    uint64_t t_ns; /* CLOCK_MONOTONIC when the files were read */
};

/*
 * mon_why_point - reads /proc/PID/stat and /proc/PID/schedstat into *out,
 * with the time it read them.
 * [MON-27] Returns 0; -ESRCH when the process is gone (either file absent
 * or refused with ESRCH). A schedstat file that is absent while stat is
 * there (a kernel without CONFIG_SCHED_INFO) is no error: has_sched is
 * false. *out is written only on success.
 */
int mon_why_point(int pid, struct mon_why_point *out);

/* How often each state was seen, over the points sampled in between. */
struct mon_why_states {
    unsigned running;  /* R: on a CPU or waiting for one */
    unsigned disk;     /* D: uninterruptible sleep, in practice block IO */
    unsigned sleeping; /* S and I: waiting for an event */
    unsigned other;    /* anything else: T, t, Z, X, ... */
};

/* [MON-28] mon_why_tally - counts one state letter in its class above. */
void mon_why_tally(struct mon_why_states *s, char state);

/*
 * The thresholds of the verdict, as shares of the interval (0..1).
 */
#define MON_WHY_IO_MIN 0.2  /* waiting for block IO at least: IO */
#define MON_WHY_CPU_MIN 0.5 /* else busy (on CPU + waiting for one): CPU */

enum mon_why_verdict {
    MON_WHY_CPU = 1, /* it wants a CPU most of the time */
    MON_WHY_IO,      /* it waits for the disk a good part of the time */
    MON_WHY_OTHER,   /* neither: it waits on something else (a pipe, a
                        socket, a lock, a timer) or is idle */
};

/* A verdict and its evidence, each a share of the interval (0..1). */
struct mon_why {
    enum mon_why_verdict verdict;
    double cpu_share;       /* on a CPU */
    double runq_share;      /* runnable, waiting in a run queue */
    double io_share;        /* waiting for block IO */
    bool io_from_delayacct; /* io_share came from stat field 42; else
                               from the share of samples in state D */
    double sleep_share;     /* share of samples in S or I */
};

/*
 * mon_why_classify - what a process did between two points of it, with
 * the states tallied from the samples taken in between (the two points'
 * own states included, if the caller tallied them).
 * With t = cur->t_ns - prev->t_ns and n the number of states tallied:
 * [MON-29] cpu_share = d(run_ns) / t when both points have schedstat,
 * else (d(utime) + d(stime)) / ticks_per_s / (t in seconds);
 * runq_share = d(wait_ns) / t with schedstat, else 0. io_share =
 * d(blkio_ticks) / ticks_per_s / (t in seconds) when that increase is not
 * 0 (io_from_delayacct true), else disk / n. sleep_share = sleeping / n.
 * [MON-30] The verdict: MON_WHY_IO when io_share is at least
 * MON_WHY_IO_MIN (the disk is on its path: a faster CPU would not remove
 * that wait); else MON_WHY_CPU when cpu_share + runq_share is at least
 * MON_WHY_CPU_MIN (waiting for a CPU is wanting one); else MON_WHY_OTHER.
 * [MON-31] Returns 0; -EINVAL when the two are not the same process (pid
 * and starttime), cur is not later than prev, ticks_per_s is not
 * positive, or no state was tallied. *out is written only on success.
 */
int mon_why_classify(const struct mon_why_point *prev,
                     const struct mon_why_point *cur,
                     const struct mon_why_states *states, long ticks_per_s,
                     struct mon_why *out);

/*
 * A TCP connection's health, from getsockopt(TCP_INFO) (tcp(7); the
 * fields of struct tcp_info in <linux/tcp.h>): the network half of iftop,
 * per connection.
 */
struct mon_tcp {
    uint8_t state;          /* TCP_ESTABLISHED, ... (netinet/tcp.h) */
    uint32_t rtt_us;        /* smoothed round-trip time, microseconds */
    uint32_t rttvar_us;     /* its variation */
    uint32_t total_retrans; /* segments retransmitted over the connection */
    uint32_t snd_cwnd;      /* congestion window, in segments */
    uint32_t unacked;       /* segments sent and not yet acknowledged */
    uint64_t bytes_acked;   /* bytes the peer acknowledged */
    uint32_t notsent_bytes; /* bytes written but not yet sent: the peer's
                               window or the congestion window is shut */
};

/*
 * mon_tcp_info - reads TCP_INFO of the connected TCP socket fd.
 * [MON-32] Returns 0 with every field of *out from the kernel's struct
 * tcp_info (tcpi_state, tcpi_rtt, tcpi_rttvar, tcpi_total_retrans,
 * tcpi_snd_cwnd, tcpi_unacked, tcpi_bytes_acked, tcpi_notsent_bytes).
 * [MON-33] Returns -errno from getsockopt, and leaves *out untouched, when
 * fd is not a TCP socket (-ENOTSOCK for a descriptor that is no socket).
 */
int mon_tcp_info(int fd, struct mon_tcp *out);

#endif /* IOLAB_MON_H */
