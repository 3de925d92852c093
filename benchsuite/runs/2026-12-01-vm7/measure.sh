#!/usr/bin/env bash
# 2026-12-01 sixth session: the figures the closing notes of #13, #9 and #12
# show, measured one after the other on a quiet machine (no compiling) with
# release binaries of the final tree. Writes into this folder.
#   MK        mapknee of the final tree
#   MK_NORECL the same tree with SyncMap's background snapshot reclaimer off
#             (reclaim.rs BACKGROUND_MIN_ENTRIES = usize::MAX), for #12 3a
#   NSOP_AFTER/NSOP_BEFORE, MIX_AFTER/MIX_BEFORE: examples nsop and
#             syncmap_mix, "before" built from c212247 (before this work)
# PARTS: which parts to run (default all): mem atomics fs a3 nsop go noop growth pairs cal
set -u
cd "$(dirname "$0")"
mk=${MK:-/tmp/mk-final}
parts=${PARTS:-"mem atomics fs a3 nsop go noop growth pairs cal"}
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
want() { [[ " $parts " == *" $1 "* ]]; }
lscpu | grep 'Model name'; echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

if want mem; then log memory
  mkdir -p memory && $mk memory --sizes 64k,1M --out memory/out > memory/table.txt 2>&1; fi
if want atomics; then log atomics
  mkdir -p atomics && $mk atomics --out atomics/out > atomics/table.txt 2>&1; fi
if want fs; then log "false sharing: sharded vs sharded-unpadded, 3 runs"
  mkdir -p false-sharing
  for i in 1 2 3; do
    $mk run --quick --repeat 3 --maps sharded,sharded-unpadded --mix read-mostly --mix mixed --mix write-heavy \
      --out false-sharing/run$i > false-sharing/run$i.txt 2>&1
  done; fi
if want a3; then log "#12 3a: syncmap write-heavy lowest steps, reclaimer on/off alternated, 6 each"
  mkdir -p reclaimer
  for i in 1 2 3 4 5 6; do
    for v in on off; do
      b=$mk; [ $v = off ] && b=$MK_NORECL
      echo "=== $v run $i $(date +%T)" >> reclaimer/runs.txt
      $b run --maps syncmap --mix write-heavy --rates 200k..800k/3 --repeat 1 --step 1s \
        --out reclaimer/$v$i >> reclaimer/runs.txt 2>&1
    done
  done; fi
if want nsop; then log "nsop before/after, 5 rounds alternated"
  mkdir -p nsop; : > nsop/nsop.txt
  for i in 1 2 3 4 5; do
    echo "round $i before" >> nsop/nsop.txt; $NSOP_BEFORE >> nsop/nsop.txt 2>&1
    echo "round $i after" >> nsop/nsop.txt; $NSOP_AFTER >> nsop/nsop.txt 2>&1
  done; fi
if want go; then log "Go 1.19 sync.Map vs SyncMap before/after"
  mkdir -p go
  (cd ../../go && ./compare.sh "$MIX_AFTER" "$MIX_BEFORE") > go/compare.txt 2>&1; fi
if want noop; then log "noop staircase"
  mkdir -p noop && $mk run --maps noop --rates 1M..20M/8 --out noop/out > noop/table.txt 2>&1; fi
if want growth; then log growth
  mkdir -p growth && $mk growth --maps gomap,std --inserts 4000000 --out growth/out > growth/table.txt 2>&1; fi
if want pairs; then
  for p in 1 2 3; do
    for s in a b; do
      log "run --out pairs/$s$p"; mkdir -p pairs
      /usr/bin/time -f "wall %e s" $mk run --out pairs/$s$p > pairs/$s$p.txt 2>&1
    done
    $mk compare pairs/a$p/results.json pairs/b$p/results.json > pairs/cmp$p.txt 2>&1; echo "exit $?" >> pairs/cmp$p.txt
  done
  log "synthetic 2us / 3us"
  $mk run --maps synthetic:2us --mix read-mostly --out pairs/s2 > pairs/s2.txt 2>&1
  $mk run --maps synthetic:3us --mix read-mostly --out pairs/s3 > pairs/s3.txt 2>&1
  $mk compare pairs/s2/results.json pairs/s3/results.json > pairs/cmp-synth.txt 2>&1; echo "exit $?" >> pairs/cmp-synth.txt
fi
if want cal; then log calibration
  mkdir -p cal
  for arr in even poisson; do
    for i in 1 2 3 4 5; do
      $mk run --maps synthetic:2us --mix read-mostly --arrivals $arr --repeat 1 --step 300ms --format json > cal/$arr-$i.json 2> cal/$arr-$i.err
    done
  done
fi
log done
