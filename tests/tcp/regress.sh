#!/usr/bin/env bash
# tests/tcp/regress.sh [CASE...] - the regression cases of issue 8 (TCP following), each on a
# capture generated at test time; tests/tcp/regress.py says what each asserts. Known-failing
# cases: tests/tcp/KNOWN_FAILING.
cd "$(dirname "$0")/../.." || exit 1
export TZ=UTC
exec python3 tests/tcp/regress.py "$@"
