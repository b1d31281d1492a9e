/*
 * resp.h - a small client library for the Redis protocol (RESP2).
 *
 * Chapters 05 (batching) and 06 (connection pools) are about round trips,
 * not about parsing, so this library is given: it encodes commands into a
 * buffer, parses replies incrementally, and keeps a connection with a read
 * buffer. The write side is deliberately the caller's: encode a batch of
 * commands into one resp_buf, write it yourself (one write for the whole
 * batch), then read the replies one by one with resp_read_reply.
 *
 * The wire format, in short: a command is an array of bulk strings,
 * "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n". A reply is one of
 *   +OK\r\n            simple string      -ERR msg\r\n   error
 *   :42\r\n            integer            $3\r\nabc\r\n  bulk string
 *   $-1\r\n or *-1\r\n nil                *N\r\n ...     array of N replies
 *
 * Conventions: functions that act return 0 (or a count) or a negative
 * errno value. Every sentence tagged [RESP-n] is checked by a test in
 * shared/kvd/tests/ whose description names the same tag. Nothing here
 * installs signal handlers; writes use MSG_NOSIGNAL, so a vanished server
 * is -EPIPE, never SIGPIPE.
 */
#ifndef IOLAB_RESP_H
#define IOLAB_RESP_H

#include <stddef.h>
#include <sys/types.h>

/* Parser limits: a reply beyond any of them is -EPROTO, not a crash. */
#ifndef RESP_MAX_DEPTH
#define RESP_MAX_DEPTH 32 /* nested arrays; real replies use 2 or 3 */
#endif
#ifndef RESP_MAX_BULK
#define RESP_MAX_BULK (512L << 20) /* Redis's own limit for one string */
#endif
#ifndef RESP_MAX_LINE
#define RESP_MAX_LINE (64 * 1024) /* a +, -, : or header line */
#endif
#ifndef RESP_MAX_ELEMS
#define RESP_MAX_ELEMS (1L << 24) /* elements in one array */
#endif

enum resp_type {
    RESP_SIMPLE,  /* +OK: str, len */
    RESP_ERROR,   /* -ERR ...: str, len (without the '-') */
    RESP_INTEGER, /* :42: integer */
    RESP_BULK,    /* $3 abc: str, len (binary-safe) */
    RESP_NIL,     /* $-1 or *-1: nothing */
    RESP_ARRAY,   /* *N: elem, nelem (nelem may be 0) */
};

/*
 * One parsed reply. It owns str and elem (recursively); free it with
 * resp_reply_free. Invariants: str is non-NULL exactly for SIMPLE, ERROR
 * and BULK, and str[len] == '\0' (a bulk string may also contain NULs:
 * use len); elem is non-NULL only for a non-empty ARRAY.
 */
struct resp_reply {
    enum resp_type type;     /* which fields below mean something */
    long long integer;       /* RESP_INTEGER: the value */
    char *str;               /* SIMPLE, ERROR, BULK: NUL-terminated copy */
    size_t len;              /* bytes in str, without the NUL */
    struct resp_reply *elem; /* ARRAY: nelem replies */
    size_t nelem;            /* ARRAY: element count */
};

/*
 * resp_reply_free - free what r owns (not r itself) and leave it as an
 * empty RESP_NIL reply, so freeing twice is harmless. r may be NULL.
 */
void resp_reply_free(struct resp_reply *r);

/* ---- encoding commands ------------------------------------------------ */

/*
 * A growable output buffer commands are encoded into. Invariants:
 * len <= cap; data is NULL exactly when cap is 0; data[0..len) is the
 * encoded commands, ready to be written as they are.
 */
struct resp_buf {
    char *data; /* the bytes; owned */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
};

/* Makes b empty, allocating nothing. */
void resp_buf_init(struct resp_buf *b);

/* Frees b's memory and leaves it empty (as after resp_buf_init). */
void resp_buf_free(struct resp_buf *b);

/* Empties b but keeps its memory, for the next batch. */
void resp_buf_reset(struct resp_buf *b);

/*
 * resp_encode - append one command to b, as an array of bulk strings.
 *
 * argc:  number of arguments, at least 1 (the command name).
 * argv:  the arguments; binary-safe when lens is given.
 * lens:  their lengths; NULL means strlen(argv[i]) for each.
 *
 * Returns 0 [RESP-1]; -EINVAL when argc < 1 or an argv[i] is NULL; or
 * -ENOMEM, and then b is unchanged (no half command is left in it)
 * [RESP-2]. The buffer grows geometrically, so encoding N commands costs
 * O(total bytes).
 */
int resp_encode(struct resp_buf *b, int argc, const char *const argv[],
                const size_t lens[]);

/*
 * resp_encode_cmd - the same for NUL-terminated strings given as
 * arguments, ending with NULL: resp_encode_cmd(b, "SET", "k", "v", NULL).
 * Returns as resp_encode (-EINVAL for no argument at all, or more than
 * 64).
 */
int resp_encode_cmd(struct resp_buf *b, const char *arg0, ...)
    __attribute__((sentinel));

/* ---- parsing ---------------------------------------------------------- */

/*
 * resp_parse - parse one reply from the bytes buf[0..len), a pure
 * function (no state, no IO).
 *
 * Returns:
 *  - the number of bytes the reply took (> 0), with *out filled; the
 *    caller owns it and frees it with resp_reply_free [RESP-3].
 *  - 0 when buf holds only the beginning of a reply: read more and call
 *    again with all the bytes [RESP-4]. *out is left empty.
 *  - -EPROTO when the bytes cannot be the start of a valid reply: an
 *    unknown type byte, a length that is not a number or is below -1, a
 *    bulk string not followed by \r\n, a line without \r before \n,
 *    arrays nested deeper than RESP_MAX_DEPTH, or a length over
 *    RESP_MAX_BULK / RESP_MAX_ELEMS / RESP_MAX_LINE [RESP-5]. Limits are
 *    checked as soon as the header arrives, before the data.
 *  - -ENOMEM. *out is left empty on every error.
 *
 * Memory for a reply is allocated only once the whole reply is in buf, so
 * a lying array header cannot make it allocate more than the bytes seen.
 * Thread safety: none needed (no shared state).
 */
long resp_parse(const char *buf, size_t len, struct resp_reply *out);

/* ---- a connection ----------------------------------------------------- */

struct resp_conn; /* opaque: a socket and its read buffer */

/*
 * resp_connect - connect over TCP to host:port (a numeric IPv4 or IPv6
 * address, or a name resolved with getaddrinfo; NULL: 127.0.0.1).
 *
 * timeout_ms bounds the connection attempt (negative: no bound). Returns 0
 * and *out; or -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EINVAL (a name
 * that does not resolve), -ENOMEM, ... On failure nothing is left open.
 *
 * The socket has TCP_NODELAY set (a small batch goes out at once) and is
 * left in blocking mode with O_CLOEXEC: a plain write(2) of a batch on
 * resp_conn_fd sends all of it unless an error or a signal interrupts it.
 */
int resp_connect(const char *host, unsigned short port, int timeout_ms,
                 struct resp_conn **out);

/*
 * The socket, for the caller's own writes (and poll). It stays owned by
 * the connection: do not close it, and do not read from it (bytes read
 * past the library would be lost to it).
 */
int resp_conn_fd(const struct resp_conn *c);

/*
 * Bytes received from the server and not yet returned as replies. Non-zero
 * on an idle connection means stale replies (a pool should not reuse it).
 */
size_t resp_conn_buffered(const struct resp_conn *c);

/*
 * resp_read_reply - read the next reply into *out.
 *
 * timeout_ms: the most to wait for the reply to be complete, in total
 * (negative: no bound; 0: only what has arrived already).
 *
 * Returns:
 *  - 0, with *out filled (the caller frees it). A server error reply
 *    (-ERR ...) is a successful read of a RESP_ERROR [RESP-6].
 *  - -ETIMEDOUT: no complete reply in time. Bytes already received are
 *    kept, so a later call can still return the reply [RESP-7].
 *  - -ECONNRESET: the server closed the connection (EOF, even after part
 *    of a reply) or reset it; -EPIPE and other -errno from recv as they
 *    come [RESP-8].
 *  - -EPROTO: the server sent something that is not RESP (see resp_parse).
 *    The stream cannot be resynchronised: close the connection.
 *  - -ENOMEM.
 * After any error *out is left empty (freeing it is harmless).
 *
 * Replies already in the buffer are returned without a system call; each
 * call otherwise reads as much as has arrived (up to the buffer's free
 * space), so N pipelined replies cost about one read per buffer-full, not
 * one per reply [RESP-9]. A large reply is not re-parsed from its start as
 * its bytes trickle in: the parser resumes where it stopped, so reading a
 * reply costs O(its size) whatever the read sizes.
 *
 * Thread safety: one thread at a time per connection.
 */
int resp_read_reply(struct resp_conn *c, struct resp_reply *out,
                    int timeout_ms);

/*
 * resp_command - one round trip: encode a command, write all of it, read
 * one reply. argc, argv, lens as for resp_encode; timeout_ms as for
 * resp_read_reply, and it also bounds the write. Returns as
 * resp_read_reply, plus -EINVAL for a bad command and -EPIPE /
 * -ECONNRESET when the write fails. If replies from earlier pipelined
 * commands are still unread, the first of those is what comes back: do not
 * mix the two styles on one connection without reading everything.
 */
int resp_command(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
                 int argc, const char *const argv[], const size_t lens[]);

/*
 * resp_call - resp_command for NUL-terminated strings, ending with NULL:
 * resp_call(c, &r, 1000, "GET", "k", NULL). At most 64 arguments.
 */
int resp_call(struct resp_conn *c, struct resp_reply *out, int timeout_ms,
              const char *arg0, ...) __attribute__((sentinel));

/* Closes the socket and frees the connection. c may be NULL. */
void resp_close(struct resp_conn *c);

#endif /* IOLAB_RESP_H */
