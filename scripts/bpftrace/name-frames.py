#!/usr/bin/env python3
"""name-frames.py — names the frames bpftrace 0.17 prints as `[unknown]`.

bpftrace 0.17 (Debian 12) leaves every frame of a mapknee binary
unresolved, though the binary keeps its symbol table. This reads bpftrace's
text output on stdin and replaces each `ADDR 0xADDR ([unknown])` frame that
falls inside BINARY with the function `addr2line -f -C` names. A PIE binary
loads at a random base, so run the target with ASLR off for it, where the
base is 0x555555554000 on x86_64 (the default BASE):

  setarch -R BINARY ARGS... & PID=$!
  sudo bpftrace scripts/bpftrace/lock-stacks.bt /proc/$PID/exe -p $PID \\
    | scripts/bpftrace/name-frames.py BINARY

(`mapknee trace` does this by itself, from its own /proc/self/maps.)
"""
import re
import subprocess
import sys

binary = sys.argv[1]
base = int(sys.argv[2], 16) if len(sys.argv) > 2 else 0x555555554000
text = sys.stdin.read()
frame = re.compile(r"^(\s*)([0-9a-f]+) 0x[0-9a-f]+ \(\[unknown\]\)$", re.M)
addrs = sorted({int(m.group(2), 16) for m in frame.finditer(text)})
# Frames are return addresses: step back one byte to land on the call.
inside = [a for a in addrs if base <= a < base + 0x10000000]
names = {}
if inside:
    out = subprocess.run(
        ["addr2line", "-f", "-C", "-e", binary] + [hex(a - base - 1) for a in inside],
        capture_output=True, text=True, check=False,
    ).stdout.splitlines()[::2]
    for a, n in zip(inside, out):
        if n != "??":
            names[a] = re.sub(r"::h[0-9a-f]{16}$", "", n)
sys.stdout.write(frame.sub(
    lambda m: m.group(1) + names.get(int(m.group(2), 16), m.group(2) + " [unknown]"), text))
