#!/usr/bin/env bash
# mutants.sh - the tests find the bugs students really write.
#
# Each solutions/NN-slug/mutants/NAME.patch turns the reference solution of
# its chapter into a plausible wrong version (an error that loses the count
# after partial progress, an off-by-one at an exact boundary, a compaction
# that forgets to move the bytes, a stale slot after a removal, a lost
# wake-up, ...). Its header says which bug it models and which tests must
# catch it:
#
#     # bug: nb_read_full returns the count, not -errno, after a late error
#     # caught-by: rw/errors_after_partial_progress
#     --- a/01-blocking-io/src/nb_io.c
#     ...
#
# For every mutant this script copies the chapter's solution to a tree
# under build/mutants/, applies the patch, runs that chapter's caught-by
# tests (without the benchmarks and Valgrind), and checks in the
# results.json (read through grader/results.py) that every one of them
# failed. A mutant no listed test catches is a hole in the
# tests.
#
# Usage: grader/mutants.sh [PATTERN...]   only mutants whose NN-slug/NAME
#                                         contains one of the patterns
# MUTANTS_VERBOSE=1 with MUTANTS_ALL_TESTS=1 also lists, for each mutant,
# every test that failed;
# with MUTANTS_ALL_TESTS=1 every test of the chapter runs, not only the
# caught-by ones (slower; shows what else catches each mutant).
# Prints PASS or FAIL per mutant, then "N mutants, N caught"; exits 1 if
# any mutant was not caught (or did not apply or build). A mutant whose
# tests all passed is graded a second time before it counts as missed:
# the tests that catch races provoke them, and a provoked race can, rarely,
# not happen in one run. One caught only then says so on its PASS line and
# in the count ("N of them only on a second run"), so a test that catches
# its bug only sometimes is seen, not hidden.
set -u
cd "$(dirname "$0")/.." || exit 2

grader=build/grader/iolab-grade
out=build/mutants
make -s --no-print-directory "$grader" >/dev/null || exit 2
mkdir -p "$out"

total=0
caught=0
second=0 # caught, but only on the second run
start=$(date +%s)
for patch in solutions/[0-9][0-9]-*/mutants/*.patch; do
    [ -e "$patch" ] || continue
    chdir=$(basename "$(dirname "$(dirname "$patch")")")
    name=$(basename "$patch" .patch)
    id="$chdir/$name"
    if [ $# -gt 0 ]; then
        want=0
        for pat in "$@"; do
            case "$id" in *"$pat"*) want=1 ;; esac
        done
        [ $want = 1 ] || continue
    fi
    total=$((total + 1))
    t0=$(date +%s)
    tree="$out/${chdir%%-*}-$name"
    log="$tree.log"
    rm -rf "$tree"
    mkdir -p "$tree"
    : >"$log"

    why=$(sed -n 's/^# bug: //p' "$patch" | head -n 1)
    tests=$(sed -n 's/^# caught-by: *//p' "$patch")
    if [ -z "$why" ] || [ -z "$tests" ]; then
        printf 'FAIL  %s: no "# bug:" or "# caught-by:" line\n' "$id"
        continue
    fi
    mkdir -p "$tree/$chdir"
    cp -r "solutions/$chdir/src" "$tree/$chdir/"
    if ! (cd "$tree" && patch -s -p1 --no-backup-if-mismatch) <"$patch" >>"$log" 2>&1; then
        printf 'FAIL  %s: the patch does not apply (%s)\n' "$id" "$log"
        continue
    fi
    # Only the tests that must catch it run (MUTANTS_ALL_TESTS=1: all).
    only=()
    if [ -z "${MUTANTS_ALL_TESTS:-}" ]; then
        for t in $tests; do only+=(--test "$t"); done
    fi
    # A race a test provokes may, rarely, not happen in a run: a mutant
    # that escapes is graded once more, and one caught only then is
    # reported as such (and counted apart in the last line).
    attempt=0
    while :; do
        attempt=$((attempt + 1))
        "$grader" --tree "$tree" --ch "${chdir%%-*}" --no-perf --no-memcheck \
            --no-color --quiet --json "$tree/results.json" "${only[@]}" >>"$log" 2>&1
        # Every caught-by test must be in the results and must have failed.
        if ! python3 grader/results.py items "$tree/results.json" >"$tree.items" 2>>"$log"; then
            missed=" no results"
        elif grep -qx 'failed build' "$tree.items"; then
            missed="build"
            break
        else
            missed=""
            for t in $tests; do
                if grep -qx "passed $t" "$tree.items"; then
                    missed="$missed $t passed"
                elif ! grep -qx "failed $t" "$tree.items"; then
                    missed="$missed $t: no such test"
                fi
            done
        fi
        if [ -z "$missed" ] || [ $attempt = 2 ] || [ "${missed% passed}" = "$missed" ]; then
            break
        fi
        first_miss=$missed
        echo "---- not caught on the first run:$missed; once more" >>"$log"
    done
    if [ "$missed" = build ]; then
        printf 'FAIL  %s: the mutant does not build (%s)\n' "$id" "$log"
        continue
    fi
    if [ -z "$missed" ]; then
        caught=$((caught + 1))
        if [ $attempt = 2 ]; then
            second=$((second + 1))
            why="caught on the second run only (the first:$first_miss): $why"
        fi
        printf 'PASS  %s (%ss): %s\n' "$id" $(($(date +%s) - t0)) "$why"
        if [ -n "${MUTANTS_VERBOSE:-}" ]; then
            echo "      failed:" "$(sed -n 's|^failed \(.*/.*\)|\1|p' "$tree.items" | tr '\n' ' ')"
        fi
        rm -rf "$tree" "$tree.items" "$log" "build/grade/$(echo "$tree" | tr -c 'A-Za-z0-9.\n-' '_')"
    else
        printf 'FAIL  %s: not caught:%s (%s)\n' "$id" "$missed" "$log"
    fi
done
retried=""
[ $second = 0 ] || retried=", $second of them only on a second run"
echo "$total mutants, $caught caught$retried ($(($(date +%s) - start)) s)"
[ $total -gt 0 ] && [ $caught = $total ]
