#!/usr/bin/env bash
# watch.sh - make check CH=NN, again after every save (make watch CH=01).
#
# Clears the screen, runs grader/check.sh, then waits (inotifywait, from
# inotify-tools, which grader/deps.sh installs) until a file under the
# chapter's src/ in the tree is written, moved in or deleted. Ctrl-C stops.
#
# Usage: grader/watch.sh CH [TREE]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ch=${1:-}
tree=${2:-chapters}
if [ -z "$ch" ]; then
    echo "usage: make watch CH=01" >&2
    exit 2
fi
src=$(find "$tree" -maxdepth 2 -path "$tree/$ch*/src" -type d | head -n 1)
if [ -z "$src" ]; then
    echo "watch: no chapter $ch in $tree" >&2
    exit 2
fi
if ! command -v inotifywait >/dev/null; then
    echo "watch: inotifywait is missing: run make deps (package inotify-tools)" >&2
    exit 2
fi
while true; do
    [ -t 1 ] && clear
    bash grader/check.sh "$ch" "$tree"
    echo
    echo "watch: waiting for a change in $src (Ctrl-C stops)"
    inotifywait -qq -r -e close_write -e moved_to -e delete "$src" || exit 0
done
