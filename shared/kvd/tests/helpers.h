/*
 * helpers.h - helpers shared by kvd's and resp's tests: a server per
 * test, clients, and assertions that print what came back. As in every
 * chapter (iolab/testkit.h), they carry the library's prefix followed by
 * t_: kvdt_.
 */
#ifndef KVD_TEST_HELPERS_H
#define KVD_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iolab/kvd.h"
#include "iolab/resp.h"

/* Generous: these bound waits under Valgrind on a loaded machine. */
#define KVDT_WAIT_MS 10000

/* Starts a server (cfg may be NULL) or fails the test. */
struct kvd *kvdt_start(const struct kvd_config *cfg);

/* A resp connection to port, or the test fails. */
struct resp_conn *kvdt_connect(unsigned short port);

/*
 * Runs one command (NULL-terminated strings) and checks the reply:
 * kvdt_ok: +OK; kvdt_int: :n; kvdt_bulk: the bulk string want; kvdt_nil: nil;
 * kvdt_err: an error starting with want.
 */
void kvdt_ok(struct resp_conn *c, ...) __attribute__((sentinel));
void kvdt_int(struct resp_conn *c, long long n, ...) __attribute__((sentinel));
void kvdt_bulk(struct resp_conn *c, const char *want, ...)
    __attribute__((sentinel));
void kvdt_nil(struct resp_conn *c, ...) __attribute__((sentinel));
void kvdt_err(struct resp_conn *c, const char *want, ...)
    __attribute__((sentinel));

/* Reads exactly strlen(want) bytes from fd and compares, or fails. */
void kvdt_expect_raw(int fd, const char *want);

/* A printable, escaped copy of p[0..len) (static buffer). */
const char *kvdt_esc(const char *p, size_t len);

/* Waits until cond(kv) holds, up to KVDT_WAIT_MS, polling every 2 ms. */
bool kvdt_wait_stats(struct kvd *kv, bool (*cond)(const struct kvd_stats *));

#endif /* KVD_TEST_HELPERS_H */
