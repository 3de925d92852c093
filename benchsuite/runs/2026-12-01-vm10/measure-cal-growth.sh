#!/usr/bin/env bash
# Calibration (5 even, 5 Poisson) and growth, on this session's machine.
#   bash measure-cal-growth.sh MAPKNEE   (from this folder)
set -u
mk=$1
mkdir -p cal growth
for i in 1 2 3 4 5; do
  for a in even poisson; do
    "$mk" run --maps synthetic:2us --mix read-mostly --arrivals $a --repeat 1 --step 300ms \
      --format json > cal/$a-$i.json 2> cal/$a-$i.err
  done
done
python3 ../../repro/calibration.py cal > cal/summary.txt
"$mk" growth --maps gomap,std --inserts 4000000 --out growth > growth/growth.txt 2>&1
