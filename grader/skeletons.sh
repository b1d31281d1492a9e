#!/usr/bin/env bash
# skeletons.sh - regenerates chapters/*/src from the marked solutions
# (make skeletons [FORCE=1]).
#
# A skeleton file with changes git has not committed is someone's work (a
# student's, or an author's edit by hand): it is not overwritten, and the
# run fails naming it, unless FORCE=1. A file already equal to what the
# generator makes is left alone.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
force=${FORCE:-}
refused=0
for sol in solutions/[0-9][0-9]-*/src/*.c solutions/[0-9][0-9]-*/src/*.S; do
    [ -e "$sol" ] || continue
    ch=$(basename "$(dirname "$(dirname "$sol")")")
    out=chapters/$ch/src/$(basename "$sol")
    if ! awk -f grader/gen-skeleton.awk "$sol" >"$out.tmp"; then
        rm -f "$out.tmp"
        exit 1
    fi
    if [ -e "$out" ] && cmp -s "$out.tmp" "$out"; then
        rm -f "$out.tmp"
        continue
    fi
    if [ -e "$out" ] && [ -z "$force" ] &&
        { ! git ls-files --error-unmatch "$out" >/dev/null 2>&1 || ! git diff --quiet HEAD -- "$out"; }; then
        echo "  KEEP   $out: it has changes git has not committed (FORCE=1 overwrites them)" >&2
        rm -f "$out.tmp"
        refused=1
        continue
    fi
    mv "$out.tmp" "$out"
    echo "  GEN    $out"
done
exit $refused
