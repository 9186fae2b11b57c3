#!/usr/bin/env bash
# make-sample-pngs.sh - renders the PNGs kept beside the sample captures (after `make`).
# samples/seed-replica.png (every segment, as the seed) and samples/seed-replica-messages.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
POPFLOW=${POPFLOW:-./popflow}
"$POPFLOW" -r samples/seed-replica.pcap -T png --templates templates -o samples/seed-replica.png
"$POPFLOW" -r samples/seed-replica.pcap -T png --detail messages --templates templates \
    -o samples/seed-replica-messages.png
python3 tests/diagram/check.py png samples/seed-replica.png samples/seed-replica-messages.png
