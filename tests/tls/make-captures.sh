#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Real TLS captures for the TLS decryption tests (tests/tls/run.sh): curl, and once
# openssl s_client, against a real Dovecot, each writing its NSS key log (SSLKEYLOGFILE,
# -keylogfile).  One capture per case, in tests/tls/captures/:
#
#   NAME.pcap        the packets (tcpdump on the loopback of a private network namespace
#                    whose lo MTU is 1500, so a message spans many segments)
#   NAME.keys        the client's key log (throwaway keys of a throwaway server)
#   NAME.clientlog   the client's own log: curl -v (its "> CMD" and "< reply" lines) or
#                    the s_client transcript
#   NAME.body        what the client received (RETR cases): the message as curl wrote it
#
# Cases: TLS 1.3 with each of its three suites and TLS 1.2 with AES-GCM, ChaCha20-Poly1305
# and AES-CBC with HMAC-SHA1/SHA256/SHA384 (curl --tls13-ciphers / --ciphers; OpenSSL
# negotiates encrypt_then_mac for CBC), one MAC-then-encrypt CBC session (s_client
# -no_etm), over pop3s:// (port 995) and pop3:// --ssl-reqd (STLS on 110), and one RETR
# of a 300 KB message that spans many records and segments.
#
# Usage: sudo tests/tls/make-captures.sh [OUTDIR]   (default: tests/tls/captures)
#   KEEP_WORK=1  keep the temporary directory
# Needs: root, dovecot-core, dovecot-pop3d, curl, openssl, python3, tcpdump, tshark, iproute2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
lib="$root/tests/lib"
# shellcheck source=../lib/capture.sh
. "$lib/capture.sh"
# shellcheck source=../lib/dovecot-env.sh
. "$lib/dovecot-env.sh"

if [ "$(id -u)" -ne 0 ]; then echo "$0: run as root" >&2; exit 1; fi
mkdir -p "${1:-$here/captures}"
outdir=$(cd "${1:-$here/captures}" && pwd)

if [ -z "${POPFLOW_NETNS:-}" ]; then
    rc=0
    netns_reexec "popflow-tls-$$" "$0" "$outdir" || rc=$?
    exit "$rc"
fi

addr=127.0.0.1
ip link set lo mtu 1500
export CAPTURE_OPTS="-s 65535 -B 65536"
work=$(mktemp -d)
chmod 755 "$work"
dv="$work/dovecot"

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    capture_stop >/dev/null 2>&1 || true
    dovecot_env_stop "$dv" || true
    if [ "$rc" -ne 0 ] && [ -f "$dv/log/dovecot.log" ]; then
        echo "--- dovecot log ---" >&2; tail -n 40 "$dv/log/dovecot.log" >&2
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work" >&2
    else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== starting dovecot on $addr:110 and :995"
DOVECOT_ENV_NO_PROBE=1 dovecot_env_start "$dv" 110 "$addr"
# A pop3s listener too (RFC 8314 implicit TLS): the generated configuration keeps it closed.
dovecot -c "$dv/dovecot.conf" stop
for i in $(seq 1 50); do _dovecot_env_listening "$addr" 110 || break; sleep 0.1; done
python3 - "$dv/dovecot.conf" "$addr" <<'PY'
import sys
p, addr = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("  inet_listener pop3s {\n    port = 0\n  }",
              "  inet_listener pop3s {\n    address = %s\n    port = 995\n    ssl = yes\n  }" % addr)
open(p, "w").write(s)
PY
dovecot -c "$dv/dovecot.conf"
for i in $(seq 1 100); do _dovecot_env_listening "$addr" 995 && break; sleep 0.1; done
_dovecot_env_listening "$addr" 995 || { echo "dovecot: no pop3s listener" >&2; exit 1; }

printf 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: small\r\n\r\nA short message, retrieved over TLS.\r\n' > "$work/small.eml"
python3 - "$work/big.eml" <<'PY'
import sys
# 300 KB of text lines: many TLS records (16 KiB each) and many 1448-byte segments.
with open(sys.argv[1], "w", newline="") as f:
    f.write("From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: big\r\n\r\n")
    for i in range(4000):
        f.write("line %05d of a message big enough for many TLS records and TCP segments\r\n" % i)
PY
dovecot_env_add_message "$dv" alice "$work/small.eml"
dovecot_env_add_message "$dv" alice "$work/big.eml"
pw=$(dovecot_env_password alice)

# case NAME URL-SCHEME PATH TLSOPTS...: one curl session in its own capture.
run_curl() {
    local name=$1 scheme=$2 path=$3; shift 3
    local url port
    case "$scheme" in
        pop3s) url="pop3s://$addr/$path"; port=995 ;;
        stls) url="pop3://$addr/$path"; port=110; set -- --ssl-reqd "$@" ;;
    esac
    echo "== $name"
    rm -f "$work/$name.keys"
    capture_start "$work/$name.pcap" "tcp port $port" lo
    SSLKEYLOGFILE="$work/$name.keys" curl -sS -v -k -u "alice:$pw" "$@" "$url" \
        -o "$work/$name.body" 2>"$work/$name.clientlog"
    capture_stop
    capture_check_complete "$work/$name.pcap"
    [ -n "$path" ] || rm -f "$work/$name.body"
}

run_curl tls13-aes128gcm pop3s "" --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
run_curl tls13-aes256gcm stls 1 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 \
    --login-options AUTH=PLAIN
run_curl tls13-chacha20 pop3s 1 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
run_curl tls12-aes128gcm stls 1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 \
    --login-options AUTH=PLAIN
run_curl tls12-aes256gcm pop3s "" --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384
run_curl tls12-chacha20 pop3s 1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
run_curl tls12-cbc-sha stls 1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA
run_curl tls12-cbc-sha256 pop3s 1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256
run_curl tls12-cbc-sha384 stls "" --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-SHA384
# Slowly, so that tcpdump keeps up on a busy machine.
run_curl tls13-big pop3s 2 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 --limit-rate 512K

# MAC-then-encrypt (RFC 5246 6.2.3.2): s_client can refuse encrypt_then_mac.
name=tls12-cbc-mte
echo "== $name"
capture_start "$work/$name.pcap" "tcp port 995" lo
{ sleep 1; printf 'USER alice\r\n'; sleep 0.5; printf 'PASS %s\r\n' "$pw"; sleep 0.5
  printf 'STAT\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 1; } |
    openssl s_client -connect "$addr:995" -tls1_2 -no_etm -cipher ECDHE-RSA-AES256-SHA \
        -keylogfile "$work/$name.keys" -quiet >"$work/$name.clientlog" 2>"$work/$name.s_client.err" || true
capture_stop
capture_check_complete "$work/$name.pcap"

dovecot_env_check_log "$dv" || true
for f in "$work"/*.pcap "$work"/*.keys "$work"/*.clientlog "$work"/*.body; do
    [ -e "$f" ] || continue
    cp "$f" "$outdir/"
done
# curl -v names the client's address and the server's certificate: nothing secret.
echo "== wrote $(ls "$outdir" | wc -l) files to $outdir"
