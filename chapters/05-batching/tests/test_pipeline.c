/*
 * test_pipeline.c - exercise 2 of chapter 05: bat_pipeline against kvd.
 *
 * kvd runs as a thread of the test process (kvd_start, port 0). It counts
 * the round trips it serves, can hold every round trip's replies for a
 * while, and can drop or close connections mid-batch, so partial failure
 * is provoked deterministically. The student's writes are counted with the
 * fault layer (fi_calls: write, writev and send), which also injects
 * partial sends and EINTR.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bat.h"
#include "iolab/fault.h"
#include "iolab/kvd.h"
#include "iolab/resp.h"
#include "iolab/testkit.h"

#define TIMEOUT_MS 10000 /* per reply, for replies that must come */

/* ---- fixtures ------------------------------------------------------------ */

static struct kvd *
start_kvd(void)
{
    struct kvd *kv = NULL;

    int err = kvd_start(NULL, &kv);
    cr_assert_eq(err, 0, "kvd_start: %s", strerror(-err));
    return kv;
}

/* A connection the server has certainly accepted (one PING answered). */
static struct resp_conn *
connect_kvd(struct kvd *kv)
{
    struct resp_conn *c = NULL;
    struct resp_reply r = {0};

    int err = resp_connect(NULL, kvd_port(kv), TIMEOUT_MS, &c);
    cr_assert_eq(err, 0, "resp_connect: %s", strerror(-err));
    err = resp_call(c, &r, TIMEOUT_MS, "PING", NULL);
    cr_assert_eq(err, 0, "PING: %s", strerror(-err));
    resp_reply_free(&r);
    return c;
}

/* Writes the student made since the last fi_reset. */
static unsigned long
writes(void)
{
    return fi_calls(FI_WRITE) + fi_calls(FI_WRITEV) + fi_calls(FI_SEND);
}

/* n commands "SET key:i val:i..." or "GET key:i", with their strings. */
struct cmds {
    size_t n;
    struct bat_cmd *cmd;
    const char **argv; /* 3 per command */
    char **strs;       /* 2 per command: key, value */
};

static void
value_of(char *buf, size_t cap, size_t i)
{
    snprintf(buf, cap, "value:%zu:%0*zu", i, (int)(i % 40), i * 7);
}

static void
cmds_make(struct cmds *c, size_t n, const char *verb)
{
    char buf[128];

    c->n = n;
    c->cmd = tk_xmalloc(n * sizeof(*c->cmd) + 1);
    c->argv = tk_xmalloc(3 * n * sizeof(*c->argv) + 1);
    c->strs = tk_xmalloc(2 * n * sizeof(*c->strs) + 1);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "key:%zu", i);
        c->strs[2 * i] = strdup(buf);
        value_of(buf, sizeof(buf), i);
        c->strs[2 * i + 1] = strdup(buf);
        c->argv[3 * i] = verb;
        c->argv[3 * i + 1] = c->strs[2 * i];
        c->argv[3 * i + 2] = c->strs[2 * i + 1];
        c->cmd[i] = (struct bat_cmd){.argc = strcmp(verb, "SET") == 0 ? 3 : 2,
                                     .argv = c->argv + 3 * i};
    }
}

static void
cmds_free(struct cmds *c)
{
    for (size_t i = 0; i < 2 * c->n; i++)
        free(c->strs[i]);
    free(c->strs);
    free(c->argv);
    free(c->cmd);
}

/* Every test's start: a server, a connection to it, n SET commands. */
static void
setup(struct kvd **kv, struct resp_conn **c, struct cmds *set, size_t n)
{
    *kv = start_kvd();
    *c = connect_kvd(*kv);
    cmds_make(set, n, "SET");
}

/* And its end; c may be NULL (already closed). */
static void
teardown(struct kvd *kv, struct resp_conn *c, struct cmds *set)
{
    resp_close(c);
    cmds_free(set);
    kvd_stop(kv);
}

static const char *
state_name(enum bat_state s)
{
    switch (s) {
    case BAT_NOT_SENT:
        return "BAT_NOT_SENT";
    case BAT_UNKNOWN:
        return "BAT_UNKNOWN";
    case BAT_REPLIED:
        return "BAT_REPLIED";
    }
    return "(not a bat_state)";
}

/* Checks that res[i] replied +OK, for i in [from, to). */
static void
check_ok(const struct bat_result *res, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        cr_assert_eq(res[i].state, BAT_REPLIED,
                     "command %zu: state %s, expected BAT_REPLIED", i,
                     state_name(res[i].state));
        cr_assert(res[i].reply.type == RESP_SIMPLE &&
                      strcmp(res[i].reply.str, "OK") == 0,
                  "command %zu (SET): the reply should be +OK; got type %d "
                  "\"%s\"",
                  i, res[i].reply.type,
                  res[i].reply.str ? res[i].reply.str : "");
    }
}

/* Checks, on a fresh connection, which of keys [from, to) are set. */
static void
check_keys(struct kvd *kv, size_t from, size_t to, bool set, const char *why)
{
    struct resp_conn *c = connect_kvd(kv);
    char key[64], want[128];

    for (size_t i = from; i < to; i++) {
        struct resp_reply r = {0};
        snprintf(key, sizeof(key), "key:%zu", i);
        cr_assert_eq(resp_call(c, &r, TIMEOUT_MS, "GET", key, NULL), 0);
        value_of(want, sizeof(want), i);
        if (set)
            cr_assert(r.type == RESP_BULK && strcmp(r.str, want) == 0,
                      "%s is not set to \"%s\" on the server; %s", key, want,
                      why);
        else
            cr_assert_eq(r.type, RESP_NIL, "%s is set on the server; %s", key,
                         why);
        resp_reply_free(&r);
    }
    resp_close(c);
}

static void
check_states(const struct bat_result *res, size_t from, size_t to,
             enum bat_state want, const char *why)
{
    for (size_t i = from; i < to; i++)
        cr_assert_eq(res[i].state, want,
                     "command %zu: state %s, expected %s: "
                     "%s",
                     i, state_name(res[i].state), state_name(want), why);
}

/* ---- batches ----------------------------------------------------------- */

TK_TEST(pipeline, set_then_get_in_batches,
        .description = "[BAT-12] 100 SETs and GETs in batches: one write and "
                       "about one round trip per batch")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[100];
    struct kvd_stats st;
    struct cmds set, get;

    setup(&kv, &c, &set, 100);

    cmds_make(&get, 100, "GET");
    kvd_reset_stats(kv);
    fi_reset();
    int err = bat_pipeline(c, set.cmd, 100, 10, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "100 SETs in batches of 10 returned %d (%s)", err,
                 strerror(-err));
    check_ok(res, 0, 100);
    cr_assert_eq(writes(), 10,
                 "%lu writes for 100 commands in batches of 10; expected "
                 "10: encode a whole batch, then write it at once",
                 writes());
    kvd_stats(kv, &st);
    cr_assert_eq(st.commands, 100, "kvd executed %llu commands, expected 100",
                 (unsigned long long)st.commands);
    cr_assert_leq(st.round_trips, 11,
                  "kvd served %llu round trips for 10 batches; expected at "
                  "most 11: send each batch before reading its replies",
                  (unsigned long long)st.round_trips);
    bat_results_free(res, 100);

    fi_reset();
    kvd_reset_stats(kv);
    err = bat_pipeline(c, get.cmd, 100, 7, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "100 GETs in batches of 7 returned %d", err);
    for (size_t i = 0; i < 100; i++) {
        char want[128];
        value_of(want, sizeof(want), i);
        cr_assert(res[i].state == BAT_REPLIED &&
                      res[i].reply.type == RESP_BULK &&
                      strcmp(res[i].reply.str, want) == 0,
                  "GET key:%zu: expected \"%s\" (replies must be matched to "
                  "commands in order)",
                  i, want);
    }
    cr_assert_eq(writes(), 15,
                 "%lu writes for 100 commands in batches of "
                 "7; expected 15",
                 writes());
    kvd_stats(kv, &st);
    cr_assert_leq(st.round_trips, 16,
                  "kvd served %llu round trips for 15 "
                  "batches",
                  (unsigned long long)st.round_trips);
    bat_results_free(res, 100);
    cmds_free(&get);
    teardown(kv, c, &set);
}

TK_TEST(pipeline, batch_size_edges,
        .description = "[BAT-12] batch 1, batch larger than n, n = 0, and "
                       "batch 0 (-EINVAL)")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[20];
    struct kvd_stats st;
    struct cmds set;

    setup(&kv, &c, &set, 20);

    fi_reset();
    int err = bat_pipeline(c, set.cmd, 20, 1, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "batch 1 returned %d", err);
    check_ok(res, 0, 20);
    cr_assert_eq(writes(), 20,
                 "batch 1: %lu writes for 20 commands, "
                 "expected 20",
                 writes());
    bat_results_free(res, 20);

    fi_reset();
    kvd_reset_stats(kv);
    err = bat_pipeline(c, set.cmd, 20, 500, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "batch 500 for 20 commands returned %d", err);
    check_ok(res, 0, 20);
    cr_assert_eq(writes(), 1,
                 "a batch larger than n: %lu writes, expected "
                 "1",
                 writes());
    kvd_stats(kv, &st);
    cr_assert_leq(st.round_trips, 2, "one batch took %llu round trips",
                  (unsigned long long)st.round_trips);
    bat_results_free(res, 20);

    fi_reset();
    kvd_reset_stats(kv);
    err = bat_pipeline(c, set.cmd, 0, 8, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "n = 0 should return 0, got %d", err);
    cr_assert_eq(writes(), 0, "n = 0 made %lu writes", writes());

    for (size_t i = 0; i < 20; i++)
        res[i].state = BAT_REPLIED + 7; /* garbage the function must set */
    err = bat_pipeline(c, set.cmd, 20, 0, res, TIMEOUT_MS);
    cr_assert_eq(err, -EINVAL, "batch 0 should return -EINVAL, got %d", err);
    check_states(res, 0, 20, BAT_NOT_SENT, "batch 0 sends nothing");
    cr_assert_eq(writes(), 0, "batch 0 made %lu writes", writes());
    kvd_stats(kv, &st);
    cr_assert_eq(st.commands, 0,
                 "kvd executed %llu commands for n = 0 and "
                 "batch 0",
                 (unsigned long long)st.commands);
    teardown(kv, c, &set);
}

TK_TEST(pipeline, error_reply_is_per_command,
        .description = "[BAT-10] an error reply fails its command only; the "
                       "rest of the batch runs")
{
    static const char *const a[][3] = {
        {"SET", "a", "1"}, {"SET", "b", "hello"}, {"INCR", "a"}, {"INCR", "b"},
        {"INCR", "a"},     {"NOSUCHCMD", "x"},    {"GET", "a"},  {"GET", "b"},
    };
    static const int argc[] = {3, 3, 2, 2, 2, 2, 2, 2};
    struct bat_cmd cmd[8];
    struct bat_result res[8];
    struct kvd *kv = start_kvd();
    struct resp_conn *c = connect_kvd(kv);

    for (int i = 0; i < 8; i++)
        cmd[i] = (struct bat_cmd){.argc = argc[i], .argv = a[i]};
    int err = bat_pipeline(c, cmd, 8, 3, res, TIMEOUT_MS);
    cr_assert_eq(err, 0,
                 "two commands got error replies and the connection is "
                 "fine: expected 0, got %d (an error reply is not a failed "
                 "pipeline)",
                 err);
    check_states(res, 0, 8, BAT_REPLIED, "every command got a reply");
    cr_assert_eq(res[3].reply.type, RESP_ERROR,
                 "INCR of \"hello\" should have an error reply");
    cr_assert_eq(res[5].reply.type, RESP_ERROR,
                 "an unknown command should have an error reply");
    cr_assert(res[2].reply.type == RESP_INTEGER && res[2].reply.integer == 2,
              "the first INCR a should reply 2");
    cr_assert(res[4].reply.type == RESP_INTEGER && res[4].reply.integer == 3,
              "the second INCR a, after the failed INCR b, should reply 3");
    cr_assert(res[7].reply.type == RESP_BULK &&
                  strcmp(res[7].reply.str, "hello") == 0,
              "GET b, after the errors, should reply \"hello\"");
    bat_results_free(res, 8);
    resp_close(c);
    kvd_stop(kv);
}

/* ---- partial failure -------------------------------------------------------
 */

TK_TEST(pipeline, close_mid_batch,
        .description = "[BAT-11] the server closes mid-batch: replied, "
                       "unknown and never-sent commands are told apart")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[20];
    struct cmds set;

    setup(&kv, &c, &set, 20);

    /* Commands 0..10 are answered; then the server closes. */
    cr_assert_eq(kvd_close_after(kv, 11), 0);
    int err = bat_pipeline(c, set.cmd, 20, 8, res, TIMEOUT_MS);
    cr_assert_lt(err, 0,
                 "the server closed the connection after 11 of 20 "
                 "commands: expected a negative errno, got %d",
                 err);
    check_ok(res, 0, 11);
    check_states(res, 11, 16, BAT_UNKNOWN,
                 "it was sent in the second batch and got no reply");
    check_states(res, 16, 20, BAT_NOT_SENT,
                 "its batch came after the failure, so it was never sent");
    bat_results_free(res, 20);
    resp_close(c);
    c = NULL;
    check_keys(kv, 0, 11, true, "its SET was confirmed");
    check_keys(kv, 16, 20, false, "its SET was reported never sent");
    teardown(kv, c, &set);
}

TK_TEST(pipeline, failed_send_leaves_batch_unknown,
        .description = "[BAT-11] a send that fails after part of a batch "
                       "went out: that batch UNKNOWN, the one before "
                       "REPLIED, the one after NOT_SENT")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[12];
    struct cmds set;

    setup(&kv, &c, &set, 12);

    /*
     * The first batch goes out whole. The second batch's first write
     * carries 10 bytes, then the connection fails: the server may have
     * received (and, with luck, run) part of it, so it is UNKNOWN, not
     * NOT_SENT.
     */
    static const char plan[] = "pass short:10 err:ECONNRESET";
    cr_assert_eq(fi_plan(FI_SEND, plan), 0);
    cr_assert_eq(fi_plan(FI_WRITE, plan), 0);
    cr_assert_eq(fi_plan(FI_WRITEV, plan), 0);
    int err = bat_pipeline(c, set.cmd, 12, 4, res, TIMEOUT_MS);
    cr_assert_eq(err, -ECONNRESET,
                 "the second batch's write failed with ECONNRESET after 10 "
                 "bytes: expected -ECONNRESET (-104), got %d",
                 err);
    check_ok(res, 0, 4);
    check_states(res, 4, 8, BAT_UNKNOWN,
                 "10 bytes of its batch went out before the write failed: "
                 "the server may have them");
    check_states(res, 8, 12, BAT_NOT_SENT,
                 "its batch came after the failure, so it was never sent");
    bat_results_free(res, 12);
    teardown(kv, c, &set);
}

struct bg_pipeline {
    struct resp_conn *c;
    const struct bat_cmd *cmd;
    size_t n, batch;
    struct bat_result *res;
    int result;
};

static void *
bg_pipeline_main(void *arg)
{
    struct bg_pipeline *p = arg;

    p->result = bat_pipeline(p->c, p->cmd, p->n, p->batch, p->res, 30000);
    return NULL;
}

TK_TEST(pipeline, drop_while_replies_held,
        .description = "[BAT-11] connection dropped after the server ran a "
                       "batch but before replying: UNKNOWN, yet executed")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[24];
    struct kvd_stats st;
    struct cmds set;
    pthread_t th;

    setup(&kv, &c, &set, 24);

    /* Hold each round trip's replies for 20 s: time enough to drop. */
    cr_assert_eq(kvd_set_delays(kv, 20000000, 0), 0);
    kvd_reset_stats(kv);
    struct bg_pipeline p = {
        .c = c, .cmd = set.cmd, .n = 24, .batch = 8, .res = res};
    pthread_create(&th, NULL, bg_pipeline_main, &p);
    long long t0 = tk_now_ms();
    do {
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
        kvd_stats(kv, &st);
    } while (st.commands < 8 && tk_now_ms() - t0 < 10000);
    cr_assert_eq(st.commands, 8,
                 "the server received %llu commands of the first batch of "
                 "8 within 10 s (expected exactly 8: one batch, then wait "
                 "for its replies)",
                 (unsigned long long)st.commands);
    cr_assert_eq(kvd_drop_all(kv), 0);
    pthread_join(th, NULL);
    cr_assert_lt(p.result, 0,
                 "the connection was dropped before any reply: expected a "
                 "negative errno, got %d",
                 p.result);
    check_states(res, 0, 8, BAT_UNKNOWN,
                 "it was sent, and the connection died before its reply");
    check_states(res, 8, 24, BAT_NOT_SENT, "its batch was never sent");
    bat_results_free(res, 24);
    resp_close(c);
    c = NULL;
    cr_assert_eq(kvd_set_delays(kv, 0, 0), 0);
    /* The lesson: UNKNOWN is not "failed". These SETs did run. */
    check_keys(kv, 0, 8, true,
               "(the server executed the first batch; only its replies were "
               "lost, which is why the client must say UNKNOWN, not failed)");
    check_keys(kv, 8, 24, false, "its SET was reported never sent");
    teardown(kv, c, &set);
}

TK_TEST(pipeline, reply_timeout,
        .description = "[BAT-11] a reply later than timeout_ms: -ETIMEDOUT, "
                       "the batch UNKNOWN, the rest NOT_SENT")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[10];
    struct cmds set;

    setup(&kv, &c, &set, 10);

    cr_assert_eq(kvd_set_delays(kv, 3000000, 0), 0); /* 3 s per round trip */
    int err = bat_pipeline(c, set.cmd, 10, 4, res, 100);
    cr_assert_eq(err, -ETIMEDOUT,
                 "replies held 3 s with a timeout of 100 ms: expected "
                 "-ETIMEDOUT, got %d",
                 err);
    check_states(res, 0, 4, BAT_UNKNOWN, "sent, reply not in time");
    check_states(res, 4, 10, BAT_NOT_SENT, "never sent");
    bat_results_free(res, 10);
    teardown(kv, c, &set);
}

TK_TEST(pipeline, bad_command_not_sent,
        .description = "[BAT-11] a command that cannot be encoded: its batch "
                       "and later ones are not sent, -EINVAL")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[12];
    struct kvd_stats st;
    struct cmds set;

    setup(&kv, &c, &set, 12);

    set.cmd[5].argc = 0; /* not a command */
    kvd_reset_stats(kv);
    int err = bat_pipeline(c, set.cmd, 12, 4, res, TIMEOUT_MS);
    cr_assert_eq(err, -EINVAL,
                 "command 5 has argc 0: expected -EINVAL, got "
                 "%d",
                 err);
    check_ok(res, 0, 4);
    check_states(res, 4, 12, BAT_NOT_SENT,
                 "its batch holds a command that cannot be encoded, or comes "
                 "after it");
    kvd_stats(kv, &st);
    cr_assert_eq(st.commands, 4,
                 "kvd executed %llu commands; only the "
                 "first batch (4) should have been sent",
                 (unsigned long long)st.commands);
    bat_results_free(res, 12);
    teardown(kv, c, &set);
}

TK_TEST(pipeline, vanished_server_no_sigpipe,
        .description = "[BAT-14] writing to a server that is gone returns "
                       "an error instead of dying of SIGPIPE")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[16];
    struct cmds set;

    setup(&kv, &c, &set, 16);

    cr_assert_eq(kvd_drop_all(kv), 0);
    /* The first call may get its bytes out before the reset comes back. */
    int err = bat_pipeline(c, set.cmd, 16, 4, res, TIMEOUT_MS);
    cr_assert_lt(err, 0,
                 "the server is gone: expected a negative errno, got "
                 "%d",
                 err);
    check_states(res, 0, 4, BAT_UNKNOWN, "sent (or tried), no reply");
    check_states(res, 4, 16, BAT_NOT_SENT, "never sent");
    bat_results_free(res, 16);
    /* Now the socket has seen the reset: a write fails (EPIPE). */
    err = bat_pipeline(c, set.cmd, 16, 4, res, TIMEOUT_MS);
    cr_assert_lt(err, 0,
                 "a second pipeline on the dead connection: "
                 "expected a negative errno, got %d",
                 err);
    bat_results_free(res, 16);
    teardown(kv, c, &set);
}

TK_TEST(pipeline, partial_writes_and_eintr,
        .description = "[BAT-13] partial sends and EINTR are continued; the "
                       "replies still match the commands")
{
    struct kvd *kv;
    struct resp_conn *c;
    struct bat_result res[30];
    struct cmds set, get;

    setup(&kv, &c, &set, 30);

    cmds_make(&get, 30, "GET");
    static const char plan[] = "eintr short:5 short:100 eintr short:1 *";
    cr_assert_eq(fi_plan(FI_SEND, plan), 0);
    cr_assert_eq(fi_plan(FI_WRITE, plan), 0);
    cr_assert_eq(fi_plan(FI_WRITEV, plan), 0);
    int err = bat_pipeline(c, set.cmd, 30, 10, res, TIMEOUT_MS);
    cr_assert_eq(err, 0,
                 "with partial writes and EINTR injected: expected "
                 "0, got %d (%s)",
                 err, strerror(-err));
    check_ok(res, 0, 30);
    bat_results_free(res, 30);
    err = bat_pipeline(c, get.cmd, 30, 7, res, TIMEOUT_MS);
    cr_assert_eq(err, 0, "GETs with partial writes: got %d", err);
    for (size_t i = 0; i < 30; i++) {
        char want[128];
        value_of(want, sizeof(want), i);
        cr_assert(res[i].state == BAT_REPLIED &&
                      res[i].reply.type == RESP_BULK &&
                      strcmp(res[i].reply.str, want) == 0,
                  "GET key:%zu: expected \"%s\": after a partial write, "
                  "continue from exactly the next byte",
                  i, want);
    }
    bat_results_free(res, 30);
    cmds_free(&get);
    teardown(kv, c, &set);
}
