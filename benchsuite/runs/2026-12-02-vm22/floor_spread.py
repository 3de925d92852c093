# How well does the noise floor tell two runs' machines apart?  For every
# stored back-to-back pair of default runs (benchsuite/runs/*/*/aN, bN), each
# run's floor (a statistic of Step::floor_p99_ns over all its open-loop
# steps) and how many of the pair's knees agreed within 20 %; for several
# statistics and spreads: the pairs a "floors more than X apart" check would
# withhold, their knees' agreement, and the pairs with every knee within.
# compare's FLOOR_SPREAD (1.5, the median) was chosen from this table.
#   python3 benchsuite/runs/2026-12-02-vm22/floor_spread.py
import os
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import json,glob,statistics as st,math
data=[]
for a in sorted(glob.glob('*/*/a[0-9]/results.json')):
    b=os.path.join(os.path.dirname(os.path.dirname(a)),'b'+os.path.basename(os.path.dirname(a))[1:],'results.json')
    if not os.path.exists(b): continue
    try: A=json.load(open(a)); B=json.load(open(b))
    except Exception: continue
    def fl(d): return [s['floor_p99_ns'] for x in d['runs'] for s in x['steps'] if s.get('floor_p99_ns')]
    def knees(d): return {(x['map'],x['mix']['name'] if isinstance(x['mix'],dict) else x['mix']):(x.get('knee') or {}).get('ops_per_sec') for x in d['runs']}
    fa,fb=fl(A),fl(B)
    if not fa or not fb: continue
    ka,kb=knees(A),knees(B)
    r=[kb[k]/ka[k] for k in ka if ka.get(k) and kb.get(k)]
    if len(r)<10: continue
    data.append((fa,fb,sum(0.8333<=x<=1.2 for x in r),len(r)))
stats={'median':st.median,'gmean':lambda v: math.exp(sum(map(math.log,v))/len(v)),'p25':lambda v: sorted(v)[len(v)//4],'p75':lambda v: sorted(v)[3*len(v)//4]}
for name,f in stats.items():
  for th in (1.3,1.5,2.0):
    hi=[0,0,0,0];lo=[0,0,0,0]
    for fa,fb,w,n in data:
        x,y=f(fa),f(fb); g=hi if max(x,y)/min(x,y)>th else lo
        g[0]+=w;g[1]+=n;g[2]+=1;g[3]+=(w==n)
    print(f'{name:6s} {th}: withheld {hi[2]:2d} pairs, knees within {hi[0]/hi[1]:.2f}, whole {hi[3]};  kept {lo[2]} pairs, within {lo[0]/lo[1]:.2f}, whole {lo[3]}')
