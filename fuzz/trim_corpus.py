#!/usr/bin/env python3
"""Adds to a committed corpus at most LIMIT inputs that cover the most new edges.

usage: trim_corpus.py CONTROL_FILE CORPUS_DIR LIMIT

CONTROL_FILE is what `<target> -merge=1 -merge_control_file=CONTROL_FILE EMPTY CORPUS_DIR DIR…`
wrote: every input with the edges (`COV`) it reaches. libFuzzer's own merge keeps every input
that adds a feature (hit counts and stack depth included), thousands for a long run; this keeps
the committed corpus to a few hundred small files: the inputs already in CORPUS_DIR, then, one at
a time, the input that adds the most edges not yet covered (the smallest on a tie), until LIMIT
files or no input adds an edge. New files are named by their SHA-1, as libFuzzer names them.
"""

import hashlib
import os
import shutil
import sys


def main() -> None:
    control, corpus, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(control, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    count = int(lines[0])
    files = lines[2 : 2 + count]
    edges = {}
    for line in lines[2 + count :]:
        if line.startswith("COV "):
            _, index, *pcs = line.split()
            edges[int(index)] = set(pcs)
    corpus = os.path.realpath(corpus)
    kept = [i for i, f in enumerate(files) if os.path.dirname(os.path.realpath(f)) == corpus]
    covered = set().union(*(edges.get(i, set()) for i in kept))
    candidates = {i for i in edges if i not in kept}
    size = {i: os.path.getsize(files[i]) for i in candidates}
    added = 0
    while len(kept) + added < limit and candidates:
        best = max(candidates, key=lambda i: (len(edges[i] - covered), -size[i]))
        if not edges[best] - covered:
            break
        candidates.remove(best)
        covered |= edges[best]
        with open(files[best], "rb") as f:
            name = hashlib.sha1(f.read()).hexdigest()
        shutil.copyfile(files[best], os.path.join(corpus, name))
        added += 1
    print(f"{added} inputs added; {len(covered)} edges covered by {len(kept) + added} files")


if __name__ == "__main__":
    main()
