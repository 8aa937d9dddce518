#!/usr/bin/env python3
"""minimise.py FUZZER CORPUS_DIR WORK_DIR [--max N]: keeps the committed corpus
small (run.sh --merge). libFuzzer's -merge=1 keeps every input that adds a
feature, a thousand files for a decoder after ten minutes; this keeps the
seeds (seed-*) and kept findings (found-*, crash-*, leak-*, timeout-*), then adds, from
the corpus and the inputs found (WORK_DIR), the input covering the most
coverage edges not yet covered, again and again, up to N inputs (default 50)
or until every edge is covered. The others are removed from CORPUS_DIR.
Prints one line: inputs kept, edges covered of all seen."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

KEPT_PREFIXES = ("seed-", "found-", "crash-", "leak-", "timeout-", "oom-")


def main():
    args = sys.argv[1:]
    limit = 50
    if "--max" in args:
        i = args.index("--max")
        limit = int(args[i + 1])
        del args[i:i + 2]
    fuzzer, corpus, work = (os.path.abspath(a) for a in args)
    with tempfile.TemporaryDirectory() as tmp:
        control = os.path.join(tmp, "control")
        # The merge into an empty directory writes, per input, the edges it
        # covers (COV lines) to the control file; its output is thrown away.
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        subprocess.run([fuzzer, "-merge=1", "-merge_control_file=" + control, out, corpus, work],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=tmp)
        with open(control) as f:
            lines = f.read().splitlines()
        count = int(lines[0])
        files = lines[2:2 + count]
        edges = {}
        for line in lines[2 + count:]:
            if line.startswith("COV "):
                parts = line.split()
                edges[int(parts[1])] = set(int(e) for e in parts[2:])
    kept = [i for i, path in enumerate(files)
            if os.path.dirname(os.path.abspath(path)) == os.path.abspath(corpus)
            and os.path.basename(path).startswith(KEPT_PREFIXES)]
    covered = set()
    for i in kept:
        covered |= edges.get(i, set())
    everything = set().union(*edges.values()) if edges else set()
    chosen = []
    candidates = {i: e for i, e in edges.items() if i not in kept}
    while len(chosen) < limit:
        best = max(candidates, key=lambda i: (len(candidates[i] - covered), -os.path.getsize(files[i])), default=None)
        if best is None or not candidates[best] - covered:
            break
        covered |= candidates.pop(best)
        chosen.append(best)
    # Chosen inputs take their content's name, as libFuzzer names them.
    keep_names = {os.path.basename(files[i]) for i in kept}
    for i in chosen:
        with open(files[i], "rb") as f:
            data = f.read()
        name = hashlib.sha1(data).hexdigest()
        keep_names.add(name)
        target = os.path.join(corpus, name)
        if not os.path.exists(target):
            shutil.copyfile(files[i], target)
    for name in os.listdir(corpus):
        if name not in keep_names:
            os.remove(os.path.join(corpus, name))
    print("%s: %d inputs kept (%d added), %d of %d edges covered" %
          (os.path.basename(corpus.rstrip("/")), len(keep_names), len(chosen), len(covered), len(everything)))


if __name__ == "__main__":
    main()
