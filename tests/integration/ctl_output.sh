# wnctl for daily use, continued: messages that say what is wrong, columns,
# states as wnctl prints them, help texts, output into a pipe.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_ctl_grid_number_out_of_range() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local g
	for g in 'k=1..1e400:3' 'k=0..1e-320:3' 'k=log:1e-400..1:3'; do
		expect_exit 2 wnctl job sweep p t --grid "$g"
		expect_contains "$WN_ERR" "is out of range: a number other than 0 must be from 2.2e-308 to 1.8e+308 in size" "--grid '$g'"
		expect_not_contains "$WN_ERR" "must be numbers" "--grid '$g'"
	done
	expect_exit 2 wnctl job sweep p t --grid 'k=1..99999999999999999999'
	expect_contains "$WN_ERR" "invalid range '1..99999999999999999999': B is out of range: integers go from -9223372036854775808 to 9223372036854775807"
	expect_exit 2 wnctl job sweep p t --grid 'k=1..x:3'
	expect_contains "$WN_ERR" "A and B must be numbers" "not a number"
	expect_exit 0 wnctl --json job list --project p --all
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 0 "no job added by the refusals"
}
