# The naming convention of docs/architecture.md ("Conventions"): every function
# a library or wnctl exports carries the wn_ prefix (scripts/symbol-check.sh
# reads the objects the test run was built with).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

test_every_exported_function_has_the_wn_prefix() {
	local out rc=0
	out=$(BUILD=$(dirname "$WN_BIN") "$REPO/scripts/symbol-check.sh" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "exported functions without the wn_ prefix (rc $rc):"$'\n'"$out"
}
