#!/usr/bin/env bash
# Is a knee a property of the process that measured it? N rounds; each
# round runs the same fixed-rate staircase in two fresh processes, one with
# address-space randomisation (ASLR) as usual and one without (setarch -R),
# alternating which goes first. Each process climbs the ladder 3 times
# (--repeat 3), so the repetitions inside a process can be set against the
# spread between processes (analyse.py).
#
#   bash process.sh MAPKNEE_BINARY OUT_DIR ROUNDS MAP MIX RATES
set -euo pipefail
mk=$1 out=$2 rounds=${3:-5} map=${4:-rwlock} mix=${5:-read-mostly} rates=${6:-4M..6.4M/7}
mkdir -p "$out"
lscpu | grep 'Model name'
cat /sys/devices/system/clocksource/clocksource0/current_clocksource
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then order="aslr noaslr"; else order="noaslr aslr"; fi
  for mode in $order; do
    pre=()
    [ "$mode" = noaslr ] && pre=(setarch "$(uname -m)" -R)
    start=$(date +%s)
    "${pre[@]}" "$mk" run --maps "$map" --mix "$mix" --rates "$rates" --repeat 3 \
      --step 500ms --format json >"$out/$mode-$i.json" 2>"$out/$mode-$i.err"
    echo "round $i $mode $(( $(date +%s) - start )) s"
  done
done
