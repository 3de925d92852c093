#!/usr/bin/env python3
# usage: gomap2-ab.py ROUNDS LOGFILE BIN... ; alternates BINs each round, prints raw and medians
import subprocess, sys, statistics, re
rounds=int(sys.argv[1]); log=open(sys.argv[2],'a'); bins=sys.argv[3:]
res={b:{} for b in bins}
for r in range(rounds):
    for b in bins:
        out=subprocess.run([b],capture_output=True,text=True).stdout
        log.write(f"== {b} round {r+1}\n{out}")
        for line in out.splitlines():
            m=re.match(r"(\w+)\s+get-hit\s+([\d.]+)\s+get-miss\s+([\d.]+)\s+insert\s+([\d.]+)",line)
            if m and m.group(1) in ("gomap","std"):
                for k,v in zip(("hit","miss","insert"),m.groups()[1:]):
                    res[b].setdefault((m.group(1),k),[]).append(float(v))
for b in bins:
    print(b)
    for key,vals in sorted(res[b].items()):
        print(f"  {key[0]:6} {key[1]:6} median {statistics.median(vals):6.1f}  raw {vals}")
    g=res[b]
    for k in ("hit","miss","insert"):
        rs=[s_/g_ for s_,g_ in zip(g[('std',k)],g[('gomap',k)])]
        print(f"  per-run std/gomap {k:6}: median {statistics.median(rs):.2f}x raw {[round(x,2) for x in rs]}")
    print(f"  ratio std/gomap: hit {statistics.median(g[('std','hit')])/statistics.median(g[('gomap','hit')]):.2f}x  insert {statistics.median(g[('std','insert')])/statistics.median(g[('gomap','insert')]):.2f}x  miss {statistics.median(g[('std','miss')])/statistics.median(g[('gomap','miss')]):.2f}x")
