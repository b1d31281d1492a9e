#!/usr/bin/env bash
# loop-check.sh - the learner's commands do what make help says (make test
# runs it): make check stops the skeleton at its first failure with the
# whole hint and passes the reference; make hint finds a hint and asks
# for CH when an id is in several chapters; make progress reads the last
# grading; make reset restores a skeleton and keeps the student's version;
# make skeletons keeps uncommitted edits unless FORCE=1; progress is one
# rewritten line on a terminal only. The last two run
# in a copy of the course. Exits 1 on the first mismatch.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
work=$PWD/build/loop-check
rm -rf "$work" && mkdir -p "$work" || exit 2
fail() {
    echo "loop check: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" >&2
    exit 1
}

# make check on the skeleton: exit 1, one failure, its hint in full.
bash grader/check.sh 01 chapters >"$work/skel.txt" 2>&1
[ $? = 1 ] || fail "make check on the skeleton did not fail" "$work/skel.txt"
grep -q '^## H1\.1 ' "$work/skel.txt" || fail "make check did not print hint H1.1" "$work/skel.txt"
grep -q 'not run: this run stopped at the first failure' "$work/skel.txt" ||
    fail "make check ran past the first failure" "$work/skel.txt"
[ "$(grep -c ' FAIL  ' "$work/skel.txt")" = 1 ] || fail "make check showed more than one failure" "$work/skel.txt"
# ... and on the reference: exit 0.
bash grader/check.sh 01 solutions >"$work/ref.txt" 2>&1 || fail "make check on the reference failed" "$work/ref.txt"
grep -q 'every test of chapter 01 passes' "$work/ref.txt" || fail "make check on the reference" "$work/ref.txt"

# Progress: on a terminal (script(1) gives it one) a line rewritten in
# place, erased before the report; redirected (as above), plain lines.
TERM=xterm script -qec "build/grader/iolab-grade --tree chapters --ch 01 --no-perf --no-memcheck --no-color --test rw/zero_length_does_nothing" \
    /dev/null >"$work/tty.txt" 2>&1
grep -q $'\r\033\\[K  test rw/zero_length_does_nothing\r\033\\[K== 01' "$work/tty.txt" ||
    fail "progress on a terminal is not one line rewritten and erased" "$work/tty.txt"
! grep -q $'\033\\[K' "$work/skel.txt" || fail "progress sent terminal codes to a file" "$work/skel.txt"

# make hint.
if ! bash grader/hint.sh H1.1 01 >"$work/hint.txt" 2>&1 ||
    ! grep -q '^chapters/01-blocking-io/HINTS.md:[0-9]' "$work/hint.txt"; then
    fail "make hint H=H1.1 CH=01" "$work/hint.txt"
fi
if bash grader/hint.sh H1.1 >"$work/hint2.txt" 2>&1 ||
    ! grep -q 'make hint H=H1.1 CH=01' "$work/hint2.txt"; then
    fail "an id in several chapters did not ask for CH" "$work/hint2.txt"
fi

# make progress: a make check run is not kept (it may stop early); a full
# grading is (make test has just graded the reference; alone, grade it).
[ -f build/grade/solutions/last/01-blocking-io.json ] ||
    build/grader/iolab-grade --tree solutions --ch 01 --no-perf --no-memcheck --quiet >/dev/null 2>&1
python3 grader/progress.py solutions >"$work/progress.txt" 2>&1 ||
    fail "make progress failed" "$work/progress.txt"
grep -qE '^01-blocking-io +[0-9]+/[0-9]+ +\[#' "$work/progress.txt" || fail "make progress lacks chapter 01" "$work/progress.txt"

# make reset and make skeletons, in a copy under git.
copy=$work/copy
if ! { mkdir -p "$copy" && git archive HEAD | tar -x -C "$copy"; }; then
    fail "cannot copy the course"
fi
(
    cd "$copy" && git init -q && git add -A &&
        git -c user.name=t -c user.email=t@t commit -qm course
) || fail "cannot commit the copy"
f=chapters/04-buffering/src/buf_writer.c
echo '/* mine */' >>"$copy/$f"
(cd "$copy" && bash grader/skeletons.sh) >"$work/skeletons.txt" 2>&1 &&
    fail "make skeletons overwrote an uncommitted edit" "$work/skeletons.txt"
grep -q 'mine' "$copy/$f" || fail "make skeletons lost the edit"
(cd "$copy" && bash grader/reset.sh "$f") >"$work/reset.txt" 2>&1 || fail "make reset failed" "$work/reset.txt"
(cd "$copy" && git diff --quiet -- "$f") || fail "make reset did not restore the skeleton"
grep -q 'mine' "$copy"/.backups/04-buffering/buf_writer.c.* || fail "make reset kept no backup"
echo '/* mine */' >>"$copy/$f"
(cd "$copy" && FORCE=1 bash grader/skeletons.sh) >"$work/force.txt" 2>&1 || fail "FORCE=1 make skeletons failed" "$work/force.txt"
(cd "$copy" && git diff --quiet -- "$f") || fail "FORCE=1 make skeletons did not overwrite"
rm -rf "$copy"
echo "loop check: make check, hint, progress, reset and skeletons behave"
