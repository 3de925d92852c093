"""Medians of 5 per mix and map, probes / no probes, from probe-cost.out."""
import statistics, sys, collections, math
v = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 6 and f[0].isdigit():
        v[(f[1], f[3], f[2])].append(int(f[5]))
print("| mix | map | probes (median of 5) | no probes | ratio | probes runs / no-probes runs (M) |")
print("|---|---|---|---|---|---|")
per_mix = collections.defaultdict(list)
for mix in ["read-mostly", "mixed", "write-heavy"]:
    for m in ["syncmap", "rwlock", "sharded", "gomap-rwlock"]:
        a, b = v[(mix, m, "probes")], v[(mix, m, "noprobes")]
        if not a or not b: continue
        ma, mb = statistics.median(a), statistics.median(b)
        per_mix[mix].append(ma / mb)
        fmt = lambda xs: ", ".join(f"{x/1e6:.2f}" for x in xs)
        print(f"| {mix} | {m} | {ma/1e6:.2f}M | {mb/1e6:.2f}M | {ma/mb:.3f} | [{fmt(a)}] / [{fmt(b)}] |")
for mix, r in per_mix.items():
    print(f"{mix}: geometric mean of the maps' ratios {math.exp(sum(map(math.log, r))/len(r)):.3f}")
