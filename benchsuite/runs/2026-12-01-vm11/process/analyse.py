"""Per process: each repetition's knee; then, per mode (aslr / noaslr), the
spread between processes against the spread inside them (one-way ANOVA on
log knees, with a permutation p-value: how often shuffling the repetitions
across processes gives an F as large)."""
import glob, json, math, random, statistics as st, sys

d = sys.argv[1]
random.seed(7)


def F(groups):
    allv = [v for g in groups for v in g]
    m = st.mean(allv)
    k, n = len(groups), len(allv)
    ssb = sum(len(g) * (st.mean(g) - m) ** 2 for g in groups)
    ssw = sum((v - st.mean(g)) ** 2 for g in groups for v in g)
    return (ssb / (k - 1)) / (ssw / (n - k)) if ssw > 0 else float("inf")


for mode in ["aslr", "noaslr"]:
    groups = []
    for f in sorted(glob.glob(f"{d}/{mode}-*.json"), key=lambda p: int(p.split("-")[-1][:-5])):
        run = json.load(open(f))["runs"][0]
        ks = [x["knee_ops_per_sec"] for x in run["repetitions"]]
        typ = [
            (round(s["target_ops_per_sec"] / 1e6, 2), round(s["typical_p99_ns"] / 1e3))
            for s in run["steps"]
            if s["target_ops_per_sec"]
        ]
        knee = run["knee"]["ops_per_sec"] if run.get("knee") else None
        print(f"{f.split('/')[-1]:14} knee {knee and round(knee / 1e6, 2)} reps",
              [k and round(k / 1e6, 2) for k in ks], "typical p99 µs by rate", typ)
        if all(ks):
            groups.append([math.log(k) for k in ks])
    if len(groups) < 2:
        continue
    f = F(groups)
    allv = [v for g in groups for v in g]
    hits, n = 0, 5000
    for _ in range(n):
        random.shuffle(allv)
        if F([allv[i * 3:(i + 1) * 3] for i in range(len(groups))]) >= f:
            hits += 1
    meds = [math.exp(st.median(g)) / 1e6 for g in groups]
    print(f"{mode}: {len(groups)} processes, process medians {[round(m, 2) for m in meds]}, "
          f"max/min {max(meds) / min(meds):.2f}, F = {f:.2f}, permutation p = {(hits + 1) / (n + 1):.4f}\n")
