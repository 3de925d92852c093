#!/usr/bin/env bash
# Probe cost unattached: `mapknee scale` closed-loop throughput with the
# probes compiled in (A) vs built without the `probes` feature (B), same
# commit otherwise, alternated A B A B ... 5 times per mix, in one script.
set -u
D=/work/notes/trace-measure
lscpu | grep 'Model name'; cat /sys/devices/system/clocksource/clocksource0/current_clocksource; uptime
for rep in 1 2 3 4 5; do
  for mix in read-mostly mixed write-heavy; do
    for v in probes noprobes; do
      $D/mapknee-$v scale --maps syncmap,rwlock,sharded,gomap-rwlock --mix $mix --threads 2 --duration 1s --format json 2>/dev/null \
        | python3 -c "
import json,sys
d=json.load(sys.stdin)
for r in d['runs']:
    for p in r['points']:
        print('$rep $mix $v', r['map'], p['threads'], round(p['ops_per_sec']))
"
    done
  done
  uptime
done
