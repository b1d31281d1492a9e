/*
 * integrity.h - snapshots of the course's files, to prove that grading
 * left them as it found them.
 *
 * The sandbox makes the course read-only where the machine allows it; a
 * snapshot taken before and after each chapter is the check that holds
 * everywhere: a file changed, added or removed under the course (tests,
 * benches, manifests, kits, the grader, the built course objects) fails
 * the grade loudly, and nothing is graded after it.
 */
#ifndef IOLAB_INTEGRITY_H
#define IOLAB_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

struct snapshot {
    char **paths;     /* sorted */
    uint64_t *hashes; /* of each file's type, mode, size and bytes */
    size_t n;
};

/* Takes a snapshot of every file under roots (NULL-terminated; a missing
 * root is skipped). Symlinks are hashed as links, never followed. */
void snap_take(const char *const *roots, struct snapshot *s);

/* NULL when a and b agree; else a sentence naming the first difference. */
char *snap_diff(const struct snapshot *a, const struct snapshot *b);

void snap_free(struct snapshot *s);

#endif /* IOLAB_INTEGRITY_H */
