#!/usr/bin/env bash
# selftest.sh - `make test`: the course checks itself.
#
#  1. the grader builds without warnings, and its own unit tests pass;
#  2. every manifest parses and every README's grading table matches it;
#     every promise tag of a chapter's headers is named by a test, and every
#     test names a tag (grader/tagtrace.py);
#  3. every skeleton is what the generator makes from its solution,
#     compiles without warnings, and fails its tests cleanly (no hang,
#     no crash);
#  4. every reference solution earns full marks: tests, perf, memcheck;
#  5. the solutions' demo programs build, the learner's commands (make
#     check, hint, progress, reset) work, and every shared kit passes its
#     own check (shared/<kit>/check.sh);
#  6. every fixture submission fails exactly the items its .expect lists
#     (grader/fixtures/README.md), fresh builds are never reused, the
#     Gradescope autograder grades both kinds of upload against a fake
#     root (grader/gradescope/check.sh), the batch grader makes a
#     gradebook (grader/batch-check.sh), the student edition holds no
#     answer and grades from scratch (grader/edition-check.sh), the
#     student workflow's Grade step
#     reports to Classroom and fails when it must (grader/workflow-check.sh),
#     and every mutant is caught
#     (grader/mutants.sh);
#  7. line coverage of the solutions by the tests is reported.
#
# Each check prints PASS or FAIL with its name; the last line is
# "N passed, N failed", and the exit status is non-zero on any failure.
# Reports of the solutions' grading land in build/selftest/. Verdicts are
# read from the grader's results.json (grader/results.py), never from the
# human table.
#
# Usage: grader/selftest.sh                  everything (make test)
#        grader/selftest.sh --fixtures-only [PATTERN...]
#                                            only the fixtures (those whose
#                                            path contains a PATTERN)
set -u
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

fixtures_only=0
if [ "${1:-}" = "--fixtures-only" ]; then
    fixtures_only=1
    shift
fi

out=build/selftest
if [ $fixtures_only = 0 ]; then
    rm -rf "$out"
fi
mkdir -p "$out"
passed=0
failed=0
grader=build/grader/iolab-grade

ok()   { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
bad() { # bad <name> [log]: a FAIL, then the log's own FAIL lines (which a
        # long log's tail would hide), then the log's tail
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$1"
    [ -n "${2:-}" ] || return 0
    if grep -q '^FAIL' "$2"; then
        echo "      what failed:"
        grep '^FAIL' "$2" | head -n 20 | sed 's/^/      /'
        echo "      the end of $2:"
    fi
    sed 's/^/      /' "$2" | tail -n 40
}
check() { # check <name> <command...>: PASS if the command succeeds
    local name=$1 log
    shift
    log="$out/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if "$@" >"$log" 2>&1; then ok "$name"; else bad "$name" "$log"; fi
}
score_of() { # score_of <results.json>: the total score, or nothing
    python3 grader/results.py total "$1" 2>/dev/null | cut -d ' ' -f 1
}
max_of() { # max_of <results.json>: the maximum, or nothing
    python3 grader/results.py total "$1" 2>/dev/null | cut -d ' ' -f 2
}

chapters=()
for dir in chapters/[0-9][0-9]-*/; do
    chapters+=("$(basename "$dir")")
done

# ---- fixtures -------------------------------------------------------------

# run_fixture <dir/NAME.expect>: grades the solution with dir/NAME.patch
# applied and compares the failed items in its results.json with the
# .expect's "fails:" lines (grader/fixtures/README.md).
run_fixture() {
    local expect=$1 name patch tree log ch flags want_rc rc line needle
    local missing="" json_ok=1 got want diff
    name=$(basename "$expect" .expect)
    patch=${expect%.expect}.patch
    tree=$out/fixture-$name
    log=$out/fixture-$name.txt
    # The chapter is the one the patch edits: "+++ b/NN-slug/src/...".
    ch=$(sed -n 's|^+++ b/\([0-9][0-9]-[^/]*\)/.*|\1|p' "$patch" | head -n 1)
    rm -rf "$tree"
    mkdir -p "$tree/$ch"
    if [ -z "$ch" ] || ! cp -r "solutions/$ch/src" "$tree/$ch/" ||
        ! (cd "$tree" && patch -s -p1 <"$root/$patch") >"$log" 2>&1; then
        bad "fixture $name: patch applies" "$log"
        return
    fi
    # setup: shell lines run in the copy (a symlink, say), after the patch;
    # $IOLAB_ROOT is the course's root.
    while IFS= read -r line; do
        (cd "$tree" && IOLAB_ROOT=$root bash -c "$line") >>"$log" 2>&1
    done < <(sed -n 's/^setup: //p' "$expect")
    flags=$(sed -n 's/^flags: //p' "$expect")
    want_rc=$(sed -n 's/^exit: //p' "$expect")
    # shellcheck disable=SC2086 # flags are words
    "$grader" --tree "$tree" --ch "${ch%%-*}" --quiet $flags \
        --json "$tree/results.json" >"$log" 2>&1
    rc=$?
    # What failed, against what the .expect lists ("nothing": no item).
    # shellcheck disable=SC2086
    got=$(python3 grader/results.py items "$tree/results.json" $flags 2>>"$log" |
        sed -n 's/^failed //p' | sort)
    python3 grader/results.py total "$tree/results.json" >/dev/null 2>>"$log" || json_ok=0
    # Names are words, except "perf METRIC", which is two.
    names() {
        awk '{ for (i = 1; i <= NF; i++)
                   if ($i == "perf") { print $i " " $(i + 1); i++ }
                   else if ($i != "nothing") print $i }' | sort
    }
    want=$(sed -n 's/^fails: //p' "$expect" | names)
    # may-fail: items the mistake may or may not fail, run to run (a
    # count that its slowness moves on a loaded machine); left out of the
    # comparison either way.
    may=$(sed -n 's/^may-fail: //p' "$expect" | names)
    if [ -n "$may" ]; then
        got=$(echo "$got" | grep -vxF -f <(echo "$may"))
    fi
    diff=$(diff <(echo "$want") <(echo "$got") | sed -n 's/^</  expected to fail, did not:/p; s/^>/  failed, not expected:/p')
    if ! grep -q '^fails: ' "$expect"; then
        diff="  the .expect has no 'fails:' line (write 'fails: nothing' for none)"
    fi
    # score: only where the total itself is the point.
    if grep -q '^score: ' "$expect" &&
        [ "$(score_of "$tree/results.json")" != "$(sed -n 's/^score: //p' "$expect")" ]; then
        diff="$diff  score $(score_of "$tree/results.json"), expected $(sed -n 's/^score: //p' "$expect")"
    fi
    # no-leftover: nothing the fixture started may outlive its grading.
    # Only processes working in this course count: another checkout on the
    # same machine may be running the same fixture.
    if grep -q '^no-leftover' "$expect"; then
        local pids=() pid
        for pid in $(pgrep -f "fixture-$name"); do
            case $(readlink "/proc/$pid/cwd" 2>/dev/null) in
            "$root" | "$root"/*) pids+=("$pid") ;;
            esac
        done
        if [ ${#pids[@]} -gt 0 ]; then
            echo "processes outlived the grading: ${pids[*]}" >>"$log"
            kill -9 "${pids[@]}" 2>/dev/null
            diff="$diff  processes outlived the grading"
        fi
    fi
    if [ "$rc" != "${want_rc:-0}" ]; then
        diff="$diff  the grader exited with $rc, expected ${want_rc:-0}"
    fi
    # The report wraps long lines: compare with every run of blanks and
    # line breaks, in both, made one space.
    local flat
    flat=$(tr -s '[:space:]' ' ' <"$log")
    while IFS= read -r needle; do
        case "$flat" in
        *"$(printf '%s' "$needle" | tr -s '[:space:]' ' ')"*) ;;
        *) missing="$missing [$needle]" ;;
        esac
    done < <(sed -n 's/^contains: //p' "$expect")
    if [ -z "$diff" ] && [ -z "$missing" ] && [ $json_ok = 1 ]; then
        ok "fixture $name: fails $(echo "$want" | grep -c .) item(s) as expected"
    else
        printf '%s\nmissing from the report:%s; results.json ok: %s\n' \
            "$diff" "${missing:- nothing}" "$json_ok" >>"$log"
        bad "fixture $name: fails exactly what its .expect lists" "$log"
    fi
}

# Every fixture: the grader's own (grader/fixtures) and each chapter's
# (solutions/NN-slug/fixtures); with patterns, those whose path has one.
run_fixtures() {
    local expect pat want
    for expect in grader/fixtures/*.expect solutions/*/fixtures/*.expect; do
        [ -e "$expect" ] || continue
        if [ $# -gt 0 ]; then
            want=0
            for pat in "$@"; do
                case "$expect" in *"$pat"*) want=1 ;; esac
            done
            [ $want = 1 ] || continue
        fi
        run_fixture "$expect"
    done
}

if [ $fixtures_only = 1 ]; then
    make -s --no-print-directory "$grader" >/dev/null || exit 2
    run_fixtures "$@"
    echo "$passed passed, $failed failed"
    [ $failed = 0 ]
    exit
fi

echo "== iolab self-test: ${#chapters[@]} chapter(s)"

# The student edition has no solutions/: check what can be checked.
if [ ! -d solutions ]; then
    echo "(student edition: no solutions/, so only the grader and the skeletons are checked)"
    check "grader builds with -Werror" make -s --no-print-directory WERROR=1 "$grader" build/grader/unit-tests build/grader/hook-probe
    check "grader unit tests" build/grader/unit-tests -j2
    check "README grading tables match the manifests" "$grader" --check-readme
    for ch in "${chapters[@]}"; do
        check "$ch: skeleton compiles without warnings" \
            make -s --no-print-directory TREE=chapters B="$out/skel-build" WERROR=1 "build-$ch"
    done
    echo "$passed passed, $failed failed"
    [ $failed = 0 ]
    exit
fi

# 1. The grader.
check "grader builds with -Werror" make -s --no-print-directory WERROR=1 "$grader" build/grader/unit-tests build/grader/hook-probe
check "grader unit tests" build/grader/unit-tests -j2

# 2. Manifests and README tables; every promise tag tested, every test tagged.
check "README grading tables match the manifests" "$grader" --check-readme
check "every promise tag has a test, every test names a tag" python3 grader/tagtrace.py

# 3. Skeletons.
for ch in "${chapters[@]}"; do
    stale=0
    for f in "solutions/$ch"/src/*.c "solutions/$ch"/src/*.S; do
        [ -e "$f" ] || continue
        if ! awk -f grader/gen-skeleton.awk "$f" | cmp -s - "chapters/$ch/src/$(basename "$f")"; then
            echo "chapters/$ch/src/$(basename "$f") is not what 'make skeletons' generates" >>"$out/skel-$ch.log"
            stale=1
        fi
    done
    for f in "chapters/$ch"/src/*.c "chapters/$ch"/src/*.S; do
        [ -e "$f" ] || continue
        [ -e "solutions/$ch/src/$(basename "$f")" ] ||
            { echo "$f has no reference solution" >>"$out/skel-$ch.log"; stale=1; }
    done
    if [ $stale = 0 ]; then ok "$ch: skeleton is current"; else bad "$ch: skeleton is current" "$out/skel-$ch.log"; fi

    check "$ch: skeleton compiles without warnings" \
        make -s --no-print-directory TREE=chapters B="$out/skel-build" WERROR=1 "build-$ch"

    log="$out/skeleton-$ch.txt"
    "$grader" --tree chapters --ch "$ch" --no-memcheck --no-color --quiet \
        --json "$out/skeleton-$ch.json" >"$log" 2>&1
    # Cleanly: the report's words for a hang, a crash or a lost result.
    if [ "$(score_of "$out/skeleton-$ch.json")" = 0 ] && ! grep -qE 'TIMEOUT|CRASH|MISSING' "$log"; then
        ok "$ch: skeleton scores 0 and fails cleanly"
    else
        bad "$ch: skeleton scores 0 and fails cleanly" "$log"
    fi
done

# 4. Reference solutions: full marks, with memcheck and the benchmarks.
log="$out/solutions.txt"
"$grader" --tree solutions --werror --no-color --quiet \
    --json "$out/solutions.json" --junit "$out/solutions.xml" >"$log" 2>&1
s=$(score_of "$out/solutions.json")
m=$(max_of "$out/solutions.json")
if [ -n "$s" ] && [ "$s" = "$m" ]; then
    ok "solutions: full marks ($s / $m)"
else
    bad "solutions: full marks (${s:-?} / ${m:-?})" "$log"
fi
check "solutions: results.json is valid JSON with Gradescope's fields" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["score"]==d["max_score"]>0; assert all({"name","score","max_score","status","output","visibility"}<=set(t) for t in d["tests"])' "$out/solutions.json"
check "solutions: JUnit XML is well formed" \
    python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' "$out/solutions.xml"

# The solutions' demo programs build (they are what a README tells a
# student to run).
check "solutions: demo programs build with -Werror" \
    make -s --no-print-directory TREE=solutions B="$out/sol-demos" WERROR=1 \
    "${chapters[@]/#/demos-}"

# make charts: every chart's program measures its curve, and gnuplot (which
# deps.sh --oracles installs) draws it; small runs, since this checks that
# the pictures still come, not what they show.
charts_check() {
    local dir=$out/charts gp name rows
    rm -rf "$dir"
    IOLAB_CHARTS_QUICK=1 IOLAB_CHARTS_OUT="$dir" bash grader/charts.sh "" solutions || return 1
    for gp in chapters/*/charts/*.gp; do
        name=${gp#chapters/}
        name=${name%%/*}-$(basename "$gp" .gp)
        rows=$(grep -vc '^#' "$dir/$name.tsv" 2>/dev/null)
        [ "${rows:-0}" -ge 3 ] || { echo "charts: $name.tsv has ${rows:-no} rows"; return 1; }
        if command -v gnuplot >/dev/null && [ ! -s "$dir/$name.png" ]; then
            echo "charts: no $name.png"
            return 1
        fi
    done
}
check "charts: every chart's program measures its curve, and gnuplot draws it" charts_check

# The learner's commands: make check, hint, progress, reset, skeletons.
check "learner commands: check stops at the first failure with its hint, hint, progress, reset" \
    bash grader/loop-check.sh

# Shared kits with checks of their own (a server the labs talk to, say):
# each shared/<kit>/check.sh builds and tests its kit.
for kit_check in shared/*/check.sh; do
    [ -e "$kit_check" ] || continue
    check "kit $(basename "$(dirname "$kit_check")"): its own tests and checks" bash "$kit_check"
done

# 5. Fixtures: wrong, leaky, crashing, hanging, slow, exiting, not
# compiling, hostile (grader/fixtures), and each chapter's own mistakes
# (solutions/NN-slug/fixtures).
run_fixtures

# 5b. Fresh builds: a grade never reuses what an earlier one built.
fresh="$out/fresh"
# grade_fresh <tree> <name> [flags...]: grades chapter 01 of tree without
# perf and memcheck; the report goes to $fresh/name.txt, the results to
# $fresh/name.json.
grade_fresh() {
    local tree=$1 name=$2
    shift 2
    "$grader" --tree "$tree" --ch 1 --no-perf --no-memcheck --quiet --no-color \
        --json "$fresh/$name.json" "$@" >"$fresh/$name.txt" 2>&1
}
rm -rf "$fresh" && mkdir -p "$fresh/tree/01-blocking-io" &&
    cp -r solutions/01-blocking-io/src "$fresh/tree/01-blocking-io/"
grade_fresh "$fresh/tree" 1
g1=$(score_of "$fresh/1.json")
# The skeleton's file, dated long ago (as unzip and tar -x leave it).
cp chapters/01-blocking-io/src/nb_io.c "$fresh/tree/01-blocking-io/src/nb_io.c"
touch -d 2001-01-01 "$fresh/tree/01-blocking-io/src/nb_io.c"
grade_fresh "$fresh/tree" 2
g2=$(score_of "$fresh/2.json")
if [ -n "$g1" ] && [ -n "$g2" ] && awk "BEGIN { exit !($g2 < $g1) }"; then
    ok "an older-dated file replacing a graded one is graded afresh ($g1 then $g2)"
else
    bad "an older-dated file replacing a graded one is graded afresh (${g1:-?} then ${g2:-?})" "$fresh/2.txt"
fi
# A warning: fine without -Werror, not gradable with it, whatever ran before.
cp solutions/01-blocking-io/src/nb_io.c "$fresh/tree/01-blocking-io/src/nb_io.c"
printf '\nint nb_unused_warning(void);\nint nb_unused_warning(void) { int x; return 0; }\n' >>"$fresh/tree/01-blocking-io/src/nb_io.c"
grade_fresh "$fresh/tree" 3
grade_fresh "$fresh/tree" 4 --werror
if [ -n "$g1" ] && [ "$(score_of "$fresh/3.json")" = "$g1" ] &&
    python3 grader/results.py items "$fresh/4.json" | grep -qx 'failed build'; then
    ok "a change of flags (--werror) rebuilds"
else
    bad "a change of flags (--werror) rebuilds" "$fresh/4.txt"
fi
# A student's checkout (a directory with chapters/ inside) is understood.
mkdir -p "$fresh/checkout/chapters/01-blocking-io" &&
    cp -r solutions/01-blocking-io/src "$fresh/checkout/chapters/01-blocking-io/"
grade_fresh "$fresh/checkout" 5
if [ -n "$g1" ] && [ "$(score_of "$fresh/5.json")" = "$g1" ]; then
    ok "a checkout given as the tree grades its chapters/ (and --ch 1 finds 01)"
else
    bad "a checkout given as the tree grades its chapters/ (and --ch 1 finds 01)" "$fresh/5.txt"
fi
rm -rf "$fresh"
# 5c. The Gradescope autograder, against a fake /autograder root.
check "gradescope: the autograder zip grades repository and files-only uploads" \
    bash grader/gradescope/check.sh
check "batch: a folder of submissions becomes a gradebook, resumably, leaving no build" \
    bash grader/batch-check.sh
check "student edition: no answers in it, and it grades from a clean start" \
    bash grader/edition-check.sh
check "student workflow: Classroom's points, MIN_SCORE and the grader's own failure reach the check" \
    bash grader/workflow-check.sh

# 5d. A machine without io_uring (IOLAB_NO_IO_URING=1 makes chapter 09's
# tests find it off): those tests and the metric that needs them are
# skipped with the reason and left out of the maximum, never failed; the
# reference still earns everything that remains.
uring_off() {
    IOLAB_NO_IO_URING=1 "$grader" --tree solutions --ch 09 --no-memcheck \
        --no-color --json "$out/uring-off.json" >"$out/uring-off.txt" 2>&1 &&
        python3 grader/results.py items "$out/uring-off.json" --no-memcheck >"$out/uring-off.items" &&
        ! grep -q '^failed ' "$out/uring-off.items" &&
        grep -q '^passed zerocopy/' "$out/uring-off.items" &&
        grep -q 'SKIP  copy/copies_exactly' "$out/uring-off.txt" &&
        grep -q 'SKIP  perf copy_syscalls_per_mib' "$out/uring-off.txt" &&
        grep -q 'io_uring not available' "$out/uring-off.txt"
}
if [ -d chapters/09-async-io ]; then
    check "io_uring off: chapter 09's io_uring tests and metric are skipped, not failed" uring_off
fi

# 5e. Two gradings of one tree share its build directory: the second waits
# for the first (a lock inside it, .lock) instead of removing its
# work. The self-test holds the lock itself, so the wait is certain.
two_at_once() {
    local fd pid i
    mkdir -p build/grade/solutions
    rm -f "$out/twice.json"
    exec {fd}>build/grade/solutions/.lock
    flock "$fd"
    "$grader" --tree solutions --ch 10 --no-perf --no-memcheck --no-color \
        --quiet --json "$out/twice.json" >"$out/twice.txt" 2>&1 {fd}>&- &
    pid=$!
    for ((i = 0; i < 300; i++)); do
        grep -q 'waiting for another grading' "$out/twice.txt" && break
        sleep 0.1
    done
    [ ! -e "$out/twice.json" ] || {
        echo "the second grading did not wait"
        exec {fd}>&-
        wait "$pid"
        return 1
    }
    exec {fd}>&-
    wait "$pid" &&
        grep -q 'waiting for another grading of this tree' "$out/twice.txt" &&
        python3 grader/results.py items "$out/twice.json" --no-perf --no-memcheck >"$out/twice.items" &&
        ! grep -q '^failed ' "$out/twice.items" &&
        grep -q '^passed ' "$out/twice.items"
}
check "two gradings of one tree: the second waits for the first, then grades whole" two_at_once

check "mutants: every wrong version in solutions/*/mutants is caught by its tests" bash grader/mutants.sh

# 6. Coverage of the solutions by the tests.
if bash grader/coverage.sh solutions >"$out/coverage.log" 2>&1; then
    ok "coverage of the solutions: $(grep -E '^lines:' "$out/coverage.log" | head -n 1)"
else
    bad "coverage of the solutions" "$out/coverage.log"
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
