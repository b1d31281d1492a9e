#!/usr/bin/env python3
"""tagtrace.py - every promise in a contract is tested, every test names one.

A chapter's headers (chapters/NN-*/include/*.h) tag their testable
sentences, [NB-3]; each test names the tags it checks in its description
(MAINTAINING.md, "C style"). This check, run by `make test`, fails when:
  - a header tag of the chapter's own prefix is named by no test of the
    chapter (a promise nobody checks);
  - a test's description names no tag (a test that checks no promise);
  - a test names a tag that no header defines (a typo, or a promise that
    was renumbered or removed).
Tags of another prefix in a header (mux.h citing chapter 01's [NB-8]) are
references, not promises, and are left alone. (The shared kvd's contract,
shared/include/iolab/kvd.h, is not checked yet: most of its tests name no
tag.)

Usage: grader/tagtrace.py [ROOT]   (prints one line per problem; exit 1 if any)
"""
import glob
import os
import re
import sys
from collections import Counter

TAG = re.compile(r"\[([A-Z]+)-(\d+)\]")
LIT = r'"((?:[^"\\]|\\.)*)"'


def join_literals(text):
    """Adjacent C string literals, as the compiler joins them."""
    return re.sub(r'"\s*\n\s*"', "", re.sub(r'"[ \t]+"', "", text))


def descriptions(text):
    """(test name, description) for TK_TEST and chapter 02's macros."""
    text = join_literals(text)
    out = []
    for m in re.finditer(
        r"TK_TEST\(\s*(\w+)\s*,\s*(\w+)\s*,[^{]*?\.description\s*=\s*" + LIT,
        text,
    ):
        out.append((m.group(1) + "/" + m.group(2), m.group(3)))
    for m in re.finditer(r"MUX_TEST_EACH\(\s*(\w+)\s*,\s*" + LIT, text):
        out.append(("*/" + m.group(1), m.group(2)))
    for m in re.finditer(
        r"MUX_TEST_ONE\(\s*(\w+)\s*,\s*\w+\s*,\s*(\w+)\s*,\s*" + LIT, text
    ):
        out.append((m.group(1) + "/" + m.group(2), m.group(3)))
    return out


def check(name, headers, tests):
    problems = []
    defined = Counter()
    for h in headers:
        for p, n in TAG.findall(open(h).read()):
            defined[(p, int(n))] += 1
    if not defined:
        return [f"{name}: no tags in {', '.join(headers) or 'its headers'}"]
    own = Counter(p for p, _ in defined).most_common(1)[0][0]
    named = set()
    for t in tests:
        for test, desc in descriptions(open(t).read()):
            tags = {(p, int(n)) for p, n in TAG.findall(desc)}
            if not tags:
                problems.append(f"{t}: {test}: its description names no tag")
            for tag in sorted(tags - set(defined)):
                problems.append(
                    f"{t}: {test}: names [{tag[0]}-{tag[1]}], which no header "
                    "defines"
                )
            named |= tags
    for tag in sorted(t for t in defined if t[0] == own):
        if tag not in named:
            problems.append(f"{name}: [{tag[0]}-{tag[1]}] is promised, and no test names it")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    os.chdir(root)
    problems = []
    for ch in sorted(glob.glob("chapters/[0-9][0-9]-*/")):
        problems += check(
            ch.rstrip("/"),
            sorted(glob.glob(ch + "include/*.h")),
            sorted(glob.glob(ch + "tests/*.c") + glob.glob(ch + "tests/hidden/*.c")),
        )
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
