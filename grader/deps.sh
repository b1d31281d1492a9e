#!/usr/bin/env bash
# deps.sh - makes sure this machine has what iolab needs, installing what
# is missing on Debian or Ubuntu (apt-get; through sudo when not root).
# When it cannot install, it prints the exact command and fails.
#
# Usage: grader/deps.sh [--quiet] [--oracles]
#   make grade runs it first; make test and .ci/run add --oracles, which
#   also installs the real tools some chapters check their answers against
#   (iostat and pidstat from sysstat, promtool from prometheus), and
#   gnuplot for make charts, Boost.Context for chapter 07's fcontext
#   timing. Without them those comparisons report "not
#   available" instead of failing, and make charts keeps the data without
#   the pictures, so a student never needs them.
set -u
quiet=0
oracles=0
for arg in "$@"; do
    case "$arg" in
    --quiet) quiet=1 ;;
    --oracles) oracles=1 ;;
    *)
        echo "usage: grader/deps.sh [--quiet] [--oracles]" >&2
        exit 2
        ;;
    esac
done

# Each check: a test that succeeds when present, and the package that
# provides it.
missing=()
need() { # need <description> <package> <test command...>
    local what=$1 pkg=$2
    shift 2
    if ! "$@" >/dev/null 2>&1; then
        missing+=("$pkg")
        [ $quiet = 1 ] || echo "missing: $what (package $pkg)"
    fi
}
has_so() { # has_so <name>: lib<name>.so, for dlopen, in the usual places
    compgen -G "/usr/lib/*/lib$1.so" >/dev/null || [ -e "/usr/lib/lib$1.so" ]
}
has_header() { # has_header <header> [link flags...]
    printf '#include <%s>\nint main(void){return 0;}\n' "$1" |
        ${CC:-cc} -x c -o /dev/null - "${@:2}" 2>/dev/null
}

# The compiler is the one CC names: clang only for the clang lane
# (make test CC=clang), so the default build never needs it.
case "$(basename "${CC:-cc}")" in
clang*) cc_pkg=clang ;;
*) cc_pkg=gcc ;;
esac
need "a C compiler (${CC:-cc})" "$cc_pkg" command -v "${CC:-cc}"
if [ "$cc_pkg" = clang ]; then
    need "llvm-cov (coverage of a clang build)" llvm command -v llvm-cov
fi
need "GNU make"              make            command -v make
need "inotifywait (make watch)" inotify-tools command -v inotifywait
need "objcopy and readelf"   binutils        command -v objcopy
need "the C library headers" libc6-dev       has_header stdio.h
need "Criterion"             libcriterion-dev has_header criterion/criterion.h -lcriterion
need "Valgrind"              valgrind        command -v valgrind
need "gcovr"                 gcovr           command -v gcovr
need "python3"               python3         command -v python3
need "redis-cli and redis-benchmark (real clients for kvd)" redis-tools command -v redis-benchmark
need "liburing (io_uring, chapter 09)" liburing-dev has_header liburing.h -luring
if [ $oracles = 1 ]; then
    need "iostat and pidstat (chapter 08's oracles)" sysstat command -v iostat
    need "promtool (chapter 08's oracle)" prometheus command -v promtool
    need "gnuplot (make charts)" gnuplot-nox command -v gnuplot
    need "Boost.Context (chapter 07's bench times jump_fcontext beside co_switch)" libboost-context-dev has_so boost_context
fi

if [ ${#missing[@]} -eq 0 ]; then
    [ $quiet = 1 ] || echo "deps: everything iolab needs is installed"
    exit 0
fi

# Unique package names, in order.
mapfile -t uniq < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
pkgs="${uniq[*]}"
install=(apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${uniq[@]}")
cmd="${install[*]}" # the same, to print

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing packages: $pkgs" >&2
    echo "deps: this is not a Debian or Ubuntu machine; install the" \
         "equivalents with your package manager" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    sudo="sudo"
else
    echo "deps: missing packages: $pkgs" >&2
    echo "deps: install them with:  sudo apt-get update && sudo $cmd" >&2
    exit 1
fi

echo "deps: installing $pkgs"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || ! $sudo "${install[@]}"; then
    echo "deps: the installation failed; run it yourself:" >&2
    echo "      sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
echo "deps: installed $pkgs"
