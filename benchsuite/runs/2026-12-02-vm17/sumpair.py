import sys,re,statistics as st
cur=None; d={}
for l in open(sys.argv[1]):
    m=re.match(r'## round (\d+) (\S+)',l)
    if m: cur=m.group(2); continue
    m=re.match(r'(\S+)\s+sharded/dashmap: median of round medians ([\d.]+)',l)
    if m: d.setdefault((cur,m.group(1)),[]).append(float(m.group(2)))
bins=sorted(set(k[0] for k in d))
for mix in ['read-mostly','mixed','write-heavy']:
    print(mix, '  '.join('%s %.3f %s'%(b,st.median(d[(b,mix)]),d[(b,mix)]) for b in bins))
