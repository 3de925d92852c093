#!/usr/bin/env bash
# The highest rate each generator sustains against /healthz (closed loop),
# generator pinned to core 0, service to core 1; alternated, REPS times.
set -u
B=${B:-/tmp/mk5}
DUR=${DUR:-10}; REPS=${REPS:-3}; C=32
uptime
$B serve --map rwlock --addr 127.0.0.1:18091 --cores 1 --store sim:0 > serve3.log 2>&1 &
SP=$!
trap 'kill -TERM $SP 2>/dev/null; wait $SP' EXIT
sleep 1
for rep in $(seq 1 $REPS); do
  $B http --url http://127.0.0.1:18091 --path /healthz --rates auto --ladder-steps 2 --probe ${DUR}s --step 200ms --warmup 100ms --refine 0 --connections $C --cores 0/1 --format json 2>/dev/null > mk3_$rep.json
  python3 -c "
import json;r=json.load(open('mk3_$rep.json'));print('mapknee_closed', round(r['runs'][0]['capacity_ops_per_sec']))"
  taskset -c 0 oha --no-tui -z ${DUR}s -c $C --output-format json "http://127.0.0.1:18091/healthz" > oha3_$rep.json 2>/dev/null
  python3 -c "
import json;r=json.load(open('oha3_$rep.json'));print('oha_closed', round(r['summary']['requestsPerSec']))"
  taskset -c 0 wrk -t1 -c$C -d${DUR}s "http://127.0.0.1:18091/healthz" 2>&1 | grep Requests/sec | sed 's/^/wrk_closed /'
done
uptime
