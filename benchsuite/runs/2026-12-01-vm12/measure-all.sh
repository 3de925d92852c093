#!/usr/bin/env bash
# Every figure #9 asks for, on this session's machine, with the final binary:
# three back-to-back pairs of default runs and the synthetic pair
# (pairs.sh), the noop table, calibration (5 even, 5 Poisson) and growth
# (figures.sh, whose commands this script spelled out when it ran).
#   bash measure-all.sh MAPKNEE   (from this folder)
set -u
mk=$1
bash ../../repro/pairs.sh "$mk" pairs 3
bash ../../repro/figures.sh "$mk" .
