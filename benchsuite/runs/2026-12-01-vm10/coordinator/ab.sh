#!/usr/bin/env bash
# Before (10 ms coordinator wake-ups) / after (50 ms, worker 0 samples the
# counters), alternated: noop and dashmap steps, typical p99 and stalls.
#   bash ab.sh BEFORE AFTER ROUNDS   (from this folder)
set -u
before=$1 after=$2 rounds=${3:-3}
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    mk=$before; [ $side = after ] && mk=$after
    "$mk" run --maps noop,dashmap --mix write-heavy --rates 500k,1M,2M,3M,4M --repeat 1 --step 1s \
      --out $side-$r > $side-$r.txt 2>&1
  done
done
