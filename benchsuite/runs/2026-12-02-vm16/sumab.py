"""Summarises alternated `nsop` runs: for each build (the `== NAME N` headers)
and each map x operation, the per-run ratios REF/this (REF = std, or dashmap
for ShardedMap) and their median.

    python3 sumab.py nsop-sharded-count-vs-nocount.txt
"""
import re
import statistics as st
import sys

cur = None
ratios = {}
for line in open(sys.argv[1]):
    m = re.match(r"== (\S+) (\d+)", line)
    if m:
        cur = m.group(1)
        continue
    m = re.match(r"(\S+)\s+(\w+)\s+([\d.]+) ns/op\s+(\w+)/this ([\d.]+)", line)
    if m and m.group(2) != m.group(4):
        key = (m.group(2), m.group(1), m.group(4), cur)
        ratios.setdefault(key, []).append(float(m.group(5)))
for (mp, op, ref, build), v in sorted(ratios.items()):
    print(f"{mp:8} {op:14} {ref}/this  {build:14} median {st.median(v):.3f}  runs {v}")
