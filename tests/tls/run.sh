#!/usr/bin/env bash
# tests/tls/run.sh - TLS decryption end to end, on real captures (tests/tls/make-captures.sh:
# curl and openssl s_client against Dovecot, TLS 1.2 and 1.3, every supported suite, STLS and
# port 995) and on the public capture with its keys in the file (when the corpus is there):
#   * each capture with its key log: decrypted, with the version and suite the client chose;
#     the client's own log and tshark's decryption (-o tls.keylog_file) give the same lines;
#     a retrieved message extracts byte for byte as the client stored it
#   * keys inside the capture, without --keylog: a pcapng Decryption Secrets Block (editcap
#     --inject-secrets), a Section Header Block comment (editcap --capture-comment), and the
#     public capture lekensteyn-pop-ssl.pcapng (its keys are in its comment)
#   * a wrong key, the key log of another session, a capture that ends inside a record, a
#     record with one flipped bit: each a clear anomaly, the rest still analysed
#   * no key material in any output
# Honours $POPFLOW (make asan runs it with the sanitizer build).
set -u
cd "$(dirname "$0")/../.." || exit 1
POPFLOW=${POPFLOW:-./popflow}
export TZ=UTC
caps=tests/tls/captures
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION ARGS... (tests/tls/check.py)
	local what=$1; shift
	if python3 tests/tls/check.py "$@" >"$tmp/check" 2>&1; then ok; else bad "$what"; sed 's/^/  /' "$tmp/check"; fi
}
run() { # run NAME ARGS...: popflow -T json into $tmp/NAME.json; exit 0 expected
	local name=$1; shift
	if "$POPFLOW" -T json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"; then ok
	else bad "$name: popflow exited $?"; sed 's/^/  stderr: /' "$tmp/$name.err" | head -5; fi
}
secrets_absent() { # secrets_absent KEYS FILE...: no secret of the key log appears in the files
	local k f
	for k in $(awk 'NF == 3 { print $3 }' "$1"); do
		for f in "${@:2}"; do
			if grep -qi -- "${k:0:32}" "$f"; then bad "key material of $1 in $f"; return; fi
		done
	done
	ok
}
have_tshark=1
command -v tshark >/dev/null || have_tshark=0

# name, version, suite (IANA name, as popflow prints it)
while read -r name version suite; do
	pcap=$caps/$name.pcap keys=$caps/$name.keys
	mkdir -p "$tmp/x-$name"
	run "$name" -r "$pcap" --keylog "$keys" --extract "$tmp/x-$name"
	check "$name: decrypted, and what the client logged" session "$tmp/$name.json" "$caps/$name.clientlog" "TLS $version" "$suite"
	if [ -f "$caps/$name.body" ]; then
		if cmp -s "$caps/$name.body" "$tmp/x-$name"/*.eml; then ok
		else bad "$name: the extracted message differs from what the client received"; fi
	fi
	if [ "$have_tshark" = 1 ]; then
		tshark -r "$pcap" -o "tls.keylog_file:$keys" -Y pop -T fields \
			-e pop.request.command -e pop.request.parameter >"$tmp/$name.tshark" 2>/dev/null
		check "$name: tshark decrypts the same requests" tshark "$tmp/$name.json" "$tmp/$name.tshark"
	else
		bad "$name: tshark is missing (make deps installs it)"
	fi
	"$POPFLOW" -r "$pcap" --keylog "$keys" >"$tmp/$name.txt" 2>&1
	secrets_absent "$keys" "$tmp/$name.json" "$tmp/$name.txt" "$tmp/$name.err"
done <<'LIST'
tls13-aes128gcm  1.3 TLS_AES_128_GCM_SHA256
tls13-aes256gcm  1.3 TLS_AES_256_GCM_SHA384
tls13-chacha20   1.3 TLS_CHACHA20_POLY1305_SHA256
tls13-big        1.3 TLS_AES_128_GCM_SHA256
tls12-aes128gcm  1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
tls12-aes256gcm  1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
tls12-chacha20   1.2 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
tls12-cbc-sha    1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
tls12-cbc-sha256 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
tls12-cbc-sha384 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
tls12-cbc-mte    1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
LIST

# CBC: OpenSSL negotiates encrypt_then_mac (RFC 7366); s_client -no_etm does not.
grep -q '"encrypt_then_mac":true' "$tmp/tls12-cbc-sha.json" && ok || bad "tls12-cbc-sha: encrypt_then_mac not seen"
grep -q '"encrypt_then_mac":false' "$tmp/tls12-cbc-mte.json" && ok || bad "tls12-cbc-mte: encrypt_then_mac seen"
# The big RETR: many records, many segments, each message still knows its frames.
python3 - "$tmp/tls13-big.json" <<'PY' && ok || bad "tls13-big: records, segments or frames"
import json, sys
s = json.loads(open(sys.argv[1]).readline())
t = [t for t in s["transactions"] if t["command"] == "RETR"][0]
assert s["tls"]["records"]["to_client"] > 20, s["tls"]
assert s["tls"]["segments"]["to_client"] > 100, s["tls"]
assert t["body_octets"] == 296076 and t["reply_frame"] > t["command_frame"], t
PY
# Text: the TLS line and the decrypted transcript.
grep -q '^TLS: TLS 1.3, TLS_AES_128_GCM_SHA256, decrypted$' "$tmp/tls13-aes128gcm.txt" && ok || bad "text: TLS line"
grep -q '^Client: LIST$' "$tmp/tls13-aes128gcm.txt" && ok || bad "text: LIST inside TLS"

# Diagrams: a "TLS handshake" phase of grey TLS rows, then POP3 again, said to be encrypted.
"$POPFLOW" -r "$caps/tls12-aes128gcm.pcap" --keylog "$caps/tls12-aes128gcm.keys" -T flow --ascii --width 150 >"$tmp/flow" 2>&1
python3 - "$tmp/flow" <<'PY' && ok || bad "diagram: TLS handshake phase, TLS rows, POP3 after it"
import sys
t = open(sys.argv[1]).read()
bands = [l.strip("= ").strip() for l in t.splitlines() if l.startswith("====")]
assert bands == ["TCP connection setup", "POP3 authorization", "TLS handshake", "POP3 authorization",
                 "POP3 transaction", "POP3 update", "TCP connection release"], bands
assert "TLS ClientHello" in t and "TLS ChangeCipherSpec; Finished" in t, t
PY
"$POPFLOW" -r "$caps/tls12-aes128gcm.pcap" --keylog "$caps/tls12-aes128gcm.keys" -T dot >"$tmp/dot" 2>&1
[ "$(grep -c 'Encrypted on the wire (TLS): shown decrypted' "$tmp/dot")" -eq 1 ] && ok || bad "diagram: one note that POP3 was encrypted on the wire"

# Keys inside the capture: a Decryption Secrets Block, no --keylog.
if command -v editcap >/dev/null; then
	editcap --inject-secrets "tls,$caps/tls12-chacha20.keys" "$caps/tls12-chacha20.pcap" "$tmp/dsb.pcapng"
	run dsb -r "$tmp/dsb.pcapng"
	check "DSB: decrypted without --keylog" session "$tmp/dsb.json" "$caps/tls12-chacha20.clientlog" "TLS 1.2" TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
else
	bad "editcap is missing (make deps installs tshark)"
fi
# The public capture lekensteyn-pop-ssl.pcapng (origin: Lekensteyn/wireshark-notes; see the
# corpus's SOURCES.md): STLS, TLS 1.2 with a renegotiation, keys in its Section Header Block
# comment; tshark shows CAPA twice inside TLS (frames 17 and 29).  Its repository states no
# licence, so it is not copied here (tests/public/captures/README.md): read from $PUBLIC_CORPUS.
corpus=${PUBLIC_CORPUS:-../shared/corpus/public}
skipped=0
if [ -f "$corpus/lekensteyn-pop-ssl.pcapng" ]; then
	run public -r "$corpus/lekensteyn-pop-ssl.pcapng"
	python3 - "$tmp/public.json" <<'PY' && ok || bad "public capture: two CAPA inside TLS"
import json, sys
s = json.loads(open(sys.argv[1]).readline())
caps = [t for t in s["transactions"] if t["command"] == "CAPA"]
assert s["tls"]["decrypted"] and s["tls"]["version"] == "TLS 1.2", s["tls"]
assert [(t["command_frame"], t["reply_frame"], t["status"]) for t in caps] == [(17, 19, "+OK"), (29, 31, "+OK")], caps
assert all("SASL" in t["capabilities"] for t in caps)
PY
else
	echo "SKIP lekensteyn-pop-ssl.pcapng: not in this checkout ($corpus)"
	skipped=1
fi
# Keys in a Section Header Block comment (as that capture carries them), on our own capture.
if command -v editcap >/dev/null; then
	editcap --capture-comment "$(cat "$caps/tls13-aes256gcm.keys")" "$caps/tls13-aes256gcm.pcap" "$tmp/shb.pcapng"
	run shb -r "$tmp/shb.pcapng"
	check "SHB comment: decrypted without --keylog" session "$tmp/shb.json" "$caps/tls13-aes256gcm.clientlog" "TLS 1.3" TLS_AES_256_GCM_SHA384
fi

# Negative cases.
n=tls12-aes128gcm
python3 tests/tls/mangle.py wrongkey "$caps/$n.keys" "$tmp/wrong.keys"
run wrongkey -r "$caps/$n.pcap" --keylog "$tmp/wrong.keys"
check "wrong key: tls_decrypt_failed" anomaly "$tmp/wrongkey.json" tls_decrypt_failed false
grep -q '"command":"STLS"' "$tmp/wrongkey.json" && ok || bad "wrong key: the cleartext before STLS is still analysed"
run otherkey -r "$caps/$n.pcap" --keylog "$caps/tls13-aes256gcm.keys"
check "another session's key log: tls_no_key" anomaly "$tmp/otherkey.json" tls_no_key false
n=tls13-big
python3 tests/tls/mangle.py cut "$caps/$n.pcap" "$tmp/cut.pcap" 995 3
run cut -r "$tmp/cut.pcap" --keylog "$caps/$n.keys"
check "capture ends inside a record: tls_record_cut" anomaly "$tmp/cut.json" tls_record_cut true
grep -q '"command":"RETR"' "$tmp/cut.json" && ok || bad "cut: RETR before the cut still decrypted"
n=tls13-chacha20
python3 tests/tls/mangle.py flip "$caps/$n.pcap" "$tmp/flip.pcap" 995 4
run flip -r "$tmp/flip.pcap" --keylog "$caps/$n.keys"
check "flipped bit: tls_decrypt_failed" anomaly "$tmp/flip.json" tls_decrypt_failed true
grep -q '"command":"QUIT","argument":"","status":"+OK"' "$tmp/flip.json" && ok || bad "flip: records after the bad one still decrypted"
# A key log line that does not parse: counted and reported once, never fatal.
{ printf 'CLIENT_RANDOM nothex 00\ngarbage\n'; cat "$caps/tls13-aes128gcm.keys"; } >"$tmp/bad.keys"
run badlines -r "$caps/tls13-aes128gcm.pcap" --keylog "$tmp/bad.keys"
grep -q 'warning: 2 key log lines did not parse and were ignored (the first: .*bad.keys line 1)' "$tmp/badlines.err" && ok || bad "bad key log lines: one warning"
grep -q '"decrypted":true' "$tmp/badlines.json" && ok || bad "bad key log lines: the good ones still decrypt"
"$POPFLOW" -r "$caps/tls13-aes128gcm.pcap" --keylog "$tmp/nonexistent.keys" >/dev/null 2>"$tmp/nokeys.err"
[ $? -eq 2 ] && grep -q 'nonexistent.keys' "$tmp/nokeys.err" && ok || bad "--keylog of a missing file: exit 2 naming it"

echo "tls: $pass passed, $fail failed, $skipped skipped"
[ $fail -eq 0 ]
