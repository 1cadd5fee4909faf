# The size limits of docs/architecture.md ("Size"): no C file over 800 lines
# and no function over 80 in src, tests and bench.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

test_no_file_or_function_past_the_size_limits() {
	local out rc=0
	out=$("$REPO/scripts/size-check.sh" src tests bench 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "over the size limits (split along the seams, see docs/architecture.md):"$'\n'"$out"
}
