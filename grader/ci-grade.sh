#!/usr/bin/env bash
# ci-grade.sh - the Grade step of the student repository's workflow
# (.github/student-template/workflows/grade.yml); runs the same anywhere.
#
# Grades the repository (make grade; CH and SUBMISSION from the
# environment as for make), keeps the table in grade.txt and
# results.json/results.xml beside it, and, when $GITHUB_OUTPUT names a
# file, writes result=BASE64 there for GitHub Classroom's grading reporter
# (grader/classroom.py). Exits non-zero when the grader fails (its status
# is never lost in the pipe to tee) or the score is below MIN_SCORE
# percent (default 0: points alone never fail the check).
# IOLAB_CI_FLAGS: more grader options (the self-test's --no-perf ...).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
min=${MIN_SCORE:-0}
rm -f results.json results.xml grade.txt
make --no-print-directory grade \
    GRADE_FLAGS="--no-color --json results.json --junit results.xml ${IOLAB_CI_FLAGS:-}" 2>&1 |
    tee grade.txt
rc=${PIPESTATUS[0]}
payload=$(python3 grader/classroom.py results.json "$min")
verdict=$?
if [ -n "${GITHUB_OUTPUT:-}" ] && [ -n "$payload" ]; then
    echo "result=$payload" >>"$GITHUB_OUTPUT"
fi
if [ "$rc" != 0 ]; then
    echo "ci-grade: the grader exited with status $rc" >&2
    exit "$rc"
fi
case $verdict in
0) exit 0 ;;
1)
    echo "ci-grade: $(python3 grader/results.py total results.json | awk '{ print $1 "/" $2 }') is below MIN_SCORE ($min%)" >&2
    exit 1
    ;;
*) exit 2 ;;
esac
