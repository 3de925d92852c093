# Alternates `nsop` binaries built from different trees; prints, per build,
# sharded's dashmap/this ratios and their median. Raw output in $OUT.
# usage: [OUT=file] sh nsopcmp.sh REPS BIN...
reps=$1; shift
OUT=${OUT:-/tmp/nsopcmp.txt}
for i in $(seq "$reps"); do for b in "$@"; do echo "== $(basename "$b") $i"; "$b" 7 | grep -EA9 "get-hit +sharded"; done; done > "$OUT"
OUT="$OUT" python3 - <<'P'
import os, re, statistics as st
cur = None; d = {}
for l in open(os.environ["OUT"]):
    m = re.match(r'== (\S+) (\d+)', l)
    if m: cur = m.group(1); continue
    m = re.match(r'(\S+)\s+(\w+)\s+([\d.]+) ns/op\s+dashmap/this ([\d.]+)', l)
    if m and m.group(2) == 'sharded': d.setdefault((m.group(1), cur), []).append(float(m.group(4)))
for k, v in sorted(d.items()): print(k, v, "median %.3f" % st.median(v))
P
