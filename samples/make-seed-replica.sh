#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Regenerate samples/seed-replica.pcap and samples/seed-replica.segments.txt: the POP3 session
# of the EventStudio seed document replayed over real TCP sockets on 127.0.0.1:110 and captured
# with `tcpdump -i lo -w FILE 'tcp port 110'`.  The TCP segment pattern is checked against the
# seed's 38 segments with tshark; loopback timing can vary, so up to 5 attempts are made.
#
# Usage: sudo samples/make-seed-replica.sh [OUTDIR]     (default OUTDIR: samples/)
#   NO_NETNS=1  run on the host's loopback instead of a private network namespace
#               (port 110 must then be free, and other traffic on port 110 would be captured)
# Needs: root, python3, tcpdump, tshark, iproute2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/lib/capture.sh
. "$here/../tests/lib/capture.sh"

if [ "$(id -u)" -ne 0 ]; then echo "$0: run as root" >&2; exit 1; fi
outdir=$(cd "${1:-$here}" && pwd)

if [ "${NO_NETNS:-0}" != 1 ] && [ -z "${POPFLOW_NETNS:-}" ]; then
    rc=0
    netns_reexec "popflow-seed-$$" "$0" "$outdir" || rc=$?
    exit "$rc"
fi

work=$(mktemp -d)
chmod 755 "$work"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { capture_stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

tool="$here/tools/seed_replica.py"
for attempt in 1 2 3 4 5; do
    echo "== attempt $attempt"
    rm -f "$work/seed.pcap"
    capture_start "$work/seed.pcap" 'tcp port 110' lo
    python3 "$tool" exchange --addr 127.0.0.1 --port 110
    capture_stop
    if python3 "$tool" check "$work/seed.pcap" --segments "$work/segments.txt"; then
        cp "$work/seed.pcap" "$outdir/seed-replica.pcap"
        cp "$work/segments.txt" "$outdir/seed-replica.segments.txt"
        echo "wrote $outdir/seed-replica.pcap and $outdir/seed-replica.segments.txt"
        exit 0
    fi
    echo "attempt $attempt: the segment pattern differs from the seed (see above); retrying" >&2
    sleep 1
done
echo "FAILED: no attempt reproduced the seed's 38-segment pattern" >&2
exit 1
