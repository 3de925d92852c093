#!/usr/bin/env python3
"""Summarises six default runs a1, b1, a2, b2, a3, b3 (folders of `mapknee run --out`)
in the folder given: each map x mix knee in
every run, the ratio within each pair, the maps' order, the study's finding
(syncmap vs gomap-rwlock and rwlock) and knee order vs capacity order."""
import itertools, json, os, statistics
import sys
# The folder holding a1..b3, e.g. benchsuite/runs/2026-12-01-vm7/pairs.
here = sys.argv[1]
names = [f"{s}{p}" for p in (1, 2, 3) for s in "ab"]
runs = {}
for n in names:
    path = os.path.join(here, n, "results.json")
    if not os.path.exists(path):
        continue
    d = json.load(open(path))
    runs[n] = {(r["mix"]["name"], r["map"]): r for r in d["runs"]}
    runs[n]["_machine"] = d["machine"]
keys = [k for k in next(iter(runs.values())) if k != "_machine"]
def knee(r):
    return r["knee"]["ops_per_sec"] if r["knee"] else None
print("machine:", {n: (m["_machine"]["cpu_model"], round(m["_machine"]["clock_overhead_ns"], 1),
      round(m["_machine"]["harness_ns_per_op"], 1), m["_machine"].get("line_transfer_ns")) for n, m in runs.items()})
print("placement (reference ns, band, steps outside, re-measured, waited s):")
for n, m in runs.items():
    p = m["_machine"].get("placement") or {}
    print(f"  {n}: {p.get('reference_ns', 0):.0f} ns [{', '.join(f'{x:.0f}' for x in p.get('band_ns', []))}] "
          f"outside {p.get('steps_outside')} re-measured {p.get('remeasured')} waited {p.get('waited_s', 0):.1f} s")
print("\nknee per run (M txn/s) and max/min within each pair")
for k in keys:
    ks = [knee(runs[n][k]) for n in runs]
    pairs = []
    for p in (1, 2, 3):
        a, b = runs.get(f"a{p}"), runs.get(f"b{p}")
        if a and b and knee(a[k]) and knee(b[k]):
            pairs.append(max(knee(a[k]), knee(b[k])) / min(knee(a[k]), knee(b[k])))
    print(f"{k[0]:12s} {k[1]:13s}", " ".join(f"{(x or 0)/1e6:6.2f}" for x in ks),
          " pair ratios", " ".join(f"{x:.2f}" for x in pairs))
print("\nper pair: knees within +-20 %, order flips where both runs separate by > 30 %")
for p in (1, 2, 3):
    a, b = runs.get(f"a{p}"), runs.get(f"b{p}")
    if not (a and b):
        continue
    within = sum(1 for k in keys if knee(a[k]) and knee(b[k]) and max(knee(a[k]), knee(b[k])) <= 1.2 * min(knee(a[k]), knee(b[k])))
    flips = []
    for mix in sorted({k[0] for k in keys}):
        maps = [k[1] for k in keys if k[0] == mix]
        for x, y in itertools.combinations(maps, 2):
            ka = (knee(a[(mix, x)]), knee(a[(mix, y)])); kb = (knee(b[(mix, x)]), knee(b[(mix, y)]))
            if None in ka or None in kb:
                continue
            if max(ka) > 1.3 * min(ka) and max(kb) > 1.3 * min(kb) and (ka[0] > ka[1]) != (kb[0] > kb[1]):
                flips.append(f"{mix}:{x}/{y}")
    print(f"pair {p}: {within}/{len(keys)} knees within 20 %; order flips: {flips or 'none'}")
print("\nthe study's finding: syncmap's knee vs gomap-rwlock's and rwlock's (bottleneck)")
for n, r in runs.items():
    line = []
    for mix in ("read-mostly", "mixed", "write-heavy"):
        s, g, w = (r[(mix, m)] for m in ("syncmap", "gomap-rwlock", "rwlock"))
        f = lambda x: f"{(knee(x) or 0)/1e6:.2f}M"
        line.append(f"{mix}: syncmap {f(s)} ({s['knee']['bottleneck'] if s['knee'] else '-'}) vs gomap-rwlock {f(g)}, rwlock {f(w)}"
                    f" -> {'lowest' if knee(s) and knee(g) and knee(w) and knee(s) < min(knee(g), knee(w)) else 'not lowest'}")
    print(n, "; ".join(line))
print("\nknee order vs capacity order, pairs whose capacities differ by > 1.5x")
for n, r in runs.items():
    agree, disagree = 0, []
    for mix in sorted({k[0] for k in keys}):
        maps = [k[1] for k in keys if k[0] == mix]
        for x, y in itertools.combinations(maps, 2):
            cx, cy = r[(mix, x)]["capacity_ops_per_sec"], r[(mix, y)]["capacity_ops_per_sec"]
            kx, ky = knee(r[(mix, x)]), knee(r[(mix, y)])
            if not (cx and cy and kx and ky) or max(cx, cy) <= 1.5 * min(cx, cy):
                continue
            if (cx > cy) == (kx > ky) or kx == ky:
                agree += 1
            else:
                disagree.append(f"{mix}:{x}({cx/1e6:.1f}M cap, {kx/1e6:.2f}M knee)/{y}({cy/1e6:.1f}M, {ky/1e6:.2f}M)")
    print(f"{n}: {agree} pairs agree; disagree: {disagree or 'none'}")
