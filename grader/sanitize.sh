#!/usr/bin/env bash
# sanitize.sh - the chapters' tests (and kvd's) under AddressSanitizer and
# UndefinedBehaviorSanitizer: the sanitizer lane of CI.
#
# Usage: grader/sanitize.sh [--reports-only] [TREE] [CH]
#                                         (make sanitize runs it)
#
# Builds each chapter's Criterion tests from TREE (solutions/ by default)
# with -fsanitize=address,undefined through EXTRA_CFLAGS and EXTRA_LDFLAGS,
# into build/sanitize/<compiler>-<tree>/, made afresh each time (never
# mixed with the ordinary objects, nor trusting a submission's
# timestamps), and runs them one test at a time. With no CH, kvd's own tests run too.
# The compiler is $CC (make sanitize CC=clang). Benchmarks are not run:
# their figures mean nothing under a sanitizer.
#
# A chapter passes when all its tests pass and no sanitizer reported
# anything. With --reports-only (for the skeleton, whose tests fail by
# design) only the reports count: stubs must not leak, overrun or invoke
# undefined behaviour, whatever the tests say.
#
# Any report ends its test (halt_on_error), so it is also a failing test;
# the reports are printed, and every log is kept in build/sanitize/
# <compiler>-<tree>/logs/. Leaks are checked where LeakSanitizer works (not under ptrace,
# nor in some containers), when a test body reaches its end: tk_done runs
# the check, since a test ends with _exit. A test that failed earlier has
# abandoned its own buffers; those are not reported. Exit status 0 when
# every chapter passes.
set -u
cd "$(dirname "$0")/.." || exit 2

reports_only=0
if [ "${1:-}" = "--reports-only" ]; then
    reports_only=1
    shift
fi
tree=${1:-solutions}
only=${2:-}
if [ ! -d "$tree" ]; then
    echo "sanitize.sh: no tree '$tree' (without solutions/, name your" \
        "own: make sanitize SUBMISSION=chapters)" >&2
    exit 2
fi
cc=${CC:-cc}
b=build/sanitize/$(basename "$cc")-$(echo "$tree" | tr '/' '_')
logs=$b/logs
san_flags=('-fsanitize=address,undefined' -fno-omit-frame-pointer)
san="${san_flags[*]}"
start=$(date +%s)
rm -rf "$b"
mkdir -p "$logs"

# ---- the sanitizers' options -----------------------------------------------

# A report halts the process with a status no test expects; UBSan prints
# where the undefined behaviour was.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
asan="halt_on_error=1:abort_on_error=0"

# LeakSanitizer stops the world with ptrace at its check; where it cannot,
# the lane still runs, without leak checks, and says so. The probe leaks
# nothing, so only a broken LeakSanitizer makes it fail.
probe=$b/lsan-probe
if ! printf 'int main(void){return 0;}\n' |
    "$cc" "${san_flags[@]}" -x c -o "$probe" - >"$logs/lsan-probe.log" 2>&1; then
    echo "sanitize.sh: $cc cannot build with $san:" >&2
    cat "$logs/lsan-probe.log" >&2
    echo "(the runtimes come with gcc; for clang, install libclang-rt-dev" \
        "or libclang-rt-N-dev for clang-N)" >&2
    exit 1
fi
if ASAN_OPTIONS="$asan:detect_leaks=1" "$probe" >>"$logs/lsan-probe.log" 2>&1; then
    # Only tk_done's check: at exit, a failed test's buffers would count.
    asan="$asan:detect_leaks=1:leak_check_at_exit=0"
else
    echo "note: LeakSanitizer does not work here (see $logs/lsan-probe.log);" \
        "running without leak checks"
    asan="$asan:detect_leaks=0"
fi
export ASAN_OPTIONS=$asan

# ---- build and run ---------------------------------------------------------

passed=0
failed=0
reported() { grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$1"; }
ok() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
bad() { # bad <name> <log>: FAIL, the failing tests, the sanitizer's reports
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$1"
    grep -E '^\[FAIL\]' "$2" | head -n 20 | sed 's/^/      /'
    if reported "$2"; then
        grep -E -A12 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$2" |
            head -n 60 | sed 's/^/      /'
    else
        tail -n 30 "$2" | sed 's/^/      /'
    fi
}

# The test binaries: every chapter (or CH), and kvd's.
targets=()
names=()
for dir in chapters/[0-9][0-9]-*/; do
    ch=$(basename "$dir")
    case "$ch" in "$only"*) ;; *) continue ;; esac
    targets+=("$b/$ch/tests")
    names+=("$ch")
done
if [ -z "$only" ]; then
    targets+=("$b/kit/kvd/tests")
    names+=(kvd)
fi
if [ ${#targets[@]} = 0 ]; then
    echo "sanitize.sh: no chapter matches '$only'" >&2
    exit 2
fi

for i in "${!targets[@]}"; do
    name=${names[$i]}
    log=$logs/$name.log
    if ! make -s --no-print-directory -j2 TREE="$tree" B="$b" KIT_B="$b/kit" \
        WERROR=1 EXTRA_CFLAGS="$san ${EXTRA_CFLAGS:-}" \
        EXTRA_LDFLAGS="$san ${EXTRA_LDFLAGS:-}" "${targets[$i]}" \
        >"$log" 2>&1; then
        bad "$name: builds with $san" "$log"
        continue
    fi
    # Criterion forks a process per test; -j1 keeps the reports in order.
    # Each run gets a TMPDIR of its own, as under the grader.
    tmp=$(mktemp -d)
    TMPDIR=$tmp timeout 900 "${targets[$i]}" -j1 >>"$log" 2>&1
    rc=$?
    rm -rf "$tmp"
    tested=$(grep -o 'Tested: [0-9]*' "$log" | tail -n 1)
    if reported "$log"; then
        bad "$name: sanitizer reports" "$log"
    elif [ $reports_only = 1 ]; then
        ok "$name: ${tested:-no tests}, no sanitizer reports (verdicts ignored)"
    elif [ $rc = 0 ]; then
        ok "$name: $tested, all pass, no sanitizer reports"
    else
        bad "$name: tests fail under the sanitizers (status $rc)" "$log"
    fi
done

echo "$passed passed, $failed failed ($cc, $(($(date +%s) - start)) s)"
[ $failed = 0 ]
