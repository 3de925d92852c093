#!/usr/bin/env bash
# 2026-11-30 fifth session: the figures the closing notes of #10, #12 and #13
# show, measured one after the other on a quiet machine with the binaries
# of the final tree (MK: mapknee; AFTER_MIX / BEFORE_MIX: syncmap_mix;
# AFTER_NSOP / BEFORE_NSOP: nsop; "before" built from c212247, the start of
# the session). Writes into this folder.
set -u
cd "$(dirname "$0")"
here=$PWD
mk=${MK:-/tmp/mk-final}
log() { echo "== $(date +%T) $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
head -1 /proc/stat > stat.before

log "memory"
mkdir -p memory && $mk memory --sizes 64k,1M --out memory/out > memory/table.txt 2>&1
log "atomics"
mkdir -p atomics && $mk atomics --out atomics/out > atomics/table.txt 2>&1

log "false sharing: sharded vs sharded-unpadded, 3 runs"
mkdir -p false-sharing
for i in 1 2 3; do
  $mk run --quick --repeat 3 --maps sharded,sharded-unpadded --mix read-mostly --mix mixed --mix write-heavy \
    --out false-sharing/run$i > false-sharing/run$i.txt 2>&1
done

log "nsop before/after, 5 rounds alternated"
mkdir -p nsop
for i in 1 2 3 4 5; do
  echo "round $i before" >> nsop/nsop.txt; $BEFORE_NSOP >> nsop/nsop.txt 2>&1
  echo "round $i after" >> nsop/nsop.txt; $AFTER_NSOP >> nsop/nsop.txt 2>&1
done

log "Go 1.19 sync.Map vs SyncMap before/after"
mkdir -p go
(cd ../../go && ./compare.sh "$AFTER_MIX" "$BEFORE_MIX") > go/compare.txt 2>&1

log "trace and profile"
mkdir -p trace
$mk trace --maps syncmap,rwlock --mix write-heavy --out trace/out > trace/trace.txt 2>&1
$mk profile --maps syncmap --at knee --out trace/profile > trace/profile.txt 2>&1
head -1 /proc/stat > stat.after
log done
