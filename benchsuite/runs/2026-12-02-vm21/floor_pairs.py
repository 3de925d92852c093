# Does the noise floor tell when two runs' machines differed?  For every stored
# back-to-back pair (DIR/aN, DIR/bN), the ratio of the runs' median noise-floor
# p99 (Step::floor_p99_ns over all steps) against how many knees agreed within
# 20 % and the median knee ratio b/a.   python3 floor_pairs.py
import json,glob,os,statistics as st
rows=[]
for a in sorted(glob.glob('*/*/a[0-9]/results.json')):
    b=a.replace('/a','/b',1) if False else os.path.join(os.path.dirname(os.path.dirname(a)),'b'+os.path.basename(os.path.dirname(a))[1:],'results.json')
    if not os.path.exists(b): continue
    try: A=json.load(open(a)); B=json.load(open(b))
    except Exception: continue
    def floor(d): 
        v=[s['floor_p99_ns'] for x in d['runs'] for s in x['steps'] if s.get('floor_p99_ns')]
        return st.median(v) if v else None
    def knees(d): return {(x['map'],x['mix']['name'] if isinstance(x['mix'],dict) else x['mix']):(x.get('knee') or {}).get('ops_per_sec') for x in d['runs']}
    fa,fb=floor(A),floor(B)
    if not fa or not fb: continue
    ka,kb=knees(A),knees(B)
    r=[kb[k]/ka[k] for k in ka if ka.get(k) and kb.get(k)]
    if len(r)<10: continue
    within=sum(0.8333<=x<=1.2 for x in r)
    rows.append((max(fa,fb)/min(fa,fb), fb/fa, within, len(r), st.median(r), os.path.dirname(a)))
rows.sort()
for fr,fba,w,n,mk,name in rows: print(f'{name:45s} floor b/a {fba:5.2f} (ratio {fr:4.2f})  knees within 20 %: {w:2d}/{n}  median knee b/a {mk:4.2f}')
lo=[r for r in rows if r[0]<=1.5]; hi=[r for r in rows if r[0]>1.5]
for name,g in (('floors within 1.5x',lo),('floors > 1.5x apart',hi)):
    if g: print(name, len(g),'pairs; knees within 20 %:', sum(r[2] for r in g),'/',sum(r[3] for r in g), '; pairs with all within:', sum(r[2]==r[3] for r in g))
