# gen-skeleton.awk - turns a reference solution file into its skeleton.
#
# In a solution file, each piece of the answer is fenced:
#
#         // SOLUTION-BEGIN
#         ...the reference code, dropped from the skeleton...
#         // SOLUTION-STUB
#         // return -ENOSYS;      <- kept, uncommented, in the skeleton
#         // SOLUTION-END
#
# Everything outside the fences is copied unchanged, so the contract, the
# TODO comments and the given scaffolding are the same in both trees.
# Usage: awk -f gen-skeleton.awk solution.c > skeleton.c
# A fence out of order is an error naming the file and line.

function fail(msg) {
    printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    bad = 1
    exit 1
}

/^[ \t]*\/\/ SOLUTION-BEGIN[ \t]*$/ {
    if (state != 0) fail("SOLUTION-BEGIN inside a fence")
    state = 1
    next
}
/^[ \t]*\/\/ SOLUTION-STUB[ \t]*$/ {
    if (state != 1) fail("SOLUTION-STUB without SOLUTION-BEGIN")
    state = 2
    next
}
/^[ \t]*\/\/ SOLUTION-END[ \t]*$/ {
    if (state != 2) fail("SOLUTION-END without SOLUTION-STUB")
    state = 0
    next
}
state == 1 { next }
state == 2 {
    # "    // code" becomes "    code"; a bare "//" becomes an empty line.
    line = $0
    if (!sub(/\/\/ /, "", line) && !sub(/\/\/$/, "", line))
        fail("stub line is not a // comment")
    print line
    next
}
{ print }
END {
    if (!bad && state != 0) {
        printf "%s: unterminated SOLUTION fence\n", FILENAME > "/dev/stderr"
        exit 1
    }
}
