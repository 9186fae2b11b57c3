#!/usr/bin/env bash
# update-golden.sh NAME... - rewrites the expected files of the named TESTLIST lines.
# Review every changed line (git diff) before committing: expected files are never accepted unread.
set -eu
cd "$(dirname "$0")/.."
POPFLOW=${POPFLOW:-./popflow}
export TZ=UTC
[ $# -gt 0 ] || { echo "usage: $0 NAME... (see tests/golden/TESTLIST)" >&2; exit 1; }
while read -r name capture expected opts; do
	case "$name" in ''|'#'*) continue ;; esac
	case " $* " in *" $name "*) ;; *) continue ;; esac
	case "$capture" in samples/* | tests/*) cap=$capture ;; *) cap=tests/golden/$capture ;; esac
	mkdir -p "$(dirname "tests/golden/$expected")"
	# shellcheck disable=SC2086
	$POPFLOW -r "$cap" $opts >"tests/golden/$expected" 2>tests/golden/.err || true
	if [ -s tests/golden/.err ]; then sed 's/^/stderr: /' tests/golden/.err >>"tests/golden/$expected"; fi
	rm -f tests/golden/.err
	echo "updated tests/golden/$expected"
done <tests/golden/TESTLIST
