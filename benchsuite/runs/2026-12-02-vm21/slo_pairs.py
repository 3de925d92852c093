# SLO capacity and knee per map x mix, pair ratios (max/min) per pair:  python3 slo_pairs.py DIR...
import json,sys
for dd in sys.argv[1:]:
    for p in (1,2,3):
        try:
            a=json.load(open(f'{dd}/a{p}/results.json')); b=json.load(open(f'{dd}/b{p}/results.json'))
        except FileNotFoundError: continue
        def figs(d,key):
            out={}
            for x in d['runs']:
                k=(x['map'],x['mix']['name'])
                if key=='slo': v=(x.get('slo') or {}).get('ops_per_sec')
                else: v=(x.get('knee') or {}).get('ops_per_sec')
                out[k]=v
            return out
        for key in ('knee','slo'):
            fa,fb=figs(a,key),figs(b,key)
            r=[max(fa[k],fb[k])/min(fa[k],fb[k]) for k in fa if fa.get(k) and fb.get(k)]
            print(dd,'pair',p,key,f'{sum(x<=1.2 for x in r)}/{len(r)} within 20 %, worst {max(r):.2f}')
