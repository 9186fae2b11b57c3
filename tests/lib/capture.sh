# shellcheck shell=bash
# tests/lib/capture.sh: loopback captures with tcpdump, optionally inside a private network
# namespace (so the capture holds only our own traffic and port 110 of the host is untouched).
#
#   capture_start FILE FILTER [IFACE]   start `tcpdump -i IFACE(lo) --immediate-mode -U -w FILE
#                                       FILTER` (default snaplen), wait until it listens;
#                                       sets CAPTURE_PID; env CAPTURE_OPTS adds tcpdump options
#                                       (e.g. "-s 65535 -B 65536": a bigger kernel ring for
#                                       bursts of large packets)
#   capture_stop                        wait a moment, SIGINT that tcpdump, wait for it, check it
#                                       dropped nothing
#   capture_check_complete FILE         every TCP connection in FILE has its SYN and is closed
#                                       by two FINs or a RST (tshark); prints a summary line
#   netns_reexec NAME "$0" "$@"         if not yet inside, create netns NAME with lo up and run
#                                       the script again inside it (env POPFLOW_NETNS=NAME);
#                                       returns the inner exit status; deletes NAME afterwards.
#                                       Returns 255 (and does nothing) when already inside.
#                                       Sets its own EXIT/INT/TERM traps (netns removal) while
#                                       running: call it before setting the script's own traps.
# Without --immediate-mode, tcpdump on Linux reads packets in blocks (TPACKET_V3, 1 s timeout)
# and an early SIGINT loses the last, unread block without counting it as dropped.
# Needs root, tcpdump, tshark, iproute2.

CAPTURE_PID=
CAPTURE_ERR=

capture_start() {
    local file=${1:?usage: capture_start FILE FILTER [IFACE]} filter=${2:?FILTER} iface=${3:-lo} i=0
    CAPTURE_ERR=$(mktemp)
    # shellcheck disable=SC2086  # CAPTURE_OPTS: extra tcpdump options, split on spaces
    tcpdump -i "$iface" --immediate-mode -U ${CAPTURE_OPTS:-} -w "$file" "$filter" 2>"$CAPTURE_ERR" &
    CAPTURE_PID=$!
    until grep -q 'listening on' "$CAPTURE_ERR"; do
        i=$((i + 1))
        if ! kill -0 "$CAPTURE_PID" 2>/dev/null || [ "$i" -gt 100 ]; then
            echo "capture: tcpdump did not start:" >&2; cat "$CAPTURE_ERR" >&2
            capture_stop || true
            return 1
        fi
        sleep 0.1
    done
    sleep 0.2
}

capture_stop() {
    local rc=0
    [ -n "$CAPTURE_PID" ] || return 0
    sleep 1                         # let the last segments reach the capture
    kill -INT "$CAPTURE_PID" 2>/dev/null || true
    wait "$CAPTURE_PID" 2>/dev/null || true
    CAPTURE_PID=
    if [ -n "$CAPTURE_ERR" ] && [ -f "$CAPTURE_ERR" ]; then
        if ! grep -q '^0 packets dropped by kernel' "$CAPTURE_ERR"; then
            echo "capture: tcpdump reports drops or no summary:" >&2; cat "$CAPTURE_ERR" >&2; rc=1
        fi
        rm -f "$CAPTURE_ERR"
    fi
    CAPTURE_ERR=
    return "$rc"
}

capture_check_complete() {
    local file=${1:?usage: capture_check_complete FILE}
    tshark -r "$file" -T fields -e tcp.stream -e tcp.flags.syn -e tcp.flags.ack \
           -e tcp.flags.fin -e tcp.flags.reset 2>/dev/null |
    awk -v f="$file" '
        { s[$1] = 1
          if ($2 == 1 && $3 == 0) syn[$1]++
          if ($4 == 1) fin[$1]++
          if ($5 == 1) rst[$1]++ }
        END { n = 0; bad = 0
              for (k in s) { n++
                  if (!syn[k] || (fin[k] < 2 && !rst[k])) {
                      bad++; printf "capture: %s: tcp.stream %s incomplete (SYN %d, FIN %d, RST %d)\n",
                             f, k, syn[k], fin[k], rst[k] > "/dev/stderr" } }
              printf "capture: %s: %d TCP connection(s), %s\n", f, n, bad ? "INCOMPLETE" : "all complete"
              exit (bad || n == 0) ? 1 : 0 }'
}

netns_reexec() {
    local name=${1:?usage: netns_reexec NAME SCRIPT [ARGS...]} rc=0
    shift
    [ -z "${POPFLOW_NETNS:-}" ] || return 255
    ip netns add "$name" || { echo "netns: cannot create $name" >&2; return 1; }
    # shellcheck disable=SC2064  # expand $name now
    trap "ip netns del '$name' 2>/dev/null || true" EXIT
    # shellcheck disable=SC2064
    trap "ip netns del '$name' 2>/dev/null || true; exit 130" INT TERM
    ip netns exec "$name" ip link set lo up || { ip netns del "$name"; return 1; }
    POPFLOW_NETNS=$name ip netns exec "$name" "$@" || rc=$?
    ip netns del "$name" || true
    trap - EXIT INT TERM
    return "$rc"
}
