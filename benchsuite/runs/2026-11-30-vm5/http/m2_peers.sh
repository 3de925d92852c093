#!/usr/bin/env bash
# Peer agreement at a fixed rate below the knee: mapknee http vs oha
# (latency-corrected, -q) vs wrk (closed loop), against one `mapknee serve
# --map rwlock` pinned to core 1; every generator pinned to core 0.
# Alternated A B C, repeated REPS times. GET of cached orders only.
set -u
B=${B:-/tmp/mk5}
RATE=${RATE:-5000}; DUR=${DUR:-30}; REPS=${REPS:-2}; C=32
lscpu | grep 'Model name'; cat /sys/devices/system/clocksource/clocksource0/current_clocksource; uptime
$B serve --map rwlock --addr 127.0.0.1:18090 --cores 1 > serve.log 2>&1 &
SP=$!
trap 'kill -TERM $SP 2>/dev/null; wait $SP' EXIT
sleep 4
for rep in $(seq 1 $REPS); do
  echo "== rep $rep mapknee"
  $B http --url http://127.0.0.1:18090 --mix 100/0/0:0 --rates $RATE --step ${DUR}s --warmup 1s --connections $C --cores 0/1 --format json 2>/dev/null > mk_$rep.json
  python3 -c "
import json;r=json.load(open('mk_$rep.json'));s=r['runs'][0]['steps'][0]
print('mapknee', 'ach', round(s['achieved_ops_per_sec']), 'p50_us', s['latency_ns']['p50']/1e3, 'p99_us', s['latency_ns']['p99']/1e3, 'svc_p50_us', s['service_ns']['p50']/1e3, 'svc_p99_us', s['service_ns']['p99']/1e3, 'errors', s['counters'].get('errors'))"
  echo "== rep $rep oha"
  taskset -c 0 oha --no-tui --latency-correction -q $RATE -z ${DUR}s -c $C --output-format json "http://127.0.0.1:18090/orders/1234" > oha_$rep.json 2>/dev/null
  python3 -c "
import json;r=json.load(open('oha_$rep.json'))
s=r['summary'];p=r['latencyPercentiles']
print('oha', 'rps', round(s['requestsPerSec']), 'p50_us', p['p50']*1e6, 'p99_us', p['p99']*1e6, 'success', s['successRate'])"
  echo "== rep $rep wrk"
  taskset -c 0 wrk -t1 -c$C -d${DUR}s --latency "http://127.0.0.1:18090/orders/1234" > wrk_$rep.txt 2>&1
  grep -E 'Requests/sec| 50%| 99%|requests in' wrk_$rep.txt | tr -s ' ' | tr '\n' ' '; echo
done
uptime
