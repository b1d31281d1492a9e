#!/usr/bin/env bash
# compdb.sh - prints compile_commands.json for editors (make compdb).
# The flags mirror the Makefile's test build; the skeleton in chapters/ is
# listed, since that is the code a student edits.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
flags='-std=c11 -pthread -D_GNU_SOURCE -Ishared/include -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2'
first=1
entry() { # entry <file> <extra flags>
    [ $first = 1 ] || printf ',\n'
    first=0
    printf '  {"directory": "%s", "file": "%s", "command": "cc %s %s -c %s"}' \
        "$root" "$1" "$flags" "$2" "$1"
}
echo "["
for f in shared/src/*.c; do entry "$f" ""; done
for kit in shared/*/kit.mk; do # kits: shared/<kit>/ with its own tests
    [ -e "$kit" ] || continue
    for f in "$(dirname "$kit")"/*.c "$(dirname "$kit")"/tests/*.c; do
        [ -e "$f" ] && entry "$f" ""
    done
done
for f in grader/*.c grader/tests/*.c; do entry "$f" "-Igrader"; done
for dir in chapters/[0-9][0-9]-*/; do
    for f in "$dir"src/*.c "$dir"tests/*.c "$dir"bench/*.c "$dir"demo/*.c solutions/"$(basename "$dir")"/src/*.c; do
        [ -e "$f" ] && entry "$f" "-I${dir}include"
    done
done
printf '\n]\n'
