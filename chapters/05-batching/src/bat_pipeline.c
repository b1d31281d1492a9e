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

/* Your helpers (sending a whole buffer, encoding a batch) go here. */

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
    (void)c;
    (void)cmds;
    (void)batch;
    (void)timeout_ms;
    return -ENOSYS;
}
