#!/usr/bin/env bash
# Side by side: back-to-back pairs of default runs with --repeat 3 and with
# --repeat 5, alternating arm by arm (r3 pair, r5 pair, r3 pair, ...), each
# pair compared. Summarise each arm with ../../repro/summarize.py.
#   bash ab-repeat.sh MAPKNEE OUTDIR ROUNDS
set -u
mk=$1 out=$2 rounds=${3:-2}
for p in $(seq "$rounds"); do
  for r in 3 5; do
    d="$out/r$r"; mkdir -p "$d"
    for s in a b; do
      echo "== $(date +%T) repeat $r run $s$p"
      /usr/bin/time -f "wall %e s" "$mk" run --repeat "$r" --out "$d/$s$p" > "$d/$s$p.txt" 2>&1
    done
    "$mk" compare "$d/a$p/results.json" "$d/b$p/results.json" > "$d/cmp$p.txt" 2>&1
    echo "exit $?" >> "$d/cmp$p.txt"
  done
done
echo "== $(date +%T) done"
