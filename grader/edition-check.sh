#!/usr/bin/env bash
# edition-check.sh - the student edition stands on its own (make test
# runs it): written from HEAD, it holds no answer (no solutions/, no
# fixtures, no patch against a solution, no hidden test: neither its
# source nor its name, only a withheld line for its points), its
# workflow is installed, its grading tables still match, and
# from a clean start it builds its own grader and grades chapter 01 of
# its skeleton to a valid results.json worth 0 points. Exits 1 on the
# first mismatch.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
dest=$PWD/build/edition-check
rm -rf "$dest"
fail() {
    echo "edition check: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" >&2
    exit 1
}
bash grader/student-edition.sh "$dest" >/dev/null || fail "student-edition.sh failed"
[ ! -e "$dest/solutions" ] || fail "the edition holds solutions/"
[ -z "$(find "$dest" -name '*.patch' -print -quit)" ] || fail "the edition holds a patch: $(find "$dest" -name '*.patch' -print -quit)"
# Hidden tests: no source, no name; a withheld line for each.
hidden=$(awk '$1 == "test" { for (i = 5; i <= NF; i++) if ($i == "hidden") print $3 }' chapters/*/grade.manifest)
[ -n "$hidden" ] || fail "the course has no hidden test to check the edition against"
[ -z "$(find "$dest/chapters" -path '*/tests/hidden*' -print -quit)" ] ||
    fail "the edition holds a hidden test's source: $(find "$dest/chapters" -path '*/tests/hidden*' -print -quit)"
for name in $hidden; do
    ! grep -rqF "$name" "$dest/chapters" || fail "the edition names the hidden test $name"
done
[ "$(cat "$dest"/chapters/*/grade.manifest | grep -c '^withheld ')" = "$(echo "$hidden" | wc -l)" ] ||
    fail "the edition's manifests do not hold one withheld line per hidden test"
# Instructor-only text and targets: gone, markers included.
! grep -rqx '<!-- /\{0,1\}instructor-only -->' --include='*.md' "$dest" ||
    fail "the edition holds instructor-only text: $(grep -rlx '<!-- /\{0,1\}instructor-only -->' --include='*.md' "$dest" | head -n 1)"
grep -q '^## For instructors' README.md || fail "the course's README lost its instructors' section"
! grep -q '^## For instructors' "$dest/README.md" || fail "the edition's README has the instructors' section"
(cd "$dest" && make --no-print-directory help) >"$dest.help" 2>&1 || fail "make help fails in the edition" "$dest.help"
! grep -q 'course only\|make test \|make skeletons\|make calibrate' "$dest.help" ||
    fail "the edition's make help lists a target that needs the course: $(grep 'course only\|make test \|make skeletons\|make calibrate' "$dest.help" | head -n 1)"
grep -q 'make check ' "$dest.help" || fail "the edition's make help lost make check" "$dest.help"
rm -f "$dest.help"
[ -f "$dest/.github/workflows/grade.yml" ] || fail "the grading workflow is not installed"
[ ! -e "$dest/.github/workflows/ci.yml" ] || fail "the course's own CI is in the edition"
(cd "$dest" && make --no-print-directory grade CH=01 \
    GRADE_FLAGS="--no-perf --no-memcheck --quiet --no-color --json results.json") >"$dest.log" 2>&1 ||
    fail "make grade in the edition failed" "$dest.log"
[ "$(python3 grader/results.py total "$dest/results.json" | cut -d' ' -f1)" = 0 ] ||
    fail "the edition's skeleton did not score 0" "$dest.log"
for name in $hidden; do
    ! python3 grader/results.py items "$dest/results.json" | grep -qF " $name" ||
        fail "the edition graded the hidden test $name"
done
(cd "$dest" && build/grader/iolab-grade --check-readme) >"$dest.log" 2>&1 ||
    fail "the edition's grading tables do not match its manifests" "$dest.log"
rm -rf "$dest" "$dest.log"
echo "edition check: the student edition holds no answer and grades from scratch"
