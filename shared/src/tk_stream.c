/*
 * tk_stream.c - stream checks the network chapters share: reading back
 * exactly what was sent (tk_read_check), chapter 02's scenarios for any
 * echo server (tk_echo_many, tk_echo_thousands) and a client thread that
 * sends a large payload while the test reads its echo (tk_pump_*).
 * Declared in iolab/testkit.h.
 */
#include "iolab/testkit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
tk_read_check(int fd, const void *want, size_t len, int timeout_ms,
              const char *who)
{
    const unsigned char *w = want;
    unsigned char *got = tk_xmalloc(len);
    ssize_t n = tk_read_exact(fd, got, len, timeout_ms);

    cr_assert_eq(
        n, (ssize_t)len, "%s: expected %zu bytes of echo, got %s%zd", who, len,
        n == -ETIMEDOUT ? "none for a while (timed out), -110: " : "EOF after ",
        n);
    size_t i = 0;
    while (i < len && got[i] == w[i])
        i++;
    free(got);
    cr_assert_eq(i, len,
                 "%s: the echo differs from what was sent, first at byte %zu "
                 "of %zu (bytes lost, reordered or duplicated)",
                 who, i, len);
}

void
tk_echo_many(unsigned short port, int n, size_t each, size_t max_piece,
             uint64_t seed, int timeout_ms, const char *who)
{
    struct tk_rng rng;
    int *fd = tk_xmalloc((size_t)n * sizeof(int));
    size_t *sent = tk_xmalloc((size_t)n * sizeof(size_t));
    size_t *piece = tk_xmalloc((size_t)n * sizeof(size_t));
    char *data = tk_xmalloc((size_t)n * each);
    char what[160];

    tk_rng_seed(&rng, seed);
    tk_fill(data, (size_t)n * each, seed + 1);
    for (int i = 0; i < n; i++) {
        fd[i] = tk_connect_tcp(port);
        sent[i] = 0;
    }
    for (bool busy = true; busy;) {
        busy = false;
        for (int i = 0; i < n; i++) {
            piece[i] = 1 + tk_rng_below(&rng, max_piece);
            if (piece[i] > each - sent[i])
                piece[i] = each - sent[i];
            tk_write_all(fd[i], data + (size_t)i * each + sent[i], piece[i]);
        }
        for (int i = 0; i < n; i++) {
            snprintf(what, sizeof(what),
                     "%s, client %d of %d, bytes %zu to %zu of its stream", who,
                     i, n, sent[i], sent[i] + piece[i]);
            tk_read_check(fd[i], data + (size_t)i * each + sent[i], piece[i],
                          timeout_ms, what);
            sent[i] += piece[i];
            busy |= sent[i] < each;
        }
    }
    for (int i = 0; i < n; i++)
        close(fd[i]);
    free(data);
    free(piece);
    free(sent);
    free(fd);
}

void
tk_echo_thousands(unsigned short port, int n, int batch, int timeout_ms,
                  const char *who)
{
    int *fd = tk_xmalloc((size_t)n * sizeof(int));
    char msg[32], what[160];

    for (int i = 0; i < n; i += batch) {
        int end = i + batch < n ? i + batch : n;
        for (int j = i; j < end; j++)
            fd[j] = tk_connect_tcp(port);
        snprintf(what, sizeof(what), "%s, connection %d, the last of a batch",
                 who, end - 1);
        tk_write_all(fd[end - 1], "batch\n", 6);
        tk_read_check(fd[end - 1], "batch\n", 6, timeout_ms, what);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            int len = snprintf(msg, sizeof(msg), "%d:%d\n", i, round);
            tk_write_all(fd[i], msg, (size_t)len);
        }
        for (int i = 0; i < n; i++) {
            int len = snprintf(msg, sizeof(msg), "%d:%d\n", i, round);
            snprintf(what, sizeof(what), "%s, connection %d of %d, round %d",
                     who, i, n, round);
            tk_read_check(fd[i], msg, (size_t)len, timeout_ms, what);
        }
    }
    for (int i = 0; i < n; i++)
        close(fd[i]);
    free(fd);
}

static void *
pump_main(void *arg)
{
    struct tk_pump *p = arg;

    for (size_t off = 0; off < p->len;) {
        size_t n = p->len - off < p->chunk ? p->len - off : p->chunk;
        ssize_t k = send(p->fd, p->data + off, n, MSG_NOSIGNAL);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* the reading side reports what went missing */
        off += (size_t)k;
        __atomic_store_n(&p->written, off, __ATOMIC_RELEASE);
    }
    return NULL;
}

void
tk_pump_start(struct tk_pump *p)
{
    if (p->chunk == 0)
        p->chunk = 16 * 1024;
    p->written = 0;
    if (pthread_create(&p->thread, NULL, pump_main, p) != 0)
        cr_assert_fail("pthread_create failed");
    p->running = true;
}

void
tk_pump_join(struct tk_pump *p)
{
    if (!p->running)
        return;
    pthread_join(p->thread, NULL);
    p->running = false;
}

size_t
tk_pump_wait_stall(struct tk_pump *p)
{
    return tk_wait_stall(&p->written, p->len, 300, 30000);
}
