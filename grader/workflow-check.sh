#!/usr/bin/env bash
# workflow-check.sh - the student repository's workflow, checked without
# GitHub (make test runs it): its YAML asks for what Classroom needs
# (checks: write, the job named "Autograding Tests", the reporter fed by
# the Grade step's output, superseded runs cancelled, apt packages
# cached), and its Grade step, run here with a fake $GITHUB_OUTPUT,
# fails below MIN_SCORE, passes above it, reports the exact points, and
# never loses the grader's own failure. Exits 1 on the first mismatch.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
work=$PWD/build/workflow-check
rm -rf "$work" && mkdir -p "$work" || exit 2
wf=.github/student-template/workflows/grade.yml
fail() {
    echo "workflow check: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" >&2
    exit 1
}

python3 - "$wf" <<'PY' || fail "$wf does not ask for what Classroom needs"
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
on = w.get("on", w.get(True))
assert "push" in on, "not run on push"
assert w["permissions"]["checks"] == "write", "no checks: write"
assert w["concurrency"]["cancel-in-progress"] is True, "superseded runs not cancelled"
job = w["jobs"]["grade"]
assert job["name"] == "Autograding Tests", "the job is not 'Autograding Tests'"
steps = job["steps"]
grade = [s for s in steps if s.get("id") == "grade"][0]
assert grade["run"].strip() == "bash grader/ci-grade.sh", grade["run"]
rep = [s for s in steps if "grading-reporter" in s.get("uses", "")][0]
assert rep["with"]["runners"] == "iolab"
assert rep["env"]["IOLAB_RESULTS"] == "${{ steps.grade.outputs.result }}"
assert any("actions/cache" in s.get("uses", "") for s in steps), "no apt cache"
PY

# run_step NAME MIN_SCORE TREE [FLAGS]: the Grade step as the workflow runs
# it, on chapter 01 of TREE, tests only.
run_step() {
    local name=$1
    : >"$work/$name.out"
    GITHUB_OUTPUT=$work/$name.out MIN_SCORE=$2 CH=01 SUBMISSION=$3 \
        IOLAB_CI_FLAGS="--no-perf --no-memcheck ${4:-}" \
        bash grader/ci-grade.sh >"$work/$name.log" 2>&1
}
status_of() { sed -n 's/^result=//p' "$work/$1.out" | base64 -d | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])'; }

run_step skeleton 50 chapters && fail "the skeleton passed MIN_SCORE=50" "$work/skeleton.log"
[ "$(status_of skeleton)" = fail ] || fail "the skeleton's Classroom status is not fail"

run_step reference 50 solutions || fail "the reference failed MIN_SCORE=50" "$work/reference.log"
[ "$(status_of reference)" = pass ] || fail "the reference's Classroom status is not pass"
sed -n 's/^result=//p' "$work/reference.out" | base64 -d >"$work/payload.json"
python3 - "$work/payload.json" results.json <<'PY' || fail "the Classroom points are not the grader's"
import json, sys
p, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert sum(t["score"] for t in p["tests"]) == r["score"], (p, r["score"])
assert p["max_score"] == r["max_score"]
PY

run_step broken 0 solutions --no-such-option && fail "a grader failure was lost" "$work/broken.log"
rm -f results.json results.xml grade.txt
echo "workflow check: the student workflow reports Classroom's points and fails when it must"
