#!/usr/bin/env bash
# #11's figures with the current code, one after the other on a quiet
# machine: peers at 5,000 req/s (30 s, 2 reps), the /healthz ceiling (8 s,
# 3 reps), the bad-request suite and SIGTERM under load, and the 10-minute
# soak at 80 % of the rwlock knee (RATE, from the vm4 `http --spawn` run).
set -u
cd "$(dirname "$0")"
export B=${B:-/tmp/mk5}
date; uptime; lscpu | grep 'Model name'
echo "#### peers"; RATE=5000 DUR=30 REPS=2 ./m2_peers.sh > m2.out 2>&1
echo "#### ceiling"; DUR=8 REPS=3 ./m3_ceiling.sh > m3.out 2>&1
echo "#### bad requests, SIGTERM"; ./m4_sigterm.sh > m4.out 2>&1
echo "#### soak"; RATE=${SOAK_RATE:-15200} MINUTES=10 ./m5_soak.sh > m5.out 2>&1
date; uptime
