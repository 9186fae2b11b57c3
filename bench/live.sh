#!/usr/bin/env bash
# bench/live.sh - the highest replay rate popflow -i follows with no packet dropped by the kernel
# and every session exact (make bench-live; root).  See bench/README.md.
#
# Two private network namespaces joined by a veth pair (names unique to this run): tcpreplay
# sends the 200 MB capture from one at growing rates, popflow -i captures on the other with its
# default options (plus BENCH_LIVE_OPTS) and writes JSON, which is checked against what the
# capture holds (bench/check.py).  The section "Live capture" of bench/RESULTS.md is rewritten.
#
#   BENCH_LIVE_RATES  Mbit/s to try, default "250 500 1000 1500 2000 3000 top" (top: tcpreplay
#                     --topspeed); stops at the first failure
#   BENCH_LIVE_SIZE   capture size, default 200M
#   BENCH_LIVE_OPTS   extra popflow options (e.g. "-B 262144"), default none
#   BENCH_LIVE_PROCS  tcpreplay processes sending at once, 1 (default), 2 or 4: the capture is
#                     split by client (each session whole in one part) and each part replayed at
#                     the rate divided by their number; the rate achieved is all bytes sent over
#                     the longest replay's time.  One tcpreplay is short of CPU on a small machine.
#   BENCH_OUT         default bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
POPFLOW=${POPFLOW:-./popflow}
RATES=${BENCH_LIVE_RATES:-250 500 1000 1500 2000 3000 top}
SIZE=${BENCH_LIVE_SIZE:-200M}
OPTS=${BENCH_LIVE_OPTS:-}
PROCS=${BENCH_LIVE_PROCS:-1}
case $PROCS in 1 | 2 | 4) ;; *) echo "bench-live: BENCH_LIVE_PROCS is 1, 2 or 4" >&2; exit 1 ;; esac
DIR=${BENCH_DIR:-build/bench}
OUT=${BENCH_OUT:-bench/RESULTS.md}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-live: needs root (network namespaces, capture)" >&2
	exit 1
fi
for t in tcpreplay ip python3; do
	command -v $t >/dev/null || { echo "bench-live: $t is missing (make bench-deps)" >&2; exit 1; }
done
mkdir -p "$DIR"
f=$DIR/pop3-$SIZE.pcap
case $SIZE in *G) mb=$((${SIZE%G} * 1000)) ;; *M) mb=${SIZE%M} ;; *) mb=$SIZE ;; esac
[ -s "$f.expect" ] || python3 bench/gen.py "$f" --size-mb "$mb" --concurrent 64

id=$$
nr=pfbr$id nc=pfbc$id vr=pfr$id vc=pfc$id
work=$(mktemp -d)
chmod 755 "$work"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$nr" 2>/dev/null || true
	ip netns del "$nc" 2>/dev/null || true
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$nr"
ip netns add "$nc"
ip link add "$vr" netns "$nr" type veth peer name "$vc" netns "$nc"
ip -n "$nr" link set "$vr" up
ip -n "$nc" link set "$vc" up
ip -n "$nr" link set lo up
ip -n "$nc" link set lo up

# Runs one replay at $1 Mbit/s; prints "rate achieved_mbps drops exact total".
one() {
	local rate=$1 drops exact achieved
	: >"$work/err"
	# popflow writes the JSON as nobody once the capture is open: a directory it can write.
	ip netns exec "$nc" "$POPFLOW" -i "$vc" -T json -o "$work/out.json" $OPTS 2>"$work/err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$work/err" && break
		sleep 0.1
	done
	local speed k
	local -a senders=()
	speed=--mbps=$(awk -v r="$rate" -v n="$PROCS" 'BEGIN { print r / n }')
	[ "$rate" = top ] && speed=--topspeed
	for ((k = 0; k < ${#parts[@]}; k++)); do
		ip netns exec "$nr" tcpreplay -q --preload-pcap -i "$vr" "$speed" "${parts[$k]}" \
		    >"$work/replay$k" 2>&1 &
		senders+=($!)
	done
	wait "${senders[@]}" || true
	sleep 1
	kill -INT "$pid"
	wait "$pid" || true
	pid=""
	# "Actual: P packets (B bytes) sent in T seconds": all bytes over the longest time.
	achieved=$(cat "$work"/replay[0-9]* | sed -n 's/.*Actual: [0-9]* packets (\([0-9]*\) bytes) sent in \([0-9.]*\) seconds.*/\1 \2/p' |
	    awk '{ b += $1; if ($2 > t) t = $2 } END { if (t > 0) printf "%.2f", b * 8 / t / 1e6 }')
	drops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$work/err")
	exact=$( (python3 bench/check.py "$work/out.json" "$f.expect" || true) | awk '{ print $2, $4 }')
	echo "$rate ${achieved:-?} ${drops:-?} $exact"
}

# The parts for several tcpreplay processes: sessions split by their client address
# (gen.py's clients are 10.x.y.2, the server 10.255.0.1), every session whole in one part.
parts=("$f")
if [ "$PROCS" -gt 1 ]; then
	parts=()
	for ((k = 0; k < PROCS; k++)); do
		m=$((PROCS - 1))
		tcpdump -r "$f" -w "$work/part$k.pcap" \
		    "(ip[12] = 10 and ip[13] != 255 and (ip[14] & $m) = $k) or (ip[16] = 10 and ip[17] != 255 and (ip[18] & $m) = $k)" \
		    2>/dev/null
		parts+=("$work/part$k.pcap")
	done
fi

rows=$work/rows
: >"$rows"
best=none
echo "bench-live: $(basename "$f"), popflow -i ${OPTS:-(default options)}" >&2
for rate in $RATES; do
	read -r r achieved drops exact total < <(one "$rate")
	echo "bench-live: --mbps=$r: replayed at $achieved Mbit/s, $drops dropped by the kernel, $exact of $total sessions exact" >&2
	echo "| $r | $achieved | $drops | $exact of $total |" >>"$rows"
	if [ "$drops" = 0 ] && [ "$exact" = "$total" ]; then best=$r; else break; fi
done

section=$work/section
{
	echo "## Live capture"
	echo
	echo "Written by \`make bench-live\` (bench/live.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs,"
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown): \`$(basename "$f")\` replayed by tcpreplay"
	echo "on a veth pair between two private network namespaces ($PROCS tcpreplay process(es) at once),"
	echo "\`popflow -i\` on the other end with"
	echo "${OPTS:+the options \`$OPTS\` added to }its default options."
	echo
	echo "| tcpreplay --mbps | achieved Mbit/s | dropped by the kernel | sessions exact |"
	echo "| ---: | ---: | ---: | ---: |"
	cat "$rows"
	echo
	echo "Highest rate tried with no drop and every session exact: **$best Mbit/s**."
} >"$section"
# RESULTS.md keeps the offline table; only this section is replaced.
if [ -f "$OUT" ]; then
	awk '/^## Live capture/ { exit } { print }' "$OUT" >"$work/head"
else
	printf '# popflow benchmark results\n\n' >"$work/head"
fi
cat "$work/head" "$section" >"$OUT"
cat "$section"
