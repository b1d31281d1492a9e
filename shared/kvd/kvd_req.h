/*
 * kvd_req.h - kvd's request parser: bytes in, a command out. Pure: it
 * reads only the bytes it is given, owns no descriptor, does no IO and
 * knows nothing of connections; kvd_conn.c feeds it what a read brought.
 *
 * This header is the specification; [REQ-n] sentences are checked by
 * shared/kvd/tests/test_req.c. Nothing here is part of the course's API.
 *
 * Two request forms are understood, as Redis does:
 *   - multibulk, what clients send: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
 *   - inline, what a person types (telnet): "GET k\r\n" or "GET k\n",
 *     arguments separated by blanks, with "..." (escapes \n \r \t \b \a
 *     \\ \" \xHH) and '...' (escape \') quoting.
 * A request that starts with '*' is multibulk; any other byte starts an
 * inline line.
 *
 * Resumable: a request split over many reads is not parsed again from its
 * start. The parser keeps its progress (how many arguments it has, where
 * the next one starts) as offsets from the request's first byte, so the
 * caller may move the unparsed bytes (to the front of its buffer, say)
 * between calls, as long as it passes them again from that first byte.
 */
#ifndef KVD_REQ_H
#define KVD_REQ_H

#include <stdbool.h>
#include <stddef.h>

/* An inline (telnet-style) command line, at most. */
#ifndef KVD_MAX_INLINE
#define KVD_MAX_INLINE (64 * 1024) /* Redis's own limit */
#endif
/* A multibulk or bulk header line ("*123\r\n"), at most. */
#define KVD_MAX_HEADER 32

/* One argument of a command: bytes, binary-safe, not NUL-terminated. */
struct karg {
    const char *p; /* in the caller's buffer (multibulk) or the parser's */
    size_t len;    /* bytes at p */
};

/*
 * One connection's parser. Invariants: m_argc is -1 between requests;
 * while a multibulk request is partly there, m_argc > 0 and its first
 * m_argn (< m_argc) arguments are at aoff/alen, offsets from the request's
 * first byte, and the next argument's header starts at m_scan. acap
 * entries are allocated in aoff, alen and args; scap bytes in scratch.
 */
struct kreq {
    size_t max_frame;  /* the largest request, as sent */
    long m_argc;       /* arguments of the partial request; -1: none */
    long m_argn;       /* of them, parsed */
    size_t m_scan;     /* next argument header starts here */
    size_t *aoff;      /* argument offsets */
    size_t *alen;      /* argument lengths */
    struct karg *args; /* the arguments as pointers, for the command */
    long acap;         /* entries in aoff, alen, args */
    char *scratch;     /* an inline command's unquoted arguments */
    size_t scap;       /* its size */
    char why[48];      /* the protocol error's text */
};

/* What one call to kreq_parse found. */
struct kreq_cmd {
    size_t used;       /* bytes the request took, from buf's first byte */
    int argc;          /* 0: nothing to execute (see kreq_parse) */
    struct karg *argv; /* argc arguments */
    const char *error; /* NULL, or why the request is refused */
    size_t need;       /* with 0 returned: bytes the request needs, at least */
};

/*
 * Makes r an empty parser for requests of at most max_frame bytes (64 to
 * 1 GiB; the server checks it). Allocates nothing.
 */
void kreq_init(struct kreq *r, size_t max_frame);

/* Frees what r allocated; r must be initialised again to be used. */
void kreq_free(struct kreq *r);

/*
 * True between requests: no multibulk request is partly parsed. The caller
 * may stop feeding bytes only there without losing its place.
 */
static inline bool
kreq_idle(const struct kreq *r)
{
    return r->m_argc < 0;
}

/*
 * kreq_parse - parse the next request from buf[0..len), len >= 1. buf
 * starts at the request's first byte: the first byte not used by an
 * earlier request. The bytes must be the same as at the last call (with
 * more after them) while a request is incomplete.
 *
 * Returns 1: a request was consumed; out->used bytes of buf belong to it,
 * and then:
 *  - [REQ-1] a command, out->argc >= 1 arguments in out->argv, pointing
 *    into buf (multibulk) or into r (inline). They stay valid until the
 *    next call with r or until the caller moves or frees buf.
 *  - [REQ-2] nothing to execute, out->argc == 0 and out->error NULL: a
 *    blank inline line, "*0\r\n", or any count below 1 ("*-1\r\n"). Redis
 *    sends no reply for these, nor does kvd.
 *  - [REQ-3] an inline line with unbalanced quotes, or a closing quote not
 *    followed by a blank: out->argc == 0 and out->error says so. The line
 *    is consumed, so the stream stays in step: answer with the error and
 *    go on.
 * Returns 0: [REQ-4] buf holds only part of a request; call again with
 * more bytes. out->need is how many bytes from buf the request needs at
 * least (a hint for the buffer's size: the whole of a bulk string whose
 * header has arrived, one more byte otherwise). Every proper prefix of a
 * valid request returns 0, and a request split at any byte offsets parses
 * to the same command once all of it is there.
 * Returns -EPROTO: the bytes cannot be a request, and the stream is out of
 * step (nothing after them can be trusted): out->error says why, in
 * Redis's words:
 *  - [REQ-5] "invalid multibulk length": a count that is not a decimal
 *    number of at most 18 digits (a lone '-', "*abc", "*1x", a header line
 *    without its '\r'), or one over max_frame / 6 (each argument takes at
 *    least 6 bytes: "$0\r\n\r\n"), or a header line longer than
 *    KVD_MAX_HEADER bytes without its '\n';
 *  - [REQ-6] "invalid bulk length": a length that is negative or not a
 *    number, or over max_frame; "expected '$', got 'X'": an argument that
 *    does not start with '$';
 *  - [REQ-7] "bulk string not followed by CRLF";
 *  - [REQ-8] "command larger than the frame limit": the arguments so far
 *    add up to more than max_frame + KVD_MAX_HEADER bytes;
 *  - [REQ-9] "too big inline request": an inline line whose '\n' has not
 *    come within KVD_MAX_INLINE (or max_frame) bytes.
 * Every limit is checked as soon as the header that breaks it is there,
 * before the data it announces: a lying "$1000000000" costs no memory.
 * Returns -ENOMEM: r could not grow; the caller should close the
 * connection.
 *
 * Pipelined requests are parsed one per call: out->used tells where the
 * next one starts [REQ-10].
 */
int kreq_parse(struct kreq *r, const char *buf, size_t len,
               struct kreq_cmd *out);

#endif /* KVD_REQ_H */
