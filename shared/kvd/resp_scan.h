/*
 * resp_scan.h - the reply scanner and builder behind resp_parse, shared by
 * resp_parse.c (which defines them) and resp.c (whose connections resume
 * a scan as bytes arrive). Internal: the course's API is iolab/resp.h.
 *
 * A reply is parsed in two passes. resp_scan_run finds where the reply
 * ends and validates it, resumably: called again with the same reply's
 * bytes plus more, it starts where it stopped. resp_build then allocates
 * the complete reply in one walk. Nothing is allocated before the reply
 * is complete.
 */
#ifndef KVD_RESP_SCAN_H
#define KVD_RESP_SCAN_H

#include "iolab/resp.h"

#include <stddef.h>

/*
 * Scanner state, all offsets relative to the reply's first byte, so the
 * caller may move the bytes between calls. Invariant: bytes [0, pos) are
 * complete, validated elements or headers of the arrays still open; rem[]
 * holds how many elements each open level still needs (rem[0] is the
 * reply itself, 1 until it is complete).
 */
struct resp_scan {
    size_t pos;                   /* next header starts here */
    size_t lscan;                 /* '\n' not found in [pos, lscan) */
    size_t need;                  /* waiting for this many bytes; 0: none */
    int depth;                    /* open levels in rem[]; 0: done */
    long rem[RESP_MAX_DEPTH + 2]; /* elements still needed per level */
};

/* Makes s ready for a new reply. */
void resp_scan_init(struct resp_scan *s);

/*
 * Continues scanning buf[0..len): the same reply's bytes as at the last
 * call, maybe more of them. Returns the reply's length once it is
 * complete, 0 when more bytes are needed (s->need, when not 0, is how many
 * the reply needs at least), or -EPROTO when it is malformed (the limits
 * of resp.h included). Pure: no allocation, no IO.
 */
long resp_scan_run(struct resp_scan *s, const char *buf, size_t len);

/*
 * Builds the reply starting at buf + *pos, which resp_scan_run validated
 * as complete; advances *pos past it. Returns 0, or -ENOMEM with r left
 * empty (what was built is freed). Recursion depth is bounded by
 * RESP_MAX_DEPTH.
 */
int resp_build(const char *buf, size_t *pos, struct resp_reply *r);

#endif /* KVD_RESP_SCAN_H */
