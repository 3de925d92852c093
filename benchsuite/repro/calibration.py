#!/usr/bin/env python3
"""synthetic:2us (one lock held 2 us per operation: capacity 500k txn/s in
theory) knee as a fraction of 500k/s and of the measured capacity, for even
and Poisson arrivals, from the folder given: its {even,poisson}-*.json or
cal-{even,poisson}-*.json (`mapknee run --maps synthetic:2us --arrivals A --format json`)."""
import glob, json, os, statistics, sys
here = sys.argv[1]
for arr in ("even", "poisson"):
    fr, frc = [], []
    for p in sorted(glob.glob(os.path.join(here, f"{arr}-*.json"))
                    + glob.glob(os.path.join(here, f"cal-{arr}-*.json"))):
        r = json.load(open(p))["runs"][0]
        k = r["knee"]["ops_per_sec"] if r["knee"] else None
        cap = r.get("capacity_ops_per_sec")
        print(f"{arr:8s} {os.path.basename(p)}: knee {k and round(k/1e3)}k ({r['knee'] and r['knee']['rule']}) "
              f"capacity {cap and round(cap/1e3)}k ref {r['knee'] and r['knee'].get('reference_model')} {r['knee'] and round((r['knee'].get('mm1_ops_per_sec') or 0)/1e3)}k")
        if k:
            fr.append(k / 500e3); frc.append(k / cap)
    if fr:
        print(f"{arr}: knee / 500k median {statistics.median(fr):.2f} (range {min(fr):.2f}-{max(fr):.2f}); knee / measured capacity median {statistics.median(frc):.2f}")
