#!/usr/bin/env bash
# tests/package/run.sh - what a packager and a new user meet: the man page passes mandoc's lint;
# -h, the man page and README list the same options in the same groups (options.py says which
# option is missing where); make install into a DESTDIR puts the program, templates, man page,
# completion and JSON contract in place, man -l renders the installed page, the completion loads
# in bash and completes options and -T formats; make uninstall removes exactly what install wrote.
set -u
cd "$(dirname "$0")/../.." || exit 1
POPFLOW=${POPFLOW:-./popflow}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
has() { # has FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/  | /' "$1" | head -5; fi
}

# The man page: no mandoc warning or error (style remarks such as a missing mandoc.db are not).
if mandoc -T lint -W warning docs/popflow.1 >"$tmp/lint" 2>&1; then ok; else
	bad "mandoc -T lint docs/popflow.1"; sed 's/^/  | /' "$tmp/lint"
fi
if groff -ww -z -mdoc docs/popflow.1 2>"$tmp/groff" && [ ! -s "$tmp/groff" ]; then ok; else
	bad "groff -ww docs/popflow.1 warns"; sed 's/^/  | /' "$tmp/groff"
fi

# -h, the man page and README agree; -h lists every option src/options.c accepts.
"$POPFLOW" -h >"$tmp/help" 2>"$tmp/err" || bad "popflow -h failed"
mandoc -T ascii docs/popflow.1 >"$tmp/man.txt"
python3 tests/package/options.py "$tmp/help" "$tmp/man.txt" README.md src/options.c >"$tmp/opt"
rc=$?
grep '^FAIL' "$tmp/opt"
n=$(sed -n 's/^options: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$tmp/opt")
if [ -n "$n" ]; then pass=$((pass + ${n% *})); fail=$((fail + ${n#* })); fi
[ $rc -eq 0 ] || [ "${n#* }" != 0 ] || bad "options.py exited $rc"
# -h says what -c, -w and -Z do without calling them live-only (they work on files too).
if sed -n '/^Live capture/,/^[A-Z]/p' "$tmp/help" | grep -qE '^  -(c|w|Z) '; then
	bad "-h lists -c, -w or -Z under Live capture, but they work on files too"
else ok; fi
seed=samples/seed-replica.pcap
two=tests/golden/two-interleaved.pcap
# ... and they do: -c 1 on a file stops after the first session ends, -w writes what was read.
"$POPFLOW" -r "$two" -T json -c 1 -w "$tmp/w.pcap" >"$tmp/c.json" 2>"$tmp/err"
has "$tmp/c.json" '"end_reason":"interrupted"' "-c 1 on a file: the session open then is interrupted"
[ -s "$tmp/w.pcap" ] && ok || bad "-w on a file wrote nothing"
n=$("$POPFLOW" -r "$tmp/w.pcap" -T json | grep -c '"type":"session"')
[ "$n" -eq 2 ] && ok || bad "-w on a file: $n sessions in what it wrote, expected 2"

# make install into a DESTDIR, with a file of someone else's beside popflow's.
root=$tmp/root
mkdir -p "$root/usr/share/doc" "$root/usr/share/man/man1"
echo other >"$root/usr/share/doc/other.txt"
echo other >"$root/usr/share/man/man1/other.1"
if make -s install DESTDIR="$root" PREFIX=/usr >"$tmp/inst" 2>&1; then ok; else
	bad "make install failed"; sed 's/^/  | /' "$tmp/inst" | head -5
fi
for f in bin/popflow share/man/man1/popflow.1 share/bash-completion/completions/popflow \
	share/doc/popflow/json.md share/popflow/templates/pop3.tmpl share/popflow/templates/tcp.tmpl \
	share/popflow/templates/diagram.tmpl; do
	[ -f "$root/usr/$f" ] && ok || bad "make install did not install /usr/$f"
done
[ -x "$root/usr/bin/popflow" ] && ok || bad "installed popflow is not executable"
man1=$root/usr/share/man/man1/popflow.1
# The installed page names the installed paths, not the source's /usr/local.
has "$man1" "/usr/share/popflow/templates" "installed man page: the templates' installed path"
has "$man1" "/usr/share/doc/popflow/json.md" "installed man page: the JSON contract's installed path"
if grep -q /usr/local "$man1"; then bad "installed man page still says /usr/local"; else ok; fi
# man -l renders it (man-db, groff).
MANWIDTH=80 man -l "$man1" 2>"$tmp/man.err" | col -b >"$tmp/man.out"; rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && ok || { bad "man -l popflow.1: exit $rc"; head -3 "$tmp/man.err"; }
for w in "POPFLOW(1)" "NAME" "SYNOPSIS" "OPTIONS" "OUTPUT FORMATS" "EXIT STATUS" "FILES" "EXAMPLES" \
	"json.md" "--max-connections" "popflow -r mail.pcap -T json"; do
	has "$tmp/man.out" "$w" "man -l renders"
done
if [ -s "$tmp/man.err" ]; then bad "man -l warns:"; sed 's/^/  | /' "$tmp/man.err" | head -5; else ok; fi

# The completion loads in a plain bash, registers for popflow, and completes.
comp=$root/usr/share/bash-completion/completions/popflow
complete_words() { # complete_words WORDS...: what the completion offers for the last word
	bash --norc --noprofile -c '
		source "$1" || exit 9
		complete -p popflow >/dev/null || exit 8
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_popflow "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$comp" "$@"
}
complete_words "$POPFLOW" -r x -T "" >"$tmp/fmts"; rc=$?
[ $rc -eq 0 ] && ok || bad "the completion does not load or register (exit $rc)"
sed -n '/^  -T /,/^  -[^T]/s/^    \([a-z][a-z]*\) .*/\1/p' "$tmp/help" >"$tmp/fmts.want"
for f in text json summary dot svg png pdf flow mermaid plantuml fdl; do
	grep -qx "$f" "$tmp/fmts.want" && ok || bad "-T $f not found in popflow -h (the completion test reads them there)"
done
if [ -s "$tmp/fmts.want" ] && diff "$tmp/fmts.want" "$tmp/fmts" >/dev/null; then ok; else
	bad "completing '-T ' gives [$(tr '\n' ' ' <"$tmp/fmts")], expected the formats of -h [$(tr '\n' ' ' <"$tmp/fmts.want")]"
fi
complete_words "$POPFLOW" -r x -T p >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "png pdf plantuml " ] && ok || bad "completing '-T p': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" --red >"$tmp/out"
[ "$(cat "$tmp/out")" = "--redact" ] && ok || bad "completing '--red': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r x --detail "" >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "segments messages " ] && ok || bad "completing '--detail ': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r x --time "" >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "utc local epoch delta session capture " ] && ok || bad "completing '--time ': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r x --color a >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "auto always " ] && ok || bad "completing '--color a': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r x --paper "" >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "a4 letter " ] && ok || bad "completing '--paper ': $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r x --listings "" >"$tmp/out"
[ "$(tr '\n' ' ' <"$tmp/out")" = "full summary " ] && ok || bad "completing '--listings ': $(tr '\n' ' ' <"$tmp/out")"
# After -r FILE, more capture files (several files, issue 10 item 7); not after other words.
mkdir "$tmp/cw" && : >"$tmp/cw/ring1.pcap" && : >"$tmp/cw/ring2.pcap"
complete_words "$POPFLOW" -r "$tmp/cw/ring1.pcap" "$tmp/cw/ring" >"$tmp/out"
[ "$(sort "$tmp/out" | tr '\n' ' ')" = "$tmp/cw/ring1.pcap $tmp/cw/ring2.pcap " ] && ok || bad "completing a second file after -r FILE: $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" -r "$tmp/cw/ring1.pcap" -v "$tmp/cw/ring" >"$tmp/out"
[ -z "$(tr -d '\n' <"$tmp/out")" ] && ok || bad "completing after -v offered files: $(tr '\n' ' ' <"$tmp/out")"
complete_words "$POPFLOW" - >"$tmp/out"
n=$(grep -c -- '^-' "$tmp/out")
m=$(grep -cE '^  -' "$tmp/help")
[ "$n" -ge "$m" ] && ok || bad "completing '-': $n options, -h has $m option lines"
# Completion through the installed program, found on PATH as a user types it.
PATH="$root/usr/bin:$PATH" complete_words popflow -T "" >"$tmp/out"
diff "$tmp/fmts.want" "$tmp/out" >/dev/null && ok || bad "completing 'popflow -T ' with the installed popflow"

# make uninstall removes exactly what install wrote: someone else's files stay, nothing of popflow's.
if make -s uninstall DESTDIR="$root" PREFIX=/usr >"$tmp/uninst" 2>&1; then ok; else
	bad "make uninstall failed"; sed 's/^/  | /' "$tmp/uninst" | head -5
fi
(cd "$root" && find . -type f | sort) >"$tmp/left"
printf './usr/share/doc/other.txt\n./usr/share/man/man1/other.1\n' >"$tmp/left.want"
diff "$tmp/left.want" "$tmp/left" >/dev/null && ok || { bad "after make uninstall:"; diff "$tmp/left.want" "$tmp/left" | sed 's/^/  | /'; }
for d in share/popflow share/doc/popflow; do
	[ ! -e "$root/usr/$d" ] && ok || bad "make uninstall left /usr/$d"
done

echo "package: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
