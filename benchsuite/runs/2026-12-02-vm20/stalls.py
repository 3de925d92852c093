# Per folder of pairs (a1..b3): the folded steps whose workers saw a gap of
# over 1 ms between two clock reads (Step::stalls):  python3 stalls.py DIR...
import json,sys,os
for dd in sys.argv[1:]:
  for r in ['a1','b1','a2','b2','a3','b3']:
    f=f'{dd}/{r}/results.json'
    if not os.path.exists(f): continue
    d=json.load(open(f))
    n=big=mid=0; tot=0.0; dur=0.0
    for x in d['runs']:
        for s in x['steps']:
            st=s.get('stalls')
            if not st: continue
            n+=1; dur+=s['duration_s']
            if st['longest_ns']>1e6: big+=1
            if st['longest_ns']>2e5: mid+=1
    print(dd,r,'steps',n,'>200us',mid,'>1ms',big, f'{big/n:.3f}')
