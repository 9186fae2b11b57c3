#!/usr/bin/env bash
# bench/run.sh - speed and memory of popflow on synthetic captures of growing size (make bench).
# Memory must follow what is open at once (CONCURRENT sessions), not the size of the capture:
# the same concurrency at 4x and 16x the sessions should give the same peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
POPFLOW=${POPFLOW:-./popflow}
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"' EXIT
printf '%-28s %10s %8s %10s %10s %12s\n' capture MB sessions seconds MB/s peak_RSS_MB
for spec in "250 16" "1000 16" "4000 16" "1000 256"; do
	set -- $spec
	f=$dir/bench-$1-$2.pcap
	[ -f "$f" ] || python3 bench/gen.py "$f" "$1" "$2" 64
	mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN{printf "%.1f", b/1048576}')
	/usr/bin/time -f '%e %M' -o "$dir/time" "$POPFLOW" -r "$f" -T json >"$dir/out.json"
	read -r secs rss <"$dir/time"
	n=$(grep -c '"type":"session"' "$dir/out.json")
	[ "$n" -eq "$1" ] || { echo "bench: expected $1 sessions, got $n" >&2; exit 1; }
	printf '%-28s %10s %8s %10s %10s %12s\n' "$(basename "$f")" "$mb" "$n" "$secs" \
	    "$(awk -v m="$mb" -v s="$secs" 'BEGIN{ if (s > 0) printf "%.0f", m/s; else print "-" }')" \
	    "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')"
done
