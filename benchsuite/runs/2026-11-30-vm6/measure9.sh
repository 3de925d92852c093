#!/usr/bin/env bash
# 2026-11-30 fifth session (#9): repetitions outside the reference placement no
# longer judged. Same as the fourth session's vm5/measure.sh. One after the other on a quiet machine, after
# `cargo build --release -p mapknee`. Writes into this folder.
set -u
cd "$(dirname "$0")"
mk=${MK:-/tmp/mk-final}
log() { echo "== $(date +%T) $*"; }
head -1 /proc/stat > stat9.before
for p in 1 2 3; do
  for s in a b; do
    log "run --out $s$p"
    /usr/bin/time -f "wall %e s" $mk run --out $s$p > $s$p.txt 2>&1
  done
  log "compare a$p b$p"
  $mk compare a$p/results.json b$p/results.json > cmp$p.txt 2>&1; echo "exit $?" >> cmp$p.txt
done
log "synthetic 2us / 3us"
$mk run --maps synthetic:2us --mix read-mostly --out s2 > s2.txt 2>&1
$mk run --maps synthetic:3us --mix read-mostly --out s3 > s3.txt 2>&1
$mk compare s2/results.json s3/results.json > cmp-synth.txt 2>&1; echo "exit $?" >> cmp-synth.txt
[ "${CAL:-0}" = 1 ] || { head -1 /proc/stat > stat9.after; log done; exit 0; }
log "calibration"
for arr in even poisson; do
  for i in 1 2 3 4 5; do
    $mk run --maps synthetic:2us --mix read-mostly --arrivals $arr --repeat 1 --step 300ms --format json > cal-$arr-$i.json 2> cal-$arr-$i.err
  done
done
head -1 /proc/stat > stat9.after
log done
