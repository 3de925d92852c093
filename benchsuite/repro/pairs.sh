#!/usr/bin/env bash
# #9's headline measurement: N back-to-back pairs of default `mapknee run`s
# and the synthetic 2us/3us pair, each pair compared (exit status appended).
#   benchsuite/repro/pairs.sh MAPKNEE OUTDIR [PAIRS]
# RUN_ARGS (env) is added to every `mapknee run`, e.g. RUN_ARGS="--repeat 5".
# Writes OUTDIR/{aN,bN,s2,s3}/ (results), OUTDIR/*.txt (tables, compare);
# summarise with summarize.py and comparable.py. Run on a quiet machine.
set -u
mk=$1 out=$2 pairs=${3:-3}
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
mkdir -p "$out"
for p in $(seq 1 "$pairs"); do
  for s in a b; do
    log "run --out $out/$s$p"
    /usr/bin/time -f "wall %e s" "$mk" run ${RUN_ARGS:-} --out "$out/$s$p" > "$out/$s$p.txt" 2>&1
  done
  "$mk" compare "$out/a$p/results.json" "$out/b$p/results.json" > "$out/cmp$p.txt" 2>&1
  echo "exit $?" >> "$out/cmp$p.txt"
done
log "synthetic 2us / 3us"
"$mk" run ${RUN_ARGS:-} --maps synthetic:2us --mix read-mostly --out "$out/s2" > "$out/s2.txt" 2>&1
"$mk" run ${RUN_ARGS:-} --maps synthetic:3us --mix read-mostly --out "$out/s3" > "$out/s3.txt" 2>&1
"$mk" compare "$out/s2/results.json" "$out/s3/results.json" > "$out/cmp-synth.txt" 2>&1
echo "exit $?" >> "$out/cmp-synth.txt"
log done
