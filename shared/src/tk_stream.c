/*
 * tk_stream.c - stream checks the network chapters share: reading back
 * exactly what was sent (tk_read_check) and a client thread that sends a
 * large payload while the test reads its echo (tk_pump_*). Declared in
 * iolab/testkit.h.
 */
#include "iolab/testkit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
