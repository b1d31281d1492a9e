/*
 * nb_blocking.c - the given blocking server of chapter 01 (complete; do not
 * change it: the benchmark measures your nb_serve against it).
 *
 * It is the classic first server: accept one client, answer its lines until
 * it hangs up, then accept the next. Every call blocks, so while one client
 * thinks, or simply stays connected and silent, every other client waits in
 * the listen backlog. It deliberately uses none of your exercise code, so
 * it works before you have written any.
 */
#include "nb.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends all of buf; false when the client is gone. */
static bool
send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Answers one client's lines until it disconnects or misbehaves. */
static void
serve_one(int fd)
{
    char line[NB_LINE_MAX];
    size_t have = 0; /* bytes of a partial line in line[0..have) */

    for (;;) {
        ssize_t n = recv(fd, line + have, sizeof(line) - have, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EOF or error: this client is done */
        have += (size_t)n;

        /* Reply to every complete line, keep the partial tail. */
        char *start = line, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - line)))) {
            size_t llen = (size_t)(nl - start) + 1;
            if (!send_all(fd, start, llen))
                return;
            start += llen;
        }
        have -= (size_t)(start - line);
        memmove(line, start, have);
        if (have == sizeof(line))
            return; /* a line longer than NB_LINE_MAX */
    }
}

int
nb_serve_blocking(int listen_fd, unsigned max_clients)
{
    for (unsigned served = 0; max_clients == 0 || served < max_clients;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return -errno;
        }
        serve_one(fd);
        close(fd);
        served++;
    }
    return 0;
}
