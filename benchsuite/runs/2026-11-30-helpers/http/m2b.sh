#!/usr/bin/env bash
# mapknee http vs oha at 5000/s, 10 s each, alternated, with the service
# pinned to core 1 (generators on core 0) and unpinned (generators unpinned).
set -u
B=/work/target-http/release/mapknee
uptime
for mode in ${MODES:-pinned unpinned}; do
  if [ $mode = pinned ]; then SC="--cores 1"; GC="--cores 0/1"; TS="taskset -c 0"; else SC=""; GC="--cores off"; TS=""; fi
  $B serve --map rwlock --addr 127.0.0.1:18097 $SC > serve8.log 2>&1 &
  SP=$!
  sleep 4
  for rep in 1 2; do
    $B http --url http://127.0.0.1:18097 --path /orders/1234 --rates 5000 --step 10s --warmup 1s --connections 32 $GC --format json 2>/dev/null | python3 -c "
import json,sys;r=json.load(sys.stdin);s=r['runs'][0]['steps'][0];print('$mode mapknee p50_us',s['latency_ns']['p50']/1e3,'p99_us',s['latency_ns']['p99']/1e3,'ach',round(s['achieved_ops_per_sec']))"
    $TS oha --no-tui --latency-correction -q 5000 -z 10s -c 32 --output-format json http://127.0.0.1:18097/orders/1234 | python3 -c "
import json,sys;r=json.load(sys.stdin);p=r['latencyPercentiles'];print('$mode oha     p50_us',p['p50']*1e6,'p99_us',p['p99']*1e6,'rps',round(r['summary']['requestsPerSec']))"
  done
  kill -TERM $SP; wait $SP
done
uptime
