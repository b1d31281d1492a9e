#!/usr/bin/env bash
# batch.sh - grades a folder of submissions, one per student, into a
# gradebook (make batch SUBMISSIONS=dir [OUT=dir] [CH=NN] [FLAGS=...]).
#
# SUBMISSIONS holds one entry per student, named after the student: a
# folder (a repository or files only, as grader/map-submission.sh reads
# them) or a .zip of one. For each, in name order, the submission is
# mapped to a tree in a private temporary directory, graded, and its
# report (report.txt) and results (results.json) kept in OUT/STUDENT/;
# the grader's build of that tree is removed afterwards, so nothing of it
# stays in the course's build/. After every student OUT/gradebook.csv is
# rewritten: student, one column per chapter, total, max, status (graded,
# refused: the reason is in report.txt, or error).
#
# Resumable: a student whose OUT/STUDENT/key matches the submission's
# content, the chapters and the flags is not graded again, so a run that
# was interrupted (or a run after one more student handed in) grades only
# what is new. One progress line a student: [i/N] name: score/max (time).
#
# Usage: grader/batch.sh SUBMISSIONS [OUT]     (default OUT: SUBMISSIONS.grades)
# Environment: CH (one chapter; default the whole course), FLAGS (extra
# grader options).
set -uo pipefail
course=$(cd "$(dirname "$0")/.." && pwd)
subs=$(cd "${1:?usage: batch.sh SUBMISSIONS [OUT]}" 2>/dev/null && pwd) ||
    { echo "batch: ${1} is not a folder" >&2; exit 2; }
out=${2:-$subs.grades}
if ! mkdir -p "$out" || ! out=$(cd "$out" && pwd); then
    echo "batch: cannot make $out" >&2
    exit 2
fi
case "$out/" in "$subs"/*)
    echo "batch: OUT ($out) must not be inside SUBMISSIONS" >&2
    exit 2
    ;;
esac
cd "$course" || exit 2
grader=build/grader/iolab-grade
make -s --no-print-directory "$grader" >/dev/null || { echo "batch: the grader does not build" >&2; exit 2; }

chapters=""
for dir in chapters/[0-9][0-9]-*/; do
    d=$(basename "$dir")
    if [ -z "${CH:-}" ] || [ "${d%%-*}" = "$CH" ] || [ "$d" = "$CH" ]; then
        chapters="$chapters $d"
    fi
done
chapters=${chapters# }
[ -n "$chapters" ] || { echo "batch: no chapter ${CH:-}" >&2; exit 2; }
args=()
[ -n "${CH:-}" ] && args=(--ch "${chapters%%-*}")
flags=${FLAGS:-}

# The student's name is the entry's name without .zip.
mapfile -t entries < <(find "$subs" -mindepth 1 -maxdepth 1 \( -type d -o -name '*.zip' \) | sort)
[ ${#entries[@]} -gt 0 ] || { echo "batch: $subs holds no submission" >&2; exit 2; }

tmp=""
cleanup() {
    if [ -n "$tmp" ]; then
        rm -rf "$course/build/grade/$(printf '%s' "${tmp#/}/tree" | tr -c 'A-Za-z0-9.-' '_')" "$tmp"
    fi
    tmp=""
}
trap 'cleanup; echo; echo "batch: interrupted; run it again to go on" >&2; exit 130' INT TERM
trap cleanup EXIT

# gradebook: OUT/gradebook.csv from every OUT/*/ (written whole, then moved).
gradebook() {
    python3 - "$out" "$chapters" "${entries[@]}" <<'PY'
import csv, json, os, sys
out, chapters, entries = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
rows = []
for e in entries:
    name = os.path.basename(e)
    name = name[:-4] if name.endswith(".zip") else name
    d = os.path.join(out, name)
    row = {"student": name}
    try:
        with open(os.path.join(d, "status")) as f:
            row["status"] = f.read().strip()
    except OSError:
        continue
    try:
        doc = json.load(open(os.path.join(d, "results.json")))
        per = {}
        for t in doc["tests"]:
            ch = t["name"].split(": ", 1)[0]
            per[ch] = per.get(ch, 0.0) + float(t["score"])
        for ch in chapters:
            row[ch] = "%g" % per.get(ch, 0.0)
        row["total"] = "%g" % float(doc["score"])
        row["max"] = "%g" % float(doc["max_score"])
    except (OSError, ValueError, KeyError):
        pass
    rows.append(row)
tmp = os.path.join(out, ".gradebook.csv")
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, ["student"] + chapters + ["total", "max", "status"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, os.path.join(out, "gradebook.csv"))
PY
}

n=${#entries[@]}
i=0
start=$(date +%s)
for entry in "${entries[@]}"; do
    i=$((i + 1))
    name=$(basename "$entry" .zip)
    dest=$out/$name
    mkdir -p "$dest"
    # The key: the submission's bytes (every file, by path), chapters, flags.
    key=$({
        echo "$chapters|$flags"
        if [ -d "$entry" ]; then
            (cd "$entry" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
        else
            sha256sum <"$entry"
        fi
    } | sha256sum | cut -d' ' -f1)
    if [ -f "$dest/key" ] && [ "$(cat "$dest/key")" = "$key" ] && [ -f "$dest/status" ]; then
        printf '[%d/%d] %s: %s (already graded)\n' "$i" "$n" "$name" "$(cat "$dest/status")"
        continue
    fi
    rm -f "$dest/key" "$dest/status" "$dest/results.json"
    t0=$(date +%s)
    tmp=$(mktemp -d /tmp/iolab-batch.XXXXXX) && chmod 755 "$tmp" || exit 2
    sub=$entry
    if [ -f "$entry" ]; then
        sub=$tmp/unzipped
        mkdir -p "$sub"
        if ! python3 -m zipfile -e "$entry" "$sub" 2>"$dest/report.txt"; then
            echo "refused" >"$dest/status"
            echo "$key" >"$dest/key"
            printf '[%d/%d] %s: refused (not a zip file)\n' "$i" "$n" "$name"
            cleanup
            gradebook
            continue
        fi
    fi
    if ! bash grader/map-submission.sh "$sub" "$tmp/tree" "$chapters" >"$tmp/map.txt"; then
        cp "$tmp/map.txt" "$dest/report.txt"
        echo "refused" >"$dest/status"
        printf '[%d/%d] %s: refused: %s\n' "$i" "$n" "$name" "$(head -n 1 "$tmp/map.txt")"
    else
        # shellcheck disable=SC2086 # flags are words
        { sed '1s/^/Graded from /' "$tmp/map.txt"; echo; "$grader" --tree "$tmp/tree" "${args[@]}" \
            --no-color $flags --json "$tmp/results.json" 2>&1; } >"$dest/report.txt"
        if python3 grader/results.py total "$tmp/results.json" >/dev/null 2>&1; then
            mv "$tmp/results.json" "$dest/results.json"
            echo "graded" >"$dest/status"
            printf '[%d/%d] %s: %s (%ss)\n' "$i" "$n" "$name" \
                "$(python3 grader/results.py total "$dest/results.json" | tr ' ' '/')" $(($(date +%s) - t0))
        else
            echo "error" >"$dest/status"
            printf '[%d/%d] %s: the grader stopped without a result (see %s)\n' "$i" "$n" "$name" "$dest/report.txt"
        fi
    fi
    echo "$key" >"$dest/key"
    cleanup
    gradebook
done
gradebook
echo "batch: $n submission(s) in $(($(date +%s) - start)) s; gradebook: $out/gradebook.csv"
