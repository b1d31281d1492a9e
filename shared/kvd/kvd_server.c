/*
 * kvd_server.c - the kvd server: its loop, the run-time controls as the
 * loop applies them, and kvd_start and kvd_stop (iolab/kvd.h). The calls
 * other threads make while it runs are in kvd_control.c, the child
 * process in kvd_spawn.c.
 *
 * Organisation:
 *   1. what commands ask of the server: the operations table (kvd_cmd.h)
 *   2. the event loop: accept, timers, control requests, housekeeping
 *   3. setting a server up and tearing it down (kvd_server.h)
 *   4. the public API: start and stop
 *
 * One thread runs one epoll set. Connections (kvd_conn.c) are served when
 * their socket or their timer is ready; the listening socket, the control
 * eventfd, the timerfd and, in a spawned child, a signalfd share the set.
 *
 * Threads: the loop runs in its own thread (kvd_start) or in a forked
 * child's only thread (kvd_spawn). Other threads reach it only through
 * the control block (a mutex, a condition variable and an eventfd that
 * wakes the loop) and the statistics (their own mutex).
 */
#include "kvd_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kvd_conn.h"

/* Period of the housekeeping pass (expiry sweep, accept resume). */
#define KVD_CRON_MS 100
/* Buckets the expiry sweep looks at per pass. */
#define KVD_SWEEP_BUCKETS 1024
/* Events taken from epoll per wait. */
#define KVD_MAX_EVENTS 256

/* ===================================================================== */
/* 1. What commands ask of the server                                    */
/* ===================================================================== */

static void
apply_delays(struct kvd *kv, unsigned rtt_us, unsigned accept_us)
{
    kv->rtt_ns = (uint64_t)rtt_us * 1000;
    kv->accept_ns = (uint64_t)accept_us * 1000;
}

static void
apply_drop_all(struct kvd *kv)
{
    while (kv->conns != NULL)
        conn_close(kv->conns);
}

static void
apply_refuse(struct kvd *kv, unsigned ms)
{
    kv->refuse_until = ms ? now_ns() + (int64_t)ms * 1000000 : 0;
}

static void
apply_close_after(struct kvd *kv, unsigned ncommands, struct kconn *self)
{
    struct kconn *next;

    for (struct kconn *c = kv->conns; c != NULL; c = next) {
        next = c->next;
        c->close_after = ncommands;
        if (ncommands == 0) {
            c->closing = true;
            /* Closes it now unless replies are owed; the connection that
             * sent the KVD command is closed by its own loop. */
            if (c != self)
                conn_serve(c);
        }
    }
}

/* Case-insensitive: is the section s[0..len) named name? */
static bool
section_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static void
info(struct kvd *kv, struct kout *out, const char *section, size_t slen)
{
    struct kvd_stats st;
    uint64_t refused;
    char text[2048];
    size_t len = 0;
    bool all = section == NULL || section_is(section, slen, "all") ||
               section_is(section, slen, "default") ||
               section_is(section, slen, "everything");

    pthread_mutex_lock(&kv->stats_mu);
    st = kv->stats;
    refused = kv->refused;
    pthread_mutex_unlock(&kv->stats_mu);
#define INFO(...)                                                              \
    len += (size_t)snprintf(text + len, sizeof(text) - len, __VA_ARGS__)
    if (all || section_is(section, slen, "server")) {
        /* Clients read redis_version to pick features: claim a known one. */
        INFO("# Server\r\nredis_version:7.0.0\r\nkvd_version:1.0\r\n"
             "process_id:%ld\r\ntcp_port:%u\r\n\r\n",
             (long)getpid(), kv->port);
    }
    if (all || section_is(section, slen, "clients"))
        INFO("# Clients\r\nconnected_clients:%llu\r\n\r\n",
             (unsigned long long)st.connected);
    if (all || section_is(section, slen, "stats"))
        INFO("# Stats\r\ntotal_connections_received:%llu\r\n"
             "total_commands_processed:%llu\r\n"
             "total_net_input_bytes:%llu\r\n"
             "total_net_output_bytes:%llu\r\n"
             "rejected_connections:%llu\r\n"
             "expired_keys:%llu\r\n"
             "kvd_round_trips:%llu\r\n"
             "kvd_rtt_delay_us:%llu\r\n"
             "kvd_accept_delay_us:%llu\r\n\r\n",
             (unsigned long long)st.accepted, (unsigned long long)st.commands,
             (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
             (unsigned long long)refused, (unsigned long long)kv->store.expired,
             (unsigned long long)st.round_trips,
             (unsigned long long)(kv->rtt_ns / 1000),
             (unsigned long long)(kv->accept_ns / 1000));
    if (all || section_is(section, slen, "keyspace")) {
        INFO("# Keyspace\r\n");
        if (kv->store.count > 0)
            INFO("db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", kv->store.count,
                 kv->store.nvolatile);
    }
#undef INFO
    if (len > sizeof(text) - 1)
        len = sizeof(text) - 1;
    /* No trailing blank line, as Redis. */
    while (len >= 2 && text[len - 1] == '\n' && text[len - 3] == '\n')
        len -= 2;
    out_bulk(out, text, len);
}

/* QUIT: the connection closes once its replies are sent. */
static void
conn_quit(struct kconn *c)
{
    c->closing = true;
}

static const struct kcmd_ops server_ops = {
    .info = info,
    .reset_stats = kvd_reset_stats,
    .set_delays = apply_delays,
    .drop_all = apply_drop_all,
    .refuse = apply_refuse,
    .close_after = apply_close_after,
    .quit = conn_quit,
};

/* ===================================================================== */
/* 2. The event loop                                                     */
/* ===================================================================== */

static void
set_listening(struct kvd *kv, bool on)
{
    struct epoll_event ev = {.events = on ? EPOLLIN : 0,
                             .data.ptr = &kv->listen_src};

    epoll_ctl(kv->epfd, EPOLL_CTL_MOD, kv->lfd, &ev);
    kv->accept_paused = !on;
}

static void
do_accept(struct kvd *kv)
{
    int64_t now = now_ns();

    for (int i = 0; i < 64; i++) {
        int fd = accept4(kv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)
                set_listening(kv, false); /* the cron turns it back on */
            return;
        }
        bool refuse = now < kv->refuse_until;
        pthread_mutex_lock(&kv->stats_mu);
        kv->stats.accepted++;
        kv->refused += refuse;
        pthread_mutex_unlock(&kv->stats_mu);
        if (refuse)
            close(fd);
        else
            conn_new(kv, fd, now);
    }
}

/* Releases every connection whose deadline has passed. */
static void
timers_fire(struct kvd *kv)
{
    int64_t now = now_ns();

    while (kv->thead != NULL && kv->thead->deadline <= now) {
        struct kconn *c = kv->thead;
        timer_remove(kv, c);
        if (c->accept_wait) {
            c->accept_wait = false;
            c->readable = true; /* it may have written before we looked */
        }
        if (c->held)
            stats_add(kv, 0, 0, 0, out_pending(&c->out));
        c->held = false;
        if (out_pending(&c->out) > 0 && !conn_flush(c))
            continue;
        conn_serve(c);
    }
}

/* Applies what other threads asked for, then tells them it is done. */
static void
control_apply(struct kvd *kv)
{
    uint64_t v;
    struct control *ctl = &kv->ctl;

    (void)!read(kv->evfd, &v, sizeof(v));
    pthread_mutex_lock(&ctl->mu);
    struct ctl_req req = ctl->r;
    uint64_t upto = ctl->req;
    ctl->r = (struct ctl_req){0};
    pthread_mutex_unlock(&ctl->mu);

    if (req.set_delays)
        apply_delays(kv, req.rtt_us, req.accept_us);
    if (req.refuse)
        apply_refuse(kv, req.refuse_ms);
    if (req.drop_all)
        apply_drop_all(kv);
    if (req.close_after)
        apply_close_after(kv, req.close_n, NULL);
    if (req.stop)
        kv->stopping = true;

    pthread_mutex_lock(&ctl->mu);
    ctl->done = upto;
    pthread_cond_broadcast(&ctl->cv);
    pthread_mutex_unlock(&ctl->mu);
}

/* Expiry sweep and accept resume, every KVD_CRON_MS. */
static void
cron(struct kvd *kv, int64_t now)
{
    if (now < kv->next_cron)
        return;
    kv->next_cron = now + (int64_t)KVD_CRON_MS * 1000000;
    if (store_sweep(&kv->store, now / 1000000, KVD_SWEEP_BUCKETS) > 0)
        stats_add(kv, 0, 0, 0, 0);
    if (kv->accept_paused)
        set_listening(kv, true);
}

/* The epoll timeout: 0 with work waiting, the cron's if it has any. */
static int
loop_timeout(struct kvd *kv, int64_t now)
{
    if (kv->again != NULL)
        return 0;
    if (kv->store.nvolatile == 0 && !kv->accept_paused)
        return -1;
    int64_t left = (kv->next_cron - now + 999999) / 1000000;
    return left <= 0 ? 0 : (int)left;
}

static void
handle_event(struct kvd *kv, struct epoll_event *ev)
{
    struct source *src = ev->data.ptr;
    uint64_t v;
    struct signalfd_siginfo si;

    switch (src->kind) {
    case K_LISTEN:
        do_accept(kv);
        return;
    case K_CONTROL:
        control_apply(kv);
        return;
    case K_TIMER:
        (void)!read(kv->tfd, &v, sizeof(v));
        kv->armed = 0;
        timers_fire(kv);
        return;
    case K_SIGNAL:
        (void)!read(kv->sigfd, &si, sizeof(si));
        kv->stopping = true;
        return;
    case K_CONN:
        break;
    }
    /* The connection that holds src, found from the member's offset (a
     * cast of src itself would assume the layout and the alignment). */
    struct kconn *c =
        (struct kconn *)(void *)((char *)src - offsetof(struct kconn, src));
    if (c->dead)
        return;
    /* Errors and hang-ups count as readable: the next read reports them. */
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        c->readable = true;
    if ((ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !c->held &&
        out_pending(&c->out) > 0 && !conn_flush(c))
        return;
    conn_serve(c);
}

void
kvd_server_loop(struct kvd *kv)
{
    struct epoll_event evs[KVD_MAX_EVENTS];

    kv->next_cron = now_ns() + (int64_t)KVD_CRON_MS * 1000000;
    while (!kv->stopping) {
        int n = epoll_wait(kv->epfd, evs, KVD_MAX_EVENTS,
                           loop_timeout(kv, now_ns()));
        for (int i = 0; i < n; i++)
            handle_event(kv, &evs[i]);
        /* Connections that used their read budget: their next turn. */
        struct kconn *again = kv->again;
        kv->again = NULL;
        while (again != NULL) {
            struct kconn *c = again;
            again = c->again;
            c->on_again = false;
            conn_serve(c);
        }
        cron(kv, now_ns());
        timer_arm(kv);
        struct kconn *keep = NULL;
        while (kv->dead != NULL) {
            struct kconn *c = kv->dead;
            kv->dead = c->next;
            if (c->on_again) { /* still listed: free it next pass */
                c->next = keep;
                keep = c;
            } else {
                conn_free(c);
            }
        }
        kv->dead = keep;
    }
}

/* ===================================================================== */
/* 3. Setting up and tearing down                                        */
/* ===================================================================== */

void
kvd_server_free(struct kvd *kv)
{
    apply_drop_all(kv);
    while (kv->dead != NULL) {
        struct kconn *c = kv->dead;
        kv->dead = c->next;
        conn_free(c);
    }
    store_free(&kv->store);
    if (kv->sigfd >= 0)
        close(kv->sigfd);
    if (kv->tfd >= 0)
        close(kv->tfd);
    if (kv->evfd >= 0)
        close(kv->evfd);
    if (kv->epfd >= 0)
        close(kv->epfd);
    if (kv->lfd >= 0)
        close(kv->lfd);
    pthread_cond_destroy(&kv->ctl.cv);
    pthread_mutex_destroy(&kv->ctl.mu);
    pthread_mutex_destroy(&kv->stats_mu);
    free(kv);
}

static int
listen_on(unsigned short port, unsigned short *bound)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons(port)};
    socklen_t alen = sizeof(addr);
    int one = 1, err;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -errno;
    /* A fixed port is free again at once after a restart. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
        listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) == -1) {
        err = -errno;
        close(fd);
        return err;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

static int
watch(struct kvd *kv, int fd, struct source *src, enum kind kind)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};

    src->kind = kind;
    return epoll_ctl(kv->epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ? -errno : 0;
}

int
kvd_server_new(const struct kvd_config *cfg, bool with_signals,
               struct kvd **out)
{
    struct kvd_config zero = {0};
    struct kvd *kv;
    int err;

    if (cfg == NULL)
        cfg = &zero;
    size_t max_frame = cfg->max_frame ? cfg->max_frame : KVD_DEFAULT_MAX_FRAME;
    if (max_frame < 64 || max_frame > (1u << 30) ||
        cfg->rtt_delay_us > KVD_MAX_DELAY_US ||
        cfg->accept_delay_us > KVD_MAX_DELAY_US)
        return -EINVAL;
    kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return -ENOMEM;
    kv->lfd = kv->epfd = kv->evfd = kv->tfd = kv->sigfd = -1;
    kv->max_frame = max_frame;
    apply_delays(kv, cfg->rtt_delay_us, cfg->accept_delay_us);
    kv->ops = &server_ops;
    pthread_mutex_init(&kv->ctl.mu, NULL);
    pthread_cond_init(&kv->ctl.cv, NULL);
    pthread_mutex_init(&kv->stats_mu, NULL);
    store_init(&kv->store);

    err = kv->lfd = listen_on(cfg->port, &kv->port);
    if (err < 0)
        goto out_free;
    kv->epfd = epoll_create1(EPOLL_CLOEXEC);
    kv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    kv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (kv->epfd == -1 || kv->evfd == -1 || kv->tfd == -1) {
        err = -errno;
        goto out_free;
    }
    if (with_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        kv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (kv->sigfd == -1) {
            err = -errno;
            goto out_free;
        }
        err = watch(kv, kv->sigfd, &kv->signal_src, K_SIGNAL);
        if (err < 0)
            goto out_free;
    }
    if ((err = watch(kv, kv->lfd, &kv->listen_src, K_LISTEN)) < 0 ||
        (err = watch(kv, kv->evfd, &kv->control_src, K_CONTROL)) < 0 ||
        (err = watch(kv, kv->tfd, &kv->timer_src, K_TIMER)) < 0)
        goto out_free;
    *out = kv;
    return 0;

out_free:
    kvd_server_free(kv);
    return err;
}

/* ===================================================================== */
/* 4. The public API                                                     */
/* ===================================================================== */

static void *
server_main(void *arg)
{
    kvd_server_loop(arg);
    return NULL;
}

int
kvd_start(const struct kvd_config *cfg, struct kvd **out)
{
    struct kvd *kv;
    sigset_t all, old;
    int err = kvd_server_new(cfg, false, &kv);

    if (err < 0)
        return err;
    /* The thread inherits this mask: no signal is ever delivered to it. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&kv->thread, NULL, server_main, kv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        kvd_server_free(kv);
        return -err;
    }
    kv->threaded = true;
    *out = kv;
    return 0;
}

void
kvd_stop(struct kvd *kv)
{
    if (kv == NULL)
        return;
    if (kv->threaded) {
        pthread_mutex_lock(&kv->ctl.mu);
        kv->ctl.r.stop = true;
        kvd_control_submit(kv);
        pthread_join(kv->thread, NULL);
    }
    kvd_server_free(kv);
}
