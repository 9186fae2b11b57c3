#!/usr/bin/env bash
# tests/inputs/run.sh - the capture files users have (docs/inputs.md): compressed (gzip, zstd,
# lz4), pcapng with several interfaces and link types, several files read as one (rotated files).
# Test captures are made here from the samples with the tools users have (gzip, zstd, lz4,
# editcap, mergecap): the same packets must give the same report however they are stored.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
# The report names the capture file (each session's "file", the text header's "in FILE"):
# compare reports of the same packets stored differently without it.
nofile() { sed -e 's/"file":"[^"]*"/"file":F/' -e 's/^\(Community ID .*, first frame [0-9]*\) in .*$/\1 in F/' "$1"; }
same() { # same EXPECTED ACTUAL DESCRIPTION
	if cmp -s <(nofile "$1") <(nofile "$2"); then ok; else bad "$3: output differs"; diff <(nofile "$1") <(nofile "$2") | head -10 | sed 's/^/  /'; fi
}
for t in gzip zstd lz4 editcap mergecap; do
	command -v $t >/dev/null 2>&1 || { bad "missing tool $t (make deps installs it)"; echo "inputs: $pass passed, $fail failed"; exit 1; }
done

# --- compressed captures (issue 10 item 9): gzip, zstd and lz4, pcap and pcapng, files and stdin.
base=samples/dovecot-poplib.pcap
editcap -F pcapng "$base" "$tmp/base.pcapng"
for fmt in "-T json -v" "-v"; do
	key=$(echo "$fmt" | tr -dc 'a-z')
	# shellcheck disable=SC2086
	"$POPFLOW" -r "$base" $fmt >"$tmp/want-$key" 2>"$tmp/want-$key.err" || bad "plain $fmt: exit $?"
	grep -q '"type":"session"\|^Session 1' "$tmp/want-$key" && ok || bad "plain $fmt: no session"
	for src in "$base" "$tmp/base.pcapng"; do
		for z in "gzip -c" "zstd -q -c" "lz4 -q -c"; do
			ext=$(echo "$z" | cut -d' ' -f1)
			$z "$src" >"$tmp/c.$ext"
			# shellcheck disable=SC2086
			expect 0 "$ext $(basename "$src") $fmt" -- "$POPFLOW" -r "$tmp/c.$ext" $fmt
			same "$tmp/want-$key" "$tmp/out" "$ext-compressed $(basename "$src") $fmt"
			has "$tmp/out" "\"file\":\"$tmp/c.$ext\"\|^Community ID .* in $tmp/c.$ext\$" "$ext: sessions name the compressed file"
		done
	done
done
gzip -c "$base" >"$tmp/c.pcap.gz"
expect 0 "gzip on stdin" -- sh -c "\"$POPFLOW\" -r - -T json -v <\"$tmp/c.pcap.gz\""
same "$tmp/want-jsonv" "$tmp/out" "gzip-compressed capture on standard input"
zstd -q -c "$base" | "$POPFLOW" -r - -T json -v >"$tmp/out" 2>"$tmp/err" || bad "zstd on stdin: exit $?"
same "$tmp/want-jsonv" "$tmp/out" "zstd-compressed capture on standard input"
# A compressed capture cut short: what was read is reported, exit 4, the file named.
size=$(stat -c %s "$tmp/c.pcap.gz")
head -c $((size * 2 / 3)) "$tmp/c.pcap.gz" >"$tmp/cut.pcap.gz"
expect 4 "cut gzip capture" -- "$POPFLOW" -r "$tmp/cut.pcap.gz" -T json
has "$tmp/err" "cut.pcap.gz: after frame [0-9]*: " "cut gzip capture: file and frame named"
has "$tmp/out" '"damaged":true' "cut gzip capture: summary says damaged"
has "$tmp/out" '"type":"session"' "cut gzip capture: sessions before the cut reported"
# The BPF filter applies to the decompressed frames.
expect 0 "gzip with filter" -- "$POPFLOW" -r "$tmp/c.pcap.gz" -T json "tcp port 9"
has "$tmp/out" '"sessions":0' "filter on a compressed capture keeps nothing of port 9"
# -w writes the packets read from a compressed capture as plain pcap.
expect 0 "-w from gzip" -- "$POPFLOW" -r "$tmp/c.pcap.gz" -w "$tmp/w.pcap" -o /dev/null
cmp -s <(tshark -r "$base" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) \
    <(tshark -r "$tmp/w.pcap" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) && ok ||
    bad "-w from a gzip capture: not the same packets as the plain file"
# Not a capture, compressed or not: cannot be read (2), the file named.
echo "just text, not a capture" | gzip -c >"$tmp/text.gz"
expect 2 "gzip of text" -- "$POPFLOW" -r "$tmp/text.gz"
has "$tmp/err" "text.gz" "gzip of text: the file named"
: >"$tmp/empty.pcap"
expect 2 "empty file" -- "$POPFLOW" -r "$tmp/empty.pcap"
has "$tmp/err" "empty.pcap: empty file" "empty file: said so"

# --- pcapng with interfaces of two link types (issue 10 item 8): Ethernet and Linux cooked v1,
# as mergecap writes them; each frame is decoded with its interface's link type.
mergecap -F pcapng -w "$tmp/two-if.pcapng" "$base" tests/golden/sll.pcap
expect 0 "pcapng, Ethernet + SLL interfaces" -- "$POPFLOW" -r "$tmp/two-if.pcapng" -T json
n=$(grep -c '"type":"session"' "$tmp/out")
want=$(( $("$POPFLOW" -r "$base" -T json | grep -c '"type":"session"') + $("$POPFLOW" -r tests/golden/sll.pcap -T json | grep -c '"type":"session"') ))
[ "$n" -eq "$want" ] && ok || bad "two-interface pcapng: $n sessions, expected $want"
expect 0 "pcapng, two link types, filtered" -- "$POPFLOW" -r "$tmp/two-if.pcapng" -T json "tcp port 110"
n=$(grep -c '"type":"session"' "$tmp/out")
[ "$n" -eq "$want" ] && ok || bad "two-interface pcapng with a filter: $n sessions, expected $want"
expect 3 "-w refused for two link types" -- "$POPFLOW" -r "$tmp/two-if.pcapng" -w "$tmp/x.pcap" -o /dev/null
has "$tmp/err" "several link types" "-w with two link types: says why"

# --- several capture files (issue 10 item 7): the rotated files tcpdump -C/-G/-W leaves, made
# here by cutting a sample into files of 25 frames (editcap -c); a session spans all of them.
whole=samples/dovecot-poplib.pcap
mkdir "$tmp/ring"
editcap -c 25 "$whole" "$tmp/ring/r.pcap"
ring=("$tmp"/ring/r_*.pcap)
[ ${#ring[@]} -eq 4 ] && ok || bad "editcap -c 25 made ${#ring[@]} files, expected 4"
r0=${ring[0]} r1=${ring[1]} r2=${ring[2]} r3=${ring[3]}
# JSON Lines without what names files and frames (they differ: frames are numbered per file).
noframes() {
	python3 -c '
import json, re, sys
drop = {"file", "last_file", "command_file", "reply_file", "first_frame", "last_frame",
        "command_frame", "reply_frame", "frame"}
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in drop}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return re.sub(r"frame [^ ;:]*(:[0-9]+)?", "frame N", o) if isinstance(o, str) else o
for line in sys.stdin:
    print(json.dumps(strip(json.loads(line)), sort_keys=True))' <"$1"
}
same_frames() { # same_frames EXPECTED ACTUAL DESCRIPTION: same report, files and frames aside
	if cmp -s <(noframes "$1") <(noframes "$2"); then ok; else bad "$3: output differs"; diff <(noframes "$1") <(noframes "$2") | head -6 | sed 's/^/  /'; fi
}
"$POPFLOW" -r "$whole" -T json -v >"$tmp/whole.json" 2>/dev/null || bad "whole capture: exit $?"
grep -q '"transactions":\[{' "$tmp/whole.json" && ok || bad "whole capture: no transactions"
expect 0 "rotated files, -r each" -- "$POPFLOW" -r "$r0" -r "$r1" -r "$r2" -r "$r3" -T json -v
same_frames "$tmp/whole.json" "$tmp/out" "rotated files given with -r each"
cp "$tmp/out" "$tmp/ring.json"
expect 0 "rotated files, in another order" -- "$POPFLOW" -r "$r3" -r "$r1" -r "$r0" -r "$r2" -T json -v
same_frames "$tmp/whole.json" "$tmp/out" "rotated files given out of time order (merged by time)"
expect 0 "rotated files, quoted glob" -- "$POPFLOW" -r "$tmp/ring/r_*.pcap" -T json -v
same_frames "$tmp/whole.json" "$tmp/out" "rotated files as -r 'r_*.pcap'"
cmp -s "$tmp/ring.json" "$tmp/out" && ok || bad "-r 'r_*.pcap' and -r each: not the same output"
expect 0 "rotated files, shell glob" -- "$POPFLOW" -r "$tmp"/ring/r_*.pcap -T json -v
same_frames "$tmp/whole.json" "$tmp/out" "rotated files as the shell expands -r r_*.pcap"
expect 0 "rotated files, shell glob and a filter" -- "$POPFLOW" -r "$tmp"/ring/r_*.pcap -T json -v tcp port 110
same_frames "$tmp/whole.json" "$tmp/out" "-r r_*.pcap tcp port 110: files, then the filter"
expect 0 "rotated files, shell glob and a filter keeping nothing" -- "$POPFLOW" -r "$tmp"/ring/r_*.pcap -T json port 9
has "$tmp/out" '"sessions":0' "-r r_*.pcap port 9: the filter applies to every file"
# A session that spans the four files is followed whole: it starts in the first, ends in the
# last, and every frame is named by its file and its number there (file k holds whole's frames
# 25k+1 to 25k+25).
python3 - "$tmp/whole.json" "$tmp/ring.json" "$r0" "$r1" "$r2" "$r3" >"$tmp/py" 2>&1 <<'PY' && ok || { bad "frames of the rotated files"; sed 's/^/  /' "$tmp/py" | head -5; }
import json, sys
whole = [json.loads(l) for l in open(sys.argv[1])]
ring = [json.loads(l) for l in open(sys.argv[2])]
files = sys.argv[3:]
def glob_frame(f, n):
    return 25 * files.index(f) + n
spans = [s for s in ring if s["type"] == "session" and s["file"] != s["last_file"]]
assert spans, "no session spans two files"
assert any(s["file"] == files[0] and s["last_file"] == files[3] for s in spans), "none spans all four"
for w, r in zip(whole, ring):
    if w["type"] != "session":
        continue
    assert glob_frame(r["file"], r["first_frame"]) == w["first_frame"], "first_frame"
    assert glob_frame(r["last_file"], r["last_frame"]) == w["last_frame"], "last_frame"
    for tw, tr in zip(w["transactions"], r["transactions"]):
        for k in ("command", "reply"):
            if tw.get(k + "_frame") is not None:
                assert glob_frame(tr[k + "_file"], tr[k + "_frame"]) == tw[k + "_frame"], k
    for cw, cr in zip(w["credentials"], r["credentials"]):
        assert glob_frame(cr["file"], cr["frame"]) == cw["frame"], "credential"
    assert len(w["segments"]) == len(r["segments"]) > 0
    for sw, sr in zip(w["segments"], r["segments"]):
        assert glob_frame(sr["file"], sr["frame"]) == sw["frame"], "segment %r" % sr
PY
# Many sessions at once, some with retransmissions and segments out of order (bench/gen.py),
# cut into 28 files: every session crosses files, and each is still followed whole and exact.
python3 bench/gen.py "$tmp/gen.pcap" --size-mb 1 --concurrent 16 --disorder 20 >/dev/null
mkdir "$tmp/gen"
editcap -c 50 "$tmp/gen.pcap" "$tmp/gen/g.pcap"
"$POPFLOW" -r "$tmp/gen.pcap" -T json -v >"$tmp/gen-whole.json" 2>/dev/null || bad "generated capture: exit $?"
expect 0 "generated capture in 28 files" -- "$POPFLOW" -r "$tmp/gen/g_*.pcap" -T json -v
same_frames "$tmp/gen-whole.json" "$tmp/out" "generated capture cut into 28 files"
python3 bench/check.py "$tmp/out" "$tmp/gen.pcap.expect" >"$tmp/check" && ok || bad "generated capture in 28 files: $(cat "$tmp/check")"
# One file: no file keys beside the frames (the JSON of one file does not change).
if grep -q '"last_file"\|"command_file"\|"reply_file"' "$tmp/whole.json"; then bad "one file: file keys beside frames"; else ok; fi
# Text: frames name their file (the credential, the -v timeline, the header).
expect 0 "rotated files, text -v" -- "$POPFLOW" -r "$tmp/ring/r_*.pcap" -v
has "$tmp/out" "txn 2, frame $r0:9: USER/PASS" "text: a credential's frame names its file"
has "$tmp/out" "^  $r3:1 " "text -v: segments of the last file named"
has "$tmp/out" "^Community ID .*, first frame 18 in $r0\$" "text: the session header names its first file"
# Anomalies of a session whose start is in a file not read: the detail names the file too.
expect 0 "later files only" -- "$POPFLOW" -r "$r2" -r "$r1" -T json
has "$tmp/out" "\"type\":\"handshake_missing\",\"frame\":1,\"file\":\"$r1\"" "anomaly: frame and file"
has "$tmp/out" "first frame $r1:1 has no SYN" "anomaly detail: the frame names its file"
# Anomalies are listed in frame order, files in the order of their first packets whatever the
# order given: the second file (given first, a frame taken out so it has a gap) comes last.
editcap "$r2" "$tmp/r2-gap.pcap" 5
expect 0 "anomalies of two files given out of order" -- "$POPFLOW" -r "$tmp/r2-gap.pcap" -r "$r1"
sed -n 's/^    frame \(.*\):[0-9]*: [a-z_]*: .*/\1/p' "$tmp/out" | uniq >"$tmp/anom-files"
printf '%s\n' "$r1" "$tmp/r2-gap.pcap" | cmp -s - "$tmp/anom-files" && ok ||
	bad "anomalies of two files: not in time order: $(tr '\n' ' ' <"$tmp/anom-files")"
# Diagrams: {frame} in a remark template names the file.
cp -r templates "$tmp/tmpl"
sed -i 's/^tcp.syn: .*/tcp.syn: SYN in frame {frame}./; /^    TCP connection\.$/d' "$tmp/tmpl/tcp.tmpl"
# (Short names, from the files' directory, so the label is not wrapped inside the name.)
pf=$(command -v "$POPFLOW") && pf=$(realpath "$pf")
expect 0 "diagram, rotated files" -- sh -c "cd \"$tmp/ring\" && \"$pf\" -r 'r_*.pcap' -T dot --session 2 --templates ../tmpl"
has "$tmp/out" "SYN in frame $(basename "$r0"):18\." "diagram: {frame} names the file"
# Frames that cannot be decoded are reported with their own file's name and number.
editcap -s 30 "$r1" "$tmp/ring-cut.pcap"
expect 0 "undecodable frames in one of two files" -- "$POPFLOW" -r "$tmp/ring-cut.pcap" -r "$r0" -T json
has "$tmp/err" "^popflow: $tmp/ring-cut.pcap: frame 1: frame ends inside" "warning: the frame's file and number"
# -w writes the merged packets: the whole capture again.
expect 0 "-w from rotated files" -- "$POPFLOW" -r "$r2" -r "$r0" -r "$r3" -r "$r1" -w "$tmp/merged.pcap" -o /dev/null
cmp -s <(tshark -r "$whole" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) \
    <(tshark -r "$tmp/merged.pcap" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) && ok ||
    bad "-w from rotated files: not the packets of the whole capture"
# TLS keys a pcapng carries are read from every file, not only the first.
editcap --inject-secrets "tls,tests/tls/captures/tls12-chacha20.keys" tests/tls/captures/tls12-chacha20.pcap "$tmp/dsb.pcapng"
expect 0 "keys in the second file" -- "$POPFLOW" -r "$whole" -r "$tmp/dsb.pcapng" -T json
has "$tmp/out" "\"file\":\"$whole\"" "keys in the second file: the first file's sessions"
has "$tmp/out" "\"file\":\"$tmp/dsb.pcapng\".*\"decrypted\":true" "the second file's TLS keys decrypt its session"
# A second file that cannot be read: named, exit status 2, nothing read.
expect 2 "second file missing" -- "$POPFLOW" -r "$r0" -r "$tmp/ring/nosuch.pcap" -r "$r1"
has "$tmp/err" "^popflow: $tmp/ring/nosuch.pcap: No such file" "second file missing: named"
expect 2 "second file not a capture" -- "$POPFLOW" -r "$r0" "$tmp/text.gz" "$r1"
has "$tmp/err" "^popflow: $tmp/text.gz: " "second file not a capture: named"
expect 2 "a pattern that matches no file" -- "$POPFLOW" -r "$tmp/ring/zz*.pcap"
has "$tmp/err" "zz\*.pcap: no file matches the pattern" "pattern matching nothing: said so"
# A second file damaged part-way: named with its last good frame, exit 4, the sessions of the
# other files reported (session 1 lies whole in the first file).
mkdir "$tmp/dmg"
cp "$r0" "$r2" "$r3" "$tmp/dmg/"
head -c $(($(stat -c %s "$r1") - 100)) "$r1" >"$tmp/dmg/$(basename "$r1")"
expect 4 "damaged second file" -- "$POPFLOW" -r "$tmp/dmg/r_*.pcap" -T json
has "$tmp/err" "^popflow: $tmp/dmg/$(basename "$r1"): after frame 24: " "damaged second file: file and frame named"
has "$tmp/out" "\"session\":1,.*\"file\":\"$tmp/dmg/$(basename "$r0")\".*\"end_reason\":\"fin\"" "damaged second file: the first file's session reported"
has "$tmp/out" '"damaged":true' "damaged second file: the summary says damaged"
# Standard input cannot be merged; an output that is any of the inputs is refused.
expect 1 "-r - with another file" -- "$POPFLOW" -r - -r "$r0"
has "$tmp/err" "standard input cannot be read together with other capture files" "-r - -r FILE: says why"
cp "$r1" "$tmp/r1.copy"
expect 1 "-o is the second input" -- "$POPFLOW" -r "$r0" -r "$r1" -r "$r2" -o "$r1"
has "$tmp/err" "^popflow: -o $r1: that is a capture file being read" "-o the second input: says so"
cmp -s "$r1" "$tmp/r1.copy" && ok || bad "-o the second input: the capture was changed"
expect 1 "-w is the second input" -- "$POPFLOW" -r "$tmp/ring/r_*.pcap" -w "$r1" -o /dev/null
cmp -s "$r1" "$tmp/r1.copy" && ok || bad "-w the second input: the capture was changed"
expect 1 "a file given twice" -- "$POPFLOW" -r "$r0" -r "$tmp/ring/r_*.pcap"
has "$tmp/err" "the file is given twice" "a file given twice: said so"
# A capture file that does not exist after -r is read as the filter: the error says so.
expect 1 "missing file after -r's" -- "$POPFLOW" -r "$r0" "$tmp/ring/r_9.pcap"
has "$tmp/err" "r_9.pcap' was read as the filter: there is no such file" "missing file after -r: explained"
expect 2 "-r a directory" -- "$POPFLOW" -r "$tmp/ring"
has "$tmp/err" "ring: a directory, not a capture (its capture files, read together: -r '$tmp/ring/\*')" "-r a directory: what to give instead"
expect 1 "a directory after -r's file" -- "$POPFLOW" -r "$r0" "$tmp/ring"
has "$tmp/err" "ring' was read as the filter: it is a directory" "a directory after -r: explained"

echo "inputs: $pass passed, $fail failed"
[ $fail -eq 0 ]
