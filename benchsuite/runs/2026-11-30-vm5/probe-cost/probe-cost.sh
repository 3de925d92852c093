#!/usr/bin/env bash
# #10's probe cost, unattached: `mapknee scale` closed-loop throughput of a
# build with the USDT probes (A: default features) against one without
# them (B: `cargo build --release -p mapknee --no-default-features`), same
# commit, alternated A B / B A per mix and round, 5 rounds, one script.
# Usage: probe-cost.sh A_BINARY B_BINARY > probe-cost.out
set -u
A=$1; B=$2
lscpu | grep 'Model name'; cat /sys/devices/system/clocksource/clocksource0/current_clocksource
echo "stapsdt notes: A $(readelf -n "$A" | grep -c stapsdt), B $(readelf -n "$B" | grep -c stapsdt)"
uptime
one() { # variant binary mix round
  "$2" scale --maps syncmap,rwlock,sharded,gomap-rwlock --mix "$3" --threads 2 --duration 1s --format json 2>/dev/null \
  | python3 -c "
import json,sys
d=json.load(sys.stdin)
for r in d['runs']:
    for p in r['points']:
        print('$4 $3 $1', r['map'], p['threads'], round(p['ops_per_sec']))
"
}
for round in 1 2 3 4 5; do
  for mix in read-mostly mixed write-heavy; do
    if [ $((round % 2)) -eq 1 ]; then one probes "$A" $mix $round; one noprobes "$B" $mix $round
    else one noprobes "$B" $mix $round; one probes "$A" $mix $round; fi
  done
  uptime
done
