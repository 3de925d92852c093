#!/usr/bin/env bash
# 2026-11-30 fourth session (#9): the knee rate where the p99 crosses its
# line, and compare's overlap rule. One after the other on a quiet machine, after
# `cargo build --release -p mapknee`. Writes into this folder.
set -u
cd "$(dirname "$0")"
mk=${MK:-/tmp/mkA}
log() { echo "== $(date +%T) $*"; }
head -1 /proc/stat > stat.before
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
log "calibration"
for arr in even poisson; do
  for i in 1 2 3 4 5; do
    $mk run --maps synthetic:2us --mix read-mostly --arrivals $arr --repeat 1 --step 300ms --format json > cal-$arr-$i.json 2> cal-$arr-$i.err
  done
done
head -1 /proc/stat > stat.after
log done
