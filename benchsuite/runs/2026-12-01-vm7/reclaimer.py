#!/usr/bin/env python3
"""#12 3a: SyncMap write-heavy, reclaimer on (retired snapshots of 1024+
entries dropped on a background thread) vs off (dropped inline by whichever
operation collects the epoch garbage), runs alternated by measure.sh. Per
run: the p99 and the typical p99 of each step and the cache-line transfer
time between the worker cores (the host's placement); medians per variant,
overall and per placement."""
import json, os, statistics, sys
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reclaimer")
rows = []
for v in ("on", "off"):
    for i in range(1, 20):
        p = os.path.join(here, f"{v}{i}", "results.json")
        if not os.path.exists(p):
            continue
        d = json.load(open(p))
        run = d["runs"][0]
        for s in run["steps"]:
            if s.get("refine") or s.get("target_ops_per_sec") is None:
                continue
            rows.append((v, i, s["target_ops_per_sec"], s["latency_ns"]["p99"],
                         s.get("typical_p99_ns"), s.get("coherence_ns")))
rates = sorted({r[2] for r in rows})
print("variant run rate p99_ms typical_p99_ms line_ns")
for r in rows:
    print(f"{r[0]:4s} {r[1]:2d} {r[2]/1e3:6.0f}k {r[3]/1e6:7.2f} {(r[4] or 0)/1e6:7.2f} {r[5] or 0:6.0f}")
print("\nmedians (ms); near = line transfer < 100 ns (one core complex), far = >= 100 ns")
for rate in rates:
    for group in ("all", "near", "far"):
        out = []
        for v in ("on", "off"):
            sel = [r for r in rows if r[0] == v and r[2] == rate and (
                group == "all" or (group == "near") == ((r[5] or 0) < 100))]
            if not sel:
                out.append(f"{v} -")
                continue
            p99 = statistics.median(r[3] for r in sel) / 1e6
            typ = statistics.median((r[4] or 0) for r in sel) / 1e6
            out.append(f"{v} p99 {p99:.2f} typical {typ:.2f} (n={len(sel)})")
        print(f"{rate/1e3:5.0f}k {group:4s}: " + " | ".join(out))
