#!/usr/bin/env bash
# check.sh - the quick loop while working on a chapter (make check CH=01).
#
# Runs the chapter's tests only (no benchmarks, no Valgrind), in order,
# and stops at the first that fails: its message, and then the whole hint
# it names, are printed right there. Fast enough to run after every save
# (make watch CH=01 does). `make grade` remains the full verdict.
#
# Usage: grader/check.sh CH [TREE]     (TREE: default chapters)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ch=${1:-}
tree=${2:-chapters}
if [ -z "$ch" ]; then
    echo "usage: make check CH=01   (one chapter: the quick loop is per chapter)" >&2
    exit 2
fi
make -s --no-print-directory build/grader/iolab-grade >/dev/null || exit 2
json=$(mktemp /tmp/iolab-check.XXXXXX.json) || exit 2
trap 'rm -f "$json"' EXIT
build/grader/iolab-grade --tree "$tree" --ch "$ch" --no-perf --no-memcheck \
    --fail-fast --json "$json"
rc=$?
[ $rc = 0 ] || exit $rc
# The first failure: its chapter and hint, from results.json.
first=$(python3 - "$json" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
for t in d["tests"]:
    if t["status"] == "failed" and "not run this time" not in t["output"]:
        ch = t["name"].split(": ", 1)[0]
        m = re.search(r"hint: (H[0-9.]+)", t["output"])
        print(ch, m.group(1) if m else "")
        break
PY
)
if [ -z "$first" ]; then
    echo
    echo "check: every test of chapter $ch passes. Next: make grade CH=$ch (benchmarks and Valgrind too)."
    exit 0
fi
read -r dir hint <<<"$first"
if [ -n "$hint" ]; then
    echo
    echo "================ the hint for the first failure ================"
    bash grader/hint.sh "$hint" "$dir"
fi
exit 1
