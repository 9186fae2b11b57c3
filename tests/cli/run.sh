#!/usr/bin/env bash
# tests/cli/run.sh - the command line as a user meets it: exit codes, messages, stdin, filters, -o,
# damaged files, and JSON that stays valid whatever bytes a capture holds.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh

seed=samples/seed-replica.pcap
expect 0 "help" -- "$POPFLOW" -h
has "$tmp/out" "Usage: popflow -r FILE" "help text"
expect 0 "version" -- "$POPFLOW" --version
has "$tmp/out" "^popflow [0-9]" "version text"
expect 1 "no input" -- "$POPFLOW"
has "$tmp/err" "give exactly one of -r FILE or -i IFACE" "no input message"
expect 1 "bad option" -- "$POPFLOW" --no-such-option -r "$seed"
expect 1 "unknown format" -- "$POPFLOW" -r "$seed" -T nosuch
has "$tmp/err" "unknown format" "unknown format message"
expect 1 "bad port" -- "$POPFLOW" -r "$seed" --port 70000
expect 2 "missing file" -- "$POPFLOW" -r "$tmp/nonexistent.pcap"
has "$tmp/err" "nonexistent.pcap" "missing file names the file"
printf 'this is not a capture file at all\n' >"$tmp/garbage.pcap"
expect 2 "not a capture" -- "$POPFLOW" -r "$tmp/garbage.pcap"
has "$tmp/err" "garbage.pcap" "not a capture names the file"
expect 1 "bad filter" -- "$POPFLOW" -r "$seed" "tcp port nonsense"
has "$tmp/err" "filter 'tcp port nonsense'" "bad filter message shows the filter and libpcap's words"
expect 3 "unwritable output" -- "$POPFLOW" -r "$seed" -o /nonexistent-dir/out.txt
has "$tmp/err" "/nonexistent-dir/out.txt" "unwritable output names the file"
if [ -w /dev/full ]; then
	expect 3 "output device full" -- "$POPFLOW" -r "$seed" -o /dev/full
fi

# Standard input, -o, and the same transcript either way.
expect 0 "read file" -- "$POPFLOW" -r "$seed"
cp "$tmp/out" "$tmp/direct.txt"
"$POPFLOW" -r - <"$seed" >"$tmp/stdin.txt" 2>"$tmp/err"; rc=$?
# The same but for the file name under each session header ("stdin").
if [ $rc -eq 0 ] && cmp -s <(sed "s| in $seed\$| in stdin|" "$tmp/direct.txt") "$tmp/stdin.txt"; then ok; else bad "-r - differs from -r FILE (exit $rc)"; fi
has "$tmp/stdin.txt" "^Community ID .*, first frame 1 in stdin$" "-r -: the session's file is stdin"
expect 0 "-o file" -- "$POPFLOW" -r "$seed" -o "$tmp/o.txt"
if cmp -s "$tmp/o.txt" "$tmp/direct.txt" && [ ! -s "$tmp/out" ]; then ok; else bad "-o FILE: not the same output, or stdout not empty"; fi

# BPF filter: only the matching session, frame numbers of the whole capture kept.
expect 0 "filter keeps one session" -- "$POPFLOW" -r tests/golden/two-interleaved.pcap -T json "tcp port 110 and host 192.0.2.11"
n=$(grep -c '"type":"session"' "$tmp/out")
[ "$n" -eq 1 ] && ok || bad "filter: $n sessions, expected 1"
has "$tmp/out" '"ip":"192.0.2.11"' "filter keeps the right client"
full_first=$("$POPFLOW" -r tests/golden/two-interleaved.pcap -T json | grep '"ip":"192.0.2.11"' | sed 's/.*"first_frame":\([0-9]*\).*/\1/')
has "$tmp/out" "\"first_frame\":$full_first" "filtered frame numbers are the capture's"

# A capture cut in the middle of a record: what was read is reported, exit 4.
size=$(stat -c %s samples/dovecot-poplib.pcap)
head -c $((size / 2 + 7)) samples/dovecot-poplib.pcap >"$tmp/cut.pcap"
expect 4 "damaged capture" -- "$POPFLOW" -r "$tmp/cut.pcap" -T json
has "$tmp/err" "cut.pcap" "damaged capture names the file"
has "$tmp/out" '"damaged":true' "damaged capture: summary says so"
has "$tmp/out" '"type":"session"' "damaged capture: sessions before the damage reported"
has "$tmp/out" '"partial":true' "damaged capture: the cut transaction is partial"

# Every JSON line parses and holds valid UTF-8 even with NUL and invalid bytes in the capture.
for f in tests/golden/*.pcap samples/*.pcap; do
	"$POPFLOW" -r "$f" -T json -v >"$tmp/j" 2>/dev/null
	if python3 -c '
import json, sys
for line in open(sys.argv[1], "rb"):
    line.decode("utf-8")          # strict: raises on invalid UTF-8
    json.loads(line)
' "$tmp/j"; then ok; else bad "JSON from $f is not valid UTF-8 JSON Lines"; fi
done

# Text output never lets packet bytes forge a line or steer a terminal: no control bytes
# but newline and tab, and exactly one "Session N:" header per session.
for f in tests/golden/*.pcap samples/*.pcap; do
	"$POPFLOW" -r "$f" -v --bodies >"$tmp/t" 2>/dev/null
	if ! python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(b < 32 and b not in (9, 10) or b == 127 for b in d))' "$tmp/t"; then
		bad "text from $f holds control bytes"
	else ok; fi
	heads=$(grep -c '^Session [0-9][0-9]*: ' "$tmp/t")
	sessions=$("$POPFLOW" -r "$f" -T json 2>/dev/null | grep -c '"type":"session"')
	[ "$heads" -eq "$sessions" ] && ok || bad "text from $f: $heads session headers for $sessions sessions"
done

# Session numbers (issue 10 item 3): only reported sessions are numbered, in the order they are
# written; refused or unanswered SYNs take none. numbering.pcap: two attempts, then A (starts
# first, ends last) and B; B is session 1 (tests/golden/src/numbering.pfs).
num=tests/golden/numbering.pcap
expect 0 "--session 1" -- "$POPFLOW" -r "$num" --session 1
has "$tmp/out" "^Session 1: 192.0.2.11:49201 -> " "--session 1 is the first session written"
n=$(grep -c '^Session ' "$tmp/out"); [ "$n" -eq 1 ] && ok || bad "--session 1: $n sessions printed"
mkdir "$tmp/num-x"
expect 0 "--extract names follow the numbers" -- "$POPFLOW" -r "$num" -T json --extract "$tmp/num-x"
[ "$(cat "$tmp/num-x/session1-msg1.eml" 2>/dev/null)" = "B"$'\r' ] && ok || bad "--extract: session1-msg1.eml is not B's body"
[ "$(cat "$tmp/num-x/session2-msg1.eml" 2>/dev/null)" = "A"$'\r' ] && ok || bad "--extract: session2-msg1.eml is not A's body"
[ "$(find "$tmp/num-x" -name '.popflow-*' | wc -l)" -eq 0 ] && ok || bad "--extract: temporary files left"
has "$tmp/out" '"extracted":"[^"]*/session1-msg1.eml"' "JSON names the extracted file after its session's number"
# -c 1 stops after the first session that ends: that is session 1 (B), A interrupted as session 2.
expect 0 "-c 1" -- "$POPFLOW" -r "$num" -c 1 -T json
has "$tmp/out" '"session":1,"community_id":"[^"]*","file":"[^"]*","client":{"ip":"192.0.2.11"' "-c 1: session 1 is the first ended"
has "$tmp/out" '"session":2,"community_id":"[^"]*","file":"[^"]*","client":{"ip":"192.0.2.10".*"end_reason":"interrupted"' "-c 1: the open one is session 2, interrupted"
# --session N with no session N: a message and exit status 6, in every format.
for fmt in text json mermaid flow; do
	expect 6 "--session 3 -T $fmt: no such session" -- "$POPFLOW" -r "$num" --session 3 -T "$fmt"
	has "$tmp/err" "popflow: --session 3: no such session (2 reported)" "--session 3 -T $fmt: message"
	if grep -q "Session \|\"type\":\"session\"\|sequenceDiagram" "$tmp/out"; then bad "--session 3 -T $fmt: a session was written"; else ok; fi
done
expect 6 "--session 3 -T svg -o" -- "$POPFLOW" -r "$num" --session 3 -T svg -o "$tmp/none.svg"
has "$tmp/err" "no such session" "--session 3 -T svg: message"
expect 6 "--session 2 with a filter that keeps one session" -- "$POPFLOW" -r "$num" --session 2 host 192.0.2.10

# Each session's identity whatever the filter (issue 10 item 3): the Community ID (as Zeek,
# Suricata and Wireshark compute it: tshark's communityid of the session's first frame, IPv4
# and IPv6), the file and the first frame; the same with a filter that renumbers the sessions.
for f in "$num" samples/seed-replica.pcap tests/golden/ipv6.pcap tests/golden/mixed-v4-v6.pcap tests/golden/two-interleaved.pcap; do
	"$POPFLOW" -r "$f" -T json >"$tmp/cid.json" 2>/dev/null
	tshark -r "$f" --enable-protocol communityid -T fields -e frame.number -e communityid >"$tmp/cid.tsv" 2>/dev/null
	if python3 - "$tmp/cid.json" "$tmp/cid.tsv" "$f" <<'PY'
import json, sys
ts = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if "\t" in l)
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] != "session":
        continue
    n += 1
    want = ts.get(str(o["first_frame"]))
    if o["community_id"] != want or o["file"] != sys.argv[3]:
        sys.exit("session %d: %s %s, tshark %s" % (o["session"], o["community_id"], o["file"], want))
sys.exit(0 if n > 0 else "no session")
PY
	then ok; else bad "community_id of $f differs from tshark's"; fi
done
"$POPFLOW" -r "$num" -T json >"$tmp/all.json"
expect 0 "filtered identity" -- "$POPFLOW" -r "$num" -T json host 192.0.2.10
a_all=$(grep '"ip":"192.0.2.10"' "$tmp/all.json" | grep -o '"community_id":"[^"]*","file":"[^"]*"')
a_flt=$(grep '"ip":"192.0.2.10"' "$tmp/out" | grep -o '"community_id":"[^"]*","file":"[^"]*"')
[ -n "$a_all" ] && [ "$a_all" = "$a_flt" ] && ok || bad "community_id/file differ with a filter: '$a_all' '$a_flt'"
has "$tmp/out" '"session":1,"community_id":"1:[^"]*","file":"tests/golden/numbering.pcap".*"first_frame":3,' "filtered: A is session 1, its first frame still 3"
expect 0 "text header identity" -- "$POPFLOW" -r "$num" host 192.0.2.10
has "$tmp/out" "^Community ID 1:[A-Za-z0-9+/]*=, first frame 3 in tests/golden/numbering.pcap$" "text: Community ID, first frame and file under the header"

# Undecodable frames: file, frame number and what was wrong on stderr; the session still analysed.
expect 0 "malformed frames" -- "$POPFLOW" -r tests/golden/malformed.pcap
has "$tmp/err" "malformed.pcap: frame 13: TCP data offset below 5" "malformed frame message"
has "$tmp/out" "Client: RETR 1" "session among malformed frames analysed"

# Installed (make install DESTDIR=...): the default templates are found without --templates,
# whatever the working directory.
make -s install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null 2>"$tmp/err" || bad "make install failed"
cp "$POPFLOW" "$tmp/root/usr/bin/popflow"
(cd / && "$tmp/root/usr/bin/popflow" -r "$OLDPWD/$seed" -T flow --ascii >"$tmp/out" 2>"$tmp/err")
rc=$?
[ $rc -eq 0 ] && ok || { bad "installed popflow -T flow: exit $rc"; head -3 "$tmp/err"; }
has "$tmp/out" "The POP3 client performs the three" "installed popflow finds its remark templates"

# Diagram options through the command line: --alias names a lifeline, --width bounds the
# terminal drawing, --unicode draws boxes, bad values are usage errors.
expect 0 "flow with alias" -- "$POPFLOW" -r "$seed" -T flow --ascii --width 80 --alias 127.0.0.1:110=mail.example.com
has "$tmp/out" "mail.example.com" "--alias names the server's lifeline"
w=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$tmp/out")
[ "$w" -le 80 ] && ok || bad "--width 80: a line of $w columns"
if LC_ALL=C grep -q $'[\x80-\xff]' "$tmp/out"; then bad "--ascii wrote non-ASCII"; else ok; fi
expect 0 "flow unicode" -- "$POPFLOW" -r "$seed" -T flow --unicode --width 80
has "$tmp/out" "│" "--unicode draws box lines"
expect 1 "bad alias" -- "$POPFLOW" -r "$seed" -T flow --alias nonsense
expect 1 "bad width" -- "$POPFLOW" -r "$seed" -T flow --width 5
expect 1 "bad detail" -- "$POPFLOW" -r "$seed" -T svg --detail everything

# --redact reaches every format, diagrams included: the decoded password holds CR LF and
# text shaped like popflow's own lines (tests/golden/src/forged-creds.pfs).
for fmt in text json svg dot flow mermaid plantuml fdl; do
	"$POPFLOW" -r tests/golden/forged-creds.pcap -T "$fmt" -v --redact -o "$tmp/red.$fmt" 2>/dev/null
	if [ ! -s "$tmp/red.$fmt" ]; then bad "--redact -T $fmt wrote nothing"
	elif grep -q -e evil -e AGFsaWNl "$tmp/red.$fmt"; then bad "--redact -T $fmt leaks the secret"; else ok; fi
	"$POPFLOW" -r tests/golden/forged-creds.pcap -T "$fmt" -v -o "$tmp/clear.$fmt" 2>/dev/null
	if grep -q '^Session 9: forged' "$tmp/clear.$fmt"; then bad "-T $fmt: a decoded password forged a line"; else ok; fi
done

# JSON (issue 10 item 14): arrays always present, durations with exactly six decimals, and the
# README's jq example selects session objects (the summary has no end_reason: no "null").
expect 0 "json arrays" -- "$POPFLOW" -r tests/golden/no-handshake.pcap -T json
has "$tmp/out" '"credentials":\[\]' "a session without login attempts has credentials []"
has "$tmp/out" '"sasl":\[\]' "a transaction without SASL has sasl []"
if grep -o '"duration":[^,]*' "$tmp/out" | grep -qvE '^"duration":[0-9]+\.[0-9]{6}$'; then
	bad "durations not printed with six decimals: $(grep -o '"duration":[^,]*' "$tmp/out" | head -3)"
else ok; fi
jqprog=$(sed -n "s/^popflow -r mail.pcap -T json | jq '\([^']*\)'.*/\1/p" README.md)
[ -n "$jqprog" ] && ok || bad "README: no 'popflow -r mail.pcap -T json | jq ...' example"
"$POPFLOW" -r samples/dovecot-poplib.pcap -T json | jq -r "$jqprog" >"$tmp/jq" 2>&1
if [ -s "$tmp/jq" ] && ! grep -qv '^fin$' "$tmp/jq"; then ok; else bad "README jq example: $(head -3 "$tmp/jq")"; fi

# An output that is the capture being read is refused, by name or through a symbolic link
# (issue 10 item 6); the capture is left intact.
cp "$seed" "$tmp/in.pcap"
ln -s "$tmp/in.pcap" "$tmp/link.pcap"
for o in "-o $tmp/in.pcap" "-w $tmp/link.pcap" "--mbox $tmp/link.pcap"; do
	# shellcheck disable=SC2086
	expect 1 "output $o is the input" -- "$POPFLOW" -r "$tmp/in.pcap" $o
	has "$tmp/err" "that is the capture file being read" "output $o is the input: message"
done
cmp -s "$seed" "$tmp/in.pcap" && ok || bad "the input capture was changed by a refused output"

# Ctrl-C while reading a file (issue 10 item 2): open sessions interrupted, stderr and the
# summary say so, exit 5. The capture comes through a FIFO that pauses half-way.
mkfifo "$tmp/fifo"
big=samples/dovecot-poplib.pcap
half=$(($(stat -c %s "$big") / 2))
"$POPFLOW" -r - -T json <"$tmp/fifo" >"$tmp/int.json" 2>"$tmp/int.err" &
pf=$!
{ head -c "$half" "$big"; sleep 3; tail -c +$((half + 1)) "$big"; } >"$tmp/fifo" &
feeder=$!
sleep 1.5
kill -INT "$pf"
wait "$pf"; rc=$?
wait "$feeder"
[ "$rc" -eq 5 ] && ok || bad "Ctrl-C while reading a file: exit $rc, expected 5"
has "$tmp/int.err" "stdin: interrupted" "Ctrl-C: standard error says so"
has "$tmp/int.json" '"end_reason":"interrupted"' "Ctrl-C: the open session ends as interrupted"
has "$tmp/int.json" '"interrupted":true' "Ctrl-C: the summary says interrupted"
expect 0 "a whole file is not interrupted" -- "$POPFLOW" -r "$big" -T json
has "$tmp/out" '"interrupted":false' "summary: interrupted false"

# A closed pipe (| head) ends popflow quietly with status 3 (issue 10 item 15), not SIGPIPE.
set -o pipefail
"$POPFLOW" -r "$big" --bodies 2>"$tmp/pipe.err" | head -n 1 >/dev/null
rc=$?
set +o pipefail
[ "$rc" -eq 3 ] && ok || bad "closed pipe: exit $rc, expected 3"
[ ! -s "$tmp/pipe.err" ] && ok || bad "closed pipe: stderr not quiet: $(head -2 "$tmp/pipe.err")"

# -T summary (issue 10 item 11): a header and one line per session, 14 fields that hold no
# space, for every capture; --listings takes full or summary only.
for f in tests/golden/*.pcap samples/*.pcap; do
	"$POPFLOW" -r "$f" -T summary >"$tmp/sum" 2>/dev/null
	sessions=$("$POPFLOW" -r "$f" -T json 2>/dev/null | grep -c '"type":"session"')
	fields=$(awk '{ print NF }' "$tmp/sum" | sort -u | tr '\n' ' ')
	lines=$(wc -l <"$tmp/sum")
	if [ "$fields" = "14 " ] && [ "$lines" -eq $((sessions + 1)) ] && head -1 "$tmp/sum" | grep -q '^SESSION START '; then ok
	else bad "-T summary of $f: fields per line '$fields', $lines lines for $sessions sessions"; fi
done
expect 1 "--listings nonsense" -- "$POPFLOW" -r "$seed" --listings nonsense
has "$tmp/err" "--listings: 'full' or 'summary'" "--listings: the accepted values"

# A directory the user of -Z cannot write is refused before the first packet (issue 10 item
# 10), naming the user and -Z; no file is written. Needs root (to become another user).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$tmp" # nobody may pass through it, not write in it
	mkdir -m 755 "$tmp/rootonly"
	expect 3 "--extract DIR nobody cannot write" -- "$POPFLOW" -r "$seed" -Z nobody --extract "$tmp/rootonly"
	has "$tmp/err" "^popflow: --extract $tmp/rootonly: nobody (uid $(id -u nobody)), the user popflow becomes (-Z), cannot write there (Permission denied): use -Z USER" "--extract: the message names the user and -Z"
	[ ! -s "$tmp/out" ] && ok || bad "--extract refused: something was written to stdout"
	expect 3 "-T svg -o in a directory nobody cannot write" -- "$POPFLOW" -r "$seed" -Z nobody -T svg -o "$tmp/rootonly/x.svg"
	has "$tmp/err" "^popflow: -o $tmp/rootonly/x.svg: nobody (uid $(id -u nobody)), the user popflow becomes (-Z), cannot write in $tmp/rootonly (Permission denied)" "-o: the message names the directory"
	[ -z "$(ls -A "$tmp/rootonly")" ] && ok || bad "refused -o left a file: $(ls -A "$tmp/rootonly")"
	chmod 1777 "$tmp/rootonly"
	expect 0 "--extract DIR nobody can write" -- "$POPFLOW" -r "$seed" -Z nobody --extract "$tmp/rootonly"
	[ "$(find "$tmp/rootonly" -name '*.eml' -user nobody | wc -l)" -eq 1 ] && ok || bad "-Z nobody --extract: no file of nobody's"
	chmod 700 "$tmp"
fi

# Classic pcap is read by libpcap unless it would read a file otherwise than wiretap (src/capture.c):
# every variant (records beyond the snapshot length, caplen above len, odd times, nanoseconds, edge
# values, cut short) gives exactly what wiretap gives for its gzip copy: output, messages, status.
mkdir -p "$tmp/variants"
python3 tests/cli/pcap-variants.py samples/dovecot-poplib.pcap "$tmp/variants" 21
for v in "$tmp"/variants/v*.pcap; do
	gzip -c "$v" >"$v.gz"
	"$POPFLOW" -r "$v" -T json -v >"$tmp/vp.out" 2>"$tmp/vp.err"; a=$?
	"$POPFLOW" -r "$v.gz" -T json -v >"$tmp/vz.out" 2>"$tmp/vz.err"; b=$?
	if [ $a -eq $b ] && cmp -s "$tmp/vp.out" <(sed "s|$v.gz|$v|g" "$tmp/vz.out") &&
		cmp -s "$tmp/vp.err" <(sed "s|$v.gz|$v|g" "$tmp/vz.err"); then ok
	else bad "$(basename "$v"): read as classic pcap (exit $a) differs from its gzip copy (exit $b)"; fi
done
# The first variant: USER beyond the snapshot length of 64 is read whole, as wiretap reads it.
"$POPFLOW" -r "$tmp/variants/v00.pcap" >"$tmp/out" 2>/dev/null
has "$tmp/out" "USER " "a record longer than the snapshot length is read whole"

# Memcheck over the core (the sanitizer build covers the rest; valgrind cannot run on it).
if command -v valgrind >/dev/null 2>&1 && ! nm "$POPFLOW" 2>/dev/null | grep -q __asan_init; then
	for f in samples/dovecot-poplib.pcap tests/golden/malformed.pcap tests/golden/retrans-ooo.pcap \
	    tests/golden/missing-segment.pcap tests/golden/auth-mechs.pcap; do
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		    "$POPFLOW" -r "$f" -T json -v --bodies >/dev/null 2>"$tmp/vg"
		rc=$?
		[ $rc -ne 9 ] && ! grep -q "ERROR SUMMARY: [1-9]" "$tmp/vg" && ok ||
		    { bad "valgrind on $f (exit $rc)"; head -20 "$tmp/vg"; }
	done
fi

# Progress on standard error (a terminal only) and -q.  tests/tools/ontty runs a command with
# standard error on a pseudo-terminal. The line is first drawn after PROGRESS_FIRST_MS (300 ms):
# 450 MB take about a second on a quiet machine (150 MB took 0.38 s, too close to it).
python3 bench/gen.py "$tmp/big.pcap" --size-mb 450 --concurrent 64
expect 0 "progress: big capture, stderr a pipe" -- "$POPFLOW" -r "$tmp/big.pcap" -T json -o "$tmp/big-pipe.json"
if [ -s "$tmp/err" ]; then bad "progress: something on stderr in a pipe"; else ok; fi
expect 0 "progress: on a terminal" -- python3 tests/tools/ontty "$tmp/big-tty.err" "$POPFLOW" -r "$tmp/big.pcap" -T json -o "$tmp/big-tty.json"
has "$tmp/big-tty.err" "MB/s, [0-9]* sessions, [0-9]*:[0-9][0-9] left" "progress: the line on a terminal"
has "$tmp/big-tty.err" " of $(( ($(stat -c %s "$tmp/big.pcap") + 500000) / 1000000 )) MB (" "progress: the file size"
if python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(0 if d.endswith(b"\r\x1b[K") else 1)' "$tmp/big-tty.err"; then ok; else bad "progress: the line is not erased at the end"; fi
if cmp -s "$tmp/big-pipe.json" "$tmp/big-tty.json"; then ok; else bad "progress: output differs on a terminal"; fi
python3 bench/check.py "$tmp/big-tty.json" "$tmp/big.pcap.expect" >/dev/null && ok || bad "progress: sessions not exact"
expect 0 "progress: -q on a terminal" -- python3 tests/tools/ontty "$tmp/big-q.err" "$POPFLOW" -q -r "$tmp/big.pcap" -T json -o /dev/null
if [ -s "$tmp/big-q.err" ]; then bad "progress: -q still shows something"; else ok; fi
expect 0 "progress: -r - on a terminal" -- python3 tests/tools/ontty "$tmp/big-stdin.err" sh -c "\"\$0\" -r - -T json -o /dev/null < \"\$1\"" "$POPFLOW" "$tmp/big.pcap"
if [ -s "$tmp/big-stdin.err" ]; then bad "progress: shown for -r -"; else ok; fi
rm -f "$tmp/big.pcap"
# -q: the text without the run's credential roll-up and count line; the rest unchanged.
expect 0 "text" -- "$POPFLOW" -r "$seed"
cp "$tmp/out" "$tmp/text-full"
expect 0 "-q text" -- "$POPFLOW" -q -r "$seed"
has "$tmp/text-full" "^popflow: [0-9]* packets" "text: the count line"
has "$tmp/text-full" "^Credentials: " "text: the credential roll-up"
if grep -q "^popflow: \|^Credentials: " "$tmp/out"; then bad "-q: roll-up or count line left"; else ok; fi
has "$tmp/out" "^  Credentials:" "-q: the session's own credentials stay"
if [ -s "$tmp/out" ] && [ "$(head -c "$(stat -c %s "$tmp/out")" "$tmp/text-full" | cmp - "$tmp/out" && echo same)" = same ]; then ok; else bad "-q: the sessions differ from the full text"; fi

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
