#!/usr/bin/env python3
"""results.py - what a grading's results.json says, for the shell scripts.

The grader writes Gradescope's results.json with --json FILE. The
self-test and the mutants script read verdicts from it, never from the
human table, whose wording may change. One entry of "tests" per graded
item, named "NN-slug: suite/test", "NN-slug: perf METRIC",
"NN-slug: memcheck", or "NN-slug: build" for a chapter that did not build.

Usage:
  results.py total FILE
      prints "SCORE MAX", the totals over every chapter graded
  results.py chapters FILE
      prints "NN-slug SCORE MAX" for every chapter graded, in order
  results.py items FILE [GRADER-FLAGS...]
      prints "passed NAME" or "failed NAME" for every scored item (info
      metrics and skipped tests score nothing and are left out), NAME
      without its chapter; items that the grader flags --no-perf,
      --no-memcheck or --test NAME left out are left out here too
Exits 1, with a message on stderr, when FILE is missing or not the
results.json the grader writes.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
        float(doc["score"])
        float(doc["max_score"])
        for t in doc["tests"]:
            t["name"], t["status"], float(t["max_score"])
        return doc
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit("results.py: %s: not a grader's results.json (%s)" % (path, e))


def left_out(name, flags):
    """True when the grader's flags kept this item from running."""
    if "--no-perf" in flags and name.startswith("perf "):
        return True
    if "--no-memcheck" in flags and name == "memcheck":
        return True
    # --test NAME (repeatable) runs only the named tests; the grader scores
    # the others 0 as "not run", which says nothing about the submission.
    only = [flags[i + 1] for i, f in enumerate(flags[:-1]) if f == "--test"]
    return bool(only) and "/" in name and name not in only


def main(argv):
    if len(argv) < 3 or argv[1] not in ("total", "chapters", "items"):
        sys.exit(__doc__.split("Usage:")[1].rstrip())
    doc = load(argv[2])
    if argv[1] == "total":
        print("%g %g" % (doc["score"], doc["max_score"]))
        return 0
    if argv[1] == "chapters":
        totals = {}
        for t in doc["tests"]:
            ch = t["name"].split(": ", 1)[0]
            score, most = totals.get(ch, (0.0, 0.0))
            totals[ch] = (score + float(t["score"]), most + float(t["max_score"]))
        for ch, (score, most) in totals.items():
            print("%s %g %g" % (ch, score, most))
        return 0
    flags = argv[3:]
    for t in doc["tests"]:
        name = t["name"].split(": ", 1)[-1]
        if float(t["max_score"]) <= 0 or left_out(name, flags):
            continue
        print("%s %s" % (t["status"], name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
