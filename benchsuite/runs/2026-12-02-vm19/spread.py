"""Within-run spread of the repetitions' knees and between-run agreement,
per folder of pairs (a1..b3):  python3 spread.py DIR...
Prints, over all map x mix runs: the median within-run SD of ln(rep knee),
the share of repetitions more than 20 % from their run's median, and the
RMS of ln(knee b / knee a) over the three pairs with the count within 20 %."""
import json, math, os, statistics as st, sys
for here in sys.argv[1:]:
    sds, far, reps, xs = [], 0, 0, []
    runs = {}
    for s in ('a', 'b'):
        for p in (1, 2, 3):
            f = os.path.join(here, f'{s}{p}', 'results.json')
            if not os.path.exists(f):
                continue
            d = json.load(open(f))
            runs[f'{s}{p}'] = {(r['map'], r['mix']['name']): r for r in d['runs']}
            for r in d['runs']:
                ks = [x['knee_ops_per_sec'] for x in r['repetitions'] if x['knee_ops_per_sec'] > 0]
                if len(ks) < 2:
                    continue
                m = st.median(ks)
                sds.append(st.pstdev([math.log(k) for k in ks]))
                far += sum(abs(math.log(k / m)) > math.log(1.2) for k in ks)
                reps += len(ks)
    for p in (1, 2, 3):
        a, b = runs.get(f'a{p}'), runs.get(f'b{p}')
        if not a or not b:
            continue
        for key, rb in b.items():
            ra = a.get(key)
            if ra and ra['knee'] and rb['knee']:
                xs.append(math.log(rb['knee']['ops_per_sec'] / ra['knee']['ops_per_sec']))
    rms = math.sqrt(sum(x * x for x in xs) / len(xs)) if xs else float('nan')
    within = sum(abs(x) <= math.log(1.2) for x in xs)
    print(f"{here}: within-run SD of ln(rep knee) median {st.median(sds):.3f}; "
          f"{far}/{reps} repetitions > 20 % from their run's median; "
          f"pairs: {within}/{len(xs)} knees within 20 %, RMS {rms:.3f}")
