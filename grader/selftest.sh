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
#  5. the solutions' demo programs build, and every shared kit passes its
#     own check (shared/<kit>/check.sh);
#  6. every fixture submission (grader/fixtures) gets exactly its score;
#  7. line coverage of the solutions by the tests is reported.
#
# Each check prints PASS or FAIL with its name; the last line is
# "N passed, N failed", and the exit status is non-zero on any failure.
# Reports of the solutions' grading land in build/selftest/.
set -u
cd "$(dirname "$0")/.."

out=build/selftest
rm -rf "$out"
mkdir -p "$out"
passed=0
failed=0
grader=build/grader/iolab-grade

ok()   { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
bad()  { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; [ -n "${2:-}" ] && sed 's/^/      /' "$2" | tail -n 60; }
check() { # check <name> <command...>: PASS if the command succeeds
    local name=$1 log
    shift
    log="$out/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if "$@" >"$log" 2>&1; then ok "$name"; else bad "$name" "$log"; fi
}
score_of() { # the last total in a grader table: "  total: 79 / 100"
    sed -n 's/^ *[Tt][Oo][Tt][Aa][Ll]: *\([0-9.]*\) *\/ *\([0-9.]*\).*/\1/p' "$1" | tail -n 1
}
max_of() {
    sed -n 's/^ *[Tt][Oo][Tt][Aa][Ll]: *\([0-9.]*\) *\/ *\([0-9.]*\).*/\2/p' "$1" | tail -n 1
}

chapters=$(ls -d chapters/[0-9][0-9]-*/ | xargs -n1 basename)
echo "== iolab self-test: $(echo $chapters | wc -w) chapter(s)"

# The student edition has no solutions/: check what can be checked.
if [ ! -d solutions ]; then
    echo "(student edition: no solutions/, so only the grader and the skeletons are checked)"
    check "grader builds with -Werror" make -s --no-print-directory WERROR=1 $grader build/grader/unit-tests build/grader/hook-probe
    check "grader unit tests" build/grader/unit-tests -j2
    check "README grading tables match the manifests" $grader --check-readme
    for ch in $chapters; do
        check "$ch: skeleton compiles without warnings" \
            make -s --no-print-directory TREE=chapters B=$out/skel-build WERROR=1 build-$ch
    done
    echo "$passed passed, $failed failed"
    [ $failed = 0 ]
    exit
fi

# 1. The grader.
check "grader builds with -Werror" make -s --no-print-directory WERROR=1 $grader build/grader/unit-tests build/grader/hook-probe
check "grader unit tests" build/grader/unit-tests -j2

# 2. Manifests and README tables; every promise tag tested, every test tagged.
check "README grading tables match the manifests" $grader --check-readme
check "every promise tag has a test, every test names a tag" python3 grader/tagtrace.py

# 3. Skeletons.
for ch in $chapters; do
    stale=0
    for f in solutions/$ch/src/*.c solutions/$ch/src/*.S; do
        [ -e "$f" ] || continue
        if ! awk -f grader/gen-skeleton.awk "$f" | cmp -s - "chapters/$ch/src/$(basename "$f")"; then
            echo "chapters/$ch/src/$(basename "$f") is not what 'make skeletons' generates" >>"$out/skel-$ch.log"
            stale=1
        fi
    done
    for f in chapters/$ch/src/*.c chapters/$ch/src/*.S; do
        [ -e "$f" ] || continue
        [ -e "solutions/$ch/src/$(basename "$f")" ] ||
            { echo "$f has no reference solution" >>"$out/skel-$ch.log"; stale=1; }
    done
    if [ $stale = 0 ]; then ok "$ch: skeleton is current"; else bad "$ch: skeleton is current" "$out/skel-$ch.log"; fi

    check "$ch: skeleton compiles without warnings" \
        make -s --no-print-directory TREE=chapters B=$out/skel-build WERROR=1 build-$ch

    log="$out/skeleton-$ch.txt"
    $grader --tree chapters --ch "$ch" --no-memcheck --no-color --quiet >"$log" 2>&1
    if [ "$(score_of "$log")" = 0 ] && ! grep -qE 'TIMEOUT|CRASH|MISSING' "$log"; then
        ok "$ch: skeleton scores 0 and fails cleanly"
    else
        bad "$ch: skeleton scores 0 and fails cleanly" "$log"
    fi
done

# 4. Reference solutions: full marks, with memcheck and the benchmarks.
log="$out/solutions.txt"
$grader --tree solutions --werror --no-color --quiet \
    --json "$out/solutions.json" --junit "$out/solutions.xml" >"$log" 2>&1
s=$(score_of "$log")
m=$(max_of "$log")
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
    make -s --no-print-directory TREE=solutions B=$out/sol-demos WERROR=1 \
    $(printf 'demos-%s ' $chapters)

# Shared kits with checks of their own (a server the labs talk to, say):
# each shared/<kit>/check.sh builds and tests its kit.
for kit_check in shared/*/check.sh; do
    [ -e "$kit_check" ] || continue
    check "kit $(basename "$(dirname "$kit_check")"): its own tests and checks" bash "$kit_check"
done

# 5. Fixtures: wrong, leaky, crashing, hanging, slow, exiting, not compiling.
for expect in grader/fixtures/*.expect; do
    name=$(basename "$expect" .expect)
    tree="$out/fixture-$name"
    log="$out/fixture-$name.txt"
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -r solutions/. "$tree/"
    if ! (cd "$tree" && patch -s -p1 <"../../../grader/fixtures/$name.patch") >"$log" 2>&1; then
        bad "fixture $name: patch applies" "$log"
        continue
    fi
    # setup: shell lines run in the copy (a symlink, say), after the patch.
    while IFS= read -r line; do
        (cd "$tree" && bash -c "$line") >>"$log" 2>&1
    done < <(sed -n 's/^setup: //p' "$expect")
    flags=$(sed -n 's/^flags: //p' "$expect")
    fch=$(sed -n 's/^chapter: //p' "$expect")
    want=$(sed -n 's/^score: //p' "$expect")
    want_rc=$(sed -n 's/^exit: //p' "$expect")
    # shellcheck disable=SC2086
    $grader --tree "$tree" --ch "${fch:-01}" --quiet $flags --json "$tree/results.json" >"$log" 2>&1
    rc=$?
    got=$(score_of "$log")
    # no-leftover: nothing the fixture started may outlive its grading.
    if grep -q '^no-leftover' "$expect" && pgrep -f "fixture-$name" >/dev/null; then
        echo "processes outlived the grading: $(pgrep -af "fixture-$name")" >>"$log"
        pkill -9 -f "fixture-$name"
        got="leftover"
    fi
    if [ "$rc" != "${want_rc:-0}" ]; then
        echo "the grader exited with $rc, expected ${want_rc:-0}" >>"$log"
        got="exit-$rc"
    fi
    missing=""
    while IFS= read -r needle; do
        grep -qF -- "$needle" "$log" || missing="$missing [$needle]"
    done < <(sed -n 's/^contains: //p' "$expect")
    json_ok=1
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tree/results.json" 2>>"$log" || json_ok=0
    if [ "$got" = "$want" ] && [ -z "$missing" ] && [ $json_ok = 1 ]; then
        ok "fixture $name: scores $want"
    else
        echo "expected score $want, got ${got:-none}; missing:${missing:- nothing}; json ok: $json_ok" >>"$log"
        bad "fixture $name: scores $want" "$log"
    fi
done

# 5b. Fresh builds: a grade never reuses what an earlier one built.
fresh="$out/fresh"
rm -rf "$fresh" && mkdir -p "$fresh/tree" && cp -r solutions/01-blocking-io "$fresh/tree/"
g1=$($grader --tree "$fresh/tree" --ch 01 --no-perf --no-memcheck --quiet --no-color 2>&1 | tee "$fresh/1.txt" | score_of /dev/stdin)
# The skeleton's file, dated long ago (as unzip and tar -x leave it).
cp chapters/01-blocking-io/src/nb_io.c "$fresh/tree/01-blocking-io/src/nb_io.c"
touch -d 2001-01-01 "$fresh/tree/01-blocking-io/src/nb_io.c"
$grader --tree "$fresh/tree" --ch 01 --no-perf --no-memcheck --quiet --no-color >"$fresh/2.txt" 2>&1
g2=$(score_of "$fresh/2.txt")
if [ -n "$g1" ] && [ -n "$g2" ] && [ "$g1" != "$g2" ] && [ "$g2" -lt "$g1" ]; then
    ok "an older-dated file replacing a graded one is graded afresh ($g1 then $g2)"
else
    bad "an older-dated file replacing a graded one is graded afresh ($g1 then $g2)" "$fresh/2.txt"
fi
# A warning: fine without -Werror, not gradable with it, whatever ran before.
cp solutions/01-blocking-io/src/nb_io.c "$fresh/tree/01-blocking-io/src/nb_io.c"
printf '\nint nb_unused_warning(void);\nint nb_unused_warning(void) { int x; return 0; }\n' >>"$fresh/tree/01-blocking-io/src/nb_io.c"
$grader --tree "$fresh/tree" --ch 01 --no-perf --no-memcheck --quiet --no-color >"$fresh/3.txt" 2>&1
$grader --tree "$fresh/tree" --ch 01 --no-perf --no-memcheck --quiet --no-color --werror >"$fresh/4.txt" 2>&1
if [ "$(score_of "$fresh/3.txt")" = "$g1" ] && grep -q 'NOT GRADABLE' "$fresh/4.txt"; then
    ok "a change of flags (--werror) rebuilds"
else
    bad "a change of flags (--werror) rebuilds" "$fresh/4.txt"
fi
# A student's checkout (a directory with chapters/ inside) is understood.
mkdir -p "$fresh/checkout/chapters" && cp -r solutions/01-blocking-io "$fresh/checkout/chapters/"
$grader --tree "$fresh/checkout" --ch 1 --no-perf --no-memcheck --quiet --no-color >"$fresh/5.txt" 2>&1
if [ "$(score_of "$fresh/5.txt")" = "$g1" ]; then
    ok "a checkout given as the tree grades its chapters/ (and --ch 1 finds 01)"
else
    bad "a checkout given as the tree grades its chapters/ (and --ch 1 finds 01)" "$fresh/5.txt"
fi
rm -rf "$fresh"
check "mutants: every wrong version in grader/mutants is caught by its tests" bash grader/mutants.sh

# 6. Coverage of the solutions by the tests.
if bash grader/coverage.sh solutions >"$out/coverage.log" 2>&1; then
    ok "coverage of the solutions: $(grep -E '^lines:' "$out/coverage.log" | head -n 1)"
else
    bad "coverage of the solutions" "$out/coverage.log"
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
