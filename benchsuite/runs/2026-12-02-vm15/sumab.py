import re,sys,statistics as st
cur=None; d={}
for l in open(sys.argv[1]):
    m=re.match(r'== (\w+) (\d+)',l)
    if m: cur=m.group(1); continue
    m=re.match(r'(\S+)\s+(\w+)\s+([\d.]+) ns/op\s+std/this ([\d.]+)',l)
    if m and m.group(2)!='std': d.setdefault((cur,m.group(2),m.group(1)),[]).append((float(m.group(3)),float(m.group(4))))
for k,v in sorted(d.items()):
    print(*k, "ns", [x[0] for x in v], "ratio", [x[1] for x in v], "median %.3f" % st.median(x[1] for x in v))
