#!/usr/bin/env bash
# Side by side: Go 1.19's sync.Map (main.go, through `go run`) against
# mapknee's SyncMap (crates/maps/examples/syncmap_mix.rs), same workload,
# per mix. Runs are alternated (go, rust A, rust B, go, ...) `REPS` times per
# mix and the medians compared.
#
#   benchsuite/go/compare.sh AFTER_BIN [BEFORE_BIN]
#
# AFTER_BIN / BEFORE_BIN: built `syncmap_mix` examples (e.g. this tree's and
# one built from the `main` branch into another target dir). Env: GO (the
# go binary; default /usr/lib/go-1.19/bin/go), REPS (3), OPS (ops per
# thread, 4000000), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-/usr/lib/go-1.19/bin/go}
REPS=${REPS:-3}
OPS=${OPS:-4000000}
THREADS=${THREADS:-2}
after=$1
before=${2:-}
"$GO" version
lscpu | grep 'Model name' || true
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
uptime
rate() { sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p'; }
results=$(mktemp)
for mix in read-mostly mixed write-heavy; do
  for rep in $(seq "$REPS"); do
    echo "go $mix $("$GO" run main.go -mix "$mix" -ops "$OPS" -threads "$THREADS" | rate)" >>"$results"
    if [ -n "$before" ]; then
      echo "before $mix $("$before" "$mix" "$THREADS" "$OPS" | rate)" >>"$results"
    fi
    echo "after $mix $("$after" "$mix" "$THREADS" "$OPS" | rate)" >>"$results"
  done
done
uptime
python3 - "$results" <<'PY'
import sys, statistics
runs = {}
for line in open(sys.argv[1]):
    who, mix, r = line.split()
    runs.setdefault((who, mix), []).append(float(r))
print(f"{'mix':12} {'go Mops/s':>10} {'before':>8} {'after':>8} {'before/go':>10} {'after/go':>9}  (medians; runs)")
for mix in ["read-mostly", "mixed", "write-heavy"]:
    go = statistics.median(runs[("go", mix)])
    af = statistics.median(runs[("after", mix)])
    b = runs.get(("before", mix))
    bm = statistics.median(b) if b else float("nan")
    allruns = " ".join(f"{w}:" + ",".join(f"{x/1e6:.2f}" for x in runs.get((w, mix), [])) for w in ["go", "before", "after"])
    print(f"{mix:12} {go/1e6:10.2f} {bm/1e6:8.2f} {af/1e6:8.2f} {bm/go:10.2f} {af/go:9.2f}  {allruns}")
PY
rm -f "$results"
