#!/usr/bin/env bash
# Go's own map beside mapknee's GoMap port and Rust std's HashMap,
# single-thread ns/op (get-hit, get-miss, insert into an empty map; 65,536
# u64 keys in a scrambled order): nsop.go through a built Go binary and the
# `nsop` example (crates/maps/examples/nsop.rs), alternated RUNS times, then
# per operation the medians and the speed ratios std/GoMap (#12's goal)
# and std/Go (what Go's own design reaches against std on this machine).
#
#   benchsuite/go/gomap.sh NSOP_BIN [RUNS]     (RUNS: alternated runs, 5)
#
# NSOP_BIN: the built example (cargo build --release -p mapknee-maps
# --example nsop; target/release/examples/nsop). Env: GO (default
# /usr/lib/go-1.19/bin/go), ROUNDS (rounds per run, 15).
set -euo pipefail
nsop=$(realpath "$1")
runs=${2:-5}
cd "$(dirname "$0")"
GO=${GO:-/usr/lib/go-1.19/bin/go}
ROUNDS=${ROUNDS:-15}
"$GO" version
lscpu | grep 'Model name' || true
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
uptime
gobin=$(mktemp)
results=$(mktemp)
trap 'rm -f "$gobin" "$results"' EXIT
"$GO" build -o "$gobin" nsop.go
for run in $(seq "$runs"); do
  # Alternate which side runs first.
  if [ $((run % 2)) -eq 1 ]; then order="go rust"; else order="rust go"; fi
  for side in $order; do
    if [ "$side" = go ]; then
      "$gobin" -rounds "$ROUNDS" | awk -v r="$run" '{print r, $1, $2, $3}' >>"$results"
    else
      # nsop prints "op map ns ns/op ..." lines; keep GoMap's and std's.
      "$nsop" "$ROUNDS" | awk -v r="$run" '$2 == "gomap" || $2 == "std" {print r, $1, $2, $3}' >>"$results"
    fi
  done
done
uptime
python3 - "$results" <<'PY'
import sys, statistics as st
ns = {}
for line in open(sys.argv[1]):
    run, op, who, x = line.split()
    ns.setdefault((op, who), {})[int(run)] = float(x)
print(f"{'op':10} {'go ns':>7} {'gomap ns':>9} {'std ns':>7} {'std/gomap':>10} {'std/go':>7} {'go/gomap':>9}  (medians over runs of per-run ratios)")
for op in ["get-hit", "get-miss", "insert"]:
    g, p, s = ns[(op, "go")], ns[(op, "gomap")], ns[(op, "std")]
    runs = sorted(set(g) & set(p) & set(s))
    med = lambda f: st.median(f(r) for r in runs)
    print(f"{op:10} {med(lambda r: g[r]):7.1f} {med(lambda r: p[r]):9.1f} {med(lambda r: s[r]):7.1f} "
          f"{med(lambda r: s[r] / p[r]):10.2f} {med(lambda r: s[r] / g[r]):7.2f} {med(lambda r: g[r] / p[r]):9.2f}")
PY
