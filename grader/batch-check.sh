#!/usr/bin/env bash
# batch-check.sh - the batch grader on three submissions (make test runs
# it): a repository of the reference, nb_io.c alone as a zip, and a folder
# with nothing of the assignment. Checks the gradebook's rows, that a
# second run grades nothing again, that a changed submission alone is
# graded again, and that no build of a submission is left in build/grade.
# Exits 1 on the first mismatch.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
work=$PWD/build/batch-check
subs=$work/submissions
out=$work/grades
ref=solutions/01-blocking-io/src

fail() {
    echo "batch check: $*" >&2
    [ -f "$work/run.txt" ] && cat "$work/run.txt" >&2
    exit 1
}
run() {
    CH=01 FLAGS="--no-perf --no-memcheck" bash grader/batch.sh "$subs" "$out" >"$work/run.txt" 2>&1 ||
        fail "batch.sh exited with $?"
}
row() { grep "^$1," "$out/gradebook.csv"; }

rm -rf "$work"
if ! { mkdir -p "$subs/alice/chapters/01-blocking-io" "$work/bob" "$subs/carol" &&
    cp -r "$ref" "$subs/alice/chapters/01-blocking-io/" &&
    cp "$ref/nb_io.c" "$work/bob/" &&
    (cd "$work/bob" && python3 -m zipfile -c "$subs/bob.zip" nb_io.c) &&
    echo notes >"$subs/carol/notes.txt"; }; then
    fail "cannot make the submissions"
fi
leftovers() { find build/grade -maxdepth 1 -name '*iolab-batch*' | head -n 1; }

run
[ "$(head -n 1 "$out/gradebook.csv")" = "student,01-blocking-io,total,max,status" ] ||
    fail "gradebook header: $(head -n 1 "$out/gradebook.csv")"
alice=$(row alice) bob=$(row bob) carol=$(row carol)
if ! [[ $alice == alice,*,graded && $bob == bob,*,graded && $carol == carol,,,,refused ]]; then
    fail "rows: $alice / $bob / $carol"
fi
a=$(echo "$alice" | cut -d, -f3) b=$(echo "$bob" | cut -d, -f3)
awk "BEGIN { exit !($a > $b && $b > 0) }" || fail "alice $a should beat bob $b, who beats 0"
grep -q "None of this assignment's files" "$out/carol/report.txt" || fail "carol's report lacks the reason"
[ -z "$(leftovers)" ] || fail "a submission's build is left: $(leftovers)"

run
[ "$(grep -c 'already graded' "$work/run.txt")" = 3 ] || fail "a second run graded again"

# bob hands in every file of the reference (what is not a student file
# is ignored), so he now scores what alice does.
if ! { cp "$ref"/*.c "$work/bob/" &&
    (cd "$work/bob" && python3 -m zipfile -c "$subs/bob.zip" ./*.c); }; then
    fail "cannot remake bob.zip"
fi
run
[ "$(grep -c 'already graded' "$work/run.txt")" = 2 ] || fail "a changed submission was not graded again"
[ "$(row bob | cut -d, -f3)" = "$a" ] || fail "bob with both files: $(row bob), expected $a"
[ -z "$(leftovers)" ] || fail "a submission's build is left: $(leftovers)"
echo "batch check: gradebook rows, refusals, resuming and cleanup as expected"
