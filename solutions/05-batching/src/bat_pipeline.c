/*
 * bat_pipeline.c - exercise 2 of chapter 05: pipelining commands to kvd.
 *
 * The contract is in include/bat.h. resp.h (given) encodes commands into a
 * buffer and reads replies; sending the buffer is yours. Each TODO's stub
 * returns -ENOSYS.
 */
#include "bat.h"

#include <errno.h>
#include <sys/socket.h>

/* Given: frees every reply the results hold. */
void
bat_results_free(struct bat_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (res[i].state == BAT_REPLIED)
            resp_reply_free(&res[i].reply);
        res[i].state = BAT_NOT_SENT;
    }
}

// SOLUTION-BEGIN
/*
 * Sends all of buf[0..len) on a socket, continuing partial sends and
 * retrying EINTR. MSG_NOSIGNAL: a vanished server is -EPIPE, not SIGPIPE.
 */
static int
send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* no progress and no reason: do not spin */
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Encodes cmds[0..k) into b, emptied first. */
static int
encode_batch(struct resp_buf *b, const struct bat_cmd *cmds, size_t k)
{
    resp_buf_reset(b);
    for (size_t i = 0; i < k; i++) {
        int err = resp_encode(b, cmds[i].argc, cmds[i].argv, cmds[i].lens);
        if (err < 0)
            return err;
    }
    return 0;
}
// SOLUTION-STUB
// /* Your helpers (sending a whole buffer, encoding a batch) go here. */
// SOLUTION-END

/*
 * TODO(pipeline.1): for each batch of at most `batch` commands: encode
 * them all into one resp_buf, send it with one write (continued if
 * partial, EINTR retried, no SIGPIPE) [BAT-12][BAT-13][BAT-14], then read
 * the batch's replies in order. An error reply belongs to its command
 * alone [BAT-10]. When the connection fails, every res[i] must still say
 * exactly what is known: replied, unknown, or never sent [BAT-11].
 */
int
bat_pipeline(struct resp_conn *c, const struct bat_cmd *cmds, size_t n,
             size_t batch, struct bat_result *res, int timeout_ms)
{
    for (size_t i = 0; i < n; i++)
        res[i] = (struct bat_result){.state = BAT_NOT_SENT};
    // SOLUTION-BEGIN
    struct resp_buf b;
    int err = 0;

    if (batch == 0)
        return -EINVAL;
    resp_buf_init(&b);
    for (size_t first = 0; first < n; first += batch) {
        size_t k = n - first < batch ? n - first : batch;
        err = encode_batch(&b, cmds + first, k);
        if (err < 0)
            break; /* nothing of this batch left the process */
        /*
         * From here until its reply is read, a command's fate is unknown:
         * even a failed send may have delivered part of the batch.
         */
        for (size_t i = first; i < first + k; i++)
            res[i].state = BAT_UNKNOWN;
        err = send_all(resp_conn_fd(c), b.data, b.len);
        if (err < 0)
            break;
        for (size_t i = first; i < first + k; i++) {
            err = resp_read_reply(c, &res[i].reply, timeout_ms);
            if (err < 0)
                goto out_free; /* the connection is gone or desynchronised */
            res[i].state = BAT_REPLIED; /* an error reply too */
        }
    }
out_free:
    resp_buf_free(&b);
    return err;
    // SOLUTION-STUB
    // (void)c;
    // (void)cmds;
    // (void)batch;
    // (void)timeout_ms;
    // return -ENOSYS;
    // SOLUTION-END
}
