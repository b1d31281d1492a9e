/*
 * report_file.h - writing a finished report document. Private to the
 * report writers (report.h).
 */
#ifndef IOLAB_REPORT_FILE_H
#define IOLAB_REPORT_FILE_H

#include "sbuf.h"

/*
 * write_document - writes the whole text of sb to path (created or
 * truncated, mode 0644), or to stdout when path is "-" (stdio's buffer is
 * flushed first, so the document follows what was printed before it).
 * Returns 0, -errno from open, write or close, -EIO when write makes no
 * progress, -EINVAL when path is NULL.
 */
int write_document(const char *path, const struct sbuf *sb);

#endif /* IOLAB_REPORT_FILE_H */
