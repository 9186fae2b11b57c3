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
