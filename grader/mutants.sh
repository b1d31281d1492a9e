#!/usr/bin/env bash
# mutants.sh - the tests find the bugs students really write.
#
# Each grader/mutants/NN-slug/NAME.patch turns the reference solution of
# one chapter into a plausible wrong version (an error that loses the count
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
# results.json that every one of them failed. A mutant no listed test catches is a hole in the
# tests.
#
# Usage: grader/mutants.sh [PATTERN...]   only mutants whose NN-slug/NAME
#                                         contains one of the patterns
# MUTANTS_VERBOSE=1 with MUTANTS_ALL_TESTS=1 also lists, for each mutant,
# every test that failed;
# with MUTANTS_ALL_TESTS=1 every test of the chapter runs, not only the
# caught-by ones (slower; shows what else catches each mutant).
# Prints PASS or FAIL per mutant, then "N mutants, N caught"; exits 1 if
# any mutant was not caught (or did not apply or build).
set -u
cd "$(dirname "$0")/.."

grader=build/grader/iolab-grade
out=build/mutants
make -s --no-print-directory "$grader" >/dev/null || exit 2
mkdir -p "$out"

total=0
caught=0
start=$(date +%s)
for patch in grader/mutants/[0-9][0-9]-*/*.patch; do
    [ -e "$patch" ] || continue
    chdir=$(basename "$(dirname "$patch")")
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
    cp -r "solutions/$chdir" "$tree/"
    if ! (cd "$tree" && patch -s -p1 --no-backup-if-mismatch) <"$patch" >>"$log" 2>&1; then
        printf 'FAIL  %s: the patch does not apply (%s)\n' "$id" "$log"
        continue
    fi
    # Only the tests that must catch it run (MUTANTS_ALL_TESTS=1: all).
    only=()
    if [ -z "${MUTANTS_ALL_TESTS:-}" ]; then
        for t in $tests; do only+=(--test "$t"); done
    fi
    "$grader" --tree "$tree" --ch "${chdir%%-*}" --no-perf --no-memcheck \
        --no-color --quiet --json "$tree/results.json" "${only[@]}" >>"$log" 2>&1
    if grep -q 'NOT GRADABLE' "$log"; then
        printf 'FAIL  %s: the mutant does not build (%s)\n' "$id" "$log"
        continue
    fi
    # Every caught-by test must be in the results and must have failed.
    missed=$(python3 - "$tree/results.json" "$chdir" "$tests" <<'EOF' 2>&1
import json, sys
path, chdir, tests = sys.argv[1], sys.argv[2], sys.argv[3].split()
try:
    results = {t["name"]: t for t in json.load(open(path))["tests"]}
except (OSError, ValueError, KeyError) as e:
    print("no results (%s)" % e)
    sys.exit()
for t in tests:
    r = results.get("%s: %s" % (chdir, t))
    if r is None:
        print("%s: no such test" % t)
    elif r["status"] == "passed":
        print("%s passed" % t)
# Every test that failed, for MUTANTS_VERBOSE.
with open(path + ".failed", "w") as f:
    for name, r in results.items():
        if r["status"] != "passed" and r["max_score"] > 0 and "/" in name:
            f.write(name.split(": ", 1)[1] + "\n")
EOF
    )
    if [ -z "$missed" ]; then
        caught=$((caught + 1))
        printf 'PASS  %s (%ss): %s\n' "$id" $(($(date +%s) - t0)) "$why"
        [ -n "${MUTANTS_VERBOSE:-}" ] && echo "      failed:" $(cat "$tree/results.json.failed")
        rm -rf "$tree" "$log" "build/grade/$(echo "$tree" | tr -c 'A-Za-z0-9.\n-' '_')"
    else
        printf 'FAIL  %s: not caught: %s (%s)\n' "$id" "$(echo $missed)" "$log"
    fi
done
echo "$total mutants, $caught caught ($(($(date +%s) - start)) s)"
[ $total -gt 0 ] && [ $caught = $total ]
