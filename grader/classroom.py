#!/usr/bin/env python3
"""classroom.py - a grading's results.json in GitHub Classroom's terms.

GitHub Classroom's autograding reporter (the grading-reporter action)
reads, for each runner named in its `runners` input, an environment
variable RUNNER_RESULTS holding base64 of a JSON object:
    {"version": 1, "status": "pass"|"fail", "max_score": M,
     "tests": [{"name": ..., "status": "pass"|"fail", "score": S,
                "message": ...}, ...]}
It reports the sum of the tests' scores out of the sum of the runners'
max_score to Classroom, prints each test, and fails the check when a
runner's status is "fail". This script writes one runner, every graded
item a test with the points it earned, and the status "fail" below
MIN_SCORE percent (so MIN_SCORE=0 never fails the check on points).

Usage: classroom.py RESULTS.JSON MIN_SCORE
    prints the base64 payload on stdout (one line); exits 1 when the
    status is "fail", 2 when RESULTS.JSON is not a grader's results.json.
"""
import base64
import json
import sys


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.split("Usage:")[1].rstrip())
    try:
        doc = json.load(open(argv[1]))
        score, most = float(doc["score"]), float(doc["max_score"])
        items = [(t["name"], t["status"], float(t["score"]),
                  float(t["max_score"]), t.get("output", ""))
                 for t in doc["tests"]]
        min_score = float(argv[2])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("classroom.py: %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    tests = [{"name": "%s (%g/%g)" % (name, got, pts),
              "status": "pass" if status == "passed" else "fail",
              "score": got,
              "message": out}
             for name, status, got, pts, out in items if pts > 0]
    ok = most > 0 and 100 * score / most >= min_score
    payload = {"version": 1, "status": "pass" if ok else "fail",
               "max_score": most, "tests": tests}
    print(base64.b64encode(json.dumps(payload).encode()).decode())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
