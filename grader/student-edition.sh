#!/usr/bin/env bash
# student-edition.sh - writes the course without its answers to DEST, ready
# to be pushed as a student (or GitHub Classroom template) repository.
#
# Usage: grader/student-edition.sh DEST     (make student-edition DEST=dir)
# Takes the committed tree (HEAD), leaves out solutions/ (each chapter's
# reference, fixtures and mutants live there), the hidden tests (see
# below), the grader's own fixtures
# and the scripts that need the solutions (they are all patches against
# them), and installs the student grading workflow in place of the
# course's own CI.
#
# With --keep-hidden (the Gradescope autograder, which students never
# see) the hidden tests stay in, with their manifest lines.
set -euo pipefail
cd "$(dirname "$0")/.."
keep_hidden=0
if [ "${1:-}" = "--keep-hidden" ]; then
    keep_hidden=1
    shift
fi
dest=${1:?usage: $0 [--keep-hidden] DEST}
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
    echo "student-edition: $dest exists and is not empty; choose a new directory" >&2
    exit 1
fi
mkdir -p "$dest"
git archive --format=tar HEAD | tar -x -C "$dest"
rm -rf "$dest/solutions" "$dest/grader/fixtures" "$dest/grader/mutants.sh" \
    "$dest/grader/gradescope/check.sh" "$dest/grader/batch-check.sh" "$dest/grader/loop-check.sh" \
    "$dest/grader/workflow-check.sh" "$dest/grader/edition-check.sh" \
    "$dest/.github/workflows/ci.yml"
# Hidden tests: their sources go, and each manifest line that names one
# becomes a `withheld EXERCISE POINTS` line, so the grading table still
# reads the same and the edition's maximum leaves them out.
[ $keep_hidden = 1 ] || rm -rf "$dest"/chapters/*/tests/hidden
for m in "$dest"/chapters/*/grade.manifest; do
    [ $keep_hidden = 0 ] || break
    awk '$1 == "test" { for (i = 5; i <= NF; i++) if ($i == "hidden") { print "withheld " $2 " " $4; next } }
         { print }' "$m" >"$m.tmp" && mv "$m.tmp" "$m"
done
# Instructor-only text: Markdown between <!-- instructor-only --> and
# <!-- /instructor-only --> lines goes, markers included; make help stops
# listing the targets marked "(course only)" (they need solutions/ or the
# hidden tests), which stay callable but are no longer advertised.
while IFS= read -r -d '' md; do
    awk '/^<!-- instructor-only -->$/ { skip = 1; next }
         /^<!-- \/instructor-only -->$/ { skip = 0; next }
         !skip' "$md" >"$md.tmp" && mv "$md.tmp" "$md"
done < <(find "$dest" -name '*.md' -print0)
sed -E -i '/^[a-z-]+:.*## .*\(course only\)$/ s/ *## .*$//' "$dest/Makefile"
mkdir -p "$dest/.github/workflows"
mv "$dest/.github/student-template/workflows/grade.yml" "$dest/.github/workflows/grade.yml"
rm -rf "$dest/.github/student-template"
echo "student-edition: wrote $dest (no solutions/, grading workflow installed)"
