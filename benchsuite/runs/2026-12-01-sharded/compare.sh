#!/bin/sh
# sharded vs dashmap closed-loop capacity (`mapknee scale`, 2 threads), per mix,
# for one or more mapknee binaries (e.g. before / after a change).
# Alternates: binaries in turn (order reversed every other round) and the
# map order inside each process; prints one line per process and, at the
# end, the median sharded/dashmap ratio per binary and mix.
# Usage: compare.sh ROUNDS DURATION BIN...   (run it under flock /tmp/mapknee-quiet.lock)
set -eu
rounds=$1; dur=$2; shift 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(lscpu | grep 'Model name' | tr -s ' ') · $(uptime | sed 's/.*load/load/')"
r=1
while [ "$r" -le "$rounds" ]; do
  if [ $((r % 2)) -eq 1 ]; then bins="$*"; maps=sharded,dashmap; else bins=$(printf '%s\n' "$@" | tac | tr '\n' ' '); maps=dashmap,sharded; fi
  for mix in read-mostly mixed write-heavy; do
    for bin in $bins; do
      "$bin" scale --maps "$maps" --mix "$mix" --threads 2 --duration "$dur" --out "$tmp/o" >/dev/null 2>&1
      python3 - "$tmp/o/results.json" "$(basename "$bin")" "$mix" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ops = {run["map"]: run["points"][0]["ops_per_sec"] for run in d["runs"]}
print(f"round {sys.argv[4]} {sys.argv[2]:<16} {sys.argv[3]:<12} sharded {ops['sharded']/1e6:7.3f}M dashmap {ops['dashmap']/1e6:7.3f}M ratio {ops['sharded']/ops['dashmap']:.3f}")
PY
    done
  done
  r=$((r + 1))
done | tee "$tmp/lines"
echo "# medians of sharded/dashmap"
python3 - "$tmp/lines" <<'PY'
import sys, statistics, collections
acc = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    acc[(f[2], f[3])].append(float(f[-1]))
for (b, m), v in acc.items():
    print(f"{b:<16} {m:<12} median {statistics.median(v):.3f}  raw {' '.join(f'{x:.3f}' for x in v)}")
PY
