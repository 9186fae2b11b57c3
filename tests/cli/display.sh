#!/usr/bin/env bash
# tests/cli/display.sh - how the text reads (issue 10 items 12, 13, 15): --time and --line-times,
# --color (on a terminal, NO_COLOR, TERM=dumb), -T flow's width from COLUMNS, the scaled TCP
# window with -v, anomalies in frame order, plurals, and messages that name a path once and say
# "popflow:" whatever the program's path.  tests/tools/onpty puts standard output on a terminal.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
unset NO_COLOR COLUMNS
export TERM=xterm
hasnt() { # hasnt FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then bad "$3: '$2' in $1"; grep -- "$2" "$1" | head -3 | sed 's/^/  | /'; else ok; fi
}
first_line() { # first_line FILE EXPECTED DESCRIPTION
	local got; got=$(head -n 1 "$1")
	[ "$got" = "$2" ] && ok || bad "$3: first line '$got', expected '$2'"
}
ESC=$'\033'
seed=samples/seed-replica.pcap
auth=tests/golden/dovecot-auth.pcap

# ---- getopt's messages say "popflow:", never the program's path (item 15) ----
expect 1 "unknown long option" -- "$POPFLOW" --no-such-option -r "$seed"
first_line "$tmp/err" "popflow: --no-such-option: unknown option" "unknown long option"
expect 1 "unknown short option" -- "$POPFLOW" -vx -r "$seed"
first_line "$tmp/err" "popflow: -x: unknown option" "unknown short option in a cluster"
expect 1 "missing argument" -- "$POPFLOW" -r
first_line "$tmp/err" "popflow: -r: needs an argument" "short option without its argument"
expect 1 "missing long argument" -- "$POPFLOW" -r "$seed" --time
first_line "$tmp/err" "popflow: --time: needs an argument" "long option without its argument"
expect 1 "argument not taken" -- "$POPFLOW" -r "$seed" --bodies=yes
first_line "$tmp/err" "popflow: --bodies: takes no argument" "long option given an argument"
expect 1 "ambiguous abbreviation" -- "$POPFLOW" -r "$seed" --pa 5
first_line "$tmp/err" "popflow: --pa: ambiguous: --page-rows, --paper" "ambiguous abbreviation"
expect 0 "unambiguous abbreviation" -- "$POPFLOW" -r "$seed" --bod
has "$tmp/out" "^Server: +OK" "--bod is --bodies"
# Through an absolute path too: the message still begins "popflow: ".
expect 1 "absolute path" -- "$(cd "$(dirname "$POPFLOW")" && pwd)/$(basename "$POPFLOW")" --nonsense -r "$seed"
first_line "$tmp/err" "popflow: --nonsense: unknown option" "an absolute argv[0] is not printed"

# ---- a path is printed once in a message (item 15) ----
once() { # once FILE PATH DESCRIPTION: PATH appears exactly once in FILE
	local n; n=$(grep -o -F -- "$2" "$1" | wc -l)
	[ "$n" -eq 1 ] && ok || { bad "$3: '$2' appears $n times"; sed 's/^/  | /' "$1" | head -3; }
}
expect 2 "missing capture" -- "$POPFLOW" -r "$tmp/nonexistent.pcap"
once "$tmp/err" "$tmp/nonexistent.pcap" "missing capture file"
has "$tmp/err" "No such file or directory" "missing capture file: the reason"
expect 2 "missing key log" -- "$POPFLOW" -r "$seed" --keylog "$tmp/nokeys.txt"
once "$tmp/err" "$tmp/nokeys.txt" "missing key log"
first_line "$tmp/err" "popflow: --keylog: $tmp/nokeys.txt: No such file or directory" "missing key log message"
"$POPFLOW" -r "$seed" -T flow --templates "$tmp/notemplates" >"$tmp/out" 2>"$tmp/err"
once "$tmp/err" "$tmp/notemplates/diagram.tmpl" "missing templates directory"
has "$tmp/err" "diagram.tmpl: No such file or directory" "missing templates: the reason"

# ---- plurals (item 15): "1 session", "2 sessions", in every text this suite's captures give ----
for f in tests/golden/*.pcap samples/*.pcap; do
	"$POPFLOW" -r "$f" -v --bodies >"$tmp/t" 2>/dev/null
	if grep -E -o '(^|[^0-9.,])1 (POP3 |IP )?(packets|segments|sessions|transactions|anomalies|octets|lines|bytes|records|attachments|fragments|datagrams|login attempts|frames|connection attempts)\b' "$tmp/t" >"$tmp/pl"; then
		bad "$f: a count of 1 with a plural: $(head -2 "$tmp/pl" | tr '\n' ' ')"
	else ok; fi
done
expect 0 "seed text" -- "$POPFLOW" -r "$seed"
has "$tmp/out" "^popflow: 38 packets, 38 POP3 segments, 1 session, 8 transactions, 0 anomalies$" "count line in the singular and plural"
expect 0 "one anomaly" -- "$POPFLOW" -r "$auth"
has "$tmp/out" ", 1 anomaly$" "1 anomaly"
expect 0 "one-line body" -- "$POPFLOW" -r tests/golden/dovecot-mail.pcap
has "$tmp/out" "octets, 1 line\]" "a body of 1 line"

# ---- anomalies in frame order, text and JSON (item 15) ----
crafted=tests/public/captures/zeek-bad-list-retr-crafted.pcap
expect 0 "anomalies text" -- "$POPFLOW" -r "$crafted"
sed -n '/^  Anomalies:/,/^$/s/^    frame \([0-9]*\):.*/\1/p' "$tmp/out" >"$tmp/frames"
[ "$(wc -l <"$tmp/frames")" -ge 5 ] && ok || bad "anomalies text: fewer than 5 anomalies with frames"
sort -n -c "$tmp/frames" 2>/dev/null && ok || bad "text anomalies not in frame order: $(tr '\n' ' ' <"$tmp/frames")"
for f in "$crafted" tests/golden/*.pcap samples/*.pcap; do
	"$POPFLOW" -r "$f" -T json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    if o.get("type") != "session":
        continue
    fr = [a.get("frame") or 1 << 62 for a in o["anomalies"]]
    if fr != sorted(fr):
        sys.exit("session %s: %s" % (o.get("session"), fr))
' >"$tmp/jo" 2>&1 && ok || bad "$f: JSON anomalies not in frame order: $(cat "$tmp/jo")"
done

# ---- --time and --line-times (item 12); JSON always UTC ----
expect 0 "utc" -- "$POPFLOW" -r "$seed"
cp "$tmp/out" "$tmp/plain.txt"
has "$tmp/out" "^Session 1: 127.0.0.1:37928 -> 127.0.0.1:110, 2026-11-27 13:01:41.259053 UTC, 0.443766 s" "default header: UTC"
expect 0 "--time utc" -- "$POPFLOW" -r "$seed" --time utc
cmp -s "$tmp/out" "$tmp/plain.txt" && ok || bad "--time utc differs from the default"
expect 0 "local" -- env TZ=XYZ-3 "$POPFLOW" -r "$seed" --time local
has "$tmp/out" "^Session 1: 127.0.0.1:37928 -> 127.0.0.1:110, 2026-11-27 16:01:41.259053 +0300, 0.443766 s" "--time local, TZ=XYZ-3"
expect 0 "local with DST rules" -- env TZ=EST5EDT,M3.2.0,M11.1.0 "$POPFLOW" -r "$seed" --time local
has "$tmp/out" ", 2026-11-27 08:01:41.259053 -0500, " "--time local, TZ=EST5EDT (standard time in November)"
expect 0 "local, summer" -- env TZ=EST5EDT,M3.2.0,M11.1.0 "$POPFLOW" -r tests/golden/two-interleaved.pcap --time local
has "$tmp/out" ", 2023-11-14 17:[0-9:.]* -0500, " "--time local, a November 2023 capture"
expect 0 "local on lines" -- env TZ=XYZ-3 "$POPFLOW" -r "$seed" --time local --line-times
has "$tmp/out" "^2026-11-27 16:01:41.289399 Server: +OK X1 POP3 Server" "--time local --line-times"
epoch=$(date -u -d '2026-11-27 13:01:41' +%s)
expect 0 "epoch" -- "$POPFLOW" -r "$seed" --time epoch
has "$tmp/out" "^Session 1: 127.0.0.1:37928 -> 127.0.0.1:110, epoch $epoch.259053, 0.443766 s" "--time epoch header"
expect 0 "epoch -v" -- "$POPFLOW" -r "$seed" --time epoch -v
has "$tmp/out" "^        1  $epoch.259053  C->S  TCP SYN (SYN)" "--time epoch in the -v timeline"
expect 0 "capture" -- "$POPFLOW" -r tests/golden/two-interleaved.pcap --time capture
has "$tmp/out" "^Session [0-9]*: 192.0.2.10:49180 -> 192.0.2.1:110, 0.000000 s into the capture, " "--time capture: the first session starts at 0"
has "$tmp/out" "^Session [0-9]*: 192.0.2.11:49181 -> 192.0.2.1:110, 0.003600 s into the capture, " "--time capture: the second 3.6 ms in"
expect 0 "capture lines" -- "$POPFLOW" -r tests/golden/two-interleaved.pcap --time capture --line-times
has "$tmp/out" "^   0.0[0-9]* Server: +OK" "--time capture --line-times"
# Each JSON byte the same whatever --time and TZ say.
"$POPFLOW" -r "$seed" -T json -v >"$tmp/j1"
env TZ=XYZ-3 "$POPFLOW" -r "$seed" -T json -v --time local --line-times >"$tmp/j2"
cmp -s "$tmp/j1" "$tmp/j2" && ok || bad "JSON changed with --time local and TZ"
has "$tmp/j2" '"start":"2026-11-27T13:01:41.259053Z"' "JSON start stays UTC"
# --line-times utc: every line of the plain text, transcript lines behind their time (26
# columns and a space), the header, credentials and anomalies as they were.
expect 0 "line-times" -- "$POPFLOW" -r "$auth" --line-times
"$POPFLOW" -r "$auth" >"$tmp/auth.txt"
python3 - "$tmp/auth.txt" "$tmp/out" <<'EOF' && ok || bad "--line-times: lines do not match the plain text"
import re, sys
plain = open(sys.argv[1]).read().split("\n")
timed = open(sys.argv[2]).read().split("\n")
assert len(plain) == len(timed), (len(plain), len(timed))
stamped = 0
for p, t in zip(plain, timed):
    if p.startswith(("Client: ", "Server: ", "TLS: ", "  Mail:", "  Saved as", "[")):
        assert t[26:27] == " " and t[27:] == p, (p, t)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}| {26}", t[:26]), t
        stamped += t[0] != " "
    else:
        assert t == p, (p, t)
assert stamped > 50, stamped
EOF
# delta: each line's time since the line before; their running sum is --time session's time.
"$POPFLOW" -r "$auth" --time delta --line-times >"$tmp/delta.txt"
"$POPFLOW" -r "$auth" --time session --line-times >"$tmp/session.txt"
python3 - "$tmp/delta.txt" "$tmp/session.txt" <<'EOF' && ok || bad "--time delta does not add up to --time session"
import re, sys
def us(s):
    a, b = s.strip().split(".")
    return int(a) * 1000000 + int(b)
total = n = 0
for d, s in zip(open(sys.argv[1]), open(sys.argv[2])):
    if d.startswith("Session "):
        total = 0
        continue
    m = re.match(r"^ *(\d+\.\d{6}) (Client|Server): ", d)
    if not m:
        continue
    total += us(m.group(1))
    assert total == us(s[:11]), (d, s, total)
    n += 1
assert n > 50, n
EOF
expect 1 "bad --time" -- "$POPFLOW" -r "$seed" --time nonsense
first_line "$tmp/err" "popflow: --time: 'nonsense' is not one of utc|local|epoch|delta|session|capture" "bad --time message"

# ---- colour (item 13) ----
expect 0 "color never" -- "$POPFLOW" -r "$auth" --color never
cp "$tmp/out" "$tmp/never.txt"
hasnt "$tmp/out" "$ESC" "--color never"
cmp -s "$tmp/never.txt" "$tmp/auth.txt" && ok || bad "--color never differs from the default in a pipe"
expect 0 "color always" -- "$POPFLOW" -r "$auth" --color always
cp "$tmp/out" "$tmp/always.txt"
python3 - "$tmp/always.txt" "$tmp/never.txt" <<'EOF' && ok || bad "--color always: escapes missing or in the wrong places"
import sys
E = "\033["
col = open(sys.argv[1]).read().split("\n")
plain = open(sys.argv[2]).read().split("\n")
assert len(col) == len(plain)
seen = {"31": 0, "33": 0, "35": 0}
section = None
for c, p in zip(col, plain):
    if p in ("  Credentials:", "  Anomalies:") or p.startswith(("Credentials: ", "Session ")):
        section = p.strip()
    if p.startswith("Server: -ERR"):
        want = E + "31m" + p + E + "0m"                  # a -ERR reply: red
        seen["31"] += 1
    elif section == "Anomalies:" and p.startswith("    "):
        want = "    " + E + "33m" + p[4:] + E + "0m"     # an anomaly: yellow
        seen["33"] += 1
    elif section == "Credentials:" and p.startswith("    "):
        want = "    " + E + "35m" + p[4:] + E + "0m"     # a login attempt: magenta
        seen["35"] += 1
    elif section and section.startswith("Credentials: ") and p.startswith("  session "):
        want = E + "35m" + p + E + "0m"                  # the run's roll-up
        seen["35"] += 1
    else:
        want = p                                          # everything else: no escape
    assert c == want, (c, want)
assert seen["31"] >= 3 and seen["33"] >= 1 and seen["35"] >= 20, seen
EOF
# auto: colour on a terminal only, unless NO_COLOR (non-empty) or TERM=dumb; always wins.
expect 0 "auto in a pipe" -- "$POPFLOW" -r "$auth" --color auto
cmp -s "$tmp/out" "$tmp/never.txt" && ok || bad "--color auto in a pipe is not plain"
expect 0 "auto on a terminal" -- python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth"
cmp -s "$tmp/tty.txt" "$tmp/always.txt" && ok || bad "on a terminal: not the --color always text"
expect 0 "NO_COLOR" -- env NO_COLOR=1 python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth"
cmp -s "$tmp/tty.txt" "$tmp/never.txt" && ok || bad "NO_COLOR=1 on a terminal: not plain"
expect 0 "NO_COLOR empty" -- env NO_COLOR= python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth"
cmp -s "$tmp/tty.txt" "$tmp/always.txt" && ok || bad "NO_COLOR empty on a terminal: not coloured"
expect 0 "TERM=dumb" -- env TERM=dumb python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth"
cmp -s "$tmp/tty.txt" "$tmp/never.txt" && ok || bad "TERM=dumb on a terminal: not plain"
expect 0 "never on a terminal" -- python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth" --color never
cmp -s "$tmp/tty.txt" "$tmp/never.txt" && ok || bad "--color never on a terminal: not plain"
expect 0 "always beats NO_COLOR" -- env NO_COLOR=1 "$POPFLOW" -r "$auth" --color always
cmp -s "$tmp/out" "$tmp/always.txt" && ok || bad "--color always with NO_COLOR: not coloured"
expect 0 "-o on a terminal" -- python3 tests/tools/onpty "$tmp/tty.txt" "$POPFLOW" -r "$auth" -o "$tmp/o.txt"
cmp -s "$tmp/o.txt" "$tmp/never.txt" && ok || bad "-o FILE with the terminal as stdout: the file is coloured"
expect 1 "bad --color" -- "$POPFLOW" -r "$auth" --color sometimes
# -T flow: coloured on a terminal unless told not to; never in a pipe.
expect 0 "flow on a terminal" -- python3 tests/tools/onpty "$tmp/flow.txt" "$POPFLOW" -r "$seed" -T flow
has "$tmp/flow.txt" "$ESC\[" "-T flow on a terminal: colour"
for how in "--color never" "NO_COLOR=1" "TERM=dumb"; do
	case $how in --*) set -- --color never ;; *) set -- ;; esac
	# shellcheck disable=SC2086
	env ${how%%--*} python3 tests/tools/onpty "$tmp/flow.txt" "$POPFLOW" -r "$seed" -T flow "$@" >/dev/null 2>&1
	hasnt "$tmp/flow.txt" "$ESC" "-T flow on a terminal with $how"
	has "$tmp/flow.txt" "│" "-T flow on a terminal with $how: still box drawing"
done
expect 0 "flow in a pipe" -- "$POPFLOW" -r "$seed" -T flow
hasnt "$tmp/out" "$ESC" "-T flow in a pipe"

# ---- -T flow's width: the terminal's, else COLUMNS, else 100 (item 13) ----
width() { python3 -c 'import re, sys; print(max(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$1"; }
"$POPFLOW" -r "$seed" -T flow >"$tmp/w"
w=$(width "$tmp/w"); [ "$w" -le 100 ] && [ "$w" -ge 90 ] && ok || bad "-T flow in a pipe without COLUMNS: $w columns, expected up to 100"
COLUMNS=64 "$POPFLOW" -r "$seed" -T flow >"$tmp/w"
w=$(width "$tmp/w"); [ "$w" -le 64 ] && [ "$w" -ge 56 ] && ok || bad "COLUMNS=64 in a pipe: $w columns"
COLUMNS=150 "$POPFLOW" -r "$seed" -T flow >"$tmp/w"
w=$(width "$tmp/w"); [ "$w" -le 150 ] && [ "$w" -gt 100 ] && ok || bad "COLUMNS=150 in a pipe: $w columns"
COLUMNS=150 "$POPFLOW" -r "$seed" -T flow --width 80 >"$tmp/w"
w=$(width "$tmp/w"); [ "$w" -le 80 ] && [ "$w" -gt 64 ] && ok || bad "--width 80 beats COLUMNS: $w columns"
COLUMNS=nonsense "$POPFLOW" -r "$seed" -T flow >"$tmp/w"
w=$(width "$tmp/w"); [ "$w" -le 100 ] && [ "$w" -ge 90 ] && ok || bad "COLUMNS=nonsense: $w columns, expected the default 100"
COLUMNS=150 python3 tests/tools/onpty --cols 72 "$tmp/w" "$POPFLOW" -r "$seed" -T flow
w=$(width "$tmp/w"); [ "$w" -le 72 ] && [ "$w" -gt 64 ] && ok || bad "a 72-column terminal with COLUMNS=150: $w columns"

# ---- -v: the window as scaled by RFC 7323, with the raw value and the scale (item 15) ----
expect 0 "-v window" -- "$POPFLOW" -r "$seed" -v
has "$tmp/out" "^        3     0.000033  C->S  TCP ACK (ACK)  seq=1 ack=1 win=65536 (raw 64, scale 1024)$" "-v: scaled window"
has "$tmp/out" "^        1     0.000000  C->S  TCP SYN (SYN)  seq=0 ack=0 win=65495$" "-v: a SYN's window is never scaled"
expect 0 "-v window unknown" -- "$POPFLOW" -r tests/golden/no-handshake.pcap -v
has "$tmp/out" " win=65535 (raw, scale unknown)$" "-v without the handshake: scale unknown"
expect 0 "-v no scaling" -- "$POPFLOW" -r tests/golden/retrans-ooo.pcap -v
hasnt "$tmp/out" "scale" "-v, handshake without the option: no scale shown"
# Every segment's win_scaled as tshark calculates the window (tcp.window_size).
for f in "$seed" samples/dovecot-poplib.pcap samples/dovecot-getmail.pcap tests/golden/retrans-ooo.pcap; do
	"$POPFLOW" -r "$f" -T json -v >"$tmp/wj"
	tshark -r "$f" -T fields -e frame.number -e tcp.window_size >"$tmp/ts" 2>/dev/null
	python3 - "$tmp/wj" "$tmp/ts" <<'EOF' && ok || bad "$f: win_scaled differs from tshark's tcp.window_size"
import json, sys
want = dict(l.split("\t") for l in open(sys.argv[2]).read().split("\n") if "\t" in l)
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    for s in o.get("segments", []):
        if s["frame"] is None:
            continue
        assert s["win_scaled"] == int(want[str(s["frame"])]), (s, want[str(s["frame"])])
        n += 1
assert n > 10, n
EOF
done

echo "display: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
