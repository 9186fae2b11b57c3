#!/usr/bin/env bash
# Compare popflow with the hand-reviewed digests of the public capture corpus.
#
#   tests/public/run.sh                 (from anywhere; popflow = ./popflow at the repo root)
#   POPFLOW=/path/to/popflow tests/public/run.sh
#   PUBLIC_CORPUS=/other/dir tests/public/run.sh
#
# For every tests/public/expected/<capture>.digest: the capture is taken from
# tests/public/captures/ (redistributable ones), else from the shared corpus
# ($PUBLIC_CORPUS, default ../shared/corpus/public relative to the repo root),
# else it is skipped.  popflow -r F -T json | digest.py is diffed against the
# digest with its '#' comment lines removed.  Exit: 0 all passed (skips
# allowed), 1 some failed, 2 usage/setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
popflow=${POPFLOW:-$root/popflow}
corpus=${PUBLIC_CORPUS:-$root/../shared/corpus/public}
python=${PYTHON:-python3}

case "$popflow" in
/*) ;;
*) popflow=$PWD/$popflow ;;
esac
if [ ! -x "$popflow" ]; then
	echo "run.sh: popflow not found or not executable: $popflow (build it, or set POPFLOW=)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
for exp in "$here"/expected/*.digest; do
	name=$(basename "$exp" .digest)
	if [ -f "$here/captures/$name" ]; then
		cap=$here/captures/$name
	elif [ -f "$corpus/$name" ]; then
		cap=$corpus/$name
	else
		echo "SKIP $name: not in this checkout"
		skipped=$((skipped + 1))
		continue
	fi
	grep -v '^#' "$exp" >"$tmp/expected" || true
	rc=0
	(cd "$root" && "$popflow" -r "$cap" -T json) >"$tmp/json" 2>"$tmp/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: popflow exited with status $rc"
		sed 's/^/    /' "$tmp/stderr" | head -20
		failed=$((failed + 1))
		continue
	fi
	rc=0
	"$python" "$here/digest.py" <"$tmp/json" >"$tmp/got" 2>"$tmp/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: digest.py could not read popflow's JSON"
		sed 's/^/    /' "$tmp/stderr" | head -20
		failed=$((failed + 1))
		continue
	fi
	if diff -u --label "expected/$name.digest" --label "popflow $name" \
		"$tmp/expected" "$tmp/got" >"$tmp/diff"; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		cat "$tmp/diff"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
