/*
 * resp.c - the RESP client library (work in progress: stubs).
 */
#include "iolab/resp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
resp_reply_free(struct resp_reply *r)
{
    if (r != NULL)
        *r = (struct resp_reply){.type = RESP_NIL};
}

void
resp_buf_init(struct resp_buf *b)
{
    *b = (struct resp_buf){0};
}

void
resp_buf_free(struct resp_buf *b)
{
    free(b->data);
    *b = (struct resp_buf){0};
}

void
resp_buf_reset(struct resp_buf *b)
{
    b->len = 0;
}

int
resp_encode(struct resp_buf *b, int argc, const char *const argv[],
            const size_t lens[])
{
    (void)b;
    (void)argc;
    (void)argv;
    (void)lens;
    return -ENOSYS;
}

int
resp_encode_cmd(struct resp_buf *b, const char *arg0, ...)
{
    (void)b;
    (void)arg0;
    return -ENOSYS;
}

long
resp_parse(const char *buf, size_t len, struct resp_reply *out)
{
    (void)buf;
    (void)len;
    *out = (struct resp_reply){.type = RESP_NIL};
    return -ENOSYS;
}

int
resp_connect(const char *host, unsigned short port, int timeout_ms,
             struct resp_conn **out)
{
    (void)host;
    (void)port;
    (void)timeout_ms;
    (void)out;
    return -ENOSYS;
}

int
resp_conn_fd(const struct resp_conn *c)
{
    (void)c;
    return -1;
}

size_t
resp_conn_buffered(const struct resp_conn *c)
{
    (void)c;
    return 0;
}

int
resp_read_reply(struct resp_conn *c, struct resp_reply *out, int timeout_ms)
{
    (void)c;
    (void)timeout_ms;
    *out = (struct resp_reply){.type = RESP_NIL};
    return -ENOSYS;
}

int
resp_command(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
             int argc, const char *const argv[], const size_t lens[])
{
    (void)c;
    (void)timeout_ms;
    (void)argc;
    (void)argv;
    (void)lens;
    *out = (struct resp_reply){.type = RESP_NIL};
    return -ENOSYS;
}

int
resp_call(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
          const char *arg0, ...)
{
    (void)c;
    (void)timeout_ms;
    (void)arg0;
    *out = (struct resp_reply){.type = RESP_NIL};
    return -ENOSYS;
}

void
resp_close(struct resp_conn *c)
{
    (void)c;
}
