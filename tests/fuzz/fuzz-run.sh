#!/usr/bin/env bash
# fuzz-run.sh BINDIR SECONDS TARGET... - runs each libFuzzer target (BINDIR/fuzz-T, make fuzz-run)
# for SECONDS seconds, one after the other, at nice 19.  Each starts from a working copy of its
# corpus (build-fuzz/corpus/T, kept between runs) seeded from tests/fuzz/corpus/T and the
# regression inputs, with tests/fuzz/pop3.dict.  Crashes go to build-fuzz/crashes/T-* (the run
# goes on after one); the last status line (executions, cov:, ft:) is printed, the whole log is
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
	before=$(ls "$work/crashes" | wc -l)
	# Fork mode with one job: a crash, leak or timeout is written and the run goes on.
	nice -n 19 "$bindir/fuzz-$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
	    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=$max_len \
	    -dict=tests/fuzz/pop3.dict -artifact_prefix="$work/crashes/$t-" \
	    "$corpus" tests/fuzz/regress >"$work/logs/$t.log.run" 2>&1
	rc=$?
	{ echo "=== $(date -u +%FT%TZ) fuzz-$t for $secs s"; cat "$work/logs/$t.log.run"; } >>"$work/logs/$t.log"
	after=$(ls "$work/crashes" | wc -l)
	# The last status line: executions (#N), coverage (cov: edges, ft: features), crashes.
	stats=$(grep -E '^#[0-9]+: cov:' "$work/logs/$t.log.run" | tail -n 1)
	rm -f "$work/logs/$t.log.run"
	echo "fuzz-run $t: exit $rc, $((after - before)) new crash files; $stats"
	[ "$after" -gt "$before" ] && crashed=1
done
[ $crashed -eq 0 ]
