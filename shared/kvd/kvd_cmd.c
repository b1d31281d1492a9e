/*
 * kvd_cmd.c - kvd's commands: a table, a lookup, one function each.
 *
 * Every command appends exactly one reply, with the same text Redis
 * sends (the errors included), so redis-cli and redis-benchmark see what
 * they expect. Arguments are binary-safe byte strings (struct karg).
 * Commands run in the server's thread only.
 */
#include "kvd_int.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire.h"

#define ERR_INT "ERR value is not an integer or out of range"
#define ERR_SYNTAX "ERR syntax error"

typedef void (*cmd_cb)(struct kvd *kv, struct kconn *c, int argc,
                       const struct karg *argv, int64_t now);

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
cmd_get(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
        int64_t now)
{
    (void)argc;
    struct kentry *e = store_get(kvd_store(kv), argv[1].p, argv[1].len, now);

    if (e == NULL)
        out_nil(c);
    else
        out_bulk(c, kentry_val(e), e->vlen);
}

/* SET key value [EX s | PX ms | KEEPTTL] [NX | XX] */
static void
cmd_set(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
        int64_t now)
{
    struct kstore *st = kvd_store(kv);
    bool nx = false, xx = false, keep = false, has_ttl = false;
    int64_t expire = 0;

    for (int i = 3; i < argc; i++) {
        const struct karg *a = &argv[i];
        bool ex = arg_is(a, "EX"), px = arg_is(a, "PX");
        if ((ex || px) && i + 1 < argc && !has_ttl && !keep) {
            long long n;
            if (!arg_ll(&argv[++i], &n)) {
                out_error(c, ERR_INT);
                return;
            }
            if (n <= 0 || (ex && n > LLONG_MAX / 1000) ||
                (ex ? n * 1000 : n) > LLONG_MAX - now) {
                out_error(c, "ERR invalid expire time in 'set' command");
                return;
            }
            expire = now + (ex ? n * 1000 : n);
            has_ttl = true;
        } else if (arg_is(a, "NX") && !xx) {
            nx = true;
        } else if (arg_is(a, "XX") && !nx) {
            xx = true;
        } else if (arg_is(a, "KEEPTTL") && !has_ttl) {
            keep = true;
        } else {
            out_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (nx || xx) {
        bool exists = store_get(st, argv[1].p, argv[1].len, now) != NULL;
        if (exists == nx) {
            out_nil(c);
            return;
        }
    }
    if (store_set(st, argv[1].p, argv[1].len, argv[2].p, argv[2].len, expire,
                  keep, now) == NULL)
        out_error(c, "OOM command not allowed when used memory > 'maxmemory'");
    else
        out_simple(c, "OK");
}

static void
cmd_del(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
        int64_t now)
{
    long long n = 0;

    for (int i = 1; i < argc; i++)
        n += store_del(kvd_store(kv), argv[i].p, argv[i].len, now);
    out_int(c, n);
}

static void
cmd_exists(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
           int64_t now)
{
    long long n = 0;

    for (int i = 1; i < argc; i++)
        n += store_get(kvd_store(kv), argv[i].p, argv[i].len, now) != NULL;
    out_int(c, n);
}

/* INCR, DECR, INCRBY, DECRBY: add by to the integer stored at key. */
static void
incr_by(struct kvd *kv, struct kconn *c, const struct karg *key, long long by,
        int64_t now)
{
    struct kstore *st = kvd_store(kv);
    struct kentry *e = store_get(st, key->p, key->len, now);
    long long v = 0;
    char text[24];

    if (e != NULL) {
        struct karg val = {kentry_val(e), e->vlen};
        if (!arg_ll(&val, &v)) {
            out_error(c, ERR_INT);
            return;
        }
    }
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by)) {
        out_error(c, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    int n = snprintf(text, sizeof(text), "%lld", v);
    /* The time to live survives, as in Redis. */
    if (store_set(st, key->p, key->len, text, (size_t)n, 0, true, now) == NULL)
        out_error(c, "OOM command not allowed when used memory > 'maxmemory'");
    else
        out_int(c, v);
}

static void
cmd_incr(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    (void)argc;
    incr_by(kv, c, &argv[1], arg_is(&argv[0], "DECR") ? -1 : 1, now);
}

static void
cmd_incrby(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
           int64_t now)
{
    long long by;

    (void)argc;
    if (!arg_ll(&argv[2], &by)) {
        out_error(c, ERR_INT);
        return;
    }
    if (arg_is(&argv[0], "DECRBY")) {
        if (by == LLONG_MIN) {
            out_error(c, "ERR decrement would overflow");
            return;
        }
        by = -by;
    }
    incr_by(kv, c, &argv[1], by, now);
}

static void
cmd_mget(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    out_array(c, (size_t)argc - 1);
    for (int i = 1; i < argc; i++)
        cmd_get(kv, c, 2, &argv[i - 1], now);
}

static void
cmd_mset(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    if (argc % 2 == 0) {
        out_error(c, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (int i = 1; i < argc; i += 2)
        if (store_set(kvd_store(kv), argv[i].p, argv[i].len, argv[i + 1].p,
                      argv[i + 1].len, 0, false, now) == NULL) {
            out_error(c, "OOM command not allowed when used memory > "
                         "'maxmemory'");
            return;
        }
    out_simple(c, "OK");
}

/* TTL and PTTL: -2 no key, -1 no expiry, else the time left. */
static void
cmd_ttl(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
        int64_t now)
{
    struct kentry *e = store_get(kvd_store(kv), argv[1].p, argv[1].len, now);

    (void)argc;
    if (e == NULL)
        out_int(c, -2);
    else if (e->expire_ms == 0)
        out_int(c, -1);
    else if (arg_is(&argv[0], "PTTL"))
        out_int(c, e->expire_ms - now);
    else
        out_int(c, (e->expire_ms - now + 500) / 1000);
}

/* ---- the server ------------------------------------------------------------
 */

static void
cmd_ping(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    (void)kv;
    (void)now;
    if (argc > 2)
        out_error(c, "ERR wrong number of arguments for 'ping' command");
    else if (argc == 2)
        out_bulk(c, argv[1].p, argv[1].len);
    else
        out_simple(c, "PONG");
}

static void
cmd_echo(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    (void)kv;
    (void)argc;
    (void)now;
    out_bulk(c, argv[1].p, argv[1].len);
}

static void
cmd_flushall(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
             int64_t now)
{
    (void)now;
    if (argc > 2 || (argc == 2 && !arg_is(&argv[1], "ASYNC") &&
                     !arg_is(&argv[1], "SYNC"))) {
        out_error(c, ERR_SYNTAX);
        return;
    }
    store_flush(kvd_store(kv));
    out_simple(c, "OK");
}

static void
cmd_dbsize(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
           int64_t now)
{
    (void)argc;
    (void)argv;
    (void)now;
    out_int(c, (long long)kvd_store(kv)->count);
}

static void
cmd_info(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    (void)now;
    if (argc > 2)
        out_error(c, ERR_SYNTAX);
    else if (argc == 2)
        kvd_info(kv, c, argv[1].p, argv[1].len);
    else
        kvd_info(kv, c, NULL, 0);
}

static void
cmd_quit(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
{
    (void)kv;
    (void)argc;
    (void)argv;
    (void)now;
    out_simple(c, "OK");
    kvd_conn_quit(c);
}

static void
cmd_select(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
           int64_t now)
{
    long long db;

    (void)kv;
    (void)argc;
    (void)now;
    if (!arg_ll(&argv[1], &db))
        out_error(c, ERR_INT);
    else if (db != 0)
        out_error(c, "ERR DB index is out of range");
    else
        out_simple(c, "OK");
}

/* The parameters CONFIG GET knows: what clients ask at start. */
static const char *const config_params[][2] = {
    {"save", ""},       {"appendonly", "no"}, {"databases", "1"},
    {"maxmemory", "0"}, {"timeout", "0"},
};
#define NPARAMS (sizeof(config_params) / sizeof(config_params[0]))

static void
cmd_config(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
           int64_t now)
{
    char pat[128], sub[32];

    (void)now;
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
        out_array(c, 2 * n);
        for (size_t k = 0; k < NPARAMS; k++)
            if (hit[k]) {
                out_bulk(c, config_params[k][0], strlen(config_params[k][0]));
                out_bulk(c, config_params[k][1], strlen(config_params[k][1]));
            }
    } else if (arg_is(&argv[1], "RESETSTAT") && argc == 2) {
        kvd_reset_stats(kv);
        out_simple(c, "OK");
    } else if (arg_is(&argv[1], "SET") && argc >= 4 && argc % 2 == 0) {
        out_error(c,
                  "ERR Unknown option or number of arguments for CONFIG "
                  "SET - '%s'",
                  arg_printable(&argv[2], pat, sizeof(pat)));
    } else {
        out_error(c,
                  "ERR unknown subcommand or wrong number of arguments for "
                  "'%s'. Try CONFIG HELP.",
                  arg_printable(&argv[1], sub, sizeof(sub)));
    }
}

/* KVD DELAY rtt_us accept_us | DROP | REFUSE ms | CLOSEAFTER n | RESETSTATS */
static void
cmd_kvd(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
        int64_t now)
{
    long long a = 0, b = 0;
    char sub[32];

    (void)now;
    if (arg_is(&argv[1], "DELAY") && argc == 4) {
        if (!arg_ll(&argv[2], &a) || !arg_ll(&argv[3], &b) || a < 0 || b < 0 ||
            a > KVD_MAX_DELAY_US || b > KVD_MAX_DELAY_US) {
            out_error(c, "ERR delays are microseconds, 0 to %u",
                      KVD_MAX_DELAY_US);
            return;
        }
        kvd_apply_delays(kv, (unsigned)a, (unsigned)b);
    } else if (arg_is(&argv[1], "DROP") && argc == 2) {
        kvd_apply_drop_all(kv); /* this connection too: no reply arrives */
    } else if (arg_is(&argv[1], "REFUSE") && argc == 3) {
        if (!arg_ll(&argv[2], &a) || a < 0 || a > UINT_MAX) {
            out_error(c, ERR_INT);
            return;
        }
        kvd_apply_refuse(kv, (unsigned)a);
    } else if (arg_is(&argv[1], "CLOSEAFTER") && argc == 3) {
        if (!arg_ll(&argv[2], &a) || a < 0 || a > UINT_MAX) {
            out_error(c, ERR_INT);
            return;
        }
        kvd_apply_close_after(kv, (unsigned)a, c);
    } else if (arg_is(&argv[1], "RESETSTATS") && argc == 2) {
        kvd_reset_stats(kv);
    } else {
        out_error(c, "ERR unknown KVD subcommand '%s'",
                  arg_printable(&argv[1], sub, sizeof(sub)));
        return;
    }
    out_simple(c, "OK");
}

static void cmd_command(struct kvd *kv, struct kconn *c, int argc,
                        const struct karg *argv, int64_t now);

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
command_entry(struct kconn *c, const struct cmd *cmd)
{
    const char *f = cmd->flags;
    size_t nflags = 0;

    for (const char *p = f; *p; p += strcspn(p, " "), p += *p == ' ')
        nflags++;
    out_array(c, 7);
    out_bulk(c, cmd->name, strlen(cmd->name));
    out_int(c, cmd->arity);
    out_array(c, nflags);
    for (const char *p = f; *p; p += *p == ' ') {
        size_t len = strcspn(p, " ");
        char word[32];
        snprintf(word, sizeof(word), "%.*s", (int)len, p);
        out_simple(c, word);
        p += len;
    }
    out_int(c, cmd->first_key);
    out_int(c, cmd->last_key);
    out_int(c, cmd->step);
    out_array(c, 0);
}

/* COMMAND [COUNT | INFO name... | DOCS [name...]] */
static void
cmd_command(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
            int64_t now)
{
    char sub[32];

    (void)kv;
    (void)now;
    if (argc == 1) {
        out_array(c, NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++)
            command_entry(c, &commands[i]);
    } else if (arg_is(&argv[1], "COUNT") && argc == 2) {
        out_int(c, NCOMMANDS);
    } else if (arg_is(&argv[1], "INFO")) {
        out_array(c, (size_t)argc - 2);
        for (int i = 2; i < argc; i++) {
            const struct cmd *cmd = lookup(&argv[i]);
            if (cmd == NULL)
                out_raw(c, "*-1\r\n", 5);
            else
                command_entry(c, cmd);
        }
    } else if (arg_is(&argv[1], "DOCS")) {
        out_array(c, 0); /* no documentation: clients show none */
    } else {
        out_error(c,
                  "ERR unknown subcommand or wrong number of arguments for "
                  "'%s'. Try COMMAND HELP.",
                  arg_printable(&argv[1], sub, sizeof(sub)));
    }
}

void
kvd_exec(struct kvd *kv, struct kconn *c, int argc, const struct karg *argv,
         int64_t now)
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
        out_error(c, "ERR unknown command '%s', with args beginning with: %s",
                  arg_printable(&argv[0], name, sizeof(name)), args);
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) ||
        (cmd->arity < 0 && argc < -cmd->arity)) {
        out_error(c, "ERR wrong number of arguments for '%s' command",
                  cmd->name);
        return;
    }
    cmd->fn(kv, c, argc, argv, now);
}
