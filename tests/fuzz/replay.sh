#!/usr/bin/env bash
# replay.sh BINDIR - every corpus file and every past crash through each fuzz target, without
# libFuzzer (BINDIR/replay-T, built by make fuzz-replay; under make asan, with ASan and UBSan).
# Each target gets its own corpus (tests/fuzz/corpus/T) and every regression input
# (tests/fuzz/regress/*, whatever target found it): any bytes must be safe for every target.
set -u
cd "$(dirname "$0")/../.." || exit 1
bindir=${1:?usage: replay.sh BINDIR}
targets=${FUZZ_TARGETS:-pop3 decode creds remarks pipeline mime}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for t in $targets; do
	start=$(date +%s%N)
	timeout 600 "$bindir/replay-$t" "tests/fuzz/corpus/$t" tests/fuzz/regress >"$tmp/out" 2>"$tmp/err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ $rc -ne 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err"; then
		fail=$((fail + 1))
		echo "FAIL fuzz replay $t: exit $rc"
		head -n 40 "$tmp/err"
	else
		pass=$((pass + 1))
		echo "fuzz replay $t: $(cat "$tmp/out") in $ms ms"
	fi
done
echo "fuzz replay: $pass passed, $fail failed"
[ $fail -eq 0 ]
