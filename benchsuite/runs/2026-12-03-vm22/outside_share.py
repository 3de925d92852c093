# How large a share of a run's step measurements may lie outside its
# reference placement before `compare` should stop judging it?  For every
# stored back-to-back pair of runs (benchsuite/runs/*/*/aN, bN) whose runs
# keep a placement record, `mapknee compare --format json` gives each map x
# mix run's two placements, shares outside and noise floors; here, among the
# runs held to the same placement (within 1.5x) with floors within 1.5x, how
# often the two knees agreed within +-20 %, by the larger of the two shares
# outside, and what each limit on that share would judge and withhold.
# compare's MAX_OUTSIDE_SHARE was chosen from this table.
#   python3 benchsuite/runs/2026-12-03-vm22/outside_share.py MAPKNEE
import glob, json, os, subprocess, sys
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
mk = os.path.abspath(sys.argv[1])

def knees(path):
    return {(r['mix']['name'] if isinstance(r['mix'], dict) else r['mix'], r['map']):
            (r.get('knee') or {}).get('ops_per_sec') for r in json.load(open(path))['runs']}

rows = []  # (pair, outside, same placement and floors, agree)
for a in sorted(glob.glob('*/*/a[0-9]/results.json')):
    b = os.path.join(
        os.path.dirname(os.path.dirname(a)), 'b' + os.path.basename(os.path.dirname(a))[1:], 'results.json')
    if not os.path.exists(b):
        continue
    out = subprocess.run([mk, 'compare', a, b, '--format', 'json'], capture_output=True, text=True)
    try:
        c = json.loads(out.stdout)
    except ValueError:
        continue
    ka, kb = knees(a), knees(b)
    for r in c['runs']:
        p = r.get('placement')
        x, y = ka.get((r['mix'], r['base_map'])), kb.get((r['mix'], r['base_map']))
        if not p or not x or not y:
            continue
        rb, rn = p['reference_ns']
        fl = p.get('floor_p99_ns')
        same = max(rb, rn) <= 1.5 * min(rb, rn) and (not fl or max(fl) <= 1.5 * min(fl))
        rows.append((a, max(p['outside_share']), same, max(x, y) / min(x, y) <= 1.2))

held = [r for r in rows if r[2]]
print(f'{len(rows)} map x mix runs with a placement record in {len({r[0] for r in rows})} pairs; '
      f'{len(held)} held to the same placement with floors within 1.5x')
print('by the larger share outside (same placement, floors agree):')
for lo, hi in [(0, .05), (.05, .10), (.10, .15), (.15, .20), (.20, .30), (.30, .40), (.40, 1)]:
    g = [r for r in held if (lo < r[1] or lo == 0) and r[1] <= hi]  # as compare: a share at a limit is judged
    if g:
        print(f'  {lo:4.0%}-{hi:4.0%}: {len(g):4d} runs, knees within 20 %: {sum(r[3] for r in g) / len(g):.2f}')
print('what a limit would do (runs held to different placements or floors are withheld by every limit):')
for lim in (.10, .15, .20, .30, .40):
    j = [r for r in held if r[1] <= lim]
    w = [r for r in rows if r not in j]
    pairs = {r[0] for r in rows}
    whole = sum(all(r[2] and r[1] <= lim and r[3] for r in rows if r[0] == p) for p in pairs)
    print(f'  limit {lim:3.0%}: judged {len(j):4d} runs, within 20 % {sum(r[3] for r in j) / len(j):.2f}; '
          f'withheld {len(w):4d}, within {sum(r[3] for r in w) / max(len(w), 1):.2f}; '
          f'pairs judged whole and all within: {whole} of {len(pairs)}')
