#!/usr/bin/env bash
# hint.sh - prints one hint of a chapter's HINTS.md (make hint H=H1.5 CH=01).
#
# Usage: grader/hint.sh ID [CH]
# ID is a hint id as the reports give it (H1.5); CH a chapter (01 or
# 01-blocking-io). Without CH, every chapter is searched; an id found in
# several chapters lists them and asks for CH. The hint runs from its
# "## ID" heading to the next "## " heading; it is printed with its
# file:line first.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
id=${1:-}
ch=${2:-}
if ! [[ $id =~ ^H[0-9]+(\.[0-9]+)?$ ]]; then
    echo "usage: make hint H=H1.5 [CH=01]   (the id a report names: 'hint: H1.5 at ...')" >&2
    exit 2
fi
found=()
for f in chapters/[0-9][0-9]-*/HINTS.md; do
    d=$(basename "$(dirname "$f")")
    [ -z "$ch" ] || [ "${d%%-*}" = "$ch" ] || [ "$d" = "$ch" ] || continue
    grep -qE "^## $id( |\$)" "$f" && found+=("$f")
done
if [ ${#found[@]} = 0 ]; then
    echo "hint: no hint $id${ch:+ in chapter $ch}" >&2
    exit 1
fi
if [ ${#found[@]} -gt 1 ]; then
    echo "hint: $id is in several chapters; say which with CH=:" >&2
    for f in "${found[@]}"; do
        d=$(basename "$(dirname "$f")")
        echo "  make hint H=$id CH=${d%%-*}    ($d)" >&2
    done
    exit 1
fi
f=${found[0]}
line=$(grep -nE "^## $id( |\$)" "$f" | head -n 1 | cut -d: -f1)
echo "$f:$line"
awk -v start="$line" 'NR == start { print; next }
    NR > start && /^## / { exit }
    NR > start { print }' "$f"
