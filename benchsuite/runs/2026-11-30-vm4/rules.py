import json, statistics, sys, math
def load(d, n):
    r = json.load(open(f'{d}/{n}/results.json'))
    return {(x['mix']['name'], x['map']): x for x in r['runs']}
def steps(run): return sorted([s for s in run['steps'] if s.get('target_ops_per_sec') and not s.get('interrupted')], key=lambda s: s['target_ops_per_sec'])
def sat(s): return s['ops'] < 0.95 * s['arrivals'] if s['arrivals'] else False
def typ(s): return s.get('typical_p99_ns') or s['latency_ns']['p99']
def p99_at(st, x, limit):
    pts=[[s['target_ops_per_sec'], max(1,typ(s))] for s in st if s['target_ops_per_sec']<limit]
    m=float('inf')
    for p in reversed(pts): m=min(m,p[1]); p[1]=m
    below=[p for p in pts if p[0]<=x]
    if not below: return None
    b=below[-1]; above=[p for p in pts if p[0]>x]
    if not above: return b[1]
    a=above[0]; t=math.log(x/b[0])/math.log(a[0]/b[0])
    return math.exp(math.log(b[1])+t*math.log(a[1]/b[1]))
def knee(run, rule, J=3):
    J = 4 if rule == "N4" else J
    st = steps(run)
    if not st: return None
    base = statistics.median(sorted(typ(s) for s in st[:3]))
    def ref(at):
        if rule=='R0': return base
        r=at['target_ops_per_sec']; return max(base, p99_at(st, r/2, r) or 0)
    def past(at, s):
        if sat(s): return True
        return typ(s) >= J*max(ref(at), s.get('floor_p99_ns') or 0)
    for i in range(len(st)-1):
        if past(st[i],st[i]) and past(st[i],st[i+1]): return st[i]['target_ops_per_sec']
    return None
names = ['a1','b1','a2','b2','a3','b3']
for d in sys.argv[1:]:
    runs = {n: load(d, n) for n in names}
    keys = list(runs['a1'])
    for rule in ["R0","N","N4"]:
        out=[]
        for p in (1,2,3):
            a, b = runs[f'a{p}'], runs[f'b{p}']
            ok=0; ratios=[]
            for kk in keys:
                ka, kb = knee(a[kk], rule), knee(b[kk], rule)
                if ka and kb:
                    r=max(ka,kb)/min(ka,kb); ratios.append(r); ok += r<=1.2
                elif ka is None and kb is None: ok+=1
            out.append(f'p{p} {ok}/15 (med {statistics.median(ratios) if ratios else 0:.2f} max {max(ratios) if ratios else 0:.2f})')
        print(d.split('/')[-1], rule, ' | '.join(out))
    if len(sys.argv)>1:
        for kk in keys:
            print('  ', kk, ' '.join(f"{(knee(runs[n][kk],'N') or 0)/1e6:6.2f}" for n in names), ' cap', ' '.join(f"{(runs[n][kk].get('capacity_ops_per_sec') or 0)/1e6:5.1f}" for n in names))
