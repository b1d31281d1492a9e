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
# clang writes LLVM's flavour of the gcov files, which gcc's gcov reads as
# nothing at all: read them with the llvm-cov beside that clang.
gcov=gcov
case "$(basename "${CC:-cc}")" in
clang*)
    llvm_bin=$(dirname "$(readlink -f "$(command -v "${CC}")")")
    if [ -x "$llvm_bin/llvm-cov" ]; then
        gcov="$llvm_bin/llvm-cov gcov"
    else
        gcov="llvm-cov gcov"
    fi
    ;;
esac
summary=$(gcovr --root . --filter "$tree/" --object-directory "$b" \
    --gcov-executable "$gcov" --html-details "build/coverage/index.html" \
    --print-summary "$b" | tail -n 3)
echo "$summary"
# No lines at all means the gcov files were not read, not that no code ran.
if grep -q '^lines: .*(0 out of 0)' <<<"$summary"; then
    echo "coverage.sh: no line was measured ($gcov read no coverage data)" >&2
    exit 1
fi
echo "HTML report: build/coverage/index.html"
