#!/usr/bin/env bash
# tests/limits/run.sh [CASE...] - the per-session and per-packet limits of README hold in time
# and memory: a small and a 4 times larger hostile input per case, made at test time
# (tests/limits/run.py says what each case checks). Honours POPFLOW (make asan runs it on
# popflow-asan) and LIMITS_SCALE.
cd "$(dirname "$0")/../.." || exit 1
export TZ=UTC
exec nice -n 10 python3 tests/limits/run.py "$@"
