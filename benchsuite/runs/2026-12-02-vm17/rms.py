"""RMS of the log ratio of each map x mix knee between the runs a<p> and b<p>
of each pair (p = 1, 2, 3), per folder given:  python3 rms.py DIR..."""
import json,math,sys,os,statistics as st
for here in sys.argv[1:]:
    xs=[]
    for p in (1,2,3):
        A=json.load(open(os.path.join(here,f'a{p}','results.json')));B=json.load(open(os.path.join(here,f'b{p}','results.json')))
        ka={(r['map'],r['mix']['name']):r for r in A['runs']}
        for r in B['runs']:
            a=ka[(r['map'],r['mix']['name'])]
            if a['knee'] and r['knee']: xs.append(math.log(r['knee']['ops_per_sec']/a['knee']['ops_per_sec']))
    rms=math.sqrt(sum(x*x for x in xs)/len(xs))
    print(f"{here}: {len(xs)} knees, rms log ratio {rms:.3f}, within 20% {sum(abs(x)<=math.log(1.2) for x in xs)}, max {math.exp(max(abs(x) for x in xs)):.2f}")
