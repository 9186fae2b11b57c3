#!/usr/bin/env bash
# gen-captures.sh - build mkpcap and regenerate tests/golden/<name>.pcap from
# every tests/golden/src/<name>.pfs.  Deterministic: the same script always
# gives the same bytes (timestamps come from the scripts).
#
# Usage: tests/tools/gen-captures.sh [NAME...]   (default: every script)
#        CC=clang tests/tools/gen-captures.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src="$root/tests/golden/src"
dst="$root/tests/golden"
cc=${CC:-cc}

build=$(mktemp -d "${TMPDIR:-/tmp}/mkpcap.XXXXXX")
trap 'rm -rf "$build"' EXIT

# shellcheck disable=SC2046
"$cc" -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -O2 -o "$build/mkpcap" \
    "$here/mkpcap.c" $(pkg-config --cflags --libs libpcap)

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in "$src"/*.pfs; do
		n=$(basename "$f" .pfs)
		names+=("$n")
	done
fi

for n in "${names[@]}"; do
	n=${n%.pfs}
	# write to a temporary name first so a failed script leaves no half file
	"$build/mkpcap" "$src/$n.pfs" "$build/$n.pcap"
	mv "$build/$n.pcap" "$dst/$n.pcap"
	printf '%-24s %8d bytes\n' "$n.pcap" "$(stat -c %s "$dst/$n.pcap")"
done
