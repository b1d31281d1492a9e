#!/usr/bin/env bash
# map-submission.sh - turns what a student handed in into a tree laid out
# like chapters/, ready for iolab-grade --tree. Gradescope's run_autograder
# and the batch grader (grader/batch.sh) both use it.
#
# Usage: grader/map-submission.sh SUBMISSION TREE "NN-slug ..."
#
# Two kinds of submission are understood:
#   - a repository: the student's copy of the course (its chapters/ holds
#     NN-slug/src/...), or a folder holding NN-slug/src/ directly, at the
#     top or one folder down (a zip of a checkout);
#   - files only: the student's source files (nb_io.c, pool.c, ...) at the
#     top or one folder down, each matched to its chapter by name (the
#     chapter.mk _SRC lists). A name that is not a student file of the
#     chapters asked for is ignored, and said so; two files of the same
#     name are refused, as nothing says which one to grade.
# Only the chapters' student files and the student's own headers (*.h,
# which the grader lets a chapter's src/ hold) are taken, never a
# symlink; a student file the submission lacks is the skeleton's (it
# scores nothing). In a files-only upload a header goes to every chapter
# graded (it is unused where nothing includes it).
#
# Prints on stdout, first line the kind ("a repository upload (chapters)"
# or "a files-only upload (N file(s) matched)"), then one note a line.
# Exits 1, with the reason for the student on stdout, when the submission
# is refused (two files of one name, or none of the chapters' files).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
sub=${1:?usage: map-submission.sh SUBMISSION TREE CHAPTERS}
tree=${2:?usage: map-submission.sh SUBMISSION TREE CHAPTERS}
chapters=${3:?usage: map-submission.sh SUBMISSION TREE CHAPTERS}

# The student files of chapter $1 (its chapter.mk's _SRC line).
src_files() {
    sed -n "s/^$1_SRC *:= *//p" "chapters/$1/chapter.mk"
}
# take FILE FROM CH: copies FROM (a regular file, not a symlink) or else
# the skeleton's FILE into the tree; 1 when the skeleton was taken.
take() {
    mkdir -p "$tree/$3/src"
    if [ -n "$2" ] && [ -f "$2" ] && [ ! -L "$2" ]; then
        cp "$2" "$tree/$3/src/$1" && return 0
    fi
    cp "chapters/$3/src/$1" "$tree/$3/src/$1"
    return 1
}

# A repository: the folder that holds NN-slug/src for a chapter asked for.
repo=""
for cand in "$sub/chapters" "$sub"/*/chapters "$sub" "$sub"/*; do
    for ch in $chapters; do
        if [ -d "$cand/$ch/src" ]; then
            repo=$cand
            break 2
        fi
    done
done

notes=()
if [ -n "$repo" ]; then
    for ch in $chapters; do
        for f in $(src_files "$ch"); do
            take "$f" "$repo/$ch/src/$f" "$ch" ||
                notes+=("$ch/src/$f is not in the submission: graded as the skeleton.")
        done
        for h in "$repo/$ch/src"/*.h; do
            [ -f "$h" ] && [ ! -L "$h" ] && cp "$h" "$tree/$ch/src/"
        done
    done
    echo "a repository upload (${repo#"$sub"/})"
else
    declare -A seen=()
    while IFS= read -r path; do
        name=$(basename "$path")
        if [ -n "${seen[$name]:-}" ]; then
            echo "Two files are named $name (${seen[$name]#"$sub"/} and ${path#"$sub"/}): hand in one of them."
            exit 1
        fi
        seen[$name]=$path
    done < <(find "$sub" -maxdepth 2 -type f \( -name '*.c' -o -name '*.S' -o -name '*.h' \) | sort)
    matched=0
    for ch in $chapters; do
        for f in $(src_files "$ch"); do
            if take "$f" "${seen[$f]:-}" "$ch"; then
                matched=$((matched + 1))
            else
                notes+=("$f is not in the submission: graded as the skeleton.")
            fi
            unset "seen[$f]"
        done
    done
    for name in "${!seen[@]}"; do
        case $name in *.h)
            [ -L "${seen[$name]}" ] && continue
            for ch in $chapters; do cp "${seen[$name]}" "$tree/$ch/src/"; done
            unset "seen[$name]"
            ;;
        esac
    done
    if [ $matched = 0 ]; then
        want=$(for ch in $chapters; do src_files "$ch"; done | tr '\n' ' ')
        echo "None of this assignment's files is in the submission. Hand in your copy of the course (with its chapters/ folder) or your source files: ${want% }."
        exit 1
    fi
    while IFS= read -r name; do
        [ -n "$name" ] && notes+=("$name is not a student file of this assignment: ignored.")
    done < <(printf '%s\n' "${!seen[@]}" | sort)
    echo "a files-only upload ($matched file(s) matched)"
fi
[ ${#notes[@]} = 0 ] || printf '%s\n' "${notes[@]}"
