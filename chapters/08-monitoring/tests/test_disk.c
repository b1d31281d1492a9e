/*
 * test_disk.c - exercise 1 of chapter 08: /proc/diskstats and iostat -x.
 *
 * The snapshots are written here by hand, field by field, so each
 * expected value can be derived from the formulas of include/mon.h in a
 * comment beside it. Rates are compared to within a relative 1e-9: the
 * order in which a solution multiplies and divides may move the last bit.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iolab/testkit.h"
#include "mon.h"
#include "oracle.h"

/* ---- helpers ------------------------------------------------------------ */

#define LINE_ROOM 512

/* Writes a diskstats line: "major minor name v[0] ... v[n-1]\n". */
static void
make_line(char *buf, unsigned major, unsigned minor, const char *name,
          const uint64_t *v, unsigned n)
{
    int off = snprintf(buf, LINE_ROOM, "%4u %7u %s", major, minor, name);
    for (unsigned i = 0; i < n; i++)
        off += snprintf(buf + off, (size_t)(LINE_ROOM - off), " %llu",
                        (unsigned long long)v[i]);
    snprintf(buf + off, (size_t)(LINE_ROOM - off), "\n");
}

/* A device with the given counters, the rest 0. */
static struct mon_disk
disk(unsigned major, unsigned minor, const char *name)
{
    struct mon_disk d = {.major = major, .minor = minor, .nstats = 11};
    snprintf(d.name, sizeof(d.name), "%s", name);
    return d;
}

/* Checks that a malformed line is refused and *out left as it was. */
static void
expect_rejected(const char *line)
{
    struct mon_disk out, before;
    memset(&out, 0xab, sizeof(out));
    before = out;
    int rc = mon_disk_parse_line(line, &out);
    cr_assert_eq(rc, -EINVAL,
                 "mon_disk_parse_line(\"%s\") returned %d, expected -EINVAL "
                 "(-22)",
                 line, rc);
    cr_assert(memcmp(&out, &before, sizeof(out)) == 0,
              "mon_disk_parse_line(\"%s\") refused the line but changed *out",
              line);
}

/* ---- parsing ------------------------------------------------------------ */

TK_TEST(disk, parses_every_field_count,
        .description = "[MON-1] 11, 15 and 17 fields land in their places")
{
    uint64_t v[17];
    for (unsigned i = 0; i < 17; i++)
        v[i] = 1000 + i; /* field i+1 holds 1000+i: misplacing shows */
    v[2] = UINT64_MAX;   /* the largest value a field may hold */
    unsigned counts[] = {11, 15, 17};

    for (unsigned c = 0; c < 3; c++) {
        char line[LINE_ROOM];
        struct mon_disk d;
        make_line(line, 259, 3, "nvme0n1p2", v, counts[c]);
        memset(&d, 0xcd, sizeof(d));
        int rc = mon_disk_parse_line(line, &d);
        cr_assert_eq(rc, 0, "a line of %u fields: returned %d, expected 0",
                     counts[c], rc);
        cr_assert_eq(d.nstats, counts[c], "nstats %u, expected %u", d.nstats,
                     counts[c]);
        cr_assert_eq(d.major, 259u);
        cr_assert_eq(d.minor, 3u);
        cr_assert_str_eq(d.name, "nvme0n1p2");
        uint64_t got[17] = {
            d.rd_ios,    d.rd_merges,  d.rd_sectors,    d.rd_ticks,
            d.wr_ios,    d.wr_merges,  d.wr_sectors,    d.wr_ticks,
            d.in_flight, d.io_ticks,   d.time_in_queue, d.dc_ios,
            d.dc_merges, d.dc_sectors, d.dc_ticks,      d.fl_ios,
            d.fl_ticks,
        };
        for (unsigned i = 0; i < 17; i++) {
            uint64_t want = i < counts[c] ? v[i] : 0;
            cr_assert_eq(got[i], want,
                         "%u fields: field %u is %llu, expected %llu",
                         counts[c], i + 1, (unsigned long long)got[i],
                         (unsigned long long)want);
        }
    }

    /* Tabs, no trailing newline, a name of 31 characters: all fine. */
    struct mon_disk d;
    const char *name31 = "abcdefghijklmnopqrstuvwxyz01234";
    char line[LINE_ROOM];
    snprintf(line, sizeof(line), "8\t0\t%s 1 2 3 4 5 6 7 8 9 10 11", name31);
    int rc = mon_disk_parse_line(line, &d);
    cr_assert_eq(rc, 0, "tabs, no newline, a 31-character name: returned %d",
                 rc);
    cr_assert_str_eq(d.name, name31);
    cr_assert_eq(d.time_in_queue, 11u);
}

TK_TEST(disk, rejects_malformed_lines,
        .description = "[MON-2] malformed lines are -EINVAL, *out untouched")
{
    expect_rejected("");
    expect_rejected("\n");
    expect_rejected("   8       0 sda");
    expect_rejected("   8       0 sda\n");
    expect_rejected("   8       0");
    /* 10, 12, 14, 16 and 18 fields: no kernel prints these. */
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10\n");
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12\n");
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14\n");
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n");
    /* Not unsigned decimal numbers. */
    expect_rejected("8 0 sda 1 2 -3 4 5 6 7 8 9 10 11\n");
    expect_rejected("8 0 sda 1 2 +3 4 5 6 7 8 9 10 11\n");
    expect_rejected("8 0 sda 1 2 x3 4 5 6 7 8 9 10 11\n");
    expect_rejected("8 0 sda 1 2 3a 4 5 6 7 8 9 10 11\n");
    expect_rejected("8 0 sda 1 2 0x3 4 5 6 7 8 9 10 11\n");
    expect_rejected("x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n");
    /* One above UINT64_MAX, and a major above UINT_MAX. */
    expect_rejected("8 0 sda 1 2 18446744073709551616 4 5 6 7 8 9 10 11\n");
    expect_rejected("8 0 sda 1 2 99999999999999999999 4 5 6 7 8 9 10 11\n");
    expect_rejected("4294967296 0 sda 1 2 3 4 5 6 7 8 9 10 11\n");
    /* A name of 32 characters does not fit with its NUL. */
    expect_rejected("8 0 abcdefghijklmnopqrstuvwxyz012345 1 2 3 4 5 6 7 8 9 "
                    "10 11\n");
    /* Something after the newline is not one line. */
    expect_rejected("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\nx");
}

TK_TEST(disk, snapshot_rejects_broken_line,
        .description = "[MON-3] one broken line rejects the snapshot")
{
    struct mon_disk d[4];
    const char *good = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"
                       "   8       1 sda1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
                       "   7       0 loop0 1 2 3 4 5 6 7 8 9 10 11\n";
    ssize_t n = mon_disk_parse(good, d, 4);
    cr_assert_eq(n, 3, "three good lines: returned %zd, expected 3", n);
    cr_assert_str_eq(d[1].name, "sda1");
    cr_assert_eq(d[1].dc_ticks, 15u);
    cr_assert_str_eq(d[2].name, "loop0");

    n = mon_disk_parse(good, d, 2);
    cr_assert_eq(n, -ENOSPC,
                 "three devices, room for two: returned %zd, "
                 "expected -ENOSPC (-28)",
                 n);
    n = mon_disk_parse("", d, 4);
    cr_assert_eq(n, 0, "empty text: returned %zd, expected 0", n);
    n = mon_disk_parse("8 0 sda 1 2 3 4 5 6 7 8 9 10 11", d, 4);
    cr_assert_eq(n, 1, "a last line without its newline: returned %zd", n);

    const char *broken[] = {
        "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2 3\n"
        "7 0 loop0 1 2 3 4 5 6 7 8 9 10 11\n",
        "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n\n"
        "7 0 loop0 1 2 3 4 5 6 7 8 9 10 11\n",
        "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n7 0 loop0 1 2 3 4 5 6 7 8 9 10 x\n",
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        n = mon_disk_parse(broken[i], d, 4);
        cr_assert_eq(n, -EINVAL,
                     "snapshot %zu has a broken line: returned %zd, "
                     "expected -EINVAL (-22)",
                     i, n);
    }
}

/* ---- the formulas ------------------------------------------------------- */

/*
 * sda over 2000 ms. Increases: reads 400, read sectors 12800, read ticks
 * 1200; writes 600, written sectors 4800, write ticks 3000; io_ticks 1500
 * (field 10); time_in_queue 4200 (field 11). So:
 *   r/s = 400 / 2 s = 200          w/s = 600 / 2 = 300
 *   rkB/s = 12800 / 2 / 2 = 3200   wkB/s = 4800 / 2 / 2 = 1200
 *   r_await = 1200 / 400 = 3 ms    w_await = 3000 / 600 = 5 ms
 *   aqu-sz = 4200 / 2000 = 2.1     %util = 100 * 1500 / 2000 = 75
 */
static void
sda_pair(struct mon_disk *a, struct mon_disk *b)
{
    *a = disk(8, 0, "sda");
    a->rd_ios = 1000, a->rd_sectors = 80000, a->rd_ticks = 5000;
    a->wr_ios = 2000, a->wr_sectors = 160000, a->wr_ticks = 9000;
    a->io_ticks = 7000, a->time_in_queue = 14000;
    *b = *a;
    b->rd_ios += 400, b->rd_sectors += 12800, b->rd_ticks += 1200;
    b->wr_ios += 600, b->wr_sectors += 4800, b->wr_ticks += 3000;
    b->io_ticks += 1500, b->time_in_queue += 4200;
    b->in_flight = 3; /* a gauge: no formula of these uses it */
    b->rd_merges = 77, b->wr_merges = 99;
}

#define EXPECT_RATE(got, want, what)                                           \
    cr_assert(fabs((double)(got) - (want)) <= 1e-9 * fmax(1.0, fabs(want)),    \
              "%s is %.10g, expected %.10g", what, (double)(got),              \
              (double)(want))

TK_TEST(disk, rates_per_second_of_interval,
        .description = "[MON-5] [MON-8] r/s, w/s, rkB/s, wkB/s per second")
{
    struct mon_disk a, b;
    struct mon_disk_rates r;
    sda_pair(&a, &b);
    int rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, 0, "mon_disk_rates returned %d, expected 0", rc);
    EXPECT_RATE(r.r_s, 200.0, "r/s (400 reads in 2000 ms)");
    EXPECT_RATE(r.w_s, 300.0, "w/s (600 writes in 2000 ms)");
    EXPECT_RATE(r.rkb_s, 3200.0, "rkB/s (12800 sectors in 2000 ms)");
    EXPECT_RATE(r.wkb_s, 1200.0, "wkB/s (4800 sectors in 2000 ms)");

    /* The same increases over 500 ms: four times the rates. */
    rc = mon_disk_rates(&a, &b, 500, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.r_s, 800.0, "r/s (400 reads in 500 ms)");
    EXPECT_RATE(r.wkb_s, 4800.0, "wkB/s (4800 sectors in 500 ms)");

    /* Refusals leave *out alone. */
    struct mon_disk_rates keep;
    memset(&keep, 0x5a, sizeof(keep));
    r = keep;
    rc = mon_disk_rates(&a, &b, 0, &r);
    cr_assert_eq(rc, -EINVAL, "interval 0: returned %d, expected -EINVAL", rc);
    struct mon_disk other = b;
    other.minor = 16;
    rc = mon_disk_rates(&a, &other, 2000, &r);
    cr_assert_eq(rc, -EINVAL,
                 "8:0 against 8:16: returned %d, expected "
                 "-EINVAL",
                 rc);
    other = b;
    snprintf(other.name, sizeof(other.name), "sdb");
    rc = mon_disk_rates(&a, &other, 2000, &r);
    cr_assert_eq(rc, -EINVAL,
                 "sda against sdb: returned %d, expected "
                 "-EINVAL",
                 rc);
    cr_assert(memcmp(&r, &keep, sizeof(r)) == 0,
              "a refused mon_disk_rates changed *out");
}

TK_TEST(disk, await_per_completed_io,
        .description = "[MON-6] await is ticks per completed IO, 0 when idle")
{
    struct mon_disk a, b;
    struct mon_disk_rates r;
    sda_pair(&a, &b);
    int rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.r_await, 3.0, "r_await (1200 ms over 400 reads)");
    EXPECT_RATE(r.w_await, 5.0, "w_await (3000 ms over 600 writes)");

    /* No read completed: r_await is 0, not NaN, whatever the ticks did. */
    b.rd_ios = a.rd_ios;
    b.rd_ticks = a.rd_ticks + 40; /* a read still in flight counts ticks */
    rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.r_await, 0.0, "r_await with no read completed");
    EXPECT_RATE(r.r_s, 0.0, "r/s with no read completed");
}

TK_TEST(disk, util_and_queue_from_right_field,
        .description = "[MON-7] %util from io_ticks, aqu-sz from the weighted "
                       "time")
{
    struct mon_disk a, b;
    struct mon_disk_rates r;
    sda_pair(&a, &b);
    int rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.util, 75.0, "%util (io_ticks, field 10: +1500 ms in 2000)");
    EXPECT_RATE(r.aqu_sz, 2.1,
                "aqu-sz (time_in_queue, field 11: +4200 in "
                "2000 ms)");

    /*
     * A device serving 8 requests at once for the whole interval: busy
     * all the time (field 10 grows by the interval), and 8 requests in
     * the queue on average (field 11 grows 8 times as fast). %util is 100
     * and says nothing about the other 7: that is iostat(1)'s warning.
     * A slightly late sample makes io_ticks outgrow the interval: %util
     * is not clamped.
     */
    b = a;
    b.io_ticks += 1000, b.time_in_queue += 8000;
    rc = mon_disk_rates(&a, &b, 1000, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.util, 100.0, "%util of a device busy all the time");
    EXPECT_RATE(r.aqu_sz, 8.0, "aqu-sz of 8 requests in service all along");
    b.io_ticks = a.io_ticks + 1010;
    rc = mon_disk_rates(&a, &b, 1000, &r);
    cr_assert_eq(rc, 0);
    EXPECT_RATE(r.util, 101.0, "%util with io_ticks +1010 in 1000 ms");
}

TK_TEST(disk, counter_wrap_rule,
        .description = "[MON-4] [MON-8] a 32-bit wrap is an increase, a "
                       "64-bit drop a restart")
{
    uint64_t d = 12345;
    cr_assert(mon_disk_delta(5, 5, &d) && d == 0, "5 -> 5: expected 0");
    cr_assert(mon_disk_delta(5, 9, &d) && d == 4, "5 -> 9: expected 4");
    /* 4294967290 + 11 = 2^32 + 5: the 32-bit counter reads 5. */
    cr_assert(mon_disk_delta(4294967290u, 5, &d), "a 32-bit wrap refused");
    cr_assert_eq(d, 11u, "4294967290 -> 5: %llu, expected 11",
                 (unsigned long long)d);
    cr_assert(mon_disk_delta(UINT32_MAX, 0, &d) && d == 1,
              "UINT32_MAX -> 0: expected 1");
    cr_assert(mon_disk_delta(UINT64_C(1) << 32, UINT64_C(1) << 33, &d) &&
                  d == UINT64_C(1) << 32,
              "2^32 -> 2^33: expected 2^32");
    d = 777;
    cr_assert(!mon_disk_delta(UINT64_C(1) << 32, 5, &d),
              "2^32 -> 5 cannot be a 32-bit wrap: expected false");
    cr_assert(!mon_disk_delta(UINT64_MAX, 0, &d),
              "UINT64_MAX -> 0: a restart, expected false");

    /* io_ticks wraps: 4294967000 -> 704 is +1000 ms, so 50% of 2000. */
    struct mon_disk a = disk(8, 0, "sda"), b;
    struct mon_disk_rates r;
    a.io_ticks = 4294967000u;
    b = a;
    b.io_ticks = 704;
    int rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, 0, "a wrapped io_ticks: returned %d, expected 0", rc);
    EXPECT_RATE(r.util, 50.0, "%util across a wrap of io_ticks");

    /* Reads went from 2^33 to 10: the counters restarted. */
    a = disk(8, 0, "sda");
    a.rd_ios = UINT64_C(1) << 33;
    b = a;
    b.rd_ios = 10;
    rc = mon_disk_rates(&a, &b, 2000, &r);
    cr_assert_eq(rc, -ERANGE,
                 "restarted counters: returned %d, expected "
                 "-ERANGE (-34)",
                 rc);
}

TK_TEST(disk, devices_come_and_go,
        .description = "[MON-9] rows for the devices in both snapshots only")
{
    /* prev: sda, sdb, loop0 (7:0), sdc; cur: nvme0n1 (new), sda, loop1
     * (7:0 again, another name: another device), sdc (restarted). */
    struct mon_disk prev[4], cur[4], b;
    sda_pair(&prev[0], &b);
    prev[1] = disk(8, 16, "sdb");
    prev[2] = disk(7, 0, "loop0");
    prev[3] = disk(8, 32, "sdc");
    prev[3].wr_ios = UINT64_C(1) << 40;
    cur[0] = disk(259, 0, "nvme0n1");
    cur[0].rd_ios = 5;
    cur[1] = b;
    cur[2] = disk(7, 0, "loop1");
    cur[3] = disk(8, 32, "sdc");
    cur[3].wr_ios = 3;

    struct mon_disk_row rows[4];
    ssize_t n = mon_disk_diff(prev, 4, cur, 4, 2000, rows, 4);
    cr_assert_eq(n, 1, "expected 1 row (sda): got %zd", n);
    cr_assert_str_eq(rows[0].name, "sda");
    EXPECT_RATE(rows[0].rates.r_s, 200.0, "sda's r/s in the report");
    EXPECT_RATE(rows[0].rates.util, 75.0, "sda's %util in the report");

    /* Order follows cur; a device only in prev has no row. */
    struct mon_disk p2[2] = {disk(8, 0, "sda"), disk(8, 16, "sdb")};
    struct mon_disk c2[2] = {disk(8, 16, "sdb"), disk(8, 0, "sda")};
    c2[0].wr_ios = 10;
    n = mon_disk_diff(p2, 2, c2, 2, 1000, rows, 4);
    cr_assert_eq(n, 2, "expected 2 rows: got %zd", n);
    cr_assert_str_eq(rows[0].name, "sdb");
    cr_assert_str_eq(rows[1].name, "sda");
    EXPECT_RATE(rows[0].rates.w_s, 10.0, "sdb's w/s");
    n = mon_disk_diff(p2, 2, c2, 1, 1000, rows, 4);
    cr_assert_eq(n, 1, "sda detached: expected 1 row, got %zd", n);

    n = mon_disk_diff(p2, 2, c2, 2, 1000, rows, 1);
    cr_assert_eq(n, -ENOSPC, "2 rows, room for 1: %zd, expected -ENOSPC", n);
    n = mon_disk_diff(p2, 2, c2, 2, 0, rows, 4);
    cr_assert_eq(n, -EINVAL, "interval 0: %zd, expected -EINVAL", n);
}

/* ---- the real file ------------------------------------------------------ */

TK_TEST(disk, live_diskstats_parse,
        .description = "[MON-3] this machine's /proc/diskstats parses whole")
{
    FILE *f = fopen("/proc/diskstats", "re");
    if (f == NULL)
        tk_skip("/proc/diskstats is not available here: %s", strerror(errno));
    size_t cap = 1 << 20, len;
    char *text = tk_xmalloc(cap);
    len = fread(text, 1, cap - 1, f);
    fclose(f);
    text[len] = '\0';

    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    struct mon_disk *d = tk_xmalloc(sizeof(*d) * (lines + 1));
    ssize_t n = mon_disk_parse(text, d, lines + 1);
    cr_assert_eq(n, (ssize_t)lines,
                 "this machine's /proc/diskstats has %zu lines: parse "
                 "returned %zd",
                 lines, n);
    for (ssize_t i = 0; i < n; i++)
        cr_assert(d[i].nstats == 11 || d[i].nstats == 15 || d[i].nstats == 17,
                  "device %s: nstats %u", d[i].name, d[i].nstats);
    free(d);
    free(text);
}

/* ---- the real tool ------------------------------------------------------ */

TK_TEST(disk, iostat_agrees_on_same_counters,
        .description = "[MON-5] [MON-6] [MON-7] iostat -x reads the same "
                       "counters and prints the same rates, where iostat is "
                       "installed")
{
    /* A real device, so that iostat lists it; its counters are ours. */
    FILE *f = fopen("/proc/diskstats", "re");
    if (f == NULL)
        tk_skip("/proc/diskstats is not available here");
    char line[512], dev[MON_DISK_NAME_MAX] = "", stat_path[4096] = "";
    unsigned major = 0, minor = 0;
    while (dev[0] == '\0' && fgets(line, sizeof(line), f) != NULL) {
        char name[MON_DISK_NAME_MAX], sys[128];
        if (sscanf(line, "%u %u %31s", &major, &minor, name) != 3 ||
            strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
            continue;
        snprintf(sys, sizeof(sys), "/sys/block/%s/stat", name);
        if (realpath(sys, stat_path) != NULL)
            memcpy(dev, name, sizeof(dev));
    }
    fclose(f);
    if (dev[0] == '\0')
        tk_skip("no block device with a /sys/block/NAME/stat here");

    /* 10 s of counters: every iostat column is exact at 2 decimals. */
    char ds[512];
    snprintf(ds, sizeof(ds),
             "%u %u %s 1234 66 50000 2468 500 7 30000 3000 0 7000 25000 "
             "0 0 0 0 0 0\n",
             major, minor, dev);
    struct mon_disk cur, prev;
    cr_assert_eq(mon_disk_parse_line(ds, &cur), 0, "parse of \"%s\" failed",
                 ds);
    char zero[256];
    snprintf(zero, sizeof(zero), "%u %u %s 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
             major, minor, dev);
    cr_assert_eq(mon_disk_parse_line(zero, &prev), 0);
    struct mon_disk_rates r;
    int rc = mon_disk_rates(&prev, &cur, 10000, &r);
    cr_assert_eq(rc, 0, "mon_disk_rates returned %d", rc);

    const char *tool = mont_tool("iostat");
    if (tool == NULL)
        tk_skip("iostat is not available (Debian: apt-get install sysstat; "
                "grader/deps.sh --oracles)");
    /* iostat's first report is since boot: the counters over the uptime.
     * It reads /sys/block/DEV/stat (or /proc/diskstats) and /proc/uptime,
     * so it is shown ours in their place. */
    const char *st_text = "1234 66 50000 2468 500 7 30000 3000 0 7000 25000 "
                          "0 0 0 0 0 0\n";
    struct mont_file files[] = {{"uptime", "10.00 20.00\n", "/proc/uptime"},
                                {"diskstats", ds, "/proc/diskstats"},
                                {"stat", st_text, stat_path}};
    struct mont_want want[] = {{"r/s", r.r_s},         {"w/s", r.w_s},
                               {"rkB/s", r.rkb_s},     {"wkB/s", r.wkb_s},
                               {"r_await", r.r_await}, {"w_await", r.w_await},
                               {"aqu-sz", r.aqu_sz},   {"%util", r.util}};
    const char *argv[] = {tool, "-d", "-x", dev, NULL};
    mont_sysstat_agrees(argv, files, 3, dev, want, 8);
}
