#!/usr/bin/env bash
# demo.sh - runs popflow on the bundled sample captures and writes its outputs to demo/.
set -eu
cd "$(dirname "$0")/.."
rm -rf demo
mkdir -p demo
for cap in samples/*.pcap; do
	base=demo/$(basename "$cap" .pcap)
	./popflow -r "$cap" -v >"$base.txt"
	./popflow -r "$cap" -T json -v >"$base.json"
	# Diagrams: one file per session (base-1.svg, base-2.svg, ...) when there are several.
	./popflow -r "$cap" -T svg -o "$base.svg" 2>/dev/null
	echo "demo: $cap -> $base.txt $base.json $base*.svg"
done
./popflow -r samples/seed-replica.pcap -T png -o demo/seed-replica.png 2>/dev/null
./popflow -r samples/seed-replica.pcap -T pdf -o demo/seed-replica.pdf 2>/dev/null
./popflow -r samples/seed-replica.pcap -T mermaid -o demo/seed-replica.mmd 2>/dev/null
echo "demo: samples/seed-replica.pcap -> demo/seed-replica.png .pdf .mmd"
echo
echo "demo: the seed replica, as text:"
./popflow -r samples/seed-replica.pcap
echo
echo "demo: and as a sequence diagram in the terminal (-T flow):"
./popflow -r samples/seed-replica.pcap -T flow --ascii --width 110 | head -40
echo "..."
echo "demo: every output is in demo/"
