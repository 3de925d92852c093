#!/usr/bin/env bash
# Soak: one `mapknee serve --map rwlock` (SQLite, core 1) driven by one
# `mapknee http` step of MINUTES minutes at RATE (core 0); the service's RSS
# sampled every 30 s; per-minute figures from the step's 10 ms timeline.
set -u
B=${B:-/tmp/mk5}
RATE=${RATE:?}; MINUTES=${MINUTES:-10}
uptime
$B serve --map rwlock --addr 127.0.0.1:18093 --cores 1 > serve5.log 2>&1 &
SP=$!
trap 'kill -TERM $SP 2>/dev/null; wait $SP; echo "serve exit $?"' EXIT
sleep 2
rss() { grep VmRSS /proc/$SP/status | awk '{print $2}'; }
( for i in $(seq 0 $((MINUTES*2))); do echo "$((i*30)) s: rss $(rss) KiB"; sleep 30; done ) > rss.log &
RP=$!
$B http --url http://127.0.0.1:18093 --rates $RATE --step ${MINUTES}m --warmup 1s --connections 32 --format json 2>soak.err > soak.json
echo "http exit $?"
kill $RP 2>/dev/null
echo "rss after: $(rss) KiB"; head -1 rss.log; tail -2 rss.log
python3 - <<'PY'
import json
r=json.load(open('soak.json'));s=r['runs'][0]['steps'][0];c=s['counters']
print('whole step: achieved', round(s['achieved_ops_per_sec']), 'p50_us', s['latency_ns']['p50']/1e3, 'p99_us', s['latency_ns']['p99']/1e3, 'max_ms', s['latency_ns']['max']/1e6)
print('errors', c.get('errors'), 'status', {k:v for k,v in c.items() if k.startswith('status_')}, 'store_errors', c.get('server_store_errors'), 'backlog', s['backlog'])
tl=s['timeline']
for m in range(0, len(tl)//6000):
    w=tl[m*6000:(m+1)*6000]; ops=sum(x['ops'] for x in w)
    p=sorted(x['p99_ns'] for x in w if x['ops']>0)
    print('minute', m+1, 'ops', ops, 'median window p99_us', p[len(p)//2]/1e3, '95th pct window p99_us', p[int(len(p)*0.95)]/1e3)
PY
curl -s http://127.0.0.1:18093/metrics | grep -E '^mapknee_cache_(entries|evictions|hit_ratio)'
uptime
