#!/bin/sh
# Alternates `pair` example binaries built from different trees (before /
# after), ROUNDS times each, one round of PAIRS sharded/dashmap pairs per
# invocation; order of the binaries reversed every other round.
# Usage: [THREADS=n] alternate.sh ROUNDS PAIRS BIN...   (under flock /tmp/mapknee-quiet.lock)
set -eu
rounds=$1; pairs=$2; shift 2
echo "# $(date -u +%FT%TZ) $(lscpu | grep 'Model name' | tr -s ' ') · clock $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource) · $(uptime | sed 's/.*load/load/')"
r=1
while [ "$r" -le "$rounds" ]; do
  if [ $((r % 2)) -eq 1 ]; then bins="$*"; else bins=$(printf '%s\n' "$@" | tac | tr '\n' ' '); fi
  for bin in $bins; do
    echo "## round $r $(basename "$bin") · $(uptime | sed 's/.*load/load/')"
    "$bin" sharded dashmap 1 "$pairs" "${THREADS:-2}"
  done
  r=$((r + 1))
done
