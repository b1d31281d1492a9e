/*
 * kvd_cmd.c - kvd's commands: a table, a lookup, one function each.
 *
 * Every command appends exactly one reply, with the same text Redis
 * sends (the errors included), so redis-cli and redis-benchmark see what
 * they expect. Arguments are binary-safe byte strings (struct karg).
 * Commands run in the server's thread only, and reach the server only
 * through the operations table of kvd_cmd.h.
 */
#include "kvd_cmd.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "iolab/kvd.h"
#include "wire.h"

#define ERR_INT "ERR value is not an integer or out of range"
#define ERR_SYNTAX "ERR syntax error"

typedef void (*cmd_cb)(const struct kcmd_ctx *x, int argc,
                       const struct karg *argv);

struct cmd {
    const char *name;              /* lower case */
    int arity;                     /* argc exactly; negative: at least -arity */
    const char *flags;             /* for COMMAND: space-separated */
    int first_key, last_key, step; /* for COMMAND */
    cmd_cb fn;
};

/* ---- argument helpers ---------------------------------------------------- */

/* Is a (any case) equal to the upper-case word w? */
static bool
arg_is(const struct karg *a, const char *w)
{
    return strlen(w) == a->len && strncasecmp(a->p, w, a->len) == 0;
}

/*
 * Parses a 64-bit integer the way Redis does: an optional '-', digits, no
 * leading zero (except "0"), no blanks, no overflow. The canonical form is
 * checked here; the digits are read by the one decimal reader (wire.h).
 */
static bool
arg_ll(const struct karg *a, long long *out)
{
    size_t neg = a->len > 0 && a->p[0] == '-';
    bool zero = a->len == 1 && a->p[0] == '0'; /* the one leading zero */

    if (!zero && (a->len == neg || a->p[neg] < '1' || a->p[neg] > '9'))
        return false;
    return wire_parse_ll(a->p, a->len, out);
}

/* Copies a into buf (at most cap - 1 bytes), printable, NUL-terminated. */
static const char *
arg_printable(const struct karg *a, char *buf, size_t cap)
{
    size_t n = a->len < cap - 1 ? a->len : cap - 1;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)a->p[i];
        buf[i] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    buf[n] = '\0';
    return buf;
}

/* ---- keys and values ----------------------------------------------------- */

static void
cmd_get(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    (void)argc;
    struct kentry *e = store_get(x->store, argv[1].p, argv[1].len, x->now);

    if (e == NULL)
        out_nil(x->out);
    else
        out_bulk(x->out, kentry_val(e), e->vlen);
}

/* SET key value [EX s | PX ms | KEEPTTL] [NX | XX] */
static void
cmd_set(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    struct kstore *st = x->store;
    bool nx = false, xx = false, keep = false, has_ttl = false;
    int64_t expire = 0;

    for (int i = 3; i < argc; i++) {
        const struct karg *a = &argv[i];
        bool ex = arg_is(a, "EX"), px = arg_is(a, "PX");
        if ((ex || px) && i + 1 < argc && !has_ttl && !keep) {
            long long n;
            if (!arg_ll(&argv[++i], &n)) {
                out_error(x->out, ERR_INT);
                return;
            }
            if (n <= 0 || (ex && n > LLONG_MAX / 1000) ||
                (ex ? n * 1000 : n) > LLONG_MAX - x->now) {
                out_error(x->out, "ERR invalid expire time in 'set' command");
                return;
            }
            expire = x->now + (ex ? n * 1000 : n);
            has_ttl = true;
        } else if (arg_is(a, "NX") && !xx) {
            nx = true;
        } else if (arg_is(a, "XX") && !nx) {
            xx = true;
        } else if (arg_is(a, "KEEPTTL") && !has_ttl) {
            keep = true;
        } else {
            out_error(x->out, ERR_SYNTAX);
            return;
        }
    }
    if (nx || xx) {
        bool exists = store_get(st, argv[1].p, argv[1].len, x->now) != NULL;
        if (exists == nx) {
            out_nil(x->out);
            return;
        }
    }
    if (store_set(st, argv[1].p, argv[1].len, argv[2].p, argv[2].len, expire,
                  keep, x->now) == NULL)
        out_error(x->out,
                  "OOM command not allowed when used memory > 'maxmemory'");
    else
        out_simple(x->out, "OK");
}

static void
cmd_del(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    long long n = 0;

    for (int i = 1; i < argc; i++)
        n += store_del(x->store, argv[i].p, argv[i].len, x->now);
    out_int(x->out, n);
}

static void
cmd_exists(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    long long n = 0;

    for (int i = 1; i < argc; i++)
        n += store_get(x->store, argv[i].p, argv[i].len, x->now) != NULL;
    out_int(x->out, n);
}

/* INCR, DECR, INCRBY, DECRBY: add by to the integer stored at key. */
static void
incr_by(const struct kcmd_ctx *x, const struct karg *key, long long by)
{
    struct kstore *st = x->store;
    struct kentry *e = store_get(st, key->p, key->len, x->now);
    long long v = 0;
    char text[24];

    if (e != NULL) {
        struct karg val = {kentry_val(e), e->vlen};
        if (!arg_ll(&val, &v)) {
            out_error(x->out, ERR_INT);
            return;
        }
    }
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by)) {
        out_error(x->out, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    int n = snprintf(text, sizeof(text), "%lld", v);
    /* The time to live survives, as in Redis. */
    if (store_set(st, key->p, key->len, text, (size_t)n, 0, true, x->now) ==
        NULL)
        out_error(x->out,
                  "OOM command not allowed when used memory > 'maxmemory'");
    else
        out_int(x->out, v);
}

static void
cmd_incr(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    (void)argc;
    incr_by(x, &argv[1], arg_is(&argv[0], "DECR") ? -1 : 1);
}

static void
cmd_incrby(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    long long by;

    (void)argc;
    if (!arg_ll(&argv[2], &by)) {
        out_error(x->out, ERR_INT);
        return;
    }
    if (arg_is(&argv[0], "DECRBY")) {
        if (by == LLONG_MIN) {
            out_error(x->out, "ERR decrement would overflow");
            return;
        }
        by = -by;
    }
    incr_by(x, &argv[1], by);
}

static void
cmd_mget(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    out_array(x->out, (size_t)argc - 1);
    for (int i = 1; i < argc; i++)
        cmd_get(x, 2, &argv[i - 1]);
}

static void
cmd_mset(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    if (argc % 2 == 0) {
        out_error(x->out, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (int i = 1; i < argc; i += 2)
        if (store_set(x->store, argv[i].p, argv[i].len, argv[i + 1].p,
                      argv[i + 1].len, 0, false, x->now) == NULL) {
            out_error(x->out, "OOM command not allowed when used memory > "
                              "'maxmemory'");
            return;
        }
    out_simple(x->out, "OK");
}

/* TTL and PTTL: -2 no key, -1 no expiry, else the time left. */
static void
cmd_ttl(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    struct kentry *e = store_get(x->store, argv[1].p, argv[1].len, x->now);

    (void)argc;
    if (e == NULL)
        out_int(x->out, -2);
    else if (e->expire_ms == 0)
        out_int(x->out, -1);
    else if (arg_is(&argv[0], "PTTL"))
        out_int(x->out, e->expire_ms - x->now);
    else
        out_int(x->out, (e->expire_ms - x->now + 500) / 1000);
}

/* ---- the server ------------------------------------------------------------
 */

static void
cmd_ping(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    if (argc > 2)
        out_error(x->out, "ERR wrong number of arguments for 'ping' command");
    else if (argc == 2)
        out_bulk(x->out, argv[1].p, argv[1].len);
    else
        out_simple(x->out, "PONG");
}

static void
cmd_echo(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    (void)argc;
    out_bulk(x->out, argv[1].p, argv[1].len);
}

static void
cmd_flushall(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    if (argc > 2 || (argc == 2 && !arg_is(&argv[1], "ASYNC") &&
                     !arg_is(&argv[1], "SYNC"))) {
        out_error(x->out, ERR_SYNTAX);
        return;
    }
    store_flush(x->store);
    out_simple(x->out, "OK");
}

static void
cmd_dbsize(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    (void)argc;
    (void)argv;
    out_int(x->out, (long long)x->store->count);
}

static void
cmd_info(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    if (argc > 2)
        out_error(x->out, ERR_SYNTAX);
    else if (argc == 2)
        x->ops->info(x->kv, x->out, argv[1].p, argv[1].len);
    else
        x->ops->info(x->kv, x->out, NULL, 0);
}

static void
cmd_quit(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    (void)argc;
    (void)argv;
    out_simple(x->out, "OK");
    x->ops->quit(x->conn);
}

static void
cmd_select(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    long long db;

    (void)argc;
    if (!arg_ll(&argv[1], &db))
        out_error(x->out, ERR_INT);
    else if (db != 0)
        out_error(x->out, "ERR DB index is out of range");
    else
        out_simple(x->out, "OK");
}

/* The parameters CONFIG GET knows: what clients ask at start. */
static const char *const config_params[][2] = {
    {"save", ""},       {"appendonly", "no"}, {"databases", "1"},
    {"maxmemory", "0"}, {"timeout", "0"},
};
#define NPARAMS (sizeof(config_params) / sizeof(config_params[0]))

static void
cmd_config(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    char pat[128], sub[32];

    if (arg_is(&argv[1], "GET") && argc >= 3) {
        bool hit[NPARAMS] = {false};
        size_t n = 0;
        for (int i = 2; i < argc; i++) {
            arg_printable(&argv[i], pat, sizeof(pat));
            for (size_t k = 0; k < NPARAMS; k++)
                if (!hit[k] &&
                    fnmatch(pat, config_params[k][0], FNM_CASEFOLD) == 0) {
                    hit[k] = true;
                    n++;
                }
        }
        out_array(x->out, 2 * n);
        for (size_t k = 0; k < NPARAMS; k++)
            if (hit[k]) {
                out_bulk(x->out, config_params[k][0],
                         strlen(config_params[k][0]));
                out_bulk(x->out, config_params[k][1],
                         strlen(config_params[k][1]));
            }
    } else if (arg_is(&argv[1], "RESETSTAT") && argc == 2) {
        x->ops->reset_stats(x->kv);
        out_simple(x->out, "OK");
    } else if (arg_is(&argv[1], "SET") && argc >= 4 && argc % 2 == 0) {
        out_error(x->out,
                  "ERR Unknown option or number of arguments for CONFIG "
                  "SET - '%s'",
                  arg_printable(&argv[2], pat, sizeof(pat)));
    } else {
        out_error(x->out,
                  "ERR unknown subcommand or wrong number of arguments for "
                  "'%s'. Try CONFIG HELP.",
                  arg_printable(&argv[1], sub, sizeof(sub)));
    }
}

/* KVD DELAY rtt_us accept_us | DROP | REFUSE ms | CLOSEAFTER n | RESETSTATS */
static void
cmd_kvd(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    long long a = 0, b = 0;
    char sub[32];

    if (arg_is(&argv[1], "DELAY") && argc == 4) {
        if (!arg_ll(&argv[2], &a) || !arg_ll(&argv[3], &b) || a < 0 || b < 0 ||
            a > KVD_MAX_DELAY_US || b > KVD_MAX_DELAY_US) {
            out_error(x->out, "ERR delays are microseconds, 0 to %u",
                      KVD_MAX_DELAY_US);
            return;
        }
        x->ops->set_delays(x->kv, (unsigned)a, (unsigned)b);
    } else if (arg_is(&argv[1], "DROP") && argc == 2) {
        x->ops->drop_all(x->kv); /* this connection too: no reply arrives */
    } else if (arg_is(&argv[1], "REFUSE") && argc == 3) {
        if (!arg_ll(&argv[2], &a) || a < 0 || a > UINT_MAX) {
            out_error(x->out, ERR_INT);
            return;
        }
        x->ops->refuse(x->kv, (unsigned)a);
    } else if (arg_is(&argv[1], "CLOSEAFTER") && argc == 3) {
        if (!arg_ll(&argv[2], &a) || a < 0 || a > UINT_MAX) {
            out_error(x->out, ERR_INT);
            return;
        }
        x->ops->close_after(x->kv, (unsigned)a, x->conn);
    } else if (arg_is(&argv[1], "RESETSTATS") && argc == 2) {
        x->ops->reset_stats(x->kv);
    } else {
        out_error(x->out, "ERR unknown KVD subcommand '%s'",
                  arg_printable(&argv[1], sub, sizeof(sub)));
        return;
    }
    out_simple(x->out, "OK");
}

static void cmd_command(const struct kcmd_ctx *x, int argc,
                        const struct karg *argv);

static const struct cmd commands[] = {
    {"get", 2, "readonly fast", 1, 1, 1, cmd_get},
    {"set", -3, "write denyoom", 1, 1, 1, cmd_set},
    {"incr", 2, "write denyoom fast", 1, 1, 1, cmd_incr},
    {"decr", 2, "write denyoom fast", 1, 1, 1, cmd_incr},
    {"incrby", 3, "write denyoom fast", 1, 1, 1, cmd_incrby},
    {"decrby", 3, "write denyoom fast", 1, 1, 1, cmd_incrby},
    {"mget", -2, "readonly fast", 1, -1, 1, cmd_mget},
    {"mset", -3, "write denyoom", 1, -1, 2, cmd_mset},
    {"del", -2, "write", 1, -1, 1, cmd_del},
    {"exists", -2, "readonly fast", 1, -1, 1, cmd_exists},
    {"ttl", 2, "readonly fast", 1, 1, 1, cmd_ttl},
    {"pttl", 2, "readonly fast", 1, 1, 1, cmd_ttl},
    {"ping", -1, "fast", 0, 0, 0, cmd_ping},
    {"echo", 2, "fast", 0, 0, 0, cmd_echo},
    {"flushall", -1, "write", 0, 0, 0, cmd_flushall},
    {"flushdb", -1, "write", 0, 0, 0, cmd_flushall},
    {"dbsize", 1, "readonly fast", 0, 0, 0, cmd_dbsize},
    {"info", -1, "loading stale", 0, 0, 0, cmd_info},
    {"select", 2, "loading stale fast", 0, 0, 0, cmd_select},
    {"config", -2, "admin loading stale", 0, 0, 0, cmd_config},
    {"command", -1, "loading stale", 0, 0, 0, cmd_command},
    {"quit", -1, "loading stale fast", 0, 0, 0, cmd_quit},
    {"kvd", -2, "admin", 0, 0, 0, cmd_kvd},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd *
lookup(const struct karg *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (arg_is(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* One command's COMMAND INFO entry (the Redis 6 shape: 7 fields). */
static void
command_entry(struct kout *out, const struct cmd *cmd)
{
    const char *f = cmd->flags;
    size_t nflags = 0;

    for (const char *p = f; *p; p += strcspn(p, " "), p += *p == ' ')
        nflags++;
    out_array(out, 7);
    out_bulk(out, cmd->name, strlen(cmd->name));
    out_int(out, cmd->arity);
    out_array(out, nflags);
    for (const char *p = f; *p; p += *p == ' ') {
        size_t len = strcspn(p, " ");
        char word[32];
        snprintf(word, sizeof(word), "%.*s", (int)len, p);
        out_simple(out, word);
        p += len;
    }
    out_int(out, cmd->first_key);
    out_int(out, cmd->last_key);
    out_int(out, cmd->step);
    out_array(out, 0);
}

/* COMMAND [COUNT | INFO name... | DOCS [name...]] */
static void
cmd_command(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    char sub[32];

    if (argc == 1) {
        out_array(x->out, NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++)
            command_entry(x->out, &commands[i]);
    } else if (arg_is(&argv[1], "COUNT") && argc == 2) {
        out_int(x->out, NCOMMANDS);
    } else if (arg_is(&argv[1], "INFO")) {
        out_array(x->out, (size_t)argc - 2);
        for (int i = 2; i < argc; i++) {
            const struct cmd *cmd = lookup(&argv[i]);
            if (cmd == NULL)
                out_raw(x->out, "*-1\r\n", 5);
            else
                command_entry(x->out, cmd);
        }
    } else if (arg_is(&argv[1], "DOCS")) {
        out_array(x->out, 0); /* no documentation: clients show none */
    } else {
        out_error(x->out,
                  "ERR unknown subcommand or wrong number of arguments for "
                  "'%s'. Try COMMAND HELP.",
                  arg_printable(&argv[1], sub, sizeof(sub)));
    }
}

void
kvd_exec(const struct kcmd_ctx *x, int argc, const struct karg *argv)
{
    const struct cmd *cmd = lookup(&argv[0]);
    char name[64], args[256];

    if (cmd == NULL) {
        size_t len = 0;
        args[0] = '\0';
        for (int i = 1; i < argc && len < sizeof(args) - 80; i++) {
            char one[64];
            len += (size_t)snprintf(args + len, sizeof(args) - len, "'%s' ",
                                    arg_printable(&argv[i], one, sizeof(one)));
        }
        out_error(x->out,
                  "ERR unknown command '%s', with args beginning with: %s",
                  arg_printable(&argv[0], name, sizeof(name)), args);
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) ||
        (cmd->arity < 0 && argc < -cmd->arity)) {
        out_error(x->out, "ERR wrong number of arguments for '%s' command",
                  cmd->name);
        return;
    }
    cmd->fn(x, argc, argv);
}
