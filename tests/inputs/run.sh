#!/usr/bin/env bash
# tests/inputs/run.sh - the capture files users have (docs/inputs.md): compressed (gzip, zstd,
# lz4), pcapng with several interfaces and link types.
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

echo "inputs: $pass passed, $fail failed"
[ $fail -eq 0 ]
