#!/usr/bin/env bash
# tests/tcp/run.sh - every TCP-following suite of make tcp: the perturbation tool's self-check,
# reorder and mid-stream invariance (tests/tcp/invariance.sh) and the regression cases of issue 8
# (tests/tcp/regress.sh). Honours POPFLOW, SEEDS, CUTS and TCP_LOG (see those scripts).
set -u
cd "$(dirname "$0")/../.." || exit 1
rc=0
./tests/tcp/invariance.sh all || rc=1
if [ -x tests/tcp/regress.sh ]; then ./tests/tcp/regress.sh || rc=1; fi
exit $rc
