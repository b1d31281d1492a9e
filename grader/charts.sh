#!/usr/bin/env bash
# charts.sh - the benchmark curves as pictures (make charts [CH=04]).
#
# Each chapters/NN-slug/charts/NAME.gp is a gnuplot script with a line
#     # run: PROGRAM ARGS...      (and optionally  # quick: PROGRAM ARGS...)
# naming a program of the chapter's build (demo/sweep, bench) that, given
# --chart DIR, measures the curve into DIR/NAME.tsv. This script builds the
# chapter from TREE (your code by default, as make demos does), runs that
# program, and draws build/charts/NN-slug-NAME.png from the data with the
# script (gnuplot, which grader/deps.sh --oracles installs). Without
# gnuplot the data is still measured and kept, and the script says so.
#
# The programs run your code outside the grader's sandbox, as make demos
# does: run it on your own code, not on somebody else's submission.
#
# Usage: grader/charts.sh [CH] [TREE]
#   IOLAB_CHARTS_QUICK=1: the "# quick:" line where there is one (smaller
#   runs: the self-test's check that every chart still draws);
#   IOLAB_CHARTS_OUT=DIR: write there instead of build/charts.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ch=${1:-}
tree=${2:-chapters}
out=${IOLAB_CHARTS_OUT:-build/charts}
quick=${IOLAB_CHARTS_QUICK:-0}

mapfile -t scripts < <(find chapters -path "chapters/${ch}*/charts/*.gp" | sort)
if [ ${#scripts[@]} -eq 0 ]; then
    echo "charts: no chart in chapters/${ch}*" >&2
    exit 2
fi
mkdir -p "$out"
draw=1
if ! command -v gnuplot >/dev/null; then
    draw=0
    echo "charts: gnuplot is not installed (make deps ORACLES=1 installs it): the data only"
fi
fail=0
for gp in "${scripts[@]}"; do
    chdir=${gp#chapters/}
    chdir=${chdir%%/*}
    name=$(basename "$gp" .gp)
    line=""
    [ "$quick" = 1 ] && line=$(sed -n 's/^# quick: //p' "$gp" | head -n 1)
    [ -z "$line" ] && line=$(sed -n 's/^# run: //p' "$gp" | head -n 1)
    if [ -z "$line" ]; then
        echo "charts: $gp has no '# run:' line" >&2
        fail=1
        continue
    fi
    if ! make -s --no-print-directory TREE="$tree" "build-$chdir" >/dev/null; then
        echo "charts: $chdir does not build from $tree: see make check CH=${chdir%%-*}" >&2
        fail=1
        continue
    fi
    bdir=$(make -s --no-print-directory TREE="$tree" "print-${chdir}_B")
    work=$(mktemp -d "$out/.run-XXXXXX")
    read -r -a cmd <<<"$line"
    echo "charts: $chdir/$name: ${cmd[*]}"
    if ! "$bdir/${cmd[0]}" --chart "$work" "${cmd[@]:1}" ||
        [ ! -s "$work/$name.tsv" ]; then
        echo "charts: $chdir/$name: the program failed or wrote no $name.tsv" >&2
        rm -rf "$work"
        fail=1
        continue
    fi
    data="$out/$chdir-$name.tsv"
    mv "$work/$name.tsv" "$data"
    rm -rf "$work"
    if [ $draw = 1 ]; then
        png="$out/$chdir-$name.png"
        if gnuplot -e "datafile='$data'; outfile='$png'" "$gp"; then
            echo "charts: wrote $png"
        else
            echo "charts: gnuplot could not draw $gp" >&2
            fail=1
        fi
    else
        echo "charts: wrote $data"
    fi
done
exit $fail
