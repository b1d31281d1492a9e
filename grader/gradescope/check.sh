#!/usr/bin/env bash
# check.sh - the Gradescope autograder, run as Gradescope would run it,
# against a fake /autograder root (make test runs it).
#
# Builds the chapter-01 autograder zip (tests only: --no-perf
# --no-memcheck, to keep it short), unpacks it into ROOT/source, runs its
# setup.sh without the package installation, then run_autograder on:
#   1. a repository upload of the reference (chapters/01-.../src): every
#      test passes;
#   2. a files-only upload of nb_io.c alone, in a folder, beside a stray
#      file: nb_io's tests pass, nb_server's fail, the output says which
#      file was graded as the skeleton and which was ignored;
#   3. two files named nb_io.c: refused with a score of 0 and the reason;
#   4. nothing of the assignment: a score of 0 and what to upload.
# Each must leave a valid results.json. Exits 1 on the first mismatch.
#
# Usage: grader/gradescope/check.sh [ROOT]   (default build/gradescope/fake)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
course=$PWD
root=${1:-$course/build/gradescope/fake}
ref=solutions/01-blocking-io/src

fail() {
    echo "gradescope check: $*" >&2
    [ -f "$root/stdout" ] && tail -n 30 "$root/stdout" >&2
    exit 1
}

bash grader/gradescope/make-zip.sh 01 "--no-perf --no-memcheck" >/dev/null ||
    fail "make-zip.sh failed"
rm -rf "$root"
mkdir -p "$root/source" || fail "cannot make $root"
(cd "$root/source" && python3 -m zipfile -e "$course/build/gradescope/autograder.zip" .) ||
    fail "the zip does not unpack"
chmod +x "$root/source/run_autograder" "$root/source/setup.sh"
[ ! -e "$root/source/solutions" ] || fail "the zip holds solutions/"
(cd "$root/source" && IOLAB_SKIP_DEPS=1 bash setup.sh) >"$root/setup.log" 2>&1 ||
    fail "setup.sh failed (see $root/setup.log)"

# upload: empties the submission; the caller fills it, then grade runs.
upload() { rm -rf "$root/submission" "$root/results" && mkdir -p "$root/submission"; }
grade() {
    AUTOGRADER_ROOT=$root "$root/source/run_autograder" >"$root/stdout" 2>&1 ||
        fail "run_autograder exited with $?"
}
# items: what passed and failed, from a grader's results.json.
items() {
    python3 grader/results.py items "$root/results/results.json" --no-perf --no-memcheck \
        >"$root/items" 2>>"$root/stdout" || fail "no valid results.json"
}
# refused: a results.json of no points and no tests.
refused() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["score"] != 0 or d["tests"] != [])' \
        "$root/results/results.json" || fail "$1"
}
output_has() {
    python3 -c 'import json, sys; sys.exit(sys.argv[2] not in json.load(open(sys.argv[1]))["output"])' \
        "$root/results/results.json" "$1" || fail "the output lacks: $1"
}

# 1. A repository upload of the reference.
upload
mkdir -p "$root/submission/chapters/01-blocking-io" &&
    cp -r "$ref" "$root/submission/chapters/01-blocking-io/"
grade
items
grep -q '^passed ' "$root/items" || fail "repository upload: nothing passed"
! grep -q '^failed ' "$root/items" || fail "repository upload: $(grep -m1 '^failed ' "$root/items")"
output_has "Graded from a repository upload"
# The course's hidden test ran, passed, and waits for the due date.
python3 -c 'import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["tests"]}
h = t.get("01-blocking-io: rw/mixed_faults", {})
sys.exit(h.get("visibility") != "after_due_date" or h.get("status") != "passed")' \
    "$root/results/results.json" || fail "the hidden test rw/mixed_faults is not graded and held back until the due date"

# 2. nb_io.c alone, in a folder, and a stray file.
upload
mkdir -p "$root/submission/work" && cp "$ref/nb_io.c" "$root/submission/work/" &&
    echo 'int stray;' >"$root/submission/stray.c"
grade
items
grep -q '^passed rw/' "$root/items" || fail "files-only upload: no rw/ test passed"
grep -q '^failed serve/' "$root/items" || fail "files-only upload: the skeleton's serve/ tests passed"
output_has "nb_server.c is not in the submission: graded as the skeleton"
output_has "stray.c is not a student file of this assignment: ignored"

# 3. Two files of one name.
upload
mkdir -p "$root/submission/a" && cp "$ref/nb_io.c" "$root/submission/" &&
    cp "$ref/nb_io.c" "$root/submission/a/"
grade
refused "two files of one name were graded"
output_has "Two files are named nb_io.c"

# 4. Nothing of the assignment.
upload
echo notes >"$root/submission/notes.txt"
grade
refused "an upload without the assignment's files was graded"
output_has "None of this assignment's files is in the submission"
echo "gradescope check: the autograder grades repository and files-only uploads, refuses ambiguous ones"
