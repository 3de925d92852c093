#!/usr/bin/env python3
"""Re-judges the six default runs offline with alternative knee rules, from the steps they
measured (no new measurement; bisection points were chosen by the rule in force, R0):
R0 the current rule, typical p99 >= 3x max(base, floor) or achieved < 95 % of arrivals;
R1/R1b the p99 part must also reach 10x / 5x the noise floor; R2 the base is the step
at <= 50 % of capacity; R3 throughput only; R4 the p99 part must also reach 100 us.
A knee is the first bad step whose next step is bad too. Prints knees within +-20 %
per pair."""
import json, statistics, sys
# The run folder: this script's own, or the one given (e.g. ../2026-11-30-vm3).
here = sys.argv[1] if len(sys.argv) > 1 else __import__('os').path.dirname(__import__('os').path.abspath(__file__))
def load(n):
    r = json.load(open(f'{here}/{n}/results.json'))
    return {(x['mix']['name'], x['map']): x for x in r['runs']}
def steps(run):
    return sorted(run['steps'], key=lambda s: s['target_ops_per_sec'])
def sat(s):
    return s['ops'] < 0.95 * s['arrivals'] if s['arrivals'] else False
def typ(s):
    return s.get('typical_p99_ns') or s['latency_ns']['p99']
def knee(run, rule):
    st = steps(run)
    if not st: return None
    base = statistics.median(sorted(typ(s) for s in st[:3])) if len(st) >= 3 else typ(st[0])
    cap = run.get('capacity_ops_per_sec') or 0
    if rule == 'R2':
        below = [s for s in st if s['target_ops_per_sec'] <= 0.5 * cap]
        if below: base = typ(below[-1])
    def bad(s):
        f = s.get('floor_p99_ns') or 0
        if sat(s): return True
        if rule in ('R0', 'R2'): return typ(s) >= 3 * max(base, f)
        if rule == 'R1': return typ(s) >= max(3 * base, 10 * f)
        if rule == 'R1b': return typ(s) >= max(3 * base, 5 * f)
        if rule == 'R3': return False
        if rule == 'R4': return typ(s) >= max(3 * base, 100_000)
    b = [bad(s) for s in st]
    for i in range(len(b)):
        if b[i] and (i + 1 < len(b) and b[i + 1]):
            return st[i]['target_ops_per_sec']
    return None
runs = {n: load(n) for n in ['a1','b1','a2','b2','a3','b3']}
keys = list(runs['a1'])
for rule in ['R0','R1','R1b','R2','R3','R4']:
    out = []
    for p in (1,2,3):
        a, b = runs[f'a{p}'], runs[f'b{p}']
        ok = 0; ratios = []
        for k in keys:
            ka, kb = knee(a[k], rule), knee(b[k], rule)
            if ka and kb:
                r = max(ka,kb)/min(ka,kb); ratios.append(r); ok += r <= 1.2
            elif ka is None and kb is None: ok += 1
        out.append(f'pair{p} {ok}/15 (median ratio {statistics.median(ratios) if ratios else 0:.2f})')
    print(rule, ' | '.join(out))
