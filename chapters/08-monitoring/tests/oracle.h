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

/* A file a sysstat tool is shown: text, in place of the file at onto. */
struct mont_file {
    const char *name; /* its name in the test's directory */
    const char *text;
    const char *onto; /* e.g. /proc/uptime */
};

/* A column of a tool's table and the value the student's code gave. */
struct mont_want {
    const char *col;
    double ours;
};

/*
 * mont_sysstat_agrees - runs the sysstat tool argv (iostat, pidstat)
 * shown the recorded files, and fails the test unless, in the row that
 * holds key, each column of want prints that value to the tool's two
 * decimals (within 0.006: the recorded counters give values exact at two
 * decimals). Skips the test when the sandbox refuses the namespace.
 */
void mont_sysstat_agrees(const char *const argv[],
                         const struct mont_file *files, size_t nfiles,
                         const char *key, const struct mont_want *want,
                         size_t nwant);

#endif /* MON_TEST_ORACLE_H */
