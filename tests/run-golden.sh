#!/usr/bin/env bash
# run-golden.sh [NAME...] - runs tests/golden/TESTLIST: capture + options -> expected output, compared with diff -u.
# Each line: name  capture  expected  options...   (capture and expected relative to tests/golden/,
# a capture starting with samples/ or tests/ is relative to the repository root).
set -u
cd "$(dirname "$0")/.." || exit 1
POPFLOW=${POPFLOW:-./popflow}
export TZ=UTC
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
while read -r name capture expected opts; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	case "$capture" in samples/* | tests/*) cap=$capture ;; *) cap=tests/golden/$capture ;; esac
	# shellcheck disable=SC2086
	$POPFLOW -r "$cap" $opts >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
		echo "FAIL $name: popflow exited $rc"; cat "$tmp/err"; fail=$((fail + 1)); continue
	fi
	if [ -s "$tmp/err" ]; then
		sed 's/^/stderr: /' "$tmp/err" >>"$tmp/out"
	fi
	if diff -u "tests/golden/$expected" "$tmp/out" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		echo "FAIL $name ($capture $opts)"; head -n 60 "$tmp/diff"; fail=$((fail + 1))
	fi
done <tests/golden/TESTLIST
echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
