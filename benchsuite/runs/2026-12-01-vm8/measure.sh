#!/usr/bin/env bash
# 2026-12-01 seventh session: #9's headline (three pairs of default runs and
# the synthetic pair) with the release binary of 16e2efe, on a quiet machine.
#   MK: that mapknee (default /tmp/mk-vm8)
set -u
cd "$(dirname "$0")"
lscpu | grep 'Model name'; echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
../../repro/pairs.sh "${MK:-/tmp/mk-vm8}" pairs 3
