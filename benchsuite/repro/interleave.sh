#!/usr/bin/env bash
# Two maps' throughput measured by `examples/interleave.rs` (map A in every
# other sub-millisecond slice, map B in the rest) in N processes per build,
# A first in odd processes and B first in even ones: one process's ratio
# carries a placement bias of its own (an A/A run of one map against itself
# reads 0.93-1.10 here, the same sign in all three mixes, whichever map sits
# first), so a verdict needs several processes with the order swapped.
# An A/A control (B against itself) runs alongside with the first build.
#   benchsuite/repro/interleave.sh OUT N A B BIN...
# BIN: interleave binaries (`cargo build --release -p mapknee-load --example
# interleave`, copied), one per build compared; each process runs
# SECONDS_PER_MIX (env, default 1) seconds per mix. Summarise with interleave_summary.py OUT.
set -u
out=$1 n=$2 a=$3 b=$4
shift 4
secs=${SECONDS_PER_MIX:-1}
for i in $(seq 1 "$n"); do
  for bin in "$@"; do
    if (( i % 2 )); then first=$a second=$b; else first=$b second=$a; fi
    echo "== $(basename "$bin") $i $first/$second load $(cut -d' ' -f1 /proc/loadavg)"
    "$bin" "$first" "$second" "$secs" 2 500 1 | tail -3
  done
  echo "== A/A $i $b/$b"
  "$1" "$b" "$b" "$secs" 2 500 1 | tail -3
done > "$out"
