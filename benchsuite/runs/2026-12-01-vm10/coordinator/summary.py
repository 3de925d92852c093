"""Typical p99, typical longest stall and stalled share per map and rate,
median over rounds, before vs after (ab.sh's folders)."""
import json, glob, statistics as st, collections
rows = collections.defaultdict(list)
for side in ("before", "after"):
    for p in sorted(glob.glob(f"{side}-*/results.json")):
        for run in json.load(open(p))["runs"]:
            for s in run["steps"]:
                r = s["target_ops_per_sec"]
                if not r: continue
                st_ = s.get("stalls") or {}
                share = st_.get("total_ns", 0) / (run["threads"] * s["duration_s"] * 1e9)
                rows[(run["map"], r, side)].append((s["typical_p99_ns"] or 0, st_.get("typical_longest_ns", 0), share, s["latency_ns"]["p99"]))
print(f"{'map':8} {'rate':>6}  {'typical p99 us':>22}  {'typical stall us':>22}  {'stalled %':>16}  {'p99 us':>20}")
for (m, r, side) in sorted(k for k in rows if k[2] == "before"):
    b = rows[(m, r, "before")]; a = rows[(m, r, "after")]
    f = lambda v, i, k=1e3: st.median(x[i] for x in v) / k
    print(f"{m:8} {r/1e6:5.1f}M  {f(b,0):9.1f} -> {f(a,0):9.1f}  {f(b,1):9.1f} -> {f(a,1):9.1f}  {f(b,2,0.01):6.2f} -> {f(a,2,0.01):6.2f}  {f(b,3):8.1f} -> {f(a,3):8.1f}")
