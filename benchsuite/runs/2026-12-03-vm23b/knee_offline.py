#!/usr/bin/env python3
"""#9 offline: what in the knee rule and its estimator would make two default
runs agree more, read off the stored default pairs (no new measurement).

    python3 benchsuite/runs/2026-12-03-vm23b/knee_offline.py [BATCH_DIR...]

Default batches: every stored batch of three default pairs since the SLO
capacity's top-step fix (2026-12-02-vm17 onwards), 27 pairs x 15 map x mix.
Prints, per question, how many of the pairs' knees lie within +-20 % of each
other and the RMS of their log ratios:

1. which term set the p99 line at the knee (on the folded curve: one step per
   rate, the median-p99 repetition, as `analyze` reads the rule and cause):
   the base, the p99 at half the rate, the noise floor, or the step's stall;
2. the knee rule varied (J, the stall's factor, no stall), each knee read on
   the folded curve with the crossing-rate interpolation `knee.rs` uses; the
   same rule as `knee.rs` reads the current one, so the variants compare
   among themselves, not with the recorded knees (which bisect each
   repetition and take the median of five);
3. the run's knee from its repetitions' recorded knees: median (what
   mapknee reports), geometric mean, trimmed mean of the middle three,
   Hodges-Lehmann;
4. whether the change of a map's knee between the two runs of a pair
   follows the change of the run's reference placement (line transfer ns),
   of the map's steps' median line transfer, or of the harness cost.
"""
import collections, itertools, json, math, os, statistics, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BATCHES = sys.argv[1:] or [os.path.join(ROOT, b) for b in [
    "2026-12-02-vm17/slo-pairs", "2026-12-02-vm17/slo-pairs2", "2026-12-02-vm18/pairs",
    "2026-12-02-vm19/pairs", "2026-12-02-vm20/pairs", "2026-12-02-vm22/pairs",
    "2026-12-03-vm22/pairs", "2026-12-03-vm22/pairs-nodamon", "2026-12-03-vm22b/pairs"]]
J = 3.0
WITHIN = math.log(1.2)


def rule_p99(s):
    t = s.get("typical_p99_ns")
    return t if t is not None else s["latency_ns"]["p99"]


def base(curve):
    ps = sorted(rule_p99(s) for s in curve[:3])
    return ps[len(ps) // 2]


def p99_at(curve, x, limit):
    pts = [(s["target_ops_per_sec"], max(rule_p99(s), 1)) for s in curve if 0 < s["target_ops_per_sec"] < limit]
    low, out = math.inf, []
    for r, p in reversed(pts):
        low = min(low, p)
        out.append((r, low))
    pts = out[::-1]
    below = [p for p in pts if p[0] <= x]
    if not below:
        return None
    b, above = below[-1], [p for p in pts if p[0] > x]
    if not above:
        return b[1]
    a = above[0]
    t = math.log(x / b[0]) / math.log(a[0] / b[0])
    return math.exp(math.log(b[1]) + t * math.log(a[1] / b[1]))


def terms(curve, s):
    r = s["target_ops_per_sec"]
    return {"base": base(curve), "half": p99_at(curve, r * 0.5, r) or 0,
            "floor": s.get("floor_p99_ns") or 0,
            "stall": (s.get("stalls") or {}).get("typical_longest_ns", 0)}


def saturated(s):
    a = s.get("arrivals") or 0
    return s["ops"] < 0.95 * a if a > 0 else s["achieved_ops_per_sec"] < 0.95 * s["target_ops_per_sec"]


def folded(run):
    by = collections.defaultdict(list)
    for s in run["steps"]:
        if s.get("target_ops_per_sec") is not None and not s.get("interrupted"):
            by[s["target_ops_per_sec"]].append(s)
    return [sorted(by[r], key=rule_p99)[len(by[r]) // 2] for r in sorted(by)]


def load_pairs():
    rows = []
    for b in BATCHES:
        for p in (1, 2, 3):
            runs, machines = {}, {}
            for side in "ab":
                f = os.path.join(b, f"{side}{p}", "results.json")
                if not os.path.exists(f):
                    break
                d = json.load(open(f))
                runs[side] = {(r["mix"]["name"], r["map"]): r for r in d["runs"]}
                machines[side] = d["machine"]
            if len(runs) < 2:
                continue
            for k, ra in runs["a"].items():
                rb = runs["b"][k]
                if ra["knee"] and rb["knee"]:
                    rows.append(dict(batch=os.path.relpath(b, ROOT), pair=p, key=k, a=ra, b=rb,
                                     ma=machines["a"], mb=machines["b"]))
    return rows


def agreement(name, rows, knee_of):
    logs, per_pair = [], collections.defaultdict(lambda: [0, 0])
    for r in rows:
        ka, kb = knee_of(r["a"]), knee_of(r["b"])
        if not ka or not kb:
            continue
        x = math.log(kb / ka)
        logs.append(x)
        pp = per_pair[(r["batch"], r["pair"])]
        pp[0] += 1
        pp[1] += abs(x) <= WITHIN
    n = len(logs)
    ok = sum(abs(x) <= WITHIN for x in logs)
    full = sum(1 for v in per_pair.values() if v[0] == v[1] == 15)
    print(f"  {name:28s} {ok}/{n} within +-20 % ({ok / n:.3f}), RMS log ratio {math.sqrt(sum(x * x for x in logs) / n):.3f}, "
          f"pairs with all 15: {full}/{len(per_pair)}")


def rule(j=J, stall_factor=J, floor_factor=J, stall=True):
    def over(curve, s):
        t = terms(curve, s)
        need = max(j * t["base"], j * t["half"], floor_factor * t["floor"], stall_factor * t["stall"] if stall else 0)
        return rule_p99(s) / need

    def knee(run):
        c = folded(run)
        if len(c) < 3:
            return None
        cap = run.get("capacity_ops_per_sec")
        past = lambda s: (over(c, s) >= 1 and s["ops"] > 0) or saturated(s)
        for i, s in enumerate(c):
            if not past(s):
                continue
            confirmed = i + 1 < len(c) and past(c[i + 1])
            last_behind = i + 1 == len(c) and saturated(s) and cap and s["target_ops_per_sec"] > cap
            if not (confirmed or last_behind):
                continue
            if i == 0:
                return s["target_ops_per_sec"]
            lo, hi = c[i - 1]["target_ops_per_sec"], s["target_ops_per_sec"]
            r0, r1 = over(c, c[i - 1]), over(c, s)
            if r0 >= 1 or r1 < 1:
                return hi
            return lo * (hi / lo) ** (math.log(1 / r0) / math.log(r1 / r0))
        return None
    return knee


def main():
    rows = load_pairs()
    print(f"{len(rows)} map x mix knees in {len({(r['batch'], r['pair']) for r in rows})} pairs")

    print("\n1. the term that set the line at the knee (folded curve), and how often the pair missed +-20 %")
    def bound(run):
        c = folded(run)
        above = [s for s in c if s["target_ops_per_sec"] >= run["knee"]["ops_per_sec"]]
        if not above:
            return "none above"
        s = above[0]
        t = terms(c, s)
        b = max(t, key=t.get)
        return b if rule_p99(s) >= J * t[b] else ("throughput" if saturated(s) else "no rule fired")
    by = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        missed = abs(math.log(r["b"]["knee"]["ops_per_sec"] / r["a"]["knee"]["ops_per_sec"])) > WITHIN
        key = " + ".join(sorted({bound(r["a"]), bound(r["b"])}))
        by[key][0] += 1
        by[key][1] += missed
    for k, (n, m) in sorted(by.items(), key=lambda x: -x[1][0]):
        print(f"  {k:28s} {n:4d} pairs of knees, {m:3d} outside +-20 % ({m / n:.2f})")

    print("\n2. the rule varied, knees read on the folded curves")
    for name, f in [("J=3, stall x3 (knee.rs)", rule()), ("no stall term", rule(stall=False)),
                    ("stall x1", rule(stall_factor=1)), ("stall x1.5", rule(stall_factor=1.5)),
                    ("stall x2", rule(stall_factor=2)), ("J=2.5 throughout", rule(2.5, 2.5, 2.5)),
                    ("J=4 throughout", rule(4, 4, 4))]:
        agreement(name, rows, f)

    print("\n3. the run's knee from its repetitions' recorded knees")
    def reps(run):
        return [x["knee_ops_per_sec"] for x in run.get("repetitions") or []
                if x.get("knee_found") and x.get("knee_ops_per_sec")]
    def est(f):
        return lambda run: f(reps(run)) if len(reps(run)) >= 3 else None
    gm = lambda xs: math.exp(statistics.mean(math.log(x) for x in xs))
    trim = lambda xs: gm(sorted(xs)[1:-1] if len(xs) >= 5 else xs)
    hl = lambda xs: math.exp(statistics.median(
        [(a + b) / 2 for a, b in itertools.combinations_with_replacement([math.log(x) for x in xs], 2)]))
    for name, f in [("median (reported)", statistics.median), ("geometric mean", gm),
                    ("trimmed mean, middle 3", trim), ("Hodges-Lehmann", hl)]:
        agreement(name, rows, est(f))

    print("\n4. the knee's change between the runs against the machine's (correlation, slope of log on log)")
    def coh(run):
        xs = [s["coherence_ns"] for s in run["steps"] if s.get("coherence_ns")]
        return statistics.median(xs) if xs else None
    def corr(x, y):
        mx, my = statistics.mean(x), statistics.mean(y)
        sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
        sx = math.sqrt(sum((a - mx) ** 2 for a in x))
        sy = math.sqrt(sum((b - my) ** 2 for b in y))
        return (sxy / (sx * sy), sxy / sx ** 2) if sx and sy else (float("nan"), float("nan"))
    per_map = collections.defaultdict(list)
    for r in rows:
        pa = (r["ma"].get("placement") or {}).get("reference_ns")
        pb = (r["mb"].get("placement") or {}).get("reference_ns")
        ca, cb = coh(r["a"]), coh(r["b"])
        ha, hb = r["ma"].get("harness_ns_per_op"), r["mb"].get("harness_ns_per_op")
        if pa and pb and ca and cb and ha and hb:
            per_map[r["key"][1]].append((math.log(r["b"]["knee"]["ops_per_sec"] / r["a"]["knee"]["ops_per_sec"]),
                                         math.log(pb / pa), math.log(cb / ca), math.log(hb / ha)))
    for m, v in per_map.items():
        k = [x[0] for x in v]
        cells = [corr([x[i] for x in v], k) for i in (1, 2, 3)]
        print(f"  {m:13s} n={len(v)} SD of the knee's log ratio {statistics.pstdev(k):.3f}; "
              + ", ".join(f"{n} r={c:+.2f} slope={s:+.2f}" for n, (c, s) in zip(["reference", "steps' line", "harness"], cells)))


if __name__ == "__main__":
    main()
