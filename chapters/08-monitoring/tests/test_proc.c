/*
 * test_proc.c - exercise 3 of chapter 08: per-process IO.
 *
 * The parsers are fed recorded files written here. The live tests start a
 * child that does a known amount of IO when told to (through a pipe, so
 * nothing depends on timing) and read its files before and after: what
 * the child did is known to the byte, so the counters' increases are too.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/testkit.h"
#include "mon.h"
#include "oracle.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * A stat line for pid 4242 named comm: field n holds 1000 + n, except
 * field 3 (the state, 'D') and the ones given. 52 fields, as 6.x prints.
 */
static void
make_stat(char *buf, size_t cap, const char *comm, int nfields)
{
    int off = snprintf(buf, cap, "4242 (%s) D", comm);
    for (int n = 4; n <= nfields; n++)
        off += snprintf(buf + off, cap - (size_t)off, " %d",
                        n == 19 ? -5 : 1000 + n); /* 19: nice, signed */
    snprintf(buf + off, cap - (size_t)off, "\n");
}

static const char *io_text = "rchar: 1000\n"
                             "wchar: 2000\n"
                             "syscr: 30\n"
                             "syscw: 40\n"
                             "read_bytes: 4096\n"
                             "write_bytes: 8192\n"
                             "cancelled_write_bytes: 512\n";

/* A child that, for each byte it reads on cmd, writes `chunk` bytes to
 * /dev/null `count` times, then answers on done. Exits at EOF on cmd.
 * An undumpable one makes itself so (prctl(2), PR_SET_DUMPABLE) before
 * its first answer: its /proc/PID/io is then closed to other processes
 * of its user that lack CAP_SYS_PTRACE (proc(5), "/proc/pid/io"; the
 * check is ptrace_may_access, Documentation/filesystems/proc.rst). */
struct child {
    pid_t pid;
    int cmd, done;
};

static struct child
start_child(size_t chunk, int count, bool undumpable)
{
    int c[2], d[2];
    tk_pipe(c);
    tk_pipe(d);
    char *buf = tk_xmalloc(chunk); /* before fork: the child only writes */
    memset(buf, 'w', chunk);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(null, 0, "open /dev/null: %s", strerror(errno));

    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char b;
        close(c[1]);
        close(d[0]);
        if (undumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
            _exit(1);
        while (read(c[0], &b, 1) == 1) {
            for (int i = 0; i < count; i++)
                if (write(null, buf, chunk) != (ssize_t)chunk)
                    _exit(1);
            if (write(d[1], "k", 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(c[0]);
    close(d[1]);
    close(null);
    free(buf);
    return (struct child){.pid = pid, .cmd = c[1], .done = d[0]};
}

static struct child
start_writer(size_t chunk, int count)
{
    return start_child(chunk, count, false);
}

static void
child_round(struct child *ch)
{
    char b = 'g';
    tk_write_all(ch->cmd, &b, 1);
    cr_assert_eq(tk_read_exact(ch->done, &b, 1, 20000), 1,
                 "the child did not finish its writes");
}

static void
stop_child(struct child *ch)
{
    int status;
    close(ch->cmd);
    close(ch->done);
    cr_assert_eq(waitpid(ch->pid, &status, 0), ch->pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child failed (status 0x%x)", status);
}

static struct mon_proc
read_proc(int pid)
{
    struct mon_proc p;
    int rc = mon_proc_read(pid, &p);
    cr_assert_eq(rc, 0, "mon_proc_read(%d) returned %d", pid, rc);
    return p;
}

/* ---- parsing ------------------------------------------------------------ */

TK_TEST(proc, parse_stat_comm,
        .description = "[MON-20] comm up to the last ')', fields counted "
                       "after it")
{
    char line[1024];
    const char *names[] = {"kvd", "a b", "x) (y", "(", ")", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mon_proc p = {0};
        make_stat(line, sizeof(line), names[i], 52);
        int rc = mon_proc_parse_stat(line, &p);
        cr_assert_eq(rc, 0, "comm \"%s\": returned %d, expected 0", names[i],
                     rc);
        cr_assert_str_eq(p.comm, names[i], "comm \"%s\" read as \"%s\"",
                         names[i], p.comm);
        cr_assert_eq(p.pid, 4242);
        cr_assert_eq(p.state, 'D', "state '%c', expected 'D'", p.state);
        cr_assert(p.utime == 1014 && p.stime == 1015 && p.starttime == 1022 &&
                      p.blkio_ticks == 1042,
                  "comm \"%s\": utime %llu stime %llu starttime %llu blkio "
                  "%llu, expected fields 14, 15, 22, 42 (1014, 1015, 1022, "
                  "1042)",
                  names[i], (unsigned long long)p.utime,
                  (unsigned long long)p.stime, (unsigned long long)p.starttime,
                  (unsigned long long)p.blkio_ticks);
    }

    /* Exactly 42 fields is enough; 41 is not. */
    struct mon_proc p = {0};
    make_stat(line, sizeof(line), "k", 42);
    cr_assert_eq(mon_proc_parse_stat(line, &p), 0, "42 fields refused");
    const char *bad[] = {"", "4242 kvd S 1 2 3", "4242 (kvd S 1 2 3",
                         "4242 (kvd) 1 2 3"};
    make_stat(line, sizeof(line), "k", 41);
    struct mon_proc keep, q;
    memset(&keep, 0x3c, sizeof(keep));
    q = keep;
    cr_assert_eq(mon_proc_parse_stat(line, &q), -EINVAL,
                 "41 fields: expected -EINVAL");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(mon_proc_parse_stat(bad[i], &q), -EINVAL,
                     "\"%s\": expected -EINVAL", bad[i]);
    cr_assert(memcmp(&q, &keep, sizeof(q)) == 0,
              "a refused stat line changed *out");
}

TK_TEST(proc, parse_io_keys,
        .description = "[MON-21] seven keys in any order, all required")
{
    struct mon_proc p = {0};
    int rc = mon_proc_parse_io(io_text, &p);
    cr_assert_eq(rc, 0, "returned %d, expected 0", rc);
    cr_assert(p.has_io, "has_io not set");
    cr_assert(p.rchar == 1000 && p.wchar == 2000 && p.syscr == 30 &&
                  p.syscw == 40 && p.read_bytes == 4096 &&
                  p.write_bytes == 8192 && p.cancelled_write_bytes == 512,
              "a field landed in the wrong place");

    /* Reversed, with an unknown key, no final newline. */
    struct mon_proc r = {0};
    rc = mon_proc_parse_io("cancelled_write_bytes: 7\nwrite_bytes: 6\n"
                           "future_key: 99\nread_bytes: 5\nsyscw: 4\n"
                           "syscr: 3\nwchar: 2\nrchar: 1",
                           &r);
    cr_assert_eq(rc, 0, "reordered: returned %d", rc);
    cr_assert(r.rchar == 1 && r.wchar == 2 && r.cancelled_write_bytes == 7,
              "reordered keys misread");

    struct mon_proc keep, q;
    memset(&keep, 0x3c, sizeof(keep));
    q = keep;
    const char *bad[] = {
        "",
        "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\n"
        "write_bytes: 6\n", /* cancelled_write_bytes missing */
        "rchar: 1\nwchar: x\nsyscr: 3\nsyscw: 4\nread_bytes: 5\n"
        "write_bytes: 6\ncancelled_write_bytes: 7\n",
        "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\n"
        "write_bytes: -6\ncancelled_write_bytes: 7\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(mon_proc_parse_io(bad[i], &q), -EINVAL,
                     "io text %zu: expected -EINVAL", i);
    cr_assert(memcmp(&q, &keep, sizeof(q)) == 0,
              "a refused io text changed *out");
}

/* ---- live --------------------------------------------------------------- */

TK_TEST(proc, child_writes_counted,
        .description = "[MON-22] [MON-23] a child's writes show in wchar and "
                       "syscw")
{
    enum { CHUNK = 4096, COUNT = 64 };
    struct child ch = start_writer(CHUNK, COUNT);
    struct mon_proc a = read_proc(ch.pid);
    cr_assert(a.has_io, "our own child's io file was not read");
    cr_assert_eq(a.pid, ch.pid);
    child_round(&ch);
    struct mon_proc b = read_proc(ch.pid);

    /* The child's own pipe write adds 1 byte and one call. */
    uint64_t dw = b.wchar - a.wchar, dc = b.syscw - a.syscw;
    cr_assert_eq(dw, (uint64_t)CHUNK * COUNT + 1,
                 "wchar grew by %llu, expected %d (64 writes of 4096 and the "
                 "1-byte answer)",
                 (unsigned long long)dw, CHUNK * COUNT + 1);
    cr_assert_eq(dc, (uint64_t)COUNT + 1, "syscw grew by %llu, expected %d",
                 (unsigned long long)dc, COUNT + 1);
    cr_assert_eq(b.starttime, a.starttime, "starttime moved");

    struct mon_proc_rates r;
    int rc = mon_proc_rates(&a, &b, 500, 100, &r);
    cr_assert_eq(rc, 0, "mon_proc_rates returned %d", rc);
    cr_assert(fabs(r.wchar_s - 2.0 * (CHUNK * COUNT + 1)) < 1e-6,
              "wchar/s over 500 ms is %g, expected %d", r.wchar_s,
              2 * (CHUNK * COUNT + 1));
    /* /dev/null is no storage: nothing dirtied. */
    cr_assert(r.write_bytes_s == 0, "write_bytes/s %g for /dev/null",
              r.write_bytes_s);
    stop_child(&ch);
}

TK_TEST(proc, rates_and_refusals,
        .description = "[MON-23] rates per second; another process or no io "
                       "refused")
{
    struct mon_proc a = {0}, b;
    cr_assert_eq(mon_proc_parse_io(io_text, &a), 0);
    a.pid = 77, a.starttime = 500, a.utime = 100, a.stime = 50;
    b = a;
    b.rchar += 3000, b.read_bytes += 8192, b.write_bytes += 4096;
    b.cancelled_write_bytes += 4096, b.utime += 30, b.stime += 20;

    /* 2000 ms, 100 ticks/s: 50 ticks of CPU = 0.5 s in 2 s = 25%. */
    struct mon_proc_rates r;
    int rc = mon_proc_rates(&a, &b, 2000, 100, &r);
    cr_assert_eq(rc, 0, "returned %d", rc);
    cr_assert(r.rchar_s == 1500 && r.read_bytes_s == 4096 &&
                  r.write_bytes_s == 2048 && r.cancelled_s == 2048,
              "rates %g %g %g %g, expected 1500 4096 2048 2048", r.rchar_s,
              r.read_bytes_s, r.write_bytes_s, r.cancelled_s);
    cr_assert(fabs(r.cpu_pct - 25.0) < 1e-9, "cpu %g%%, expected 25",
              r.cpu_pct);

    struct mon_proc_rates keep;
    memset(&keep, 0x11, sizeof(keep));
    r = keep;
    struct mon_proc other = b;
    other.starttime = 501; /* the pid was reused */
    cr_assert_eq(mon_proc_rates(&a, &other, 2000, 100, &r), -EINVAL,
                 "a reused pid (another starttime): expected -EINVAL");
    other = b;
    other.pid = 78;
    cr_assert_eq(mon_proc_rates(&a, &other, 2000, 100, &r), -EINVAL,
                 "another pid: expected -EINVAL");
    cr_assert_eq(mon_proc_rates(&a, &b, 0, 100, &r), -EINVAL,
                 "interval 0: expected -EINVAL");
    other = b;
    other.has_io = false;
    cr_assert_eq(mon_proc_rates(&a, &other, 2000, 100, &r), -ENODATA,
                 "no io fields: expected -ENODATA (-61)");
    cr_assert(memcmp(&r, &keep, sizeof(r)) == 0,
              "a refused mon_proc_rates changed *out");
}

TK_TEST(proc, exited_process_is_esrch,
        .description = "[MON-22] a process that is gone is -ESRCH")
{
    struct child ch = start_writer(1, 1);
    int pid = ch.pid;
    stop_child(&ch); /* exited and reaped: its pid is free */
    struct mon_proc p;
    memset(&p, 0, sizeof(p));
    int rc = mon_proc_read(pid, &p);
    cr_assert_eq(rc, -ESRCH,
                 "a reaped child: returned %d, expected -ESRCH "
                 "(-3)",
                 rc);

    /* Our own process reads whole. */
    struct mon_proc self = read_proc(getpid());
    cr_assert(self.has_io && self.state == 'R',
              "our own process: has_io %d, state '%c' (expected 'R')",
              self.has_io, self.state);
}

/*
 * Gives up this process's capabilities, effective and permitted
 * (capset(2)), so that a test run as root meets the permission checks a
 * student's account meets, and so do the children it forks next (a
 * process may read another's io file only with every capability that one
 * has: capabilities(7), the ptrace access mode checks of ptrace(2)).
 */
static void
drop_caps(void)
{
    struct __user_cap_header_struct hdr = {.version =
                                               _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2];
    cr_assert_eq(syscall(SYS_capget, &hdr, data), 0, "capget: %s",
                 strerror(errno));
    for (int i = 0; i < 2; i++)
        data[i].effective = data[i].permitted = data[i].inheritable = 0;
    cr_assert_eq(syscall(SYS_capset, &hdr, data), 0, "capset: %s",
                 strerror(errno));
}

TK_TEST(proc, unreadable_io_is_no_error,
        .description = "[MON-22] an io file closed to us (EACCES) reads as "
                       "has_io false, the scan goes on")
{
    drop_caps();
    struct child open_ch = start_writer(1, 1);
    struct child shut = start_child(1, 1, true);
    child_round(&shut); /* it answers after it made itself undumpable */

    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/io", (int)shut.pid);
    int err = mon_read_text(path, buf, sizeof(buf));
    if (err != -EACCES)
        tk_skip("an undumpable process's io file reads here (%s): this "
                "test needs it closed",
                err == 0 ? "no error" : strerror(-err));

    /* A scan over three processes: ours, an open child, a closed one. */
    int pids[] = {getpid(), open_ch.pid, shut.pid};
    struct mon_proc seen[3];
    for (int i = 0; i < 3; i++) {
        memset(&seen[i], 0x5a, sizeof(seen[i]));
        int rc = mon_proc_read(pids[i], &seen[i]);
        cr_assert_eq(rc, 0,
                     "mon_proc_read(%d) returned %d, expected 0 (%s): a "
                     "process whose io file is closed to us is still a "
                     "process to report",
                     pids[i], rc, i == 2 ? "its io file says EACCES" : "open");
        cr_assert_eq(seen[i].pid, pids[i], "pid %d read as %d", pids[i],
                     seen[i].pid);
    }
    cr_assert(seen[0].has_io && seen[1].has_io,
              "the readable io files were not read");
    cr_assert(!seen[2].has_io,
              "has_io is true for a process whose io file said EACCES: its "
              "counters are unknown, not 0");
    cr_assert_str_eq(seen[2].comm, seen[1].comm,
                     "the closed child's stat was not read (comm \"%s\", its "
                     "open twin has \"%s\")",
                     seen[2].comm, seen[1].comm);
    cr_assert(seen[2].starttime >= seen[0].starttime,
              "the closed child's starttime %llu is before ours (%llu)",
              (unsigned long long)seen[2].starttime,
              (unsigned long long)seen[0].starttime);

    /* Its rates are not known: -ENODATA, not zeros. */
    struct mon_proc again = read_proc(shut.pid);
    struct mon_proc_rates r;
    int rc = mon_proc_rates(&seen[2], &again, 1000, 100, &r);
    cr_assert_eq(rc, -ENODATA,
                 "rates of the closed child: returned %d, expected "
                 "-ENODATA (-61)",
                 rc);
    stop_child(&shut);
    stop_child(&open_ch);
}

/* ---- the real tool ------------------------------------------------------ */

TK_TEST(proc, pidstat_agrees_on_same_counters,
        .description = "[MON-20] [MON-21] [MON-23] pidstat -d -u reads the "
                       "same counters and prints the same rates, where "
                       "pidstat is installed")
{
    /*
     * A live child, so that pidstat finds /proc/PID; its stat and io files
     * are recorded ones, shown to pidstat in place of the kernel's. Over
     * 10 s every column is exact at pidstat's 2 decimals.
     */
    struct child ch = start_writer(1, 1);
    char stat[512];
    snprintf(stat, sizeof(stat),
             "%d (iolab child) S 1 1 1 0 -1 4194304 131 0 1 0 250 150 0 0 "
             "20 0 1 0 500 2990080 413 18446744073709551615 1 1 0 0 0 0 0 0 "
             "0 0 0 0 17 1 0 0 37 0 0 0 0 0 0 0 0 0 0\n",
             (int)ch.pid);
    const char *io = "rchar: 7000000\nwchar: 9000000\nsyscr: 300\n"
                     "syscw: 400\nread_bytes: 1024000\nwrite_bytes: 3072000\n"
                     "cancelled_write_bytes: 512000\n";

    struct mon_proc cur = {0};
    int rc = mon_proc_parse_stat(stat, &cur);
    cr_assert_eq(rc, 0, "mon_proc_parse_stat returned %d on:\n%s", rc, stat);
    rc = mon_proc_parse_io(io, &cur);
    cr_assert_eq(rc, 0, "mon_proc_parse_io returned %d on:\n%s", rc, io);
    /* Since boot: every counter was 0 when the uptime was 0. */
    struct mon_proc zero = {
        .pid = cur.pid, .starttime = cur.starttime, .has_io = true};
    struct mon_proc_rates r;
    rc = mon_proc_rates(&zero, &cur, 10000, sysconf(_SC_CLK_TCK), &r);
    cr_assert_eq(rc, 0, "mon_proc_rates returned %d", rc);

    const char *tool = mont_tool("pidstat");
    if (tool == NULL) {
        stop_child(&ch);
        tk_skip("pidstat is not available (Debian: apt-get install sysstat; "
                "grader/deps.sh --oracles)");
    }
    /* With no interval pidstat reports since boot: the counters over the
     * uptime, which it reads from /proc/uptime. */
    char stat_path[64], io_path[64], pid[16];
    snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)ch.pid);
    snprintf(io_path, sizeof(io_path), "/proc/%d/io", (int)ch.pid);
    snprintf(pid, sizeof(pid), "%d", (int)ch.pid);
    struct mont_file files[] = {{"uptime", "10.00 20.00\n", "/proc/uptime"},
                                {"stat", stat, stat_path},
                                {"io", io, io_path}};
    struct mont_want want[] = {
        {"kB_rd/s", r.read_bytes_s / 1024},
        {"kB_wr/s", r.write_bytes_s / 1024},
        {"kB_ccwr/s", r.cancelled_s / 1024},
        {"iodelay", (double)(cur.blkio_ticks - zero.blkio_ticks)},
        {"%CPU", r.cpu_pct}};
    const char *argv[] = {tool, "-d", "-u", "-p", pid, NULL};
    mont_sysstat_agrees(argv, files, 3, pid, want, 5);
    stop_child(&ch); /* alive until pidstat has read its files */
}
