#!/usr/bin/env python3
"""What the unattached USDT probes cost, in instructions (#10).

Builds crates/maps/examples/probe_cost.rs twice -- with the cargo feature
`probes` (the default) and without it -- and runs the same fixed work in
both under valgrind's callgrind, counting only the instructions executed
inside `workload` (the map operations and the key draws; not the prefill,
not the reclaimer thread). Alternates the two builds, repeats each
configuration, and prints the median instructions per operation and the
ratio probes / no probes for every map with probes and every mix.

Instruction counts do not move with the host the way wall-clock time does
on a shared VM (there 2x between runs of one binary); what varies between
runs is only the hasher's random seed (foldhash), about 0.1 %.

    python3 benchsuite/probe-cost/callgrind.py [--reps 3] [--ops 100000] [--out DIR]

Needs valgrind (`apt-get install valgrind`).
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAPS = ["syncmap", "gomap-rwlock", "rwlock", "mutex", "sharded"]
MIXES = ["read-mostly", "mixed", "write-heavy", "churn"]


def build(tmp):
    out = {}
    for name, flags, target in [
        ("probes", [], os.path.join(ROOT, "target")),
        ("no-probes", ["--no-default-features", "--features", "peers"], os.path.join(ROOT, "target", "no-probes")),
    ]:
        env = dict(os.environ, CARGO_TARGET_DIR=target)
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "mapknee-maps",
                        "--example", "probe_cost", *flags], cwd=ROOT, env=env, check=True)
        dst = os.path.join(tmp, f"probe_cost-{name}")
        shutil.copy(os.path.join(target, "release", "examples", "probe_cost"), dst)
        out[name] = dst
    return out


def instructions(exe, m, mix, ops, threads, tmp):
    cg = os.path.join(tmp, "cg.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=*workload*",
                        f"--callgrind-out-file={cg}", exe, m, mix, str(ops), str(threads)],
                       capture_output=True, text=True, check=True)
    hit = re.search(r"Collected : (\d+)", r.stderr)
    if not hit:
        sys.exit(f"no instruction count from callgrind:\n{r.stderr}")
    return int(hit.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", type=int, default=100_000)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", help="also write the raw counts (TSV) here")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("callgrind.py: valgrind is missing: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        rows = []
        print(f"{'map':13} {'mix':12} thr  {'Ir/op probes':>13} {'Ir/op none':>11}  ratio   (medians of {a.reps}, {a.ops} ops per thread)")
        for threads in [int(t) for t in a.threads.split(",")]:
            for m in MAPS:
                for mix in MIXES:
                    got = {"probes": [], "no-probes": []}
                    for rep in range(a.reps):
                        order = ["probes", "no-probes"] if rep % 2 == 0 else ["no-probes", "probes"]
                        for b in order:
                            got[b].append(instructions(exe[b], m, mix, a.ops, threads, tmp))
                    p = statistics.median(got["probes"]) / (a.ops * threads)
                    n = statistics.median(got["no-probes"]) / (a.ops * threads)
                    rows.append((m, mix, threads, got))
                    print(f"{m:13} {mix:12} {threads:3}  {p:13.2f} {n:11.2f}  {p / n:.4f}", flush=True)
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, "callgrind.tsv"), "w") as f:
                f.write("map\tmix\tthreads\tbuild\tinstructions\n")
                for m, mix, t, got in rows:
                    for b, xs in got.items():
                        for x in xs:
                            f.write(f"{m}\t{mix}\t{t}\t{b}\t{x}\n")


if __name__ == "__main__":
    main()
