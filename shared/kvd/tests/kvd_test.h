/*
 * kvd_test.h - helpers shared by kvd's and resp's tests: a server per
 * test, clients, and assertions that print what came back.
 */
#ifndef KVD_TEST_H
#define KVD_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iolab/kvd.h"
#include "iolab/resp.h"

/* Generous: these bound waits under Valgrind on a loaded machine. */
#define T_WAIT_MS 10000

/* Starts a server (cfg may be NULL) or fails the test. */
struct kvd *t_start(const struct kvd_config *cfg);

/* A resp connection to port, or the test fails. */
struct resp_conn *t_connect(unsigned short port);

/*
 * Runs one command (NULL-terminated strings) and checks the reply:
 * t_ok: +OK; t_int: :n; t_bulk: the bulk string want; t_nil: nil;
 * t_err: an error starting with want.
 */
void t_ok(struct resp_conn *c, ...) __attribute__((sentinel));
void t_int(struct resp_conn *c, long long n, ...) __attribute__((sentinel));
void t_bulk(struct resp_conn *c, const char *want, ...)
    __attribute__((sentinel));
void t_nil(struct resp_conn *c, ...) __attribute__((sentinel));
void t_err(struct resp_conn *c, const char *want, ...)
    __attribute__((sentinel));

/* Reads exactly strlen(want) bytes from fd and compares, or fails. */
void t_expect_raw(int fd, const char *want);

/* A printable, escaped copy of p[0..len) (static buffer). */
const char *t_esc(const char *p, size_t len);

/* Waits until cond(kv) holds, up to T_WAIT_MS, polling every 2 ms. */
bool t_wait_stats(struct kvd *kv, bool (*cond)(const struct kvd_stats *));

#endif /* KVD_TEST_H */
