/*
 * report_file.c - writing a finished report (report_file.h), and the
 * placeholders of report.h that stand in while grading runs.
 */
#include "report_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

/*
 * Writes all len bytes of buf to fd. A short write is continued where it
 * stopped; EINTR is retried; a write that returns 0 (no progress and no
 * error) is reported as -EIO instead of looping forever.
 */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -errno;
        if (n == 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes a finished document to path, or to stdout when path is "-". */
int
write_document(const char *path, const struct sbuf *sb)
{
    int fd, rc;

    if (path == NULL)
        return -EINVAL;
    if (strcmp(path, "-") == 0) {
        if (fflush(stdout) == EOF)
            return -errno; /* keep what stdio holds in front of ours */
        return write_all(STDOUT_FILENO, sb_str(sb), sb->len);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        return -errno;
    rc = write_all(fd, sb_str(sb), sb->len);
    if (close(fd) == -1 && rc == 0)
        rc = -errno; /* never retried: the descriptor is gone either way */
    return rc;
}

/* ===================================================================== */
/* Placeholders while grading runs                                       */
/* ===================================================================== */

/* Writes text to path (truncating); 0, or -1 with errno set. */
static int
write_whole(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return 0;
}

int
report_unfinished_json(const char *path)
{
    return write_whole(
        path, "{\"score\": 0, \"output\": \"The grader did not finish: it was "
              "killed or crashed before writing its results. No score is "
              "valid; grade again.\", \"tests\": []}\n");
}

int
report_unfinished_junit(const char *path)
{
    return write_whole(
        path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<testsuites name=\"iolab\" tests=\"1\" failures=\"1\">\n"
              "  <testsuite name=\"iolab\" tests=\"1\" failures=\"1\">\n"
              "    <testcase name=\"grading finished\">\n"
              "      <failure message=\"the grader did not finish: it was "
              "killed or crashed before writing its results\"/>\n"
              "    </testcase>\n  </testsuite>\n</testsuites>\n");
}
