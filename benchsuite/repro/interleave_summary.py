#!/usr/bin/env python3
"""Summarises benchsuite/repro/interleave.sh's output: per build and mix,
map A's throughput over map B's (whichever sat first in the process), the
geometric mean over processes of the total-throughput ratio, its median
and range, and the median of the per-process medians of slice-pair ratios;
the A/A rows show what a map measured against itself reads."""
import math, re, statistics, sys

rows = {}
a_name = None
for line in open(sys.argv[1]):
    m = re.match(r"== (\S+) (\d+) (\S+)/(\S+)", line)
    if m:
        build, _, first, second = m.groups()
        if build != "A/A" and a_name is None:
            a_name = first
        continue
    m = re.search(r"round \d+ (\S+)\s+median pair ratio ([\d.]+).*total ratio ([\d.]+)", line)
    if not m:
        continue
    mix, pair, total = m.group(1), float(m.group(2)), float(m.group(3))
    if build != "A/A" and first != a_name:
        pair, total = 1 / pair, 1 / total
    rows.setdefault((build, mix), []).append((pair, total))
for (build, mix), v in sorted(rows.items()):
    total = [t for _, t in v]
    pair = [p for p, _ in v]
    geo = math.exp(sum(map(math.log, total)) / len(total))
    label = "first/second" if build == "A/A" else f"{a_name}/other"
    print(f"{build:14} {mix:12} {label}: geo-mean {geo:.3f}  median {statistics.median(total):.3f}"
          f"  range {min(total):.3f}-{max(total):.3f}  (n={len(total)})  slice-pair median {statistics.median(pair):.3f}")
