/*
 * bench.c - chapter 09's benchmark. Prints what it does and reports:
 *
 *  copy_syscalls_per_mib   (counted) system calls per MiB that uio_copy
 *                          makes copying a 32 MiB file with its defaults
 *                          (queue depth 8, 128 KiB blocks), counted with
 *                          ptrace between the region marks.
 *  rw_syscalls_per_mib     (info) the same for a read/write loop with a
 *                          128 KiB buffer: 16 per MiB by construction.
 *  cfr_syscalls_per_mib    (info) the same for a copy_file_range loop.
 *  user_copy_calls_per_mib (counted) read, write, send and recv family
 *                          calls per MiB while uio_send_file and then
 *                          uio_splice_file serve a 16 MiB file each to a
 *                          sink process over loopback TCP: 0 when no byte
 *                          passes through user space.
 *  rw_copy_calls_per_mib   (info) the same for read+write with a 64 KiB
 *                          buffer.
 *  sendfile_cpu_ratio      (info) the sending thread's CPU time for
 *  splice_cpu_ratio        256 MiB with sendfile (splice) over the same
 *                          with read+write, median of --runs runs.
 *  sendfile_rchar_per_byte (info) what /proc/self/io's rchar grows by
 *                          per byte sendfile sends.
 *  zc_cpu_ratio_*, zc_break_even_kib (info) MSG_ZEROCOPY against plain
 *                          sends by size: see bench_zc.c.
 *
 * Exercise 2's metrics (echo_syscalls_over_epoll and the rest) are
 * measured in bench_echo.c; its header says what each is.
 *
 * Run by hand: build/grade/chapters/09-async-io/bench [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iolab/die.h"
#include "iolab/perfkit.h"
#include "bench_zc.h"
#include "uio.h"

#define MIB (1024 * 1024)
#define COPY_MIB 32
#define SERVE_MIB 16
#define CPU_MIB 64
#define CPU_SENDS 4 /* the file 4 times: 256 MiB per measurement */
#define TIMEOUT_MS 20000

/* Exercise 2's part, in bench_echo.c: given why io_uring is off, or NULL. */
void bench_echo(int runs, const char *uring_off);

static char copy_src[4096], copy_dst[4096], serve_src[4096];

/* Writes a file of mib MiB of varying bytes at path. */
static void
make_file(const char *path, int mib)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    char *buf = malloc(MIB);
    if (buf == NULL)
        die("out of memory");
    for (int m = 0; m < mib; m++) {
        for (size_t i = 0; i < MIB; i++)
            buf[i] = (char)(i * 31 + (size_t)m);
        if (write(fd, buf, MIB) != MIB)
            die("write %s: %s", path, strerror(errno));
    }
    free(buf);
    close(fd);
}

/* ---- the copy ------------------------------------------------------------ */

enum copier { COPY_URING, COPY_RW, COPY_CFR };

static int
count_copy(void *arg)
{
    enum copier how = *(enum copier *)arg;
    int in = open(copy_src, O_RDONLY | O_CLOEXEC);
    int out = open(copy_dst, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    static char buf[128 * 1024];
    long long total = 0;

    if (in < 0 || out < 0)
        return 1;
    pk_region_begin();
    if (how == COPY_URING) {
        total = uio_copy(in, out, NULL, NULL);
    } else if (how == COPY_RW) {
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0) {
            if (write(out, buf, (size_t)n) != n)
                break;
            total += n;
        }
    } else {
        ssize_t n;
        while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
            total += n;
    }
    pk_region_end();
    close(in);
    close(out);
    return total == (long long)COPY_MIB * MIB ? 0 : 1;
}

/*
 * Why io_uring cannot be used here, or NULL: the tests' reasons (the
 * IOLAB_NO_IO_URING switch, or io_uring_queue_init failing), so that a
 * machine without it reports the copy's metrics as not measured.
 */
static const char *
uring_unavailable(void)
{
    static char why[128];
    const char *off = getenv("IOLAB_NO_IO_URING");
    struct io_uring ring;

    if (off != NULL && strcmp(off, "1") == 0)
        return "IOLAB_NO_IO_URING=1 is set";
    int err = io_uring_queue_init(2, &ring, 0);
    if (err == 0) {
        io_uring_queue_exit(&ring);
        return NULL;
    }
    snprintf(why, sizeof(why), "io_uring_queue_init: %s", strerror(-err));
    return why;
}

static void
bench_copy(void)
{
    static const char *names[] = {
        "copy_syscalls_per_mib", "rw_syscalls_per_mib", "cfr_syscalls_per_mib"};
    static const char *what[] = {"uio_copy (io_uring)", "read/write loop",
                                 "copy_file_range loop"};

    printf("copy: a %d MiB file, system calls counted with ptrace\n", COPY_MIB);
    const char *why = uring_unavailable();
    if (why != NULL) {
        printf("  not measured: io_uring not available: %s\n", why);
        return;
    }
    for (enum copier how = COPY_URING; how <= COPY_CFR; how++) {
        struct pk_syscalls sc;
        int err = pk_count_syscalls(count_copy, &how, &sc);
        if (err != 0) {
            printf("  %-22s not measured: %s\n", what[how],
                   err == -ECHILD ? "the copy failed" : strerror(-err));
            continue;
        }
        double per = (double)sc.total / COPY_MIB;
        printf("  %-22s %6lu calls, %.2f per MiB\n", what[how], sc.total, per);
        pk_metric(names[how], per);
    }
}

/* ---- the sink: a process that drains every connection -------------------- */

/*
 * The sink is not a child of the bench: pk_count_syscalls waits for every
 * child to end, so it is started through a middle process that exits at
 * once. It serves until the control pipe closes (the bench is done or
 * gone), each connection in a process of its own, since a sender may
 * hold two connections open at once.
 */
static int sink_ctl = -1;
static unsigned short sink_port;

static _Noreturn void
sink_main(int lfd, int ctl)
{
    struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
                          {.fd = ctl, .events = POLLIN}};

    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            _exit(1);
        if (p[1].revents != 0)
            _exit(0);
        if ((p[0].revents & POLLIN) == 0)
            continue;
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            static char buf[256 * 1024];
            while (read(c, buf, sizeof(buf)) > 0)
                ;
            _exit(0);
        }
        close(c);
    }
}

static void
start_sink(void)
{
    int lfd = pk_listen_tcp(&sink_port, 16);
    int ctl[2];

    if (pipe2(ctl, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid_t mid = fork();
    if (mid < 0)
        die("fork: %s", strerror(errno));
    if (mid == 0) {
        close(ctl[1]);
        if (fork() == 0)
            sink_main(lfd, ctl[0]);
        _exit(0);
    }
    waitpid(mid, NULL, 0);
    close(ctl[0]);
    close(lfd);
    sink_ctl = ctl[1];
}

static void
stop_sink(void)
{
    close(sink_ctl);
}

enum server { SERVE_RW, SERVE_SENDFILE, SERVE_SPLICE };

/* Serves len bytes of file on sock the given way; the bytes sent. */
static long long
serve(enum server how, int sock, int file, size_t len)
{
    static char buf[64 * 1024];

    if (how == SERVE_SENDFILE)
        return uio_send_file(sock, file, 0, len);
    if (how == SERVE_SPLICE)
        return uio_splice_file(sock, file, 0, len);
    long long total = 0;
    ssize_t n;
    while ((size_t)total < len &&
           (n = pread(file, buf, sizeof(buf), total)) > 0) {
        if (pk_send_all(sock, buf, (size_t)n) != 0)
            return -1;
        total += n;
    }
    return total;
}

static int
dial(void)
{
    int s = pk_dial_tcp(sink_port, TIMEOUT_MS);
    if (s < 0)
        die("connect to the sink: %s", strerror(-s));
    return s;
}

/* The read/write/send/recv family, by system call number. */
static unsigned long
copy_calls(const struct pk_syscalls *sc)
{
    static const int nrs[] = {SYS_read,     SYS_write,   SYS_readv,
                              SYS_writev,   SYS_pread64, SYS_pwrite64,
                              SYS_preadv,   SYS_pwritev, SYS_sendto,
                              SYS_recvfrom, SYS_sendmsg, SYS_recvmsg};
    unsigned long n = 0;

    for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
        n += sc->by_nr[nrs[i]];
    return n;
}

static int
count_serve(void *arg)
{
    bool zero = *(bool *)arg;
    int file = open(serve_src, O_RDONLY | O_CLOEXEC);
    int a = dial(), b = dial();
    size_t len = (size_t)SERVE_MIB * MIB;
    int bad = 0;

    if (file < 0)
        return 1;
    pk_region_begin();
    if (zero) {
        bad |= serve(SERVE_SENDFILE, a, file, len) != (long long)len;
        bad |= serve(SERVE_SPLICE, b, file, len) != (long long)len;
    } else {
        bad |= serve(SERVE_RW, a, file, len) != (long long)len;
        bad |= serve(SERVE_RW, b, file, len) != (long long)len;
    }
    pk_region_end();
    close(a);
    close(b);
    close(file);
    return bad;
}

/* rchar from /proc/self/io, or -1. */
static long long
rchar(void)
{
    FILE *f = fopen("/proc/self/io", "re");
    long long v = -1;
    char line[128];

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "rchar: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* The sending thread's CPU time to serve CPU_MIB MiB the given way. */
static double
cpu_of(enum server how, int file)
{
    int s = dial();
    uint64_t t = 0;

    for (int i = 0; i < CPU_SENDS; i++) {
        uint64_t t0 = pk_thread_cpu_ns();
        long long n = serve(how, s, file, (size_t)CPU_MIB * MIB);
        t += pk_thread_cpu_ns() - t0;
        if (n != (long long)CPU_MIB * MIB)
            die("serving %d MiB failed (%lld)", CPU_MIB, n);
    }
    close(s);
    return (double)t;
}

static void
bench_serve(int runs)
{
    struct pk_syscalls sc;
    bool zero = true, rw = false;

    printf("serve: %d MiB files to a sink process over loopback TCP\n",
           SERVE_MIB);
    int err = pk_count_syscalls(count_serve, &zero, &sc);
    if (err == 0) {
        double per = (double)copy_calls(&sc) / (2 * SERVE_MIB);
        printf("  sendfile + splice: %lu calls, %lu of the read/write "
               "family: %.2f per MiB\n",
               sc.total, copy_calls(&sc), per);
        pk_metric("user_copy_calls_per_mib", per);
    } else {
        printf("  sendfile + splice: not measured: %s\n", strerror(-err));
    }
    err = pk_count_syscalls(count_serve, &rw, &sc);
    if (err == 0) {
        double per = (double)copy_calls(&sc) / (2 * SERVE_MIB);
        printf("  read + write: %lu calls, %.2f per MiB\n", copy_calls(&sc),
               per);
        pk_metric("rw_copy_calls_per_mib", per);
    }

    int file = open(serve_src, O_RDONLY | O_CLOEXEC);
    if (file < 0)
        die("open %s: %s", serve_src, strerror(errno));
    int s = dial();
    long long r0 = rchar();
    long long sent = uio_send_file(s, file, 0, (size_t)SERVE_MIB * MIB);
    long long r1 = rchar();
    close(s);
    if (sent > 0 && r0 >= 0 && r1 >= 0) {
        double per = (double)(r1 - r0) / (double)sent;
        printf("  rchar grew by %lld for %lld bytes sent with sendfile\n",
               r1 - r0, sent);
        pk_metric("sendfile_rchar_per_byte", per);
    }

    double sf[PK_MAX_RUNS], sp[PK_MAX_RUNS];
    printf("  sender CPU for %d MiB, %d runs:\n", CPU_MIB * CPU_SENDS, runs);
    for (int r = 0; r < runs; r++) {
        double base = cpu_of(SERVE_RW, file);
        sf[r] = cpu_of(SERVE_SENDFILE, file) / base;
        sp[r] = cpu_of(SERVE_SPLICE, file) / base;
        printf("    run %d: read+write %.1f ms, sendfile x%.2f, splice "
               "x%.2f\n",
               r + 1, base / 1e6, sf[r], sp[r]);
    }
    pk_metric("sendfile_cpu_ratio", pk_median(sf, (size_t)runs));
    pk_metric("splice_cpu_ratio", pk_median(sp, (size_t)runs));
    close(file);
}

int
main(int argc, char **argv)
{
    int runs = pk_init(argc, argv, 5);
    const char *dir = pk_tmpdir("uio");

    signal(SIGPIPE, SIG_IGN);
    snprintf(copy_src, sizeof(copy_src), "%s/copy-src", dir);
    snprintf(copy_dst, sizeof(copy_dst), "%s/copy-dst", dir);
    snprintf(serve_src, sizeof(serve_src), "%s/serve-src", dir);
    make_file(copy_src, COPY_MIB);
    make_file(serve_src, CPU_MIB);

    bench_copy();
    bench_echo(runs, uring_unavailable());
    start_sink();
    bench_serve(runs);
    bench_zc(runs, sink_port);
    stop_sink();

    unlink(copy_src);
    unlink(copy_dst);
    unlink(serve_src);
    rmdir(dir);
    return 0;
}
