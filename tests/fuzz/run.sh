#!/usr/bin/env bash
# tests/fuzz/run.sh [N] - robustness: mutated captures (tests/fuzz/mutate.py) through popflow.
# Every run must end (timeout), exit 0, 2 or 4, and under the sanitizer build report nothing.
set -u
cd "$(dirname "$0")/../.." || exit 1
POPFLOW=${POPFLOW:-./popflow}
N=${1:-${FUZZ_N:-40}}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
seeds="samples/seed-replica.pcap tests/golden/pipelined.pcap tests/golden/dotstuff.pcap
tests/golden/retrans-ooo.pcap tests/golden/no-handshake.pcap tests/golden/unknown-cmds.pcap
tests/golden/auth-plain.pcap tests/golden/stls.pcap tests/golden/ipv6.pcap tests/golden/sll2.pcap
tests/golden/malformed.pcap tests/golden/snaplen.pcap tests/golden/missing-segment.pcap"
i=0
for s in $seeds; do
	[ -f "$s" ] || continue
	i=$((i + 1))
	python3 tests/fuzz/mutate.py "$s" "$tmp/m" "$N" "$i" || { fail=$((fail + 1)); continue; }
done
for f in "$tmp"/m/*.pcap; do
	for fmt in "-T json -v" "-v"; do
		# shellcheck disable=SC2086
		timeout 20 "$POPFLOW" -r "$f" $fmt >/dev/null 2>"$tmp/err"
		rc=$?
		if { [ $rc -ne 0 ] && [ $rc -ne 2 ] && [ $rc -ne 4 ]; } ||
		    grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err"; then
			fail=$((fail + 1))
			echo "FAIL $(basename "$f") $fmt: exit $rc"; head -n 20 "$tmp/err"
			mkdir -p tests/fuzz/failures && cp "$f" tests/fuzz/failures/
		else
			pass=$((pass + 1))
		fi
	done
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
