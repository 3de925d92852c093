#!/usr/bin/env python3
"""#13 item 3: sharded vs sharded-unpadded in false-sharing/run1..3
(`run --quick --repeat 3`): per mix and run the knees, closed-loop
capacities and the p99 ratio below both knees (as the table's false-sharing
line computes it), then the medians over the runs."""
import json, os, statistics, sys
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), sys.argv[1] if len(sys.argv) > 1 else "false-sharing")
per = {}
for i in (1, 2, 3):
    p = os.path.join(here, f"run{i}", "results.json")
    if not os.path.exists(p):
        continue
    d = json.load(open(p))
    by = {(r["mix"]["name"], r["map"]): r for r in d["runs"]}
    for mix in ("read-mostly", "mixed", "write-heavy"):
        a, b = by.get((mix, "sharded")), by.get((mix, "sharded-unpadded"))
        if not a or not b:
            continue
        ka = a["knee"]["ops_per_sec"] if a["knee"] else None
        kb = b["knee"]["ops_per_sec"] if b["knee"] else None
        below = min(x for x in (ka, kb, float("inf")) if x)
        def lad(r):
            return {s["target_ops_per_sec"]: (s.get("typical_p99_ns") or s["latency_ns"]["p99"])
                    for s in r["steps"] if not s.get("refine") and s.get("target_ops_per_sec")}
        la, lb = lad(a), lad(b)
        ratios = [lb[t] / la[t] for t in la if t in lb and t < below and la[t] > 0]
        base_a = sorted(la.items())[:3]; base_b = sorted(lb.items())[:3]
        per.setdefault(mix, []).append(dict(
            run=i, knee=(ka, kb), cap=(a["capacity_ops_per_sec"], b["capacity_ops_per_sec"]),
            p99=statistics.median(ratios) if ratios else None,
            base=(statistics.median(v for _, v in base_a), statistics.median(v for _, v in base_b))))
f = lambda x: f"{x/1e6:.2f}M" if x else "none"
for mix, rs in per.items():
    print(mix)
    for r in rs:
        print(f"  run {r['run']}: knee sharded {f(r['knee'][0])} unpadded {f(r['knee'][1])}"
              f" ({(r['knee'][1] or 0)/(r['knee'][0] or 1):.2f}x) · capacity {f(r['cap'][0])} vs {f(r['cap'][1])}"
              f" ({r['cap'][1]/r['cap'][0]:.2f}x) · base typical p99 {r['base'][0]/1e3:.0f} vs {r['base'][1]/1e3:.0f} us"
              f" · p99 below both knees {r['p99']:.2f}x")
    med = lambda xs: statistics.median([x for x in xs if x is not None])
    ka = med([r["knee"][0] for r in rs]); kb = med([r["knee"][1] for r in rs])
    print(f"  median of {len(rs)}: knee {f(ka)} vs {f(kb)} ({kb/ka:.2f}x) · knee ratio median "
          f"{med([(r['knee'][1] or 0)/(r['knee'][0] or 1) for r in rs]):.2f}x · capacity ratio median "
          f"{med([r['cap'][1]/r['cap'][0] for r in rs]):.2f}x · base p99 "
          f"{med([r['base'][0] for r in rs])/1e3:.0f} vs {med([r['base'][1] for r in rs])/1e3:.0f} us · p99 ratio median {med([r['p99'] for r in rs]):.2f}x")
