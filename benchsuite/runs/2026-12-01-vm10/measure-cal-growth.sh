#!/usr/bin/env bash
# Calibration (5 even, 5 Poisson) and growth, on this session's machine:
# two parts of benchsuite/repro/figures.sh, which now holds their commands.
#   bash measure-cal-growth.sh MAPKNEE   (from this folder)
set -u
exec bash ../../repro/figures.sh "$1" . cal growth
