#!/usr/bin/env python3
"""compdb.py - compile_commands.json from the commands make would run.

`make compdb` asks make for its commands without running them (make -n -B,
so every object is listed, built or not) and pipes them here, so the flags
an editor (clangd) sees are exactly the Makefile's: nothing is copied by
hand. Every compiler call that names a .c file becomes one entry per file,
with the output (-o FILE), objects, libraries and the flags that only
write dependency files or keep temporaries (-MMD, -MP, -MD,
-save-temps=obj) left out. A file compiled several times (for the tests
and, optimised, for the benchmark) keeps its first command: make lists
the test build first.

Usage: make -n -B ... | grader/compdb.py CC >compile_commands.json
"""
import json
import os
import shlex
import sys

DROP = {"-MMD", "-MP", "-MD", "-save-temps=obj"}


def entries(lines, cc):
    seen = set()
    for line in lines:
        try:
            words = shlex.split(line)
        except ValueError:
            continue  # not a command (make's own messages)
        # "mkdir -p DIR && cc ...": each part on its own.
        part = []
        for w in words + ["&&"]:
            if w not in ("&&", ";"):
                part.append(w)
                continue
            if part and part[0] == cc:
                yield from command(part, seen)
            part = []


def command(words, seen):
    args, sources = [words[0]], []
    skip = False
    for w in words[1:]:
        if skip:
            skip = False
        elif w == "-o":
            skip = True
        elif w.endswith(".c"):
            sources.append(w)
        elif w.endswith((".o", ".a", ".h")) or w.startswith("-l"):
            continue  # link inputs
        elif w not in DROP and w != "-c":
            args.append(w)
    for src in sources:
        if src not in seen:
            seen.add(src)
            yield {"directory": os.getcwd(), "file": src,
                   "arguments": args + ["-c", src]}


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: make -n -B ... | %s CC" % argv[0])
    out = list(entries(sys.stdin, argv[1]))
    if not out:
        sys.exit("compdb.py: make listed no compile command for '%s'" % argv[1])
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
