#!/usr/bin/env bash
# Attached cost: `mapknee scale` closed-loop throughput plain (A) vs under
# bpftrace running trace's own script (steps.bt: every mechanism probe
# counted) (B), alternated A B A B, 3 times per mix, one script.
set -u
D=/work/notes/trace-measure
S=/work/wt-trace/scripts/bpftrace/steps.bt
B=$D/mapknee-probes
lscpu | grep 'Model name'; uptime
for rep in 1 2 3; do
  for mix in read-mostly write-heavy; do
    args="scale --maps syncmap,rwlock,sharded --mix $mix --threads 2 --duration 1s --format json"
    $B $args 2>/dev/null > /tmp/ac-plain.json
    BPFTRACE_MAP_KEYS_MAX=1000000 bpftrace -q $S $B -c "$B $args" 2>/dev/null > /tmp/ac-traced.raw
    python3 -c "
import json
t=open('/tmp/ac-traced.raw').read()
i=t.index('{\n')
print(json.dumps(json.JSONDecoder().raw_decode(t[i:])[0]))" > /tmp/ac-traced.json
    for v in plain traced; do
      python3 -c "
import json
d=json.load(open('/tmp/ac-$v.json'))
for r in d['runs']:
    for p in r['points']:
        print('$rep $mix $v', r['map'], round(p['ops_per_sec']))
"
    done
  done
  uptime
done
