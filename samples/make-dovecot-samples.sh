#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Regenerate the captures of real POP3 clients talking to a real Dovecot server:
#   samples/dovecot-poplib.pcap     Python poplib (wrong password session + full session)
#   samples/dovecot-fetchmail.pcap  fetchmail fetching alice's mailbox (--keep, no TLS)
#   samples/dovecot-getmail.pcap    getmail6 SimplePOP3Retriever fetching bob's mailbox
# and next to each a .clientlog written from the client side.
#
# Dovecot (tests/lib/dovecot-env.sh) listens on 127.0.0.1:110; each client run is captured
# with `tcpdump -i lo -w FILE 'tcp port 110'` (tests/lib/capture.sh).  By default all of it
# runs in a private network namespace, so nothing else on port 110 gets into the captures and
# the host's port 110 is untouched.
#
# Usage: sudo samples/make-dovecot-samples.sh [OUTDIR]    (default OUTDIR: samples/)
#   NO_NETNS=1  use the host's loopback (127.0.0.1:110 must be free)
#   KEEP_WORK=1 keep the temporary directory (dovecot config, logs, fetched mail)
# Needs: root, dovecot-core, dovecot-pop3d, fetchmail, getmail6, openssl, python3, tcpdump,
#        tshark, iproute2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib="$here/../tests/lib"
# shellcheck source=../tests/lib/capture.sh
. "$lib/capture.sh"
# shellcheck source=../tests/lib/dovecot-env.sh
. "$lib/dovecot-env.sh"

if [ "$(id -u)" -ne 0 ]; then echo "$0: run as root" >&2; exit 1; fi
outdir=$(cd "${1:-$here}" && pwd)

if [ "${NO_NETNS:-0}" != 1 ] && [ -z "${POPFLOW_NETNS:-}" ]; then
    rc=0
    netns_reexec "popflow-dove-$$" "$0" "$outdir" || rc=$?
    exit "$rc"
fi

addr=127.0.0.1
port=110
work=$(mktemp -d)
chmod 755 "$work"
dv="$work/dovecot"

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    capture_stop >/dev/null 2>&1 || true
    dovecot_env_stop "$dv" || true
    if [ "$rc" -ne 0 ] && [ -f "$dv/log/dovecot.log" ]; then
        echo "--- dovecot log ---" >&2; cat "$dv/log/dovecot.log" >&2
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work" >&2
    else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== starting dovecot on $addr:$port"
dovecot_env_start "$dv" "$port" "$addr"
for f in "$here"/mail/0[1-5]-*.eml; do dovecot_env_add_message "$dv" alice "$f"; done
for f in "$here"/mail/0[1-4]-*.eml; do dovecot_env_add_message "$dv" bob "$f"; done

# ---------------------------------------------------------------- a) poplib
echo "== poplib"
capture_start "$work/dovecot-poplib.pcap" "tcp port $port" lo
python3 "$here/tools/poplib_client.py" --addr "$addr" --port "$port" --user alice \
    --password "$(dovecot_env_password alice)" --log "$work/dovecot-poplib.clientlog"
capture_stop
capture_check_complete "$work/dovecot-poplib.pcap"

# ---------------------------------------------------------------- b) fetchmail
echo "== fetchmail"
fmhome="$work/fetchmail"
mkdir -m 700 "$fmhome"
cat > "$fmhome/fetchmailrc" <<EOF
set no bouncemail
set no syslog
poll $addr with protocol pop3 port $port timeout 60
    user "alice" there with password "$(dovecot_env_password alice)" is "root" here
    options keep sslproto ''
    mda "/bin/cat > /dev/null"
EOF
chmod 600 "$fmhome/fetchmailrc"
capture_start "$work/dovecot-fetchmail.pcap" "tcp port $port" lo
fmrc=0
FETCHMAILHOME="$fmhome" fetchmail -f "$fmhome/fetchmailrc" -v -v --nodetach --nosyslog \
    --keep > "$work/fetchmail.out" 2>&1 || fmrc=$?
capture_stop
capture_check_complete "$work/dovecot-fetchmail.pcap"
{
    echo "# client: $(fetchmail --version 2>/dev/null | grep -m1 'This is fetchmail')"
    echo "# output of: fetchmail -v -v --nodetach --nosyslog --keep (protocol pop3, sslproto '',"
    echo "#            mda /bin/cat > /dev/null); exit status $fmrc"
    grep -v 'Running as root is discouraged' "$work/fetchmail.out"
} > "$work/dovecot-fetchmail.clientlog"
if [ "$fmrc" -ne 0 ]; then
    echo "fetchmail failed (exit $fmrc):" >&2; cat "$work/fetchmail.out" >&2; exit 1
fi

# ---------------------------------------------------------------- c) getmail
echo "== getmail"
gmdir="$work/getmail"
mkdir -p "$gmdir/Maildir/cur" "$gmdir/Maildir/new" "$gmdir/Maildir/tmp"
cat > "$gmdir/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = $addr
port = $port
username = bob
password = $(dovecot_env_password bob)

[destination]
type = Maildir
path = $gmdir/Maildir/

[options]
verbose = 2
read_all = true
delete = false
received = false
delivered_to = false
EOF
# getmail refuses to deliver as root: run it as the mail user of dovecot-env.sh
chown -R "$DOVECOT_ENV_MAILUSER:" "$gmdir"
chmod -R go-rwx "$gmdir"
capture_start "$work/dovecot-getmail.pcap" "tcp port $port" lo
gmrc=0
HOME="$gmdir" runuser -u "$DOVECOT_ENV_MAILUSER" -- \
    getmail -g "$gmdir" -r "$gmdir/getmailrc" -v > "$work/getmail.out" 2>&1 || gmrc=$?
capture_stop
capture_check_complete "$work/dovecot-getmail.pcap"
{
    echo "# client: getmail $(getmail --version 2>&1 | awk '{print $NF}')"
    echo "# output of: getmail -v (SimplePOP3Retriever, verbose = 2, read_all, no delete,"
    echo "#            destination Maildir, run as user $DOVECOT_ENV_MAILUSER); exit status $gmrc"
    echo "# delivered messages (octets as stored by getmail, LF line ends):"
    for m in "$gmdir"/Maildir/new/*; do
        [ -f "$m" ] && echo "#   $(wc -c < "$m") $(grep -m1 '^Subject:' "$m" || echo 'Subject: -')"
    done
    cat "$work/getmail.out"
} > "$work/dovecot-getmail.clientlog"
if [ "$gmrc" -ne 0 ]; then
    echo "getmail failed (exit $gmrc):" >&2; cat "$work/getmail.out" >&2; exit 1
fi

# ---------------------------------------------------------------- finish
dovecot_env_stop "$dv"
if ! dovecot_env_check_log "$dv"; then echo "dovecot logged errors (above)" >&2; exit 1; fi

for name in dovecot-poplib dovecot-fetchmail dovecot-getmail; do
    size=$(wc -c < "$work/$name.pcap")
    if [ "$size" -ge 1048576 ]; then echo "$name.pcap is $size bytes (>= 1 MiB)" >&2; exit 1; fi
    sessions=$(tshark -r "$work/$name.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | wc -l)
    commands=$(tshark -r "$work/$name.pcap" -Y 'pop.request' 2>/dev/null | wc -l)
    cp "$work/$name.pcap" "$work/$name.clientlog" "$outdir/"
    echo "wrote $outdir/$name.pcap ($size bytes, $sessions sessions, $commands command lines) and .clientlog"
done
