#!/usr/bin/env bash
# coverage.sh - line coverage of a tree's code by the chapter tests.
#
# Usage: grader/coverage.sh [TREE] [CH]     (make coverage runs it)
# Builds the tests with --coverage into build/coverage/, runs them, and
# writes an HTML report (build/coverage/index.html) and a text summary.
set -eu
cd "$(dirname "$0")/.."
tree=${1:-solutions}
only=${2:-}
b=build/coverage/$(echo "$tree" | tr '/' '_')
rm -rf "$b"
mkdir -p "$b"
for dir in chapters/[0-9][0-9]-*/; do
    ch=$(basename "$dir")
    case "$ch" in "$only"*) ;; *) continue ;; esac
    make -s --no-print-directory TREE="$tree" B="$b" COVERAGE=1 "$b/$ch/tests"
    # Failing tests still count towards coverage; their verdict is the
    # grader's business, not this report's.
    (cd "$b" && TMPDIR=$(mktemp -d) "./$ch/tests" -j2 --timeout 60 >"$ch.log" 2>&1) || true
done
gcovr --root . --filter "$tree/" --object-directory "$b" \
    --html-details "build/coverage/index.html" --print-summary "$b" |
    tail -n 3
echo "HTML report: build/coverage/index.html"
