#!/usr/bin/env python3
"""Per pair of default runs (aN/bN in a runs folder): the compare verdict, how many
map x mix runs compare judged (same placement, each side <= 10 % of its
measurements outside it, and, where the steps carry speed probes, median probes
within 10 %) and how many it withheld as not comparable, and in each group how
many knees agreed within 20 %.

    python3 benchsuite/repro/comparable.py MAPKNEE DIR [DIR...]

MAPKNEE is a mapknee binary with the placement-aware compare (a61f903 or later)."""
import json, os, subprocess, sys

def knees(path):
    runs = json.load(open(path))["runs"]
    return {(r["mix"]["name"], r["map"]): (r.get("knee") or {}).get("ops_per_sec") for r in runs}

mk, dirs = sys.argv[1], sys.argv[2:]
total = {True: [0, 0], False: [0, 0]}
for d in dirs:
    p = 1
    while os.path.exists(os.path.join(d, f"a{p}", "results.json")):
        a, b = (os.path.join(d, f"{s}{p}", "results.json") for s in "ab")
        out = subprocess.run([mk, "compare", a, b, "--format", "json"], capture_output=True, text=True)
        c = json.loads(out.stdout)
        ka, kb = knees(a), knees(b)
        group = {True: [0, 0], False: [0, 0]}
        for r in c["runs"]:
            key = (r["mix"], r["base_map"])
            x, y = ka.get(key), kb.get(key)
            agree = bool(x and y and max(x, y) / min(x, y) <= 1.2)
            judged = r["verdict"] != "not-comparable"
            for g in (group, total):
                g[judged][0] += 1
                g[judged][1] += agree
        print(f"{d} pair {p}: verdict {c['verdict']} (exit {out.returncode}); judged {group[True][0]} "
              f"runs, {group[True][1]} knees within 20 %; not comparable {group[False][0]}, "
              f"{group[False][1]} within 20 %")
        p += 1
print(f"all: judged {total[True][0]} runs, {total[True][1]} within 20 %; "
      f"not comparable {total[False][0]}, {total[False][1]} within 20 %")
