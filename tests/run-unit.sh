#!/usr/bin/env bash
# run-unit.sh BIN... - runs the unit test programs; each ends with "N passed, N failed".
set -u
pass=0 fail=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		printf '%s\n' "$out"
		echo "FAIL $t (exit $rc)"
	fi
	p=$(echo "${line:-0 passed, 1 failed}" | awk '{print $1}')
	f=$(echo "${line:-0 passed, 1 failed}" | awk '{print $3}')
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "unit: $(basename "$t"): $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
