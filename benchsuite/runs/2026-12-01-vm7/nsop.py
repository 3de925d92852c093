#!/usr/bin/env python3
"""Medians of nsop/nsop.txt (5 rounds, before/after alternated) and the
std/GoMap speed ratios per round (#12 item 10's goals: get-hit >= 0.85x,
insert >= 0.75x). Argument: the folder (default nsop)."""
import os, re, statistics, sys
here = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[1] if len(sys.argv) > 1 else "nsop"
cur = None; d = {}
for line in open(os.path.join(here, folder, "nsop.txt")):
    m = re.match(r"round (\d+) (before|after)", line)
    if m:
        cur = m.group(2); continue
    m = re.match(r"(\w+)\s+get-hit\s+([\d.]+)\s+get-miss\s+([\d.]+)\s+insert\s+([\d.]+)", line)
    if m:
        for k, v in zip(("get-hit", "get-miss", "insert"), m.groups()[1:]):
            d.setdefault((m.group(1), k, cur), []).append(float(v))
for mp in ("syncmap", "gomap", "std"):
    print(f"{mp:8s}", "  ".join(f"{k} {statistics.median(d[(mp, k, 'before')]):.1f} -> "
                                 f"{statistics.median(d[(mp, k, 'after')]):.1f}" for k in ("get-hit", "get-miss", "insert")))
for k in ("get-hit", "insert"):
    for w in ("before", "after"):
        r = [s / g for s, g in zip(d[("std", k, w)], d[("gomap", k, w)])]
        print(f"std/gomap {k} {w}: median {statistics.median(r):.2f} rounds {[round(x, 2) for x in r]}")
