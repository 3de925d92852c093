import sys,statistics
b=sys.argv[1]; rows=[l.split() for l in sys.stdin if ' pair ' in l]
for mix in ['read-mostly','mixed','write-heavy']:
    xs=[float(r[9].rstrip('M')) for r in rows if r[0]==mix]+[float(r[11].rstrip('M')) for r in rows if r[0]==mix]
    m=statistics.median(xs); print(f"{b:6s} {mix:12s} noop median {m:.2f}M txn/s = {1e3/m:.1f} ns/txn (n={len(xs)})")
