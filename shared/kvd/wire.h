/*
 * wire.h - the two pieces of the RESP wire format that the client
 * (resp.c, resp_parse.c) and the server (kvd_req.c, kvd_out.c, kvd_cmd.c)
 * share: reading a decimal number and writing a "<type><n>\r\n" header.
 *
 * This header is the specification; [WIRE-n] sentences are checked by
 * shared/kvd/tests/test_wire.c. Both functions are pure: no state, no
 * allocation, no IO, safe from any thread. Nothing here is part of the
 * course's API (that is iolab/resp.h and iolab/kvd.h).
 */
#ifndef KVD_WIRE_H
#define KVD_WIRE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The most bytes wire_put_header writes: the type byte, a '-', 19 digits
 * and "\r\n" (LLONG_MIN has 19 digits).
 */
#define WIRE_HEADER_MAX 23

/*
 * wire_parse_ll - read a signed decimal number from p[0..len).
 *
 * [WIRE-1] Accepted: an optional '-', then 1 to 19 decimal digits, and
 * nothing else (no '+', no blanks, no terminator needed); leading zeros and
 * "-0" are accepted. [WIRE-2] Refused (false, *out not written): an empty
 * field, a lone '-', any other byte, more than 19 digits, and a value
 * outside LLONG_MIN..LLONG_MAX.
 *
 * Stricter rules (Redis's: no leading zero, no "-0") are the caller's to
 * check before calling.
 */
bool wire_parse_ll(const char *p, size_t len, long long *out);

/*
 * wire_put_header - write type, n in decimal, then "\r\n", at p.
 *
 * [WIRE-3] Writes exactly the bytes "<type><n>\r\n" with no leading zeros
 * and a '-' for a negative n ("$-1\r\n"), and returns how many it wrote:
 * at most WIRE_HEADER_MAX. p must have room for WIRE_HEADER_MAX bytes. No
 * NUL is written.
 */
size_t wire_put_header(char *p, char type, long long n);

#endif /* KVD_WIRE_H */
