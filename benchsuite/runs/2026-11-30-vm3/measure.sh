#!/usr/bin/env bash
# Three pairs of default runs after the capacity probes were put behind the
# placement gate (the commit before the one adding this folder's results).
# Run from a quiet machine after `cargo build --release -p mapknee`.
set -u
cd "$(dirname "$0")"
mk=../../../target/release/mapknee
log() { echo "== $(date +%T) $*"; }
for p in 1 2 3; do
  for s in a b; do
    log "run --out $s$p"
    /usr/bin/time -f "wall %e s" $mk run --out $s$p > $s$p.txt 2>&1
  done
  log "compare a$p b$p"
  $mk compare a$p/results.json b$p/results.json > cmp$p.txt 2>&1; echo "exit $?" >> cmp$p.txt
done
log done
