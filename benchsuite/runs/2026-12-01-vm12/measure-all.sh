#!/usr/bin/env bash
# Every figure #9 asks for, on this session's machine, with the final binary:
# three back-to-back pairs of default runs and the synthetic pair
# (pairs.sh), the noop table, calibration (5 even, 5 Poisson) and growth.
#   bash measure-all.sh MAPKNEE   (from this folder)
set -u
mk=$1
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
bash ../../repro/pairs.sh "$mk" pairs 3
log "noop table"
mkdir -p noop cal growth
"$mk" run --maps noop --rates 1M..20M/8 --out noop > noop/table.txt 2>&1
log "calibration"
for i in 1 2 3 4 5; do
  for a in even poisson; do
    "$mk" run --maps synthetic:2us --mix read-mostly --arrivals $a --repeat 1 --step 300ms \
      --format json > cal/$a-$i.json 2> cal/$a-$i.err
  done
done
python3 ../../repro/calibration.py cal > cal/summary.txt
log "growth"
"$mk" growth --maps gomap,std --inserts 4000000 --out growth > growth/growth.txt 2>&1
log done
