#!/usr/bin/env bash
# 2026-12-01 eighth session: #13's figures on the tree at 61359dd (release
# binary MK), one after the other on a quiet machine. Writes into this folder.
set -u
cd "$(dirname "$0")"
mk=${MK:-/tmp/mk-13}
export PATH=$PATH:/usr/lib/go-1.19/bin
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
lscpu | grep 'Model name'; echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
log memory
mkdir -p memory && $mk memory --sizes 64k,1M --out memory/out > memory/table.txt 2>&1
log atomics
mkdir -p atomics && $mk atomics --out atomics/out > atomics/table.txt 2>&1
log "false sharing: sharded vs sharded-unpadded, 3 runs"
mkdir -p false-sharing
for i in 1 2 3; do
  $mk run --quick --repeat 3 --maps sharded,sharded-unpadded --mix read-mostly --mix mixed --mix write-heavy \
    --out false-sharing/run$i > false-sharing/run$i.txt 2>&1
done
log done
