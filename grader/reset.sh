#!/usr/bin/env bash
# reset.sh - puts one of your files back as the skeleton it started as
# (make reset F=chapters/01-blocking-io/src/nb_io.c).
#
# Your version is first copied to .backups/NN-slug/FILE.YYYYmmdd-HHMMSS
# (outside build/, so make clean keeps it), then the file is replaced by
# its skeleton: generated from the reference where the course has
# solutions/, else the version git first recorded (the skeleton your
# repository started with).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
f=${1:-}
if ! [[ $f =~ ^chapters/[0-9][0-9]-[^/]+/src/[^/]+$ ]] || [ ! -f "$f" ]; then
    echo "usage: make reset F=chapters/NN-slug/src/FILE   (a file of yours to start again)" >&2
    exit 2
fi
ch=$(basename "$(dirname "$(dirname "$f")")")
name=$(basename "$f")
sol=solutions/$ch/src/$name
new=$(mktemp) || exit 2
trap 'rm -f "$new"' EXIT
if [ -f "$sol" ]; then
    awk -f grader/gen-skeleton.awk "$sol" >"$new" || exit 1
else
    first=$(git log --diff-filter=A --format=%H -- "$f" 2>/dev/null | tail -n 1)
    if [ -z "$first" ] || ! git show "$first:$f" >"$new" 2>/dev/null; then
        echo "reset: no skeleton for $f (no solutions/ and no git history of it)" >&2
        exit 1
    fi
fi
if cmp -s "$new" "$f"; then
    echo "reset: $f is already the skeleton"
    exit 0
fi
backup=.backups/$ch/$name.$(date +%Y%m%d-%H%M%S)
mkdir -p ".backups/$ch" && cp -p "$f" "$backup" || exit 1
cp "$new" "$f" || exit 1
echo "reset: $f is the skeleton again; your version is in $backup"
