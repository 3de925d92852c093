#!/usr/bin/env bash
# 2026-12-01 seventh session: three back-to-back pairs of default runs and
# the synthetic 2us/3us pair (#9's headline), with the release binary of
# 16e2efe (placement-aware compare, remixed shard choice), on a quiet
# machine. Writes into this folder.   MK: that mapknee (default /tmp/mk-vm8)
set -u
cd "$(dirname "$0")"
mk=${MK:-/tmp/mk-vm8}
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
lscpu | grep 'Model name'; echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
mkdir -p pairs
for p in 1 2 3; do
  for s in a b; do
    log "run --out pairs/$s$p"
    /usr/bin/time -f "wall %e s" $mk run --out pairs/$s$p > pairs/$s$p.txt 2>&1
  done
  $mk compare pairs/a$p/results.json pairs/b$p/results.json > pairs/cmp$p.txt 2>&1; echo "exit $?" >> pairs/cmp$p.txt
done
log "synthetic 2us / 3us"
$mk run --maps synthetic:2us --mix read-mostly --out pairs/s2 > pairs/s2.txt 2>&1
$mk run --maps synthetic:3us --mix read-mostly --out pairs/s3 > pairs/s3.txt 2>&1
$mk compare pairs/s2/results.json pairs/s3/results.json > pairs/cmp-synth.txt 2>&1; echo "exit $?" >> pairs/cmp-synth.txt
log done
