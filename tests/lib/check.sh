# tests/lib/check.sh - the check helpers of the shell test suites (tests/cli, tests/inputs), sourced
# after `cd` to the repository: POPFLOW, TZ=UTC, a temporary directory $tmp removed at exit, and
# ok / bad / expect / has counting into $pass and $fail. Each suite prints its own closing line.
POPFLOW=${POPFLOW:-./popflow}
export TZ=UTC
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, keeps stdout/stderr.
expect() {
	local code=$1 what=$2; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, expected $code"; sed 's/^/  stderr: /' "$tmp/err" | head -5; fi
}
has() { # has FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/  | /' "$1" | head -5; fi
}
