#!/usr/bin/env python3
"""How the knees of same-build pairs of default runs vary, from the stored
pairs (run from benchsuite/runs): within a run (one repetition's knee), per
run (a share its repetitions hold in common), and whether a common
machine-speed factor per run and mix explains the changes."""
import json, math, os, statistics as st

FIVE = ['2026-12-02-vm14/pairs', '2026-12-01-vm12/pairs', '2026-12-01-vm12/p5',
        '2026-12-01-vm11/pairs-r5']
ALL = FIVE + ['2026-12-01-vm10/pairs-new', '2026-12-01-vm10/pairs0', '2026-12-01-vm10/pairs1']


def pairs(dirs):
    for d in dirs:
        for i in range(1, 4):
            fa, fb = f'{d}/a{i}/results.json', f'{d}/b{i}/results.json'
            if os.path.exists(fa) and os.path.exists(fb):
                idx = lambda f: {(r['mix']['name'], r['map']): r for r in json.load(open(f))['runs']}
                yield idx(fa), idx(fb)


within, med_diff, own_diff = [], [], []
for a, b in pairs(FIVE):
    for k in a.keys() & b.keys():
        la = [math.log(x['knee_ops_per_sec']) for x in a[k]['repetitions'] if x.get('knee_found')]
        lb = [math.log(x['knee_ops_per_sec']) for x in b[k]['repetitions'] if x.get('knee_found')]
        if len(la) >= 4 and len(lb) >= 4:
            within += [st.stdev(la), st.stdev(lb)]
            med_diff.append(abs(st.median(la) - st.median(lb)))
        if a[k]['knee'] and b[k]['knee']:
            own_diff.append(abs(math.log(a[k]['knee']['ops_per_sec'] / b[k]['knee']['ops_per_sec'])))
sd1 = st.median(within)
# |difference| of two medians of 5 independent normal draws: median of
# |N(0, 2 * 1.2^2 sd^2 / 5)| (1.2: a median's efficiency loss), 0.6745 sd.
indep = 0.6745 * sd1 * 1.2 * math.sqrt(2 / 5)
sd_diff, sd_indep = st.median(med_diff) / 0.6745, indep / 0.6745
run_share = math.sqrt(max(sd_diff ** 2 - sd_indep ** 2, 0) / 2)
print(f'map x mix knees with >= 4 repetition knees a side: {len(med_diff)}')
print(f'one repetition: sd of log knee within a run, median {sd1:.3f}')
print(f'medians of the repetitions, |log change| between runs: median {st.median(med_diff):.3f} '
      f'(independent repetitions would give {indep:.3f})')
print(f'per-run share (sd of log): {run_share:.3f}; sd of a change between runs {sd_diff:.3f}')
print(f"runs' own knees, |log change|: median {st.median(own_diff):.3f}, "
      f'p90 {sorted(own_diff)[int(.9 * len(own_diff))]:.3f}')

raw, res = [], []
for a, b in pairs(ALL):
    for mix in ('read-mostly', 'mixed', 'write-heavy'):
        logs = {m: math.log(b[(x, m)]['knee']['ops_per_sec'] / a[(x, m)]['knee']['ops_per_sec'])
                for (x, m) in a if x == mix and (x, m) in b and a[(x, m)]['knee'] and b[(x, m)]['knee']}
        if len(logs) < 3:
            continue
        for m, v in logs.items():
            raw.append(abs(v))
            res.append(abs(v - st.median([x for k, x in logs.items() if k != m])))
lim = math.log(1.2)
print(f'all stored Intel pairs: {len(raw)} knees; within +-20 %: {sum(x <= lim for x in raw)}, '
      f"less the other maps' median change in the same run and mix: {sum(x <= lim for x in res)}")
