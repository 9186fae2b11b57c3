#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Captures of real POP3 clients against a real Dovecot (Debian's), for the golden and
# extraction tests of credentials, STLS and retrieved mail:
#
#   tests/golden/dovecot-auth.pcap (+ .clientlog)
#       Python poplib (tests/dovecot/clients.py auth): CAPA, AUTH listing, USER/PASS
#       wrong then right, AUTH PLAIN with and without an initial response, AUTH LOGIN,
#       AUTH CRAM-MD5, APOP, AUTH cancelled / "=" / not base64, STLS then TLS;
#       fetchmail with STLS (real TLS after the +OK); getmail6 with APOP.
#   tests/golden/dovecot-mail.pcap (+ .clientlog)
#       alice's mailbox (tests/dovecot/mail, in this order): an empty message, dot-stuffed
#       and "From " lines, 8-bit and RFC 2047 headers, a short one, a 1 MiB attachment
#       (make-big-mail.py), a message of one "." line; poplib RETRs every message and
#       TOP 5 0; a raw client pipelines every RETR but the 1 MiB one (once is enough).  Dovecot 2.3.19 sends the empty
#       message as one empty line and does not dot-stuff the "." that starts message 6
#       (so its "." ends the message early and the real "." is a stray line): the
#       clients, the manifest and popflow all see what was sent, not what was stored.
#   tests/extract/dovecot-mail.manifest
#       per message: the mail file delivered, the SHA-256 of the file Dovecot stored
#       and of what each client received (checked equal here), for tests/extract/run.sh.
#
# Dovecot (tests/lib/dovecot-env.sh) listens on 127.0.0.1:110 inside a private network
# namespace this script creates (tests/lib/capture.sh netns_reexec); tcpdump captures
# 'tcp port 110' on its loopback.  Everything started is stopped on exit, also on failure.
#
# Usage: sudo tests/dovecot/make-auth-captures.sh [OUTDIR]   (default: tests/golden)
#   NO_NETNS=1   use the host's loopback (127.0.0.1:110 must be free)
#   KEEP_WORK=1  keep the temporary directory
# Needs: root, dovecot-core, dovecot-pop3d, fetchmail, getmail6, openssl, python3,
#        tcpdump, tshark, iproute2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
lib="$root/tests/lib"
# shellcheck source=../lib/capture.sh
. "$lib/capture.sh"
# shellcheck source=../lib/dovecot-env.sh
. "$lib/dovecot-env.sh"

if [ "$(id -u)" -ne 0 ]; then echo "$0: run as root" >&2; exit 1; fi
outdir=$(cd "${1:-$root/tests/golden}" && pwd)
manifest_dir="$root/tests/extract"

if [ "${NO_NETNS:-0}" != 1 ] && [ -z "${POPFLOW_NETNS:-}" ]; then
    rc=0
    netns_reexec "popflow-auth-$$" "$0" "$outdir" || rc=$?
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
        echo "--- dovecot log ---" >&2; tail -n 40 "$dv/log/dovecot.log" >&2
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work" >&2
    else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- the mail
mail="$work/mail"
mkdir -p "$mail"
cp "$here"/mail/0[1-46]-*.eml "$mail/"
python3 "$here/make-big-mail.py" "$mail/05-attachment-1mib.eml"

echo "== starting dovecot on $addr:$port"
DOVECOT_ENV_NO_PROBE=1 dovecot_env_start "$dv" "$port" "$addr"
for f in "$mail"/0[1-6]-*.eml; do dovecot_env_add_message "$dv" alice "$f"; done
for f in "$mail"/04-short.eml "$mail"/03-8bit-rfc2047.eml; do
    dovecot_env_add_message "$dv" bob "$f"
done

# ---------------------------------------------------------------- auth capture
echo "== auth: poplib, fetchmail (STLS), getmail (APOP)"
capture_start "$work/dovecot-auth.pcap" "tcp port $port" lo
alog="$work/dovecot-auth.clientlog"
{
    echo "# clients of tests/dovecot/make-auth-captures.sh against Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1)"
    echo "# user bob, throwaway password of tests/lib/dovecot-env.sh; secrets masked below"
    echo "# --- python3 tests/dovecot/clients.py auth (poplib, $(python3 --version))"
} > "$alog"
python3 "$here/clients.py" auth "$addr" "$port" bob "$(dovecot_env_password bob)" "$work/poplib.log"
cat "$work/poplib.log" >> "$alog"

# fetchmail: STLS with a real TLS handshake (the certificate is throwaway: not checked)
fmhome="$work/fetchmail"
mkdir -m 700 "$fmhome"
cat > "$fmhome/fetchmailrc" <<EOF
set no bouncemail
set no syslog
poll $addr with protocol pop3 port $port timeout 60 auth password
    user "bob" there with password "$(dovecot_env_password bob)" is "root" here
    options keep sslproto 'TLS1.2+' no sslcertck
    mda "/bin/cat > /dev/null"
EOF
chmod 600 "$fmhome/fetchmailrc"
fmrc=0
FETCHMAILHOME="$fmhome" fetchmail -f "$fmhome/fetchmailrc" -v --nodetach --nosyslog --keep \
    > "$work/fetchmail.out" 2>&1 || fmrc=$?
{
    echo "# --- $(fetchmail --version 2>/dev/null | grep -m1 'This is fetchmail'): auth password,"
    echo "#     sslproto 'TLS1.2+', no sslcertck, keep; exit status $fmrc"
    grep -v 'Running as root is discouraged' "$work/fetchmail.out" | sed 's/^PASS .*/PASS */'
} >> "$alog"
if [ "$fmrc" -ne 0 ]; then echo "fetchmail failed ($fmrc):" >&2; cat "$work/fetchmail.out" >&2; exit 1; fi
grep -q 'STLS' "$work/fetchmail.out" || { echo "fetchmail did not use STLS" >&2; exit 1; }

# getmail6: APOP (use_apop), as the mail user (getmail refuses to deliver as root)
gmdir="$work/getmail"
mkdir -p "$gmdir/Maildir/cur" "$gmdir/Maildir/new" "$gmdir/Maildir/tmp"
cat > "$gmdir/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = $addr
port = $port
username = bob
password = $(dovecot_env_password bob)
use_apop = true

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
chown -R "$DOVECOT_ENV_MAILUSER:" "$gmdir"
chmod -R go-rwx "$gmdir"
gmrc=0
HOME="$gmdir" runuser -u "$DOVECOT_ENV_MAILUSER" -- \
    getmail -g "$gmdir" -r "$gmdir/getmailrc" -v > "$work/getmail.out" 2>&1 || gmrc=$?
{
    echo "# --- getmail $(getmail --version 2>&1 | awk '{print $NF}'): SimplePOP3Retriever,"
    echo "#     use_apop, read_all, no delete; exit status $gmrc"
    cat "$work/getmail.out"
} >> "$alog"
if [ "$gmrc" -ne 0 ]; then echo "getmail failed ($gmrc):" >&2; cat "$work/getmail.out" >&2; exit 1; fi
capture_stop
capture_check_complete "$work/dovecot-auth.pcap"

# ---------------------------------------------------------------- mail capture
echo "== mail: poplib RETR/TOP, pipelined RETRs"
recv="$work/received"
mkdir -p "$recv"
capture_start "$work/dovecot-mail.pcap" "tcp port $port" lo
python3 "$here/clients.py" mail "$addr" "$port" alice "$(dovecot_env_password alice)" \
    "$work/mail.log" "$recv"
capture_stop
capture_check_complete "$work/dovecot-mail.pcap"
{
    echo "# clients of tests/dovecot/make-auth-captures.sh against Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1)"
    echo "# user alice, throwaway password of tests/lib/dovecot-env.sh; PASS masked"
    echo "# --- python3 tests/dovecot/clients.py mail (poplib, then a raw pipelining client)"
    cat "$work/mail.log"
} > "$work/dovecot-mail.clientlog"

dovecot_env_stop "$dv"
if ! dovecot_env_check_log "$dv"; then echo "dovecot logged errors (above)" >&2; exit 1; fi

# ---------------------------------------------------------------- the manifest
# Message n of alice's INBOX is the n-th file delivered (doveadm save in order).  Check:
# the file Dovecot stored is the file delivered; both clients received the same bytes.
# Record whether those are the file with CRLF line ends (RFC 1939) or not (server quirks).
python3 - "$mail" "$dv/home/alice/Maildir" "$recv" "$work/dovecot-mail.manifest" <<'PY'
import glob, hashlib, os, sys
mail, maildir, recv, out = sys.argv[1:5]
sources = sorted(glob.glob(os.path.join(mail, "0[1-6]-*.eml")))
# Dovecot's dovecot-uidlist maps each UID (= message number here) to its file.
files = {os.path.basename(p).split(":")[0]: p
         for p in glob.glob(os.path.join(maildir, "cur", "*")) + glob.glob(os.path.join(maildir, "new", "*"))}
stored = []
with open(os.path.join(maildir, "dovecot-uidlist")) as f:
    next(f)  # the header line
    for line in f:
        uid, _, fname = line.rstrip("\n").partition(":")
        stored.append((int(uid.split()[0]), files[fname.split(":")[0]]))
stored = [p for _uid, p in sorted(stored)]
if len(stored) != len(sources):
    sys.exit("maildir holds %d files, %d delivered" % (len(stored), len(sources)))
sha = lambda b: hashlib.sha256(b).hexdigest()
lines = ["# tests/extract/dovecot-mail.manifest: written by tests/dovecot/make-auth-captures.sh",
         "# msgno source-file octets-received sha256-received same|differs",
         "# received = what poplib and the pipelining client both got (checked equal);",
         "# same = it is the source file (as Dovecot stored it) with LF -> CRLF"]
for n, (src, st) in enumerate(zip(sources, stored), 1):
    a = open(src, "rb").read()
    b = open(st, "rb").read()
    if a != b:
        sys.exit("message %d: Dovecot stored %s differently from %s" % (n, st, src))
    wire = a.replace(b"\n", b"\r\n")
    got = [open(os.path.join(recv, "%s-%d.eml" % (who, n)), "rb").read()
           for who in ("poplib", "pipelined") if os.path.exists(os.path.join(recv, "%s-%d.eml" % (who, n)))]
    if len(got) > 1 and got[0] != got[1]:
        sys.exit("message %d: poplib got %d octets, the pipelining client %d" % (n, len(got[0]), len(got[1])))
    name = os.path.basename(src)
    lines.append("%d %s %d %s %s" % (n, name, len(got[0]), sha(got[0]), "same" if got[0] == wire else "differs"))
    if got[0] != wire:
        print("message %d (%s): the clients received %d octets, the file is %d with CRLF"
              % (n, name, len(got[0]), len(wire)))
open(out, "w").write("\n".join(lines) + "\n")
print("manifest: %d messages; Dovecot stored each file as delivered; both clients agree" % len(sources))
PY

for name in dovecot-auth dovecot-mail; do
    cp "$work/$name.pcap" "$work/$name.clientlog" "$outdir/"
    echo "wrote $outdir/$name.pcap ($(wc -c < "$work/$name.pcap") bytes) and .clientlog"
done
mkdir -p "$manifest_dir"
cp "$work/dovecot-mail.manifest" "$manifest_dir/"
echo "wrote $manifest_dir/dovecot-mail.manifest"
