# Starts and stops of wnd: idle restarts, restarts under changed settings,
# signals during a start, hostile limits at a start.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# wal_count DIR: how many write-ahead logs (NNNNNN.log) DIR holds.
wal_count() { find "$1" -maxdepth 1 -name '[0-9]*.log' | wc -l | tr -d ' '; }

# An idle start and stop writes nothing: the data directory does not gain a
# write-ahead log at each one, and every acknowledged change stays.
# test-tier: long
test_idle_restarts_keep_logs_bounded() {
	wn_start
	mkproject kept
	mktask kept t
	local id
	id=$(wnctl job add kept t --name j)
	wn_kill9 # the changes are in the write-ahead log only
	local i
	for i in $(seq 1 30); do
		wn_start
		wn_stop
	done
	local n
	n=$(wal_count data)
	[ "$n" -le 2 ] || fail "30 idle restarts left $n write-ahead logs: $(ls data)"
	wn_start
	expect_eq "$(project_names)" "kept" "projects after the restarts"
	expect_eq "$(job_field "$id" .name)" "j" "the job after the restarts"
}
