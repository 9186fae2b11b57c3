#!/usr/bin/env bash
# demo.sh - runs popflow on the bundled sample captures and writes its outputs to demo/.
set -eu
cd "$(dirname "$0")/.."
mkdir -p demo
for cap in samples/*.pcap; do
	base=demo/$(basename "$cap" .pcap)
	./popflow -r "$cap" -v >"$base.txt"
	./popflow -r "$cap" -T json -v >"$base.json"
	echo "demo: $cap -> $base.txt $base.json"
done
echo
echo "demo: the seed replica, as text:"
cat demo/seed-replica.txt
