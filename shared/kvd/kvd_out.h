/*
 * kvd_out.h - a reply buffer: the RESP replies a connection has produced
 * and not yet sent, in one growable buffer. The commands (kvd_cmd.c)
 * append to it; the connection code (kvd_conn.c) sends from it.
 *
 * This header is the specification of the type; nothing here is part of
 * the course's API (that is iolab/kvd.h). Single-threaded: a buffer
 * belongs to one connection, used by the server's loop only.
 *
 * Out of memory is sticky, as in a stream: once an append cannot grow the
 * buffer, oom is set, that append and every later one are dropped whole
 * (never half a reply), and the owner is expected to close the
 * connection, since the client would wait for a reply that never comes.
 */
#ifndef KVD_OUT_H
#define KVD_OUT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Invariants: off <= len <= cap; data is NULL exactly when cap is 0;
 * data[off, len) are complete replies not yet sent, in order; data[0, off)
 * was sent and is dead. Zero-initialised ({0}) is a valid empty buffer.
 * The buffer owns data.
 */
struct kout {
    char *data; /* the bytes; owned; NULL until the first append */
    size_t cap; /* bytes allocated */
    size_t off; /* first byte not yet sent */
    size_t len; /* end of the bytes produced */
    bool oom;   /* an append failed: the replies are incomplete */
};

/* Bytes produced and not yet sent: len - off. */
static inline size_t
out_pending(const struct kout *o)
{
    return o->len - o->off;
}

/*
 * Marks n more bytes as sent (n <= out_pending). When everything is sent
 * the buffer is empty again (off = len = 0); if it had grown past
 * keep_cap bytes its memory is given back, so an idle connection does not
 * hold the peak of its past.
 */
void out_consume(struct kout *o, size_t n, size_t keep_cap);

/* Frees the memory and leaves o empty ({0}). */
void out_free(struct kout *o);

/*
 * The replies, each appended whole or (out of memory) not at all:
 *   out_simple  "+s\r\n"; s must hold no CR or LF.
 *   out_error   "-" then the formatted message then "\r\n"; the message
 *               is cut at 511 bytes and any CR or LF in it becomes a blank,
 *               so it can never end the line early.
 *   out_int     ":n\r\n"
 *   out_bulk    "$len\r\n", the len bytes at p (any bytes), "\r\n"
 *   out_nil     "$-1\r\n"
 *   out_array   "*n\r\n": the caller appends the n elements next.
 *   out_raw     the len bytes at p as they are.
 */
void out_simple(struct kout *o, const char *s);
void out_error(struct kout *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void out_int(struct kout *o, long long n);
void out_bulk(struct kout *o, const char *p, size_t len);
void out_nil(struct kout *o);
void out_array(struct kout *o, size_t n);
void out_raw(struct kout *o, const char *p, size_t len);

#endif /* KVD_OUT_H */
