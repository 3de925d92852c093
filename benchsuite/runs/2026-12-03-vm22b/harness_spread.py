# Does the harness's start-up cost per transaction (the no-op map timed
# before the run, `machine.harness_ns_per_op`) tell two runs' machines
# apart?  For every stored back-to-back pair of default runs
# (benchsuite/runs/*/*/aN, bN): the two runs' harness figures and how many
# of the pair's knees agreed within 20 %; for several spreads, the pairs a
# "harness costs more than X apart" check would withhold, their knees'
# agreement, and the pairs with every knee within.
#   python3 benchsuite/runs/2026-12-03-vm22b/harness_spread.py
import os
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import json, glob
data = []
for a in sorted(glob.glob('*/*/a[0-9]/results.json')):
    b = os.path.join(os.path.dirname(os.path.dirname(a)), 'b' + os.path.basename(os.path.dirname(a))[1:], 'results.json')
    if not os.path.exists(b):
        continue
    try:
        A = json.load(open(a)); B = json.load(open(b))
    except Exception:
        continue
    ha = A.get('machine', {}).get('harness_ns_per_op'); hb = B.get('machine', {}).get('harness_ns_per_op')
    if not ha or not hb:
        continue
    def knees(d):
        return {(x['map'], x['mix']['name'] if isinstance(x['mix'], dict) else x['mix']): (x.get('knee') or {}).get('ops_per_sec') for x in d['runs']}
    ka, kb = knees(A), knees(B)
    r = [kb[k] / ka[k] for k in ka if ka.get(k) and kb.get(k)]
    if len(r) < 10:
        continue
    data.append((a, max(ha, hb) / min(ha, hb), sum(1 / 1.2 <= x <= 1.2 for x in r), len(r)))
print(f'{len(data)} pairs with a harness figure on both sides')
for th in (1.05, 1.10, 1.15, 1.20, 1.30):
    hi = [0, 0, 0, 0]; lo = [0, 0, 0, 0]
    for _, s, w, n in data:
        g = hi if s > th else lo
        g[0] += w; g[1] += n; g[2] += 1; g[3] += (w == n)
    f = lambda g: f'{g[2]:3d} pairs, knees within {g[0] / g[1]:.2f}, whole {g[3]}' if g[1] else f'{g[2]:3d} pairs'
    print(f'harness apart > {th:.2f}: withheld {f(hi)};  kept {f(lo)}')
for a, s, w, n in sorted(data, key=lambda t: -t[1])[:12]:
    print(f'  {s:5.2f}  {w:2d}/{n}  {a}')
