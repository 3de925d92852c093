#!/usr/bin/env bash
# Alternates pairs of default runs of two builds: round r runs one pair
# (`mapknee run --out aR`, `--out bR`, `mapknee compare`) of each build,
# the order of the builds swapped every round.
#   alt-pairs.sh ROUNDS OUTDIR NAME=MAPKNEE NAME=MAPKNEE
# Writes OUTDIR/NAME/{aR,bR}/ and OUTDIR/NAME/cmpR.txt; summarise each
# NAME folder with benchsuite/repro/summarize.py.
set -u
rounds=$1 out=$2; shift 2
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then builds="$*"; else builds=$(printf '%s\n' "$@" | tac | tr '\n' ' '); fi
  for b in $builds; do
    name=${b%%=*} mk=${b#*=}
    mkdir -p "$out/$name"
    for s in a b; do
      echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $name run --out $out/$name/$s$r"
      "$mk" run --out "$out/$name/$s$r" > "$out/$name/$s$r.txt" 2>&1
    done
    "$mk" compare "$out/$name/a$r/results.json" "$out/$name/b$r/results.json" > "$out/$name/cmp$r.txt" 2>&1
    echo "exit $?" >> "$out/$name/cmp$r.txt"
  done
done
echo "== $(date +%T) done"
