/*
 * oracle.h - what chapter 08's tests share to check the student's output
 * against the real tools (promtool, iostat) where they are installed.
 * The tests run with no PATH (the grader's sandbox passes none), so the
 * tools are looked for in the usual directories by full path.
 */
#ifndef MON_TEST_ORACLE_H
#define MON_TEST_ORACLE_H

#include <stddef.h>

/*
 * mont_tool - the full path of an installed program called name, looked
 * for in /usr/bin, /usr/local/bin, /bin and /usr/sbin, or NULL. The
 * string is static, overwritten by the next call.
 */
const char *mont_tool(const char *name);

/* A bind mount the child makes, in a namespace of its own, before exec. */
struct mont_bind {
    const char *from; /* a file of the test */
    const char *onto; /* the file it hides, e.g. /proc/uptime */
};

/*
 * mont_run - runs argv[0] (a full path) with argv, environment LC_ALL=C
 * only, stdin from in_path (NULL: /dev/null), stdout and stderr into
 * out[0..cap) (NUL-terminated, cut at cap - 1). With nbind > 0 the child
 * first enters a user and a mount namespace of its own and makes the
 * bind mounts: the program then reads the test's files in place of the
 * kernel's. Returns the program's exit status (0..255), MONT_NO_NAMESPACE
 * when the namespace or a mount was refused (a sandbox without nested
 * user namespaces: the caller skips), or fails the test.
 */
#define MONT_NO_NAMESPACE 1000
int mont_run(const char *const argv[], const char *in_path,
             const struct mont_bind *bind, size_t nbind, char *out, size_t cap);

/*
 * mont_column - the number a tool's table (iostat's, pidstat's) prints
 * under column col in the row that holds the word key (a device's name, a
 * pid). The header is the nearest line above the row that has col as a
 * word; words are separated by blanks. Fails the test, showing the
 * output, when there is no such header or row.
 */
double mont_column(const char *out, const char *col, const char *key);

#endif /* MON_TEST_ORACLE_H */
