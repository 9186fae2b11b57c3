#!/usr/bin/env bash
# bench/run.sh - popflow against the libnids floors and the peers, on the same files, in one run
# (make bench).  See bench/README.md.
#
# Settings (environment):
#   BENCH_SIZES     capture sizes, default "10M 200M 1G" (64 sessions open at once, 64 KiB RETRs)
#   BENCH_VARIANTS  default "disorder:200M conc256:200M long:1100000": retransmitted and
#                   out-of-order segments in a quarter of the sessions; 256 sessions open at
#                   once; one session of that many segments (more than 2^20)
#   BENCH_RUNS      runs per tool and file, default 3 (the median is reported)
#   BENCH_PEERS     "tcpdump tshark" (default: those installed); "" for none
#   BENCH_DIR       where captures are generated and kept between runs (default build/bench)
#   BENCH_OUT       the table, default bench/RESULTS.md
# Quick run: make bench BENCH_SIZES=10M BENCH_VARIANTS="disorder:10M conc256:10M"
set -euo pipefail
cd "$(dirname "$0")/.."
POPFLOW=${POPFLOW:-./popflow}
FLOOR=${FLOOR:-build/bench/floor}
SIZES=${BENCH_SIZES-10M 200M 1G}
VARIANTS=${BENCH_VARIANTS-disorder:200M conc256:200M long:1100000}
RUNS=${BENCH_RUNS:-3}
DIR=${BENCH_DIR:-build/bench}
OUT=${BENCH_OUT:-bench/RESULTS.md}
if [ -z "${BENCH_PEERS+x}" ]; then
	BENCH_PEERS=""
	command -v tcpdump >/dev/null && BENCH_PEERS="tcpdump"
	command -v tshark >/dev/null && BENCH_PEERS="$BENCH_PEERS tshark"
fi
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mb_of() { # 10M -> 10, 1G -> 1000
	case $1 in
	*G) echo $((${1%G} * 1000)) ;;
	*M) echo "${1%M}" ;;
	*) echo "$1" ;;
	esac
}

# Generates (once) the capture named by a spec; prints its path.
capture() {
	local spec=$1 f
	case $spec in
	disorder:*)
		f=$DIR/disorder-${spec#*:}.pcap
		[ -s "$f.expect" ] || python3 bench/gen.py "$f" --size-mb "$(mb_of "${spec#*:}")" \
		    --concurrent 64 --disorder 25 >&2
		;;
	conc256:*)
		f=$DIR/conc256-${spec#*:}.pcap
		[ -s "$f.expect" ] || python3 bench/gen.py "$f" --size-mb "$(mb_of "${spec#*:}")" \
		    --concurrent 256 >&2
		;;
	long:*)
		f=$DIR/long-${spec#*:}.pcap
		[ -s "$f.expect" ] || python3 bench/gen.py "$f" --long-segments "${spec#*:}" \
		    --concurrent 64 >&2
		;;
	*)
		f=$DIR/pop3-$spec.pcap
		[ -s "$f.expect" ] || python3 bench/gen.py "$f" --size-mb "$(mb_of "$spec")" \
		    --concurrent 64 >&2
		;;
	esac
	echo "$f"
}

TOOLS="floor-pcap floor-nids floor-lines $BENCH_PEERS popflow-text popflow-json popflow-json-v popflow-extract"

# Runs one tool on one file; appends "user sys wall maxrss_kb" to $work/<tool>.times.
run_tool() {
	local tool=$1 f=$2 out=/dev/null
	local -a cmd
	case $tool in
	floor-pcap) cmd=("$FLOOR" pcap "$f") ;;
	floor-nids) cmd=("$FLOOR" nids "$f") ;;
	floor-lines) cmd=("$FLOOR" lines "$f") ;;
	tcpdump) cmd=(tcpdump -r "$f" -w /dev/null) ;;
	tshark) cmd=(tshark -r "$f" -Y pop -T fields -e pop.request.command) ;;
	popflow-text) cmd=("$POPFLOW" -r "$f" -T text) ;;
	popflow-json)
		cmd=("$POPFLOW" -r "$f" -T json)
		out=$work/out.json
		;;
	popflow-json-v) cmd=("$POPFLOW" -r "$f" -T json -v) ;;
	popflow-extract)
		rm -rf "$work/eml"
		mkdir "$work/eml"
		cmd=("$POPFLOW" -r "$f" -T text --extract "$work/eml")
		;;
	esac
	if ! /usr/bin/time -f '%U %S %e %M' -o "$work/time" "${cmd[@]}" >"$out" 2>"$work/err"; then
		echo "bench: $tool on $f failed:" >&2
		cat "$work/err" >&2
		exit 1
	fi
	cat "$work/time" >>"$work/$tool.times"
	if [ "$tool" = popflow-json ]; then
		# Every session exact, on every run.
		python3 bench/check.py "$out" "$f.expect" >"$work/check" ||
		    { echo "bench: popflow -T json on $f: $(cat "$work/check")" >&2; exit 1; }
	fi
	rm -rf "$work/eml"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rows=$work/rows
: >"$rows"
for spec in $SIZES $VARIANTS; do
	f=$(capture "$spec")
	bytes=$(stat -c %s "$f")
	sessions=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"])' "$f.expect")
	tools=$TOOLS
	# tshark's reassembly of one 2^20-segment session takes hours: not run on that one.
	case $spec in long:*) tools=${TOOLS/tshark/} ;; esac
	for t in $tools; do : >"$work/$t.times"; done
	echo "bench: $(basename "$f"): $((bytes / 1000000)) MB, $sessions sessions, $RUNS runs" >&2
	for ((i = 0; i < RUNS; i++)); do
		for t in $tools; do run_tool "$t" "$f"; done
	done
	floor=$(awk '{ print $1 + $2 }' "$work/floor-lines.times" | median)
	for t in $tools; do
		cpu=$(awk '{ print $1 + $2 }' "$work/$t.times" | median)
		wall=$(awk '{ print $3 }' "$work/$t.times" | median)
		rss=$(awk '{ print $4 }' "$work/$t.times" | median)
		awk -v file="$(basename "$f")" -v mb="$bytes" -v s="$sessions" -v t="$t" -v cpu="$cpu" \
		    -v wall="$wall" -v rss="$rss" -v floor="$floor" 'BEGIN {
			mbs = cpu > 0 ? sprintf("%.0f", mb / 1e6 / cpu) : "-"
			ratio = floor > 0 ? sprintf("%.2f", cpu / floor) : "-"
			printf "| %s | %.0f | %d | %s | %.2f | %.2f | %s | %.1f | %s |\n",
			    file, mb / 1e6, s, t, cpu, wall, mbs, rss / 1024, ratio
		}' >>"$rows"
	done
done

# Memory per open session: popflow -T json, 256 against 64 sessions open at once, same size.
per_session=""
for spec in $VARIANTS; do
	case $spec in conc256:*) sz=${spec#*:} ;; *) continue ;; esac
	r256=$(awk -F' [|] ' -v f="conc256-$sz.pcap" '$1 == "| " f && $4 == "popflow-json" { print $8 }' "$rows")
	r64=$(awk -F' [|] ' -v f="pop3-$sz.pcap" '$1 == "| " f && $4 == "popflow-json" { print $8 }' "$rows")
	if [ -n "$r256" ] && [ -n "$r64" ]; then
		per_session=$(awk -v a="$r256" -v b="$r64" 'BEGIN { printf "%.0f", (a - b) * 1024 / 192 }')
	fi
done

{
	echo "# popflow benchmark results"
	echo
	echo "Written by \`make bench\` (bench/run.sh); see bench/README.md for what each row is."
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "- $RUNS runs of each tool per file, interleaved (floor, peers, popflow, floor, ...); medians"
	echo "- CPU = user + system seconds; MB/s = megabytes (10^6) of capture per CPU second;"
	echo "  ratio = CPU / CPU of floor-lines (libnids reassembly plus memchr for every line end)"
	echo
	echo "| capture | MB | sessions | tool | CPU s | wall s | MB/s | peak RSS MB | ratio |"
	echo "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
	cat "$rows"
	echo
	if [ -n "$per_session" ]; then
		echo "Memory per open session (popflow -T json, 256 against 64 sessions open at once, same"
		echo "capture size): about $per_session KiB."
	fi
} >"$work/results"
# The live section (bench/live.sh) stays.
[ -f "$OUT" ] && awk '/^## Live capture/ { f = 1; print "" } f' "$OUT" >>"$work/results"
cp "$work/results" "$OUT"
cat "$OUT"
