#!/usr/bin/env bash
# run.sh [NAME...] - end-to-end checks of the diagram formats; ends with "diagram: N passed, N failed".
#
# Golden text outputs (GOLDEN), the seed replica against the seed's message list, and the
# rendered formats checked for real: SVG parses as XML and holds every label, DOT is accepted
# by `dot` with every arrow horizontal, PNG and PDF headers and page counts, one file per
# session, bad templates, and every capture of tests/golden rendered without breaking XML.
# VALGRIND=1 also runs the PNG path under valgrind with valgrind.supp.
set -euo pipefail
cd "$(dirname "$0")/../.."
POPFLOW=${POPFLOW:-./popflow}
CHECK="python3 tests/diagram/check.py"
T=(--templates templates)
export TZ=UTC
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

want() { # NAME: run only the named checks when names are given
	[ ${#SELECT[@]} -eq 0 ] && return 0
	case " ${SELECT[*]} " in *" $1 "*) return 0 ;; esac
	return 1
}
SELECT=("$@")

check() { # NAME CMD...: one check, its output shown only when it fails
	local name=$1
	shift
	want "$name" || return 0
	if "$@" >"$tmp/log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		sed 's/^/    /' "$tmp/log" | head -n 40
	fi
}

golden() { # capture expected options...
	local cap=$1 exp=$2
	shift 2
	"$POPFLOW" -r "$cap" "$@" "${T[@]}" >"$tmp/out"
	diff -u "tests/diagram/$exp" "$tmp/out"
}

while read -r name cap exp opts; do
	case "$name" in '' | '#'*) continue ;; esac
	# shellcheck disable=SC2086
	check "golden-$name" golden "$cap" "$exp" $opts
done <tests/diagram/GOLDEN

seed_list() {
	"$POPFLOW" -r samples/seed-replica.pcap -T mermaid "${T[@]}" >"$tmp/seed.mmd"
	$CHECK seed "$tmp/seed.mmd" tests/diagram/seed-messages.tsv
}
check seed-message-list seed_list

svg_labels() { # capture options...: every row's name, parameters and step are <text> in the SVG
	local cap=$1
	shift
	"$POPFLOW" -r "$cap" -T mermaid "$@" "${T[@]}" >"$tmp/l.mmd"
	"$POPFLOW" -r "$cap" -T svg "$@" "${T[@]}" >"$tmp/l.svg"
	$CHECK svg "$tmp/l.svg" "$tmp/l.mmd"
}
check svg-seed svg_labels samples/seed-replica.pcap
check svg-seed-messages svg_labels samples/seed-replica.pcap --detail messages
check svg-fetchmail-fold svg_labels samples/dovecot-fetchmail.pcap --fold-acks
check svg-retrans svg_labels tests/golden/retrans-ooo.pcap

dot_plain() { # capture: DOT accepted by dot; every edge horizontal or vertical
	"$POPFLOW" -r "$1" -T dot "${T[@]}" >"$tmp/d.dot"
	dot -Tplain "$tmp/d.dot" >"$tmp/d.plain"
	$CHECK plain "$tmp/d.plain"
}
check dot-seed dot_plain samples/seed-replica.pcap
check dot-fetchmail dot_plain samples/dovecot-fetchmail.pcap

png_pages() { # 38 rows, 10 per page: p1..p4, and no empty FILE.png left behind
	"$POPFLOW" -r samples/seed-replica.pcap -T png --page-rows 10 -o "$tmp/pg.png" "${T[@]}"
	[ ! -e "$tmp/pg.png" ] || { echo "pg.png left behind"; return 1; }
	[ ! -e "$tmp/pg-p5.png" ] || { echo "a fifth page"; return 1; }
	$CHECK png "$tmp/pg-p1.png" "$tmp/pg-p2.png" "$tmp/pg-p3.png" "$tmp/pg-p4.png"
}
check png-pages png_pages

png_one() { # the default page size holds the seed: one PNG on stdout
	"$POPFLOW" -r samples/seed-replica.pcap -T png "${T[@]}" >"$tmp/one.png"
	$CHECK png "$tmp/one.png"
}
check png-one png_one

pdf_pages() { # pages of A4 (or --paper letter) size, cut where a page of its proportions is full
	"$POPFLOW" -r samples/seed-replica.pcap -T pdf --page-rows 10 -o "$tmp/p.pdf" "${T[@]}"
	$CHECK pdf "$tmp/p.pdf" 4 a4 || return 1
	"$POPFLOW" -r samples/seed-replica.pcap -T pdf "${T[@]}" >"$tmp/one.pdf"
	$CHECK pdf "$tmp/one.pdf" 2 a4 || return 1
	"$POPFLOW" -r samples/seed-replica.pcap -T pdf --paper letter "${T[@]}" >"$tmp/letter.pdf"
	$CHECK pdf "$tmp/letter.pdf" 2 letter || return 1
	"$POPFLOW" -r tests/golden/no-handshake.pcap -T pdf "${T[@]}" >"$tmp/short.pdf"
	$CHECK pdf "$tmp/short.pdf" 1 a4 || return 1
	"$POPFLOW" -r samples/dovecot-fetchmail.pcap --session 1 -T pdf "${T[@]}" >"$tmp/long.pdf"
	$CHECK pdf "$tmp/long.pdf" ">1" a4
}
check pdf-pages pdf_pages

per_session() { # two sessions: FILE-1.svg and FILE-2.svg, both valid; FILE.svg removed
	"$POPFLOW" -r samples/dovecot-poplib.pcap -T svg -o "$tmp/m.svg" "${T[@]}" 2>"$tmp/err"
	ls "$tmp"/m*.svg
	[ ! -e "$tmp/m.svg" ] || { echo "m.svg left behind"; return 1; }
	[ "$(ls "$tmp"/m-*.svg | wc -l)" -eq 2 ] || return 1
	for f in "$tmp"/m-*.svg; do
		python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$f"
	done
}
check per-session-files per_session

several_to_stdout() { # SVG of two sessions on stdout is refused, with advice
	if "$POPFLOW" -r samples/dovecot-poplib.pcap -T svg "${T[@]}" >"$tmp/x.svg" 2>"$tmp/err"; then
		echo "exit 0"
		return 1
	fi
	grep -q -- "--session N" "$tmp/err"
}
check several-sessions-stdout several_to_stdout

one_session() { # --session picks one; a missing one is an error
	"$POPFLOW" -r samples/dovecot-poplib.pcap -T svg --session 2 "${T[@]}" >"$tmp/s2.svg"
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$tmp/s2.svg"
	if "$POPFLOW" -r samples/dovecot-poplib.pcap -T flow --session 99 "${T[@]}" >/dev/null 2>"$tmp/err"; then
		return 1
	fi
	grep -q "session 99" "$tmp/err"
}
check session-option one_session

# Issue 10 item 5: diagram errors have their own exit status and message, and leave no -o file.
no_such_session() { # --session N naming no session: exit 6 in every format, no -o file
	local fmt rc
	for fmt in text json svg png pdf dot flow mermaid plantuml fdl; do
		rc=0
		"$POPFLOW" -r samples/seed-replica.pcap -T "$fmt" --session 9 -o "$tmp/ns.$fmt" "${T[@]}" 2>"$tmp/err" || rc=$?
		[ "$rc" -eq 6 ] || { echo "-T $fmt --session 9: exit $rc, expected 6"; cat "$tmp/err"; return 1; }
		grep -q -- "--session 9: no such session (1 reported)" "$tmp/err" ||
			{ echo "-T $fmt: message"; cat "$tmp/err"; return 1; }
		case $fmt in text | json) ;; *)
			[ ! -e "$tmp/ns.$fmt" ] || { echo "-T $fmt: -o file created with nothing drawn"; return 1; } ;;
		esac
	done
	ls -A "$tmp" | grep '^\.ns' && { echo "temporary files left behind"; return 1; }
	return 0
}
check no-such-session no_such_session

no_pop3_session() { # nothing to draw: exit 6, the existing -o file untouched, no new one
	local rc=0
	echo precious >"$tmp/keep.svg"
	"$POPFLOW" -r tests/golden/two-interleaved.pcap -T svg -o "$tmp/keep.svg" "${T[@]}" 'port 25' 2>"$tmp/err" || rc=$?
	[ "$rc" -eq 6 ] || { echo "exit $rc, expected 6"; cat "$tmp/err"; return 1; }
	grep -qx "popflow: -T svg: no POP3 session to draw" "$tmp/err" || { cat "$tmp/err"; return 1; }
	[ "$(cat "$tmp/keep.svg")" = precious ] || { echo "an existing -o file was changed"; return 1; }
	rc=0
	"$POPFLOW" -r tests/golden/two-interleaved.pcap -T mermaid -o "$tmp/none.mmd" "${T[@]}" 'port 25' 2>"$tmp/err" || rc=$?
	[ "$rc" -eq 6 ] && [ ! -e "$tmp/none.mmd" ] || { echo "mermaid: exit $rc or file created"; return 1; }
	ls -A "$tmp" | grep -E '^\.(keep|none)' && { echo "temporary files left behind"; return 1; }
	# ... and a drawing replaces it whole.
	"$POPFLOW" -r samples/seed-replica.pcap -T svg -o "$tmp/keep.svg" "${T[@]}"
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$tmp/keep.svg"
}
check no-pop3-session no_pop3_session

missing_templates() { # exit 2 (input), the missing file named, not "stdout:", no -o file
	local rc=0
	"$POPFLOW" -r samples/seed-replica.pcap -T svg --templates "$tmp/nowhere" -o "$tmp/t.svg" 2>"$tmp/err" || rc=$?
	[ "$rc" -eq 2 ] || { echo "exit $rc, expected 2"; cat "$tmp/err"; return 1; }
	grep -q "^popflow: --templates $tmp/nowhere: .*$tmp/nowhere/diagram.tmpl.*No such file or directory" "$tmp/err" ||
		{ cat "$tmp/err"; return 1; }
	[ ! -e "$tmp/t.svg" ] || { echo "t.svg created"; return 1; }
	rc=0
	"$POPFLOW" -r samples/seed-replica.pcap -T flow --templates "$tmp/nowhere" >"$tmp/t.out" 2>"$tmp/err" || rc=$?
	[ "$rc" -eq 2 ] && ! grep -q "stdout" "$tmp/err" && [ ! -s "$tmp/t.out" ] || { echo "stdout: exit $rc"; cat "$tmp/err"; return 1; }
	# No templates installed nor beside the program: said so, with what to do.
	mkdir -p "$tmp/bare"
	cp "$POPFLOW" "$tmp/bare/popflow"
	rc=0
	"$tmp/bare/popflow" -r samples/seed-replica.pcap -T svg -o "$tmp/t.svg" 2>"$tmp/err" || rc=$?
	if [ -d /usr/local/share/popflow/templates ]; then echo "(templates installed: default case skipped)"; return 0; fi
	[ "$rc" -eq 2 ] && grep -q "diagram templates: none in .* use --templates DIR" "$tmp/err" && [ ! -e "$tmp/t.svg" ] ||
		{ echo "no templates anywhere: exit $rc"; cat "$tmp/err"; return 1; }
}
check missing-templates missing_templates

one_document_formats() { # several sessions to stdout: refused before anything is written
	local fmt rc
	for fmt in svg png pdf mermaid fdl; do
		rc=0
		"$POPFLOW" -r samples/dovecot-poplib.pcap -T "$fmt" "${T[@]}" >"$tmp/several.out" 2>"$tmp/err" || rc=$?
		[ "$rc" -eq 1 ] || { echo "-T $fmt: exit $rc, expected 1"; cat "$tmp/err"; return 1; }
		[ ! -s "$tmp/several.out" ] || { echo "-T $fmt: something was written"; return 1; }
		grep -q -- "-T $fmt: the capture holds several sessions.*use -o FILE .*or --session N" "$tmp/err" ||
			{ cat "$tmp/err"; return 1; }
	done
	# Formats whose stream holds several documents stream them.
	"$POPFLOW" -r samples/dovecot-poplib.pcap -T plantuml "${T[@]}" >"$tmp/several.puml"
	[ "$(grep -c '^@startuml$' "$tmp/several.puml")" -eq 2 ] || return 1
	"$POPFLOW" -r samples/dovecot-poplib.pcap -T dot "${T[@]}" >"$tmp/several.dot"
	[ "$(grep -c '^digraph' "$tmp/several.dot")" -eq 2 ] || return 1
	"$POPFLOW" -r samples/dovecot-poplib.pcap -T mermaid --session 2 "${T[@]}" >"$tmp/one.mmd"
	[ "$(grep -c '^sequenceDiagram$' "$tmp/one.mmd")" -eq 1 ]
}
check one-document-formats one_document_formats

binary_on_terminal() { # -T png / pdf with standard output on a terminal: refused, -o suggested
	local fmt
	for fmt in png pdf; do
		python3 - "$POPFLOW" "$fmt" <<'PY' || return 1
import os, pty, select, subprocess, sys, time
m, s = pty.openpty()
p = subprocess.Popen([sys.argv[1], "-r", "samples/seed-replica.pcap", "-T", sys.argv[2],
                      "--templates", "templates"], stdout=s, stderr=subprocess.PIPE)
os.close(s)
written, end = b"", time.time() + 20
while time.time() < end:  # read the terminal while it runs, so a writer never blocks
    if select.select([m], [], [], 0.1)[0]:
        try:
            chunk = os.read(m, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        written += chunk
    elif p.poll() is not None:
        break
if p.poll() is None:
    p.kill()
err = p.stderr.read().decode()
p.wait()
print(p.returncode, err.strip(), len(written))
want = "popflow: -T %s: standard output is a terminal, and %s is binary: write it to a file with -o FILE" % (
    sys.argv[2], sys.argv[2].upper())
sys.exit(0 if p.returncode == 1 and err.startswith(want) and not written else 1)
PY
	done
}
check binary-on-terminal binary_on_terminal

bad_templates() { # a malformed template: an error naming file and line, no output
	mkdir -p "$tmp/tmpl"
	cp templates/*.tmpl "$tmp/tmpl/"
	printf '\nthis line has no key\n' >>"$tmp/tmpl/pop3.tmpl"
	if "$POPFLOW" -r samples/seed-replica.pcap -T flow --templates "$tmp/tmpl" >"$tmp/out" 2>"$tmp/err"; then
		return 1
	fi
	cat "$tmp/err"
	grep -Eq "pop3\.tmpl:[0-9]+: expected 'key: text'" "$tmp/err"
	rm "$tmp/tmpl/tcp.tmpl"
	if "$POPFLOW" -r samples/seed-replica.pcap -T svg --templates "$tmp/tmpl" >"$tmp/out" 2>"$tmp/err"; then
		return 1
	fi
	grep -q "tcp.tmpl" "$tmp/err"
}
check bad-templates bad_templates

hostile() { # every capture of tests/golden: SVG stays XML, the ASCII flow stays ASCII
	local f n=0
	for f in tests/golden/*.pcap samples/*.pcap; do
		rm -f "$tmp"/h*.svg
		"$POPFLOW" -r "$f" -T svg -o "$tmp/h.svg" "${T[@]}" 2>"$tmp/err" || grep -q "no POP3 session" "$tmp/err" || {
			echo "$f: svg failed"; cat "$tmp/err"; return 1; }
		for s in "$tmp"/h*.svg; do
			[ -e "$s" ] || continue
			python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$s" || {
				echo "$f: $s is not XML"; return 1; }
			n=$((n + 1))
		done
		"$POPFLOW" -r "$f" -T flow --ascii "${T[@]}" >"$tmp/h.txt" 2>/dev/null || true
		if LC_ALL=C grep -q '[^ -~]' "$tmp/h.txt"; then
			echo "$f: non-ASCII in --ascii flow"
			LC_ALL=C grep -n '[^ -~]' "$tmp/h.txt" | head -3
			return 1
		fi
	done
	echo "$n SVG files parsed"
}
check hostile-captures hostile

puml_check() { # the PlantUML goldens are accepted by PlantUML itself (plantuml is in DEPS_TEST)
	cp tests/diagram/expected/*.puml "$tmp/"
	plantuml -checkonly "$tmp"/*.puml
}
check plantuml-syntax puml_check

# Regression (issue 12, defect 4): peers that write diagram syntax (end note, @enduml,
# %getenv(), [[links]], *), </svg><script>, U+2028...) stay text in every format.
INJ=tests/golden/diagram-injection.pcap
injection_plantuml() {
	"$POPFLOW" -r $INJ -T plantuml "${T[@]}" >"$tmp/inj.puml"
	"$POPFLOW" -r $INJ -T mermaid "${T[@]}" >"$tmp/inj.mmd"
	$CHECK syntax plantuml "$tmp/inj.puml" "$tmp/inj.mmd"
	plantuml -syntax <"$tmp/inj.puml" >"$tmp/inj.syntax" || { cat "$tmp/inj.syntax"; return 1; }
	cat "$tmp/inj.syntax"
	[ "$(cat "$tmp/inj.syntax")" = "$(printf 'SEQUENCE\n(2 participants)')" ]
	# Drawn by PlantUML: %getenv() is not expanded, no link is made.
	plantuml -tsvg -pipe <"$tmp/inj.puml" >"$tmp/inj-puml.svg"
	python3 - "$tmp/inj-puml.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = " ".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("}text"))
links = [e for e in root.iter() if e.tag.endswith("}a")]
for want in ('%getenv("HOME") %version()', "[[http://evil.example/ x]]", "@enduml newpage participant Mallory"):
    if want not in texts:
        sys.exit("not drawn as text: %r" % want)
if links:
    sys.exit("links in the drawing: %r" % [l.attrib for l in links])
print("plantuml drew the peers' text as text, no link")
PY
}
check injection-plantuml injection_plantuml
injection_mermaid() {
	"$POPFLOW" -r $INJ -T mermaid "${T[@]}" >"$tmp/inj.mmd"
	$CHECK syntax mermaid "$tmp/inj.mmd"
}
check injection-mermaid injection_mermaid
injection_fdl() {
	"$POPFLOW" -r $INJ -T fdl "${T[@]}" >"$tmp/inj.fdl"
	$CHECK syntax fdl "$tmp/inj.fdl"
}
check injection-fdl injection_fdl
injection_dot() { # dot reads it without a warning; the same 19 arrows, straight
	"$POPFLOW" -r $INJ -T dot "${T[@]}" >"$tmp/inj.dot"
	dot -Tplain "$tmp/inj.dot" >"$tmp/inj.plain" 2>"$tmp/inj.err"
	[ ! -s "$tmp/inj.err" ] || { cat "$tmp/inj.err"; return 1; }
	$CHECK plain "$tmp/inj.plain"
	grep -c '^node' "$tmp/inj.plain"
}
check injection-dot injection_dot
injection_svg() { # XML, no script element, every row's texts as <text>
	"$POPFLOW" -r $INJ -T mermaid "${T[@]}" >"$tmp/inj.mmd"
	"$POPFLOW" -r $INJ -T svg "${T[@]}" >"$tmp/inj.svg"
	$CHECK svg "$tmp/inj.svg" "$tmp/inj.mmd"
	python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
bad = [e.tag for e in r.iter() if e.tag.split("}")[-1] in ("script", "a", "foreignObject")]
sys.exit("elements from the capture: %r" % bad if bad else 0)' "$tmp/inj.svg"
}
check injection-svg injection_svg

if [ "${VALGRIND:-0}" = 1 ]; then
	vg() {
		valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		    --suppressions=tests/diagram/valgrind.supp \
		    "$POPFLOW" -r samples/seed-replica.pcap -T png --page-rows 10 -o "$tmp/v.png" "${T[@]}"
	}
	check valgrind-png vg
fi

echo "diagram: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
