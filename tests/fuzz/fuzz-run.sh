#!/usr/bin/env bash
# fuzz-run.sh BINDIR SECONDS TARGET... - runs each libFuzzer target (BINDIR/fuzz-T, make fuzz-run)
# for SECONDS seconds, one after the other, at nice 19, started again after each crash.  Each
# starts from a working copy of its corpus (build-fuzz/corpus/T, kept between runs) seeded from tests/fuzz/corpus/T and the
# regression inputs, with tests/fuzz/pop3.dict.  Crashes go to build-fuzz/crashes/T-*; the
# executions of all runs and the last status line (cov:, ft:) are printed, the whole log is
# appended to build-fuzz/logs/T.log.  Exit status 1 if a target crashed.
set -u
cd "$(dirname "$0")/../.." || exit 1
bindir=${1:?usage: fuzz-run.sh BINDIR SECONDS TARGET...}
secs=${2:?seconds}
shift 2
work=$(dirname "$bindir")
mkdir -p "$work/crashes" "$work/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
crashed=0
for t in "$@"; do
	corpus="$work/corpus/$t"
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
	case $t in
	pipeline) max_len=65536 ;;
	pop3) max_len=16384 ;;
	*) max_len=8192 ;;
	esac
	before=$(ls "$work/crashes" | grep -c "^$t-")
	# libFuzzer stops at a crash: start it again (the crash is kept) until the time is used.
	deadline=$(($(date +%s) + secs))
	runs=0 execs=0 last=""
	while [ "$(date +%s)" -lt "$deadline" ] && [ $runs -lt 50 ]; do
		rem=$((deadline - $(date +%s)))
		[ $rem -ge 1 ] || break # -max_total_time=0 would mean no limit
		runs=$((runs + 1))
		nice -n 19 "$bindir/fuzz-$t" -max_total_time=$rem -timeout=20 \
		    -rss_limit_mb=2048 -max_len=$max_len -dict=tests/fuzz/pop3.dict \
		    -print_final_stats=1 -report_slow_units=60 -artifact_prefix="$work/crashes/$t-" \
		    "$corpus" tests/fuzz/regress >"$work/logs/$t.log.run" 2>&1
		rc=$?
		{ echo "=== $(date -u +%FT%TZ) fuzz-$t run $runs, exit $rc"; cat "$work/logs/$t.log.run"; } >>"$work/logs/$t.log"
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/logs/$t.log.run" | tail -n 1)
		execs=$((execs + ${n:-0}))
		l=$(grep -E '^#[0-9]+.*cov: ' "$work/logs/$t.log.run" | tail -n 1)
		[ -n "$l" ] && last=$l
		if [ $rc -ne 0 ]; then
			crashed=1
			grep -m1 -E 'ERROR: |runtime error' "$work/logs/$t.log.run"
		fi
	done
	rm -f "$work/logs/$t.log.run"
	after=$(ls "$work/crashes" | grep -c "^$t-")
	# Executions over all runs; the last status line gives coverage (cov: edges, ft: features).
	echo "fuzz-run $t: $secs s, $runs runs, $execs executions, $((after - before)) new crash files; last: $last"
done
[ $crashed -eq 0 ]
