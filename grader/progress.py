#!/usr/bin/env python3
"""progress.py - where you stand, from the last gradings (make progress).

Reads build/grade/TREE/last/NN-slug.json, which every full `make grade`
(or `make grade CH=NN`) leaves for each chapter it graded, and prints one
line a chapter: its score, a bar, when it was graded, and for each
exercise how many of its tests pass; then the first chapter that is not
finished and what to do there. Runs nothing: it is instant, and it says
how old each result is.

Usage: progress.py [TREE]   (default chapters; SUBMISSION=dir: that tree)
"""
import glob
import json
import os
import re
import sys
import time

WIDTH = 20


def bar(score, most):
    full = int(round(WIDTH * score / most)) if most > 0 else 0
    return "[" + "#" * full + "." * (WIDTH - full) + "]"


def age(path):
    s = time.time() - os.path.getmtime(path)
    if s < 120:
        return "just now"
    if s < 7200:
        return "%d min ago" % (s // 60)
    if s < 2 * 86400:
        return "%d h ago" % (s // 3600)
    return "%d days ago" % (s // 86400)


def exercises(doc):
    """{exercise: [passed, total]} over the tests, in order; perf, memcheck."""
    per = {}
    for t in doc["tests"]:
        name = t["name"].split(": ", 1)[-1]
        if float(t["max_score"]) <= 0:
            continue
        if "/" in name:
            key = name.split("/", 1)[0]
        elif name.startswith("perf "):
            key = "perf"
        else:
            key = name  # memcheck, build
        p = per.setdefault(key, [0, 0])
        p[0] += t["status"] == "passed"
        p[1] += 1
    return per


def build_dir(tree):
    """The grader's build directory for tree (as iolab-grade names it)."""
    real, cwd = os.path.realpath(tree), os.getcwd()
    rel = real[len(cwd) + 1:] if real.startswith(cwd + "/") else real[1:]
    return os.path.join("build/grade", re.sub(r"[^A-Za-z0-9.-]", "_", rel))


def main(argv):
    bdir = build_dir(argv[1] if len(argv) > 1 else "chapters")
    chapters = sorted(os.path.basename(os.path.dirname(d))
                      for d in glob.glob("chapters/[0-9][0-9]-*/"))
    rows, todo = [], None
    for ch in chapters:
        path = os.path.join(bdir, "last", ch + ".json")
        try:
            doc = json.load(open(path))
            score, most = float(doc["score"]), float(doc["max_score"])
        except (OSError, ValueError, KeyError):
            rows.append("%-18s %9s  %s  not graded yet: make grade CH=%s"
                        % (ch, "-", "[" + " " * WIDTH + "]", ch[:2]))
            todo = todo or ch
            continue
        per = exercises(doc)
        parts = ["%s %d/%d" % (k, v[0], v[1]) for k, v in per.items()]
        rows.append("%-18s %4g/%-4g  %s  %-11s %s"
                    % (ch, score, most, bar(score, most), age(path),
                       ", ".join(parts)))
        if score < most:
            todo = todo or ch
    print("\n".join(rows))
    print()
    if todo is None:
        print("Every chapter is at full marks. Try each chapter's experiments.")
    else:
        print("Next: chapter %s: make check CH=%s (the quick loop), then "
              "make grade CH=%s." % (todo, todo[:2], todo[:2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
