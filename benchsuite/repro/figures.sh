#!/usr/bin/env bash
# #9's figures besides the pairs (pairs.sh), with one binary on one machine:
# the noop table, the calibration (5 even, 5 Poisson synthetic:2us runs) and
# growth (gomap vs std, 3 rounds).
#   benchsuite/repro/figures.sh MAPKNEE OUTDIR [PART...]
# PARTs: noop, cal, growth (default: all three, in that order). Writes
# OUTDIR/PART/ for each. Run on a quiet machine, after pairs.sh.
set -u
mk=$1 out=$2
shift 2
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(noop cal growth)
for part in "${parts[@]}"; do
  case $part in
    noop | cal | growth) ;;
    *) echo "figures.sh: unknown part $part (noop, cal, growth)" >&2; exit 2 ;;
  esac
done
repro=$(cd "$(dirname "$0")" && pwd)
cd "$out" || exit 2
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
for part in "${parts[@]}"; do
  mkdir -p "$part"
  log "$part"
  case $part in
    noop)
      "$mk" run --maps noop --rates 1M..20M/8 --out noop > noop/table.txt 2>&1 ;;
    cal)
      for i in 1 2 3 4 5; do
        for a in even poisson; do
          "$mk" run --maps synthetic:2us --mix read-mostly --arrivals $a --repeat 1 --step 300ms \
            --format json > cal/$a-$i.json 2> cal/$a-$i.err
        done
      done
      python3 "$repro/calibration.py" cal > cal/summary.txt ;;
    growth)
      "$mk" growth --maps gomap,std --inserts 4000000 --out growth > growth/growth.txt 2>&1 ;;
  esac
done
log done
