#!/usr/bin/env bash
# Side by side: back-to-back pairs of default runs measured in this process
# (--processes 0, the old way) and in one process per repetition (the new
# default), alternating arm by arm (p0 pair, p5 pair, p0 pair, ...), each
# pair compared; then the synthetic 2us/3us pair on the new default.
# Summarise each arm with ../../repro/summarize.py.
#   bash ab-processes.sh MAPKNEE OUTDIR ROUNDS
set -u
mk=$1 out=$2 rounds=${3:-3}
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
for p in $(seq "$rounds"); do
  for arm in p0 p5; do
    d="$out/$arm"; mkdir -p "$d"
    args=""; [ "$arm" = p0 ] && args="--processes 0"
    for s in a b; do
      log "$arm run $s$p"
      /usr/bin/time -f "wall %e s" "$mk" run $args --out "$d/$s$p" > "$d/$s$p.txt" 2>&1
    done
    "$mk" compare "$d/a$p/results.json" "$d/b$p/results.json" > "$d/cmp$p.txt" 2>&1
    echo "exit $?" >> "$d/cmp$p.txt"
  done
done
d="$out/p5"
log "synthetic 2us / 3us"
"$mk" run --maps synthetic:2us --mix read-mostly --out "$d/s2" > "$d/s2.txt" 2>&1
"$mk" run --maps synthetic:3us --mix read-mostly --out "$d/s3" > "$d/s3.txt" 2>&1
"$mk" compare "$d/s2/results.json" "$d/s3/results.json" > "$d/cmp-synth.txt" 2>&1
echo "exit $?" >> "$d/cmp-synth.txt"
log done
