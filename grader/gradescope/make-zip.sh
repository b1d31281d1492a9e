#!/usr/bin/env bash
# make-zip.sh - the Gradescope autograder for one chapter or the course:
# build/gradescope/autograder.zip (make gradescope [CH=NN] [FLAGS=...]).
#
# The zip holds the committed course without its answers (as the student
# edition: no solutions/, no fixtures, but with the hidden tests), setup.sh and run_autograder at
# its top as Gradescope requires, and gradescope.conf naming the chapters
# to grade and extra grader flags. Upload it as the assignment's
# autograder (Ubuntu base image); setup.sh installs the packages.
#
# Usage: grader/gradescope/make-zip.sh [NN] [FLAGS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ch=${1:-}
flags=${2:-}
out=build/gradescope
stage=$out/autograder

chapters=""
for dir in chapters/[0-9][0-9]-*/; do
    d=$(basename "$dir")
    case "$d" in "$ch"-* | "$ch") chapters="$chapters $d" ;; esac
    [ -z "$ch" ] && chapters="$chapters $d"
done
chapters=${chapters# }
if [ -z "$chapters" ]; then
    echo "make-zip: no chapter $ch (see chapters/)" >&2
    exit 1
fi

rm -rf "$stage" "$out/autograder.zip"
mkdir -p "$out"
bash grader/student-edition.sh --keep-hidden "$stage" >/dev/null
cp grader/gradescope/setup.sh grader/gradescope/run_autograder "$stage/"
{
    echo "# Written by make gradescope: what this autograder grades."
    printf 'IOLAB_CHAPTERS=%q\n' "$chapters"
    printf 'IOLAB_FLAGS=%q\n' "$flags"
} >"$stage/gradescope.conf"
(cd "$stage" && python3 - <<'PY'
import os, zipfile
with zipfile.ZipFile("../autograder.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for top, dirs, files in os.walk("."):
        dirs.sort()
        for f in sorted(files):
            z.write(os.path.join(top, f))
PY
)
echo "make-zip: wrote $out/autograder.zip (chapters: $chapters${flags:+; flags: $flags})"
