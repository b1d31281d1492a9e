/*
 * test_why.c - exercise 4 of chapter 08: is it IO or CPU?
 *
 * The parsers are fed recorded text, the verdict hand-made points whose
 * shares are known exactly. The live tests start three children whose
 * nature is known (one spins, one reads 4 MiB at a time with O_DIRECT so
 * that every read waits long for the device, one blocks on a pipe nobody
 * writes) and sample them: each child spends nearly all of its time in
 * one state, so the verdict holds on a loaded machine and under Valgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/testkit.h"
#include "mon.h"

/* ---- helpers ------------------------------------------------------------ */

#define SAMPLE_MS 400 /* how long a live test watches its child */
#define SAMPLES 40    /* and at least this many looks */

static void
expect_share(const char *what, double got, double want)
{
    cr_assert(fabs(got - want) < 1e-9, "%s is %g, expected %g", what, got,
              want);
}

/* Two points of process 9 taken 2 s apart, the second built by the test. */
static struct mon_why_point
base_point(void)
{
    return (struct mon_why_point){.pid = 9,
                                  .starttime = 1234,
                                  .state = 'R',
                                  .utime = 1000,
                                  .stime = 500,
                                  .blkio_ticks = 70,
                                  .has_sched = true,
                                  .sched = {5000000000, 3000000000, 10},
                                  .t_ns = 8000000000};
}

static const char *
verdict_name(enum mon_why_verdict v)
{
    return v == MON_WHY_CPU     ? "CPU"
           : v == MON_WHY_IO    ? "IO"
           : v == MON_WHY_OTHER ? "OTHER"
                                : "(not a verdict)";
}

/* Watches pid for SAMPLE_MS and at least SAMPLES looks; its verdict. */
static struct mon_why
watch(pid_t pid)
{
    struct mon_why_point a, p;
    struct mon_why_states st = {0};
    int rc = mon_why_point(pid, &a);
    cr_assert_eq(rc, 0, "mon_why_point(%d) returned %d", pid, rc);
    mon_why_tally(&st, a.state);
    long long end = tk_now_ms() + SAMPLE_MS;
    for (int n = 1; n < SAMPLES || tk_now_ms() < end; n++) {
        tk_nap_ms(2);
        rc = mon_why_point(pid, &p);
        cr_assert_eq(rc, 0, "mon_why_point(%d) returned %d", pid, rc);
        mon_why_tally(&st, p.state);
    }
    struct mon_why w;
    rc = mon_why_classify(&a, &p, &st, sysconf(_SC_CLK_TCK), &w);
    cr_assert_eq(rc, 0, "mon_why_classify returned %d", rc);
    return w;
}

static void
expect_verdict(const struct mon_why *w, enum mon_why_verdict want,
               const char *child)
{
    cr_assert_eq(w->verdict, want,
                 "%s: verdict %s, expected %s (cpu %.2f runq %.2f io %.2f "
                 "sleep %.2f)",
                 child, verdict_name(w->verdict), verdict_name(want),
                 w->cpu_share, w->runq_share, w->io_share, w->sleep_share);
}

static void
end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

/* ---- parsing ------------------------------------------------------------ */

TK_TEST(why, parse_schedstat,
        .description = "[MON-24] run, wait, slices; anything else refused")
{
    struct mon_sched s = {0};
    int rc = mon_sched_parse("5741571 4768823 2\n", &s);
    cr_assert_eq(rc, 0, "returned %d, expected 0", rc);
    cr_assert(s.run_ns == 5741571 && s.wait_ns == 4768823 && s.slices == 2,
              "read %llu %llu %llu, expected run 5741571, wait 4768823, "
              "slices 2",
              (unsigned long long)s.run_ns, (unsigned long long)s.wait_ns,
              (unsigned long long)s.slices);
    cr_assert_eq(mon_sched_parse("18446744073709551615 0 7", &s), 0,
                 "no newline, UINT64_MAX: refused");
    cr_assert(s.run_ns == UINT64_MAX && s.wait_ns == 0 && s.slices == 7);

    struct mon_sched keep, q;
    memset(&keep, 0x5a, sizeof(keep));
    q = keep;
    const char *bad[] = {"",
                         "1 2",
                         "1 2 3 4\n",
                         "1 2 3\n\n",
                         "1  2 3\n",
                         " 1 2 3\n",
                         "1 -2 3\n",
                         "1 2 x\n",
                         "1 2 3 \n",
                         "1\t2\t3\n",
                         "18446744073709551616 0 0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(mon_sched_parse(bad[i], &q), -EINVAL,
                     "\"%s\": expected -EINVAL", bad[i]);
    cr_assert(memcmp(&q, &keep, sizeof(q)) == 0,
              "a refused schedstat changed *out");
}

TK_TEST(why, parse_psi,
        .description = "[MON-25] some and full, each to its own member, in "
                       "either order")
{
    struct mon_psi p;
    int rc = mon_psi_parse(
        "some avg10=75.06 avg60=36.64 avg300=14.47 total=19341010549\n"
        "full avg10=1.50 avg60=0.25 avg300=0.00 total=42456212\n",
        &p);
    cr_assert_eq(rc, 0, "returned %d, expected 0", rc);
    cr_assert(p.has_full, "has_full not set");
    cr_assert(fabs(p.some.avg10 - 75.06) < 1e-9 &&
                  fabs(p.some.avg60 - 36.64) < 1e-9 &&
                  fabs(p.some.avg300 - 14.47) < 1e-9 &&
                  p.some.total_us == 19341010549ULL,
              "some read as %g %g %g %llu, expected 75.06 36.64 14.47 "
              "19341010549",
              p.some.avg10, p.some.avg60, p.some.avg300,
              (unsigned long long)p.some.total_us);
    cr_assert(fabs(p.full.avg10 - 1.5) < 1e-9 &&
                  fabs(p.full.avg60 - 0.25) < 1e-9 && p.full.avg300 == 0 &&
                  p.full.total_us == 42456212,
              "full read as %g %g %g %llu, expected 1.5 0.25 0 42456212",
              p.full.avg10, p.full.avg60, p.full.avg300,
              (unsigned long long)p.full.total_us);

    /* full first, no final newline: each still goes to its own member. */
    rc = mon_psi_parse("full avg10=2.00 avg60=3.00 avg300=4.00 total=5\n"
                       "some avg10=6.00 avg60=7.00 avg300=8.00 total=9",
                       &p);
    cr_assert_eq(rc, 0, "full first: returned %d", rc);
    cr_assert(p.some.avg10 == 6 && p.some.total_us == 9 && p.full.avg10 == 2 &&
                  p.full.total_us == 5,
              "full first: some %g/%llu full %g/%llu, expected 6/9 and 2/5",
              p.some.avg10, (unsigned long long)p.some.total_us, p.full.avg10,
              (unsigned long long)p.full.total_us);

    /* cpu before 5.13: "some" alone. */
    memset(&p, 0x5a, sizeof(p));
    rc = mon_psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p);
    cr_assert_eq(rc, 0, "some alone: returned %d", rc);
    cr_assert(!p.has_full && p.some.total_us == 0, "some alone: has_full %d",
              p.has_full);

    struct mon_psi keep, q;
    memset(&keep, 0x3c, sizeof(keep));
    q = keep;
    const char *bad[] = {
        "",
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", /* no some */
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", /* twice */
        "some avg10=0.00 avg60=0.00 total=0\n",
        "some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n",
        "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=1. avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 more\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\n",
        "half avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(mon_psi_parse(bad[i], &q), -EINVAL,
                     "pressure text %zu: expected -EINVAL", i);
    cr_assert(memcmp(&q, &keep, sizeof(q)) == 0,
              "a refused pressure text changed *out");
}

TK_TEST(why, psi_files_missing_malformed_live,
        .description = "[MON-26] an absent file is -ENOENT, not available; "
                       "the live files parse")
{
    const char *dir = tk_tmpdir();
    char *cpu = tk_make_file(
        "cpu", "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n", 48);
    char *mem = tk_make_file("memory", "some avg10=oops\n", 16);
    free(cpu);
    free(mem);

    struct mon_psi p, keep;
    memset(&keep, 0x3c, sizeof(keep));
    p = keep;
    int rc = mon_psi_read(dir, "io", &p);
    cr_assert_eq(rc, -ENOENT, "absent io file: returned %d, expected -ENOENT",
                 rc);
    rc = mon_psi_read(dir, "memory", &p);
    cr_assert_eq(rc, -EINVAL,
                 "malformed memory file: returned %d, expected "
                 "-EINVAL",
                 rc);
    cr_assert(memcmp(&p, &keep, sizeof(p)) == 0, "a refused read changed *out");
    rc = mon_psi_read(dir, "cpu", &p);
    cr_assert_eq(rc, 0, "cpu file: returned %d", rc);
    cr_assert(p.some.avg300 == 3 && p.some.total_us == 4 && !p.has_full,
              "cpu file misread");

    /* The machine's own: there or not, never an error. */
    const char *res[] = {"cpu", "io", "memory"};
    for (size_t i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/pressure/%s", res[i]);
        rc = mon_psi_read(NULL, res[i], &p);
        if (access(path, R_OK) != 0) {
            cr_assert_eq(rc, -ENOENT,
                         "%s is absent: returned %d, expected "
                         "-ENOENT",
                         path, rc);
            continue;
        }
        if (rc == -ENOENT)
            continue; /* there, but the kernel was booted with psi=0 */
        cr_assert_eq(rc, 0, "%s: returned %d", path, rc);
        cr_assert(p.some.avg10 >= 0 && p.some.avg10 <= 100 &&
                      p.some.avg300 <= 100,
                  "%s: avg10 %g is not a percentage", path, p.some.avg10);
    }
}

/* ---- the verdict over hand-made points ---------------------------------- */

TK_TEST(why, tally_states,
        .description = "[MON-28] R, D, S and I, everything else")
{
    struct mon_why_states s = {0};
    const char *seen = "RRRDDSSSSIZTtXW?";
    for (const char *c = seen; *c != '\0'; c++)
        mon_why_tally(&s, *c);
    cr_assert(s.running == 3 && s.disk == 2 && s.sleeping == 5 && s.other == 6,
              "tallied R %u D %u S/I %u other %u, expected 3 2 5 6", s.running,
              s.disk, s.sleeping, s.other);
}

TK_TEST(why, shares_over_the_points_interval,
        .description = "[MON-29] shares of the points' own interval, "
                       "schedstat first, field 42 when it moved")
{
    struct mon_why_point a = base_point(), b = a;
    struct mon_why_states st = {.running = 1, .disk = 1, .sleeping = 2};
    struct mon_why w;

    /* 2 s; 1 s on a CPU, 0.5 s in a run queue; no blkio: 1 D in 4. */
    b.t_ns += 2000000000;
    b.sched.run_ns += 1000000000;
    b.sched.wait_ns += 500000000;
    b.utime += 7; /* ignored while schedstat is there */
    b.stime += 3;
    int rc = mon_why_classify(&a, &b, &st, 100, &w);
    cr_assert_eq(rc, 0, "returned %d", rc);
    expect_share("cpu_share (1 s of run time in 2 s)", w.cpu_share, 0.5);
    expect_share("runq_share (0.5 s of wait in 2 s)", w.runq_share, 0.25);
    expect_share("io_share (1 sample in D of 4, no field 42)", w.io_share,
                 0.25);
    cr_assert(!w.io_from_delayacct, "io_from_delayacct set, field 42 did "
                                    "not move");
    expect_share("sleep_share (2 samples of 4)", w.sleep_share, 0.5);

    /* Field 42 moved 40 ticks at 100/s: 0.4 s of 2 s. */
    b.blkio_ticks += 40;
    rc = mon_why_classify(&a, &b, &st, 100, &w);
    cr_assert_eq(rc, 0, "returned %d", rc);
    expect_share("io_share (40 ticks of field 42 in 2 s at 100/s)", w.io_share,
                 0.2);
    cr_assert(w.io_from_delayacct, "io_from_delayacct not set");

    /* Without schedstat: user and system ticks, 150 in 2 s at 250/s. */
    b = a;
    b.t_ns += 2000000000;
    b.utime += 50;
    b.stime += 100;
    b.has_sched = false;
    rc = mon_why_classify(&a, &b, &st, 250, &w);
    cr_assert_eq(rc, 0, "returned %d", rc);
    expect_share("cpu_share (50 user + 100 system ticks at 250/s in 2 s)",
                 w.cpu_share, 0.3);
    expect_share("runq_share without schedstat", w.runq_share, 0);
}

/* A pair of points 1 s apart with these shares; the verdict. */
static enum mon_why_verdict
verdict_of(double run, double wait, unsigned disk, unsigned n)
{
    struct mon_why_point a = base_point(), b = a;
    struct mon_why_states st = {.disk = disk, .sleeping = n - disk};
    struct mon_why w;
    b.t_ns += 1000000000;
    b.sched.run_ns += (uint64_t)(run * 1e9);
    b.sched.wait_ns += (uint64_t)(wait * 1e9);
    int rc = mon_why_classify(&a, &b, &st, 100, &w);
    cr_assert_eq(rc, 0, "returned %d", rc);
    return w.verdict;
}

TK_TEST(why, verdict_thresholds,
        .description = "[MON-30] IO from 0.2 first, then CPU from 0.5 "
                       "busy, else neither")
{
    struct {
        double run, wait;
        unsigned disk, n;
        enum mon_why_verdict want;
        const char *why;
    } c[] = {
        {0.5, 0, 0, 10, MON_WHY_CPU, "0.5 on CPU: exactly the threshold"},
        {0.1, 0.4, 0, 10, MON_WHY_CPU, "0.1 on CPU, 0.4 waiting for one"},
        {0.25, 0.2, 0, 10, MON_WHY_OTHER, "0.45 busy, no IO"},
        {0.6, 0.3, 2, 10, MON_WHY_IO, "0.9 busy, 0.2 IO: IO comes first"},
        {0.7, 0, 1, 6, MON_WHY_CPU, "0.7 busy, 1 of 6 in D: below 0.2"},
        {0.1, 0, 1, 5, MON_WHY_IO, "0.2 IO: exactly the threshold"},
        {0.1, 0, 1, 6, MON_WHY_OTHER, "1 of 6 in D is below 0.2"},
        {0, 0, 0, 1, MON_WHY_OTHER, "idle"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        enum mon_why_verdict v =
            verdict_of(c[i].run, c[i].wait, c[i].disk, c[i].n);
        cr_assert_eq(v, c[i].want, "%s: verdict %s, expected %s", c[i].why,
                     verdict_name(v), verdict_name(c[i].want));
    }
}

TK_TEST(why, classify_refusals,
        .description = "[MON-31] another process, no interval, no ticks or "
                       "no sample refused")
{
    struct mon_why_point a = base_point(), b = a;
    struct mon_why_states st = {.running = 1}, none = {0};
    struct mon_why w, keep;
    memset(&keep, 0x11, sizeof(keep));
    w = keep;
    b.t_ns += 1000000000;

    struct mon_why_point other = b;
    other.starttime++;
    cr_assert_eq(mon_why_classify(&a, &other, &st, 100, &w), -EINVAL,
                 "a reused pid (another starttime): expected -EINVAL");
    other = b;
    other.pid++;
    cr_assert_eq(mon_why_classify(&a, &other, &st, 100, &w), -EINVAL,
                 "another pid: expected -EINVAL");
    cr_assert_eq(mon_why_classify(&a, &a, &st, 100, &w), -EINVAL,
                 "no time between the points: expected -EINVAL");
    cr_assert_eq(mon_why_classify(&b, &a, &st, 100, &w), -EINVAL,
                 "points in the wrong order: expected -EINVAL");
    cr_assert_eq(mon_why_classify(&a, &b, &st, 0, &w), -EINVAL,
                 "0 ticks per second: expected -EINVAL");
    cr_assert_eq(mon_why_classify(&a, &b, &none, 100, &w), -EINVAL,
                 "no state tallied: expected -EINVAL");
    cr_assert(memcmp(&w, &keep, sizeof(w)) == 0,
              "a refused mon_why_classify changed *out");
}

/* ---- live --------------------------------------------------------------- */

TK_TEST(why, point_live_and_gone,
        .description = "[MON-27] a live child's point; -ESRCH once it is "
                       "gone")
{
    int go[2];
    tk_pipe(go);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char b;
        close(go[1]);
        _exit(read(go[0], &b, 1) == 0 ? 0 : 1);
    }
    close(go[0]);
    cr_assert_eq(tk_wait_state(pid, 'S', 20000), 'S',
                 "the child never blocked on its pipe");
    struct mon_why_point p, q;
    int rc = mon_why_point(pid, &p);
    cr_assert_eq(rc, 0, "mon_why_point returned %d", rc);
    struct mon_proc st;
    cr_assert_eq(mon_proc_read(pid, &st), 0);
    cr_assert(p.pid == pid && p.state == 'S' && p.starttime == st.starttime,
              "pid %d state '%c' starttime %llu, expected %d 'S' %llu", p.pid,
              p.state, (unsigned long long)p.starttime, pid,
              (unsigned long long)st.starttime);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    cr_assert_eq(p.has_sched, access(path, R_OK) == 0,
                 "has_sched %d, but %s is %s", p.has_sched, path,
                 p.has_sched ? "absent" : "there");
    cr_assert(!p.has_sched || p.sched.slices >= 1,
              "a child that ran has %llu timeslices",
              (unsigned long long)p.sched.slices);
    rc = mon_why_point(pid, &q);
    cr_assert_eq(rc, 0);
    cr_assert_gt(q.t_ns, p.t_ns, "a later point's time is not later");
    long long now = tk_now_ns();
    cr_assert(q.t_ns <= (uint64_t)now && (uint64_t)now - q.t_ns < 60e9,
              "t_ns %llu is not CLOCK_MONOTONIC (now %lld)",
              (unsigned long long)q.t_ns, now);

    close(go[1]); /* EOF: the child exits */
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    memset(&q, 0x22, sizeof(q));
    struct mon_why_point keep = q;
    rc = mon_why_point(pid, &q);
    cr_assert_eq(rc, -ESRCH, "a reaped child: returned %d, expected -ESRCH",
                 rc);
    cr_assert(memcmp(&q, &keep, sizeof(q)) == 0,
              "a refused point changed *out");
}

TK_TEST(why, spinner_is_cpu,
        .description = "[MON-29] [MON-30] a child that spins is CPU-bound, "
                       "run queue wait included")
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0)
        for (volatile unsigned long n = 0;; n++)
            ;
    struct mon_why w = watch(pid);
    end_child(pid);
    expect_verdict(&w, MON_WHY_CPU, "a spinning child");
    cr_assert(w.io_share == 0 && w.sleep_share < 0.1,
              "a spinning child: io %.2f sleep %.2f", w.io_share,
              w.sleep_share);
}

#define DIRECT_BLOCK (1 << 20) /* one read: one long wait for the device */
#define DIRECT_BLOCKS 16

TK_TEST(why, direct_reader_is_io,
        .description = "[MON-29] [MON-30] a child reading with O_DIRECT is "
                       "IO-bound")
{
    struct statfs fs;
    cr_assert_eq(statfs(tk_tmpdir(), &fs), 0);
    if (fs.f_type == TMPFS_MAGIC)
        tk_skip("TMPDIR is on tmpfs: there is no device to wait for");
    char *path = tk_path("blocks");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    char *buf = tk_xmalloc(DIRECT_BLOCK);
    for (int i = 0; i < DIRECT_BLOCKS; i++) {
        tk_fill(buf, DIRECT_BLOCK, (uint64_t)i);
        cr_assert_eq(pwrite(fd, buf, DIRECT_BLOCK, (off_t)i * DIRECT_BLOCK),
                     DIRECT_BLOCK);
    }
    free(buf);
    cr_assert_eq(fsync(fd), 0, "fsync: %s", strerror(errno));
    close(fd);
    fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd == -1 && errno == EINVAL)
        tk_skip("TMPDIR's filesystem refuses O_DIRECT");
    cr_assert_geq(fd, 0, "open O_DIRECT: %s", strerror(errno));
    free(path);

    /*
     * Each read bypasses the cache and waits for the device: state D. The
     * child splices (file to pipe to /dev/null) instead of reading into
     * its memory: under Valgrind, memcheck's bookkeeping of every byte
     * read into memory would make it look busy. A 1 MiB pipe makes each
     * splice one 1 MiB direct read.
     */
    int ready[2], pp[2];
    tk_pipe(ready);
    tk_pipe(pp);
    fcntl(pp[1], F_SETPIPE_SZ, DIRECT_BLOCK); /* 64 KiB if refused */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(null, 0, "open /dev/null: %s", strerror(errno));
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (unsigned i = 0;; i = i * 5 + 1) {
            loff_t off = (loff_t)(i % DIRECT_BLOCKS) * DIRECT_BLOCK;
            ssize_t n = splice(fd, &off, pp[1], NULL, DIRECT_BLOCK, 0);
            if (n <= 0)
                _exit(2);
            while (n > 0) {
                ssize_t m = splice(pp[0], NULL, null, NULL, (size_t)n, 0);
                if (m <= 0)
                    _exit(3);
                n -= m;
            }
        }
    }
    close(fd);
    close(null);
    close(pp[0]);
    close(pp[1]);
    char b;
    cr_assert_eq(tk_read_exact(ready[0], &b, 1, 20000), 1,
                 "the reader did not start");
    struct mon_why w = watch(pid);
    end_child(pid);
    close(ready[0]);
    close(ready[1]);
    expect_verdict(&w, MON_WHY_IO, "a child reading with O_DIRECT");
}

TK_TEST(why, pipe_reader_is_other,
        .description = "[MON-29] [MON-30] a child blocked on a pipe is "
                       "neither CPU- nor IO-bound")
{
    int p[2];
    tk_pipe(p);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char b;
        _exit(read(p[0], &b, 1) == 1 ? 0 : 1);
    }
    cr_assert_eq(tk_wait_state(pid, 'S', 20000), 'S',
                 "the child never blocked on its pipe");
    struct mon_why w = watch(pid);
    end_child(pid);
    close(p[0]);
    close(p[1]);
    expect_verdict(&w, MON_WHY_OTHER, "a child blocked on a pipe");
    cr_assert(w.sleep_share > 0.9, "a child blocked on a pipe: sleep %.2f",
              w.sleep_share);
}

/* ---- TCP_INFO ------------------------------------------------------------ */

TK_TEST(why, tcp_info_backlog,
        .description = "[MON-32] [MON-33] a sender to a peer that does not "
                       "read: bytes acked, then bytes not sent")
{
    unsigned short port;
    int lfd = tk_listen_tcp(&port);
    int reader = tk_connect_tcp_rcvbuf(port, 4096); /* never reads */
    int sender = accept(lfd, NULL, NULL);
    cr_assert_geq(sender, 0, "accept: %s", strerror(errno));
    close(lfd);

    struct mon_tcp t;
    int rc = mon_tcp_info(sender, &t);
    cr_assert_eq(rc, 0, "mon_tcp_info on a fresh connection returned %d", rc);
    cr_assert_eq(t.state, TCP_ESTABLISHED, "state %u, expected %d", t.state,
                 TCP_ESTABLISHED);
    cr_assert(t.notsent_bytes == 0 && t.snd_cwnd > 0,
              "a fresh connection: notsent %u cwnd %u", t.notsent_bytes,
              t.snd_cwnd);

    /* Write until the send buffer is full: the peer's window shut long
     * before, so what the kernel holds is mostly not yet sent. */
    enum { CHUNK = 16384 };
    char *buf = tk_xmalloc(CHUNK);
    memset(buf, 'x', CHUNK);
    int fl = fcntl(sender, F_GETFL);
    cr_assert_eq(fcntl(sender, F_SETFL, fl | O_NONBLOCK), 0);
    uint64_t written = 0;
    for (;;) {
        ssize_t n = write(sender, buf, CHUNK);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        cr_assert_gt(n, 0, "write: %s", strerror(errno));
        written += (uint64_t)n;
    }
    free(buf);
    /* The peer's acknowledgements of what its buffer took arrive on
     * loopback within the write calls; the last ones may still be on
     * their way: wait for the count to settle. */
    struct mon_tcp u = {0};
    for (int tries = 0; tries < 200; tries++) {
        rc = mon_tcp_info(sender, &u);
        cr_assert_eq(rc, 0, "mon_tcp_info returned %d", rc);
        if (u.notsent_bytes > 0 && u.bytes_acked > 0)
            break;
        tk_nap_ms(10);
    }
    cr_assert(u.bytes_acked > 0 && u.bytes_acked < written,
              "bytes_acked %llu of %llu written: the peer took some and "
              "shut its window",
              (unsigned long long)u.bytes_acked, (unsigned long long)written);
    /* written = acked + in flight + not sent, and with the window shut
     * at most one segment (64 KiB on loopback) is in flight. */
    cr_assert(u.notsent_bytes > 0 &&
                  u.bytes_acked + u.notsent_bytes <= written &&
                  u.bytes_acked + u.notsent_bytes + 65536 >= written,
              "notsent_bytes %u with %llu acked of %llu written: "
              "expected the rest waiting, not sent, but for one segment",
              u.notsent_bytes, (unsigned long long)u.bytes_acked,
              (unsigned long long)written);
    cr_assert(u.rtt_us > 0, "rtt 0 us after data was acknowledged");

    /* Not a socket; a socket that is not TCP. */
    memset(&u, 0x5a, sizeof(u));
    struct mon_tcp keep = u;
    int p[2];
    tk_pipe(p);
    rc = mon_tcp_info(p[0], &u);
    cr_assert_eq(rc, -ENOTSOCK, "a pipe: returned %d, expected -ENOTSOCK", rc);
    int sp[2];
    tk_socketpair(sp);
    rc = mon_tcp_info(sp[0], &u);
    cr_assert_lt(rc, 0, "an AF_UNIX socket: returned %d, expected -errno", rc);
    cr_assert(memcmp(&u, &keep, sizeof(u)) == 0,
              "a refused mon_tcp_info changed *out");
    close(p[0]);
    close(p[1]);
    close(sp[0]);
    close(sp[1]);
    close(sender);
    close(reader);
}
