/*
 * test_stress.c - chapter 02 under pressure: clients that do not read,
 * a 16 MiB message beside 50 chatty clients, bursts that an
 * edge-triggered server must drain, thousands of connections, and
 * select's FD_SETSIZE wall.
 *
 * Backpressure tests fix every socket buffer at 64 KiB: loopback buffers
 * otherwise grow to many megabytes, and a server without backpressure
 * would look fine.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "iolab/fault.h"

/* ---- a client that never reads ------------------------------------------ */

#define FLOOD (2u << 20) /* far more than every buffer on the way holds */

static void
never_reads(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(FLOOD);

    mt_fill(data, FLOOD, 10);
    mt_start(&srv, b, NULL);
    tk_small_buffers(srv.listen_fd, MT_SMALL_BUF); /* accepted inherit */
    int fd = tk_connect_tcp(srv.port);
    tk_small_buffers(fd, MT_SMALL_BUF);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD};
    tk_pump_start(&p);

    size_t sent = tk_pump_wait_stall(&p);
    cr_assert_lt(sent, FLOOD,
                 "%s: a client sent all %u bytes without reading any echo: "
                 "the server must stop reading from a client once out_cap "
                 "bytes are pending, not drop them or buffer without limit",
                 mt_name(), FLOOD);
    int other = tk_connect_tcp(srv.port);
    for (int i = 0; i < 10; i++)
        mt_echo_str(other, "not stuck\n",
                    "a client served while another one reads nothing");
    /* Now read it all: nothing lost, nothing reordered. */
    mt_read_check(fd, data, FLOOD, 30000, "the client that read late");
    tk_pump_join(&p);
    close(fd);
    close(other);
    free(data);
    mt_stop(&srv);
    cr_assert_leq(mt_stats.peak_pending, (size_t)MUX_OUT_CAP,
                  "%s: one connection held %zu bytes of pending echo; the "
                  "cap is MUX_OUT_CAP = %d",
                  mt_name(), mt_stats.peak_pending, MUX_OUT_CAP);
    cr_assert_gt(mt_stats.paused, 0,
                 "%s: stats.paused is 0: reading from the flooding client "
                 "never stopped",
                 mt_name());
}
MUX_TEST_EACH(never_reads,
              "[MUX-3] a client that never reads is held back; memory "
              "stays bounded; others are served",
              never_reads)

/* ---- a slot reused after a removal -------------------------------------- */

#define REUSE_FLOOD (1u << 20)

/*
 * a, b and c connect; a leaves, so a backend that keeps a dense array (poll)
 * moves c into a's slot, and d, arriving next, takes the slot c had. Then c
 * floods without reading, which changes its interest twice (writability
 * wanted, then reading paused): an update that goes to c's old slot lands
 * on d, and c's own entry never learns it must watch for writability.
 * Every surviving client must still be served, and c's echo must arrive
 * whole. The flood is waited for until it stalls (backpressure), so both
 * updates have happened when d speaks again.
 */
static void
slot_reused(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(REUSE_FLOOD);

    mt_fill(data, REUSE_FLOOD, 14);
    mt_start(&srv, b, NULL);
    tk_small_buffers(srv.listen_fd, MT_SMALL_BUF); /* accepted inherit */
    int a = tk_connect_tcp(srv.port);
    mt_echo_str(a, "a\n", "client a");
    int bb = tk_connect_tcp(srv.port);
    mt_echo_str(bb, "b\n", "client b");
    int c = tk_connect_tcp(srv.port);
    mt_echo_str(c, "c\n", "client c");
    close(a);
    mt_echo_str(bb, "b again\n", "client b, after client a left");
    int d = tk_connect_tcp(srv.port);
    mt_echo_str(d, "d\n", "client d, which arrived after a left");

    tk_small_buffers(c, MT_SMALL_BUF);
    struct tk_pump p = {.fd = c, .data = data, .len = REUSE_FLOOD};
    tk_pump_start(&p);
    cr_assert_lt(tk_pump_wait_stall(&p), REUSE_FLOOD,
                 "%s: client c sent all its bytes without reading any echo "
                 "(no backpressure)",
                 mt_name());
    mt_echo_str(d, "d, while c floods\n",
                "client d, while client c (which may have moved into a's "
                "slot) floods the server");
    mt_read_check(c, data, REUSE_FLOOD, 20000,
                  "client c, flooding after a removal moved it (is the "
                  "moved watch's slot updated?)");
    tk_pump_join(&p);
    mt_echo_str(d, "d at the end\n", "client d, after c's flood");
    mt_echo_str(bb, "b at the end\n", "client b, after c's flood");
    close(bb);
    close(c);
    close(d);
    free(data);
    mt_stop(&srv);
    cr_assert_eq(mt_stats.accepted, 4, "%s: stats.accepted is %lu; expected 4",
                 mt_name(), mt_stats.accepted);
}
MUX_TEST_EACH(slot_reused_after_close,
              "[MUX-1][MUX-3] a connection moved into a freed slot keeps "
              "its interest and its echo",
              slot_reused)

/* ---- 16 MiB through a slow reader, 50 chatty clients beside it --------- */

#define HUGE (16u << 20)
#define CHATTY 50

struct slow_reader {
    int fd;
    const char *want;
    size_t got;   /* bytes checked so far */
    bool ok;      /* every byte matched */
    bool timeout; /* nothing came for REPLY_MS */
};

/*
 * The reader thread may not use the test kit's asserting helpers (an
 * assertion outside the test's main thread crashes the runner): it
 * records what went wrong, and the main thread reports it.
 */
static void *
slow_reader_main(void *arg)
{
    struct slow_reader *r = arg;
    char *buf = malloc(16 * 1024);
    struct pollfd p = {.fd = r->fd, .events = POLLIN};

    r->ok = buf != NULL;
    while (r->ok && r->got < HUGE) {
        size_t n = HUGE - r->got < 16 * 1024 ? HUGE - r->got : 16 * 1024;
        int ready = poll(&p, 1, REPLY_MS);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == 0) {
            r->timeout = true;
            r->ok = false;
            break;
        }
        ssize_t k = read(r->fd, buf, n);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0 || memcmp(buf, r->want + r->got, (size_t)k) != 0) {
            r->ok = false;
            break;
        }
        size_t before = r->got;
        r->got += (size_t)k;
        if (r->got / (256 * 1024) != before / (256 * 1024))
            tk_nap_ms(1); /* slow: the server must hold, not push */
    }
    free(buf);
    return NULL;
}

static void
slow_reader(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(HUGE);
    int chat[CHATTY];
    char msg[64], who[64];
    pthread_t th;

    mt_fill(data, HUGE, 11);
    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    tk_small_buffers(fd, MT_SMALL_BUF);
    for (int i = 0; i < CHATTY; i++)
        chat[i] = tk_connect_tcp(srv.port);
    mt_echo_str(chat[0], "ready?\n", "a client before the big transfer");
    struct tk_pump p = {.fd = fd, .data = data, .len = HUGE, .chunk = 1 << 20};
    struct slow_reader r = {.fd = fd, .want = data};
    tk_pump_start(&p);
    pthread_create(&th, NULL, slow_reader_main, &r);
    for (int round = 0; round < 10; round++)
        for (int i = 0; i < CHATTY; i++) {
            snprintf(msg, sizeof(msg), "client %d, round %d\n", i, round);
            snprintf(who, sizeof(who),
                     "chatty client %d beside a 16 MiB "
                     "transfer",
                     i);
            mt_echo_str(chat[i], msg, who);
        }
    pthread_join(th, NULL);
    tk_pump_join(&p);
    cr_assert(r.ok, "%s: the 16 MiB message came back %s after %zu bytes",
              mt_name(),
              r.timeout ? "stalled (nothing for 5 s)"
                        : "altered, or the connection ended,",
              r.got);
    for (int i = 0; i < CHATTY; i++)
        close(chat[i]);
    close(fd);
    free(data);
    mt_stop(&srv);
}
MUX_TEST_EACH(slow_reader_16mib,
              "[MUX-1][MUX-3] 16 MiB through a slow reader while 50 others "
              "get their echoes",
              slow_reader)

/* ---- a burst: one notification, much data -------------------------------- */

#define BURST (512 * 1024)

/*
 * Every recv is cut to 4 KiB by the fault layer, so draining the burst
 * takes 128 reads, while the kernel reports it a handful of times. A
 * server that reads once per report never catches up when it is
 * edge-triggered: no new report comes for data already there.
 */
static void
burst(enum mux_backend b)
{
    struct tk_server srv;
    char *data = tk_xmalloc(BURST);

    mt_fill(data, BURST, 12);
    cr_assert_eq(fi_plan(FI_RECV, "short:4096 *"), 0);
    cr_assert_eq(fi_plan(FI_READ, "short:4096 *"), 0);
    mt_start(&srv, b, NULL);
    int fd = tk_connect_tcp(srv.port);
    struct tk_pump p = {.fd = fd, .data = data, .len = BURST, .chunk = BURST};
    tk_pump_start(&p);
    mt_read_check(fd, data, BURST, 10000,
                  "a client that sent 512 KiB at once (every read cut to "
                  "4 KiB): read until EAGAIN, not once per notification");
    tk_pump_join(&p);
    close(fd);
    free(data);
    mt_stop(&srv);
}
MUX_TEST_EACH(burst,
              "[MUX-8] a burst read 4 KiB at a time is drained without a "
              "new notification",
              burst)

/* ---- the read budget: fairness without starvation ----------------------- */

TK_TEST(epoll_et, budget_resumes,
        .description = "[MUX-9] a flooding client is cut by the read budget "
                       "and resumed without a new edge; others are served")
{
    struct tk_server srv;
    struct mux_config cfg = {.read_budget = 8192};
    char *data = tk_xmalloc(FLOOD);

    mt_fill(data, FLOOD, 13);
    mt_start(&srv, MUX_EPOLL_ET, &cfg);
    int fd = tk_connect_tcp(srv.port);
    int other = tk_connect_tcp(srv.port);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD, .chunk = 1 << 20};
    tk_pump_start(&p);
    for (int i = 0; i < 20; i++)
        mt_echo_str(other, "my turn\n", "a client beside a flooding one");
    mt_read_check(fd, data, FLOOD, 30000,
                  "the flooding client (read_budget 8 KiB per turn)");
    tk_pump_join(&p);
    close(fd);
    close(other);
    free(data);
    mt_stop(&srv);
    cr_assert_gt(mt_stats.budget_cuts, 0,
                 "epoll-et: stats.budget_cuts is 0: with read_budget 8 KiB, "
                 "a 2 MiB flood must end some turns early (MUX_MORE)");
}

/*
 * The run queue's pace: a turn cut by the budget waits for the next wait.
 * The echo is read while the flood goes on, so backpressure never ends a
 * turn and only the budget does: a loop that runs the queue again and
 * again until it is empty (the plausible wrong loop) makes dozens of
 * 1 KiB turns per wait, one 64 KiB segment's worth; the contract allows
 * two (one for the report, one from the queue). Counted, not timed.
 */
TK_TEST(epoll_et, budget_one_turn_per_wait,
        .description = "[MUX-15] a turn cut by the budget resumes after the "
                       "next wait, not in the same pass: at most two turns "
                       "per wait")
{
    struct tk_server srv;
    struct mux_config cfg = {.read_budget = 1024};
    char *data = tk_xmalloc(FLOOD);

    mt_fill(data, FLOOD, 17);
    mt_start(&srv, MUX_EPOLL_ET, &cfg);
    int fd = tk_connect_tcp(srv.port);
    mt_echo_str(fd, "ready\n", "a client before its flood");
    unsigned long waits0 = fi_calls(FI_WAIT);
    struct tk_pump p = {.fd = fd, .data = data, .len = FLOOD, .chunk = 1 << 16};
    tk_pump_start(&p);
    mt_read_check(fd, data, FLOOD, 30000,
                  "a flooding client whose echo is read as it comes "
                  "(read_budget 1 KiB per turn)");
    tk_pump_join(&p);
    unsigned long waits = fi_calls(FI_WAIT) - waits0;
    close(fd);
    free(data);
    mt_stop(&srv);
    cr_assert_gt(mt_stats.budget_cuts, 0,
                 "epoll-et: stats.budget_cuts is 0: with read_budget 1 KiB, "
                 "a 2 MiB flood must end some turns early (MUX_MORE)");
    cr_assert_leq(mt_stats.budget_cuts, 2 * waits,
                  "epoll-et: %lu turns were cut by the budget but the server "
                  "waited only %lu times: it runs a cut connection again "
                  "before the next wait (the run queue is emptied in a loop, "
                  "or a turn is repeated), so one flooder holds the thread "
                  "and nobody else is looked at",
                  mt_stats.budget_cuts, waits);
}

/* ---- thousands of connections -------------------------------------------- */

#define THOUSANDS 2000
#define BATCH 250 /* connects in flight at once: below the backlog of 512 */

static void
thousands(enum mux_backend b)
{
    struct tk_server srv;

    tk_raise_nofile(2 * THOUSANDS + 100); /* both ends live in this process */
    mt_start(&srv, b, NULL);
    tk_echo_thousands(srv.port, THOUSANDS, BATCH, REPLY_MS, mt_name());
    mt_stop(&srv);
    cr_assert_eq(mt_stats.accepted, THOUSANDS,
                 "%s: stats.accepted is %lu; expected %d", mt_name(),
                 mt_stats.accepted, THOUSANDS);
}
MUX_TEST_ONE(poll, MUX_POLL, two_thousand,
             "[MUX-2][MUX-6] 2000 concurrent connections", thousands)
MUX_TEST_ONE(epoll_lt, MUX_EPOLL_LT, two_thousand,
             "[MUX-2][MUX-6] 2000 concurrent connections", thousands)
MUX_TEST_ONE(epoll_et, MUX_EPOLL_ET, two_thousand,
             "[MUX-2][MUX-6] 2000 concurrent connections", thousands)

/* ---- select's FD_SETSIZE wall ---------------------------------------------
 */

#define OVER (FD_SETSIZE + 100) /* clients; the server's ends pass 1024 */

TK_TEST(select, fd_setsize,
        .description = "[MUX-7] descriptors >= FD_SETSIZE are refused and "
                       "counted; the rest are served")
{
    struct tk_server srv;
    int *fd = tk_xmalloc(OVER * sizeof(int));
    bool *served = tk_xmalloc(OVER * sizeof(bool));
    unsigned long refused = 0;
    char c;

    tk_raise_nofile(2 * OVER + 100);
    mt_start(&srv, MUX_SELECT, NULL);
    for (int i = 0; i < OVER; i++) {
        fd[i] = tk_connect_tcp(srv.port);
        tk_write_all(fd[i], "?", 1);
        ssize_t n = tk_read_exact(fd[i], &c, 1, REPLY_MS);
        cr_assert_neq(n, -ETIMEDOUT,
                      "select: connection %d got neither its echo nor EOF: "
                      "a connection select cannot watch must be closed",
                      i);
        served[i] = n == 1;
        refused += !served[i];
    }
    cr_assert_gt(refused, 0,
                 "select: all %d connections were served, but the server's "
                 "descriptors went past FD_SETSIZE (%d): FD_SET on them "
                 "writes outside the fd_set",
                 OVER, FD_SETSIZE);
    for (int i = 0; i < OVER; i += 50)
        if (served[i])
            mt_echo_str(fd[i], "still here\n",
                        "a served connection after others were refused");
    for (int i = 0; i < OVER; i++)
        close(fd[i]);
    free(fd);
    free(served);
    mt_stop(&srv);
    cr_assert_eq(mt_stats.refused_fd_setsize, refused,
                 "select: %lu connections were closed at once, but "
                 "stats.refused_fd_setsize is %lu",
                 refused, mt_stats.refused_fd_setsize);
}
