# Walks over the store that a failed read cuts short (the `scan` fault of
# WN_STORE_FAULTS, counted from when wnd serves: one count per key a walk
# moves to, and one for the step past its last key): a listing answers
# UNAVAILABLE rather than a shorter list, and a removal changes nothing rather
# than leaving keys of what it removed behind.
source "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"

# expect_unavailable WHAT CMD...: CMD exits 3 saying what cannot be read.
expect_unavailable() {
	local what=$1 rc=0
	shift
	"$@" >out.txt 2>&1 || rc=$?
	expect_eq "$rc" 3 "exit status of $what ($(cat out.txt))"
	expect_contains "$(cat out.txt)" "cannot read "
	expect_contains "$(cat out.txt)" "retry later"
}

# expect_check_clean: wnd stopped, `wnd --check` finds nothing wrong.
expect_check_clean() {
	wn_stop
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >check.txt 2>&1 ||
		fail "wnd --check: $(cat check.txt)"
}

# five_jobs: project p, tasks t and u, jobs j1..j5 of task t.
five_jobs() {
	mkproject p
	mktask p t
	mktask p u
	local i
	for i in 1 2 3 4 5; do
		wnctl job add p t --name "j$i" >/dev/null
	done
}

test_bad_scan_fault_settings_refuse_to_start() {
	local rc=0
	WN_STORE_FAULTS=scan:count=0 "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/x.sock" >start.log 2>&1 || rc=$?
	expect_eq "$rc" 2 "exit status of a start with scan:count=0"
	expect_contains "$(cat start.log)" "count must be at least 1"
	rc=0
	WN_STORE_FAULTS=scann "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/x.sock" >start.log 2>&1 || rc=$?
	expect_eq "$rc" 2 "exit status of a start with an unknown operation"
	expect_contains "$(cat start.log)" "(known: write, sync, flush, open, read, scan)"
}

test_a_listing_cut_short_is_unavailable_not_shorter() {
	wn_start
	five_jobs
	wn_stop
	# the walks of the start do not count; wn_start's `project list` walks
	# one project and the step past it: the job list's first step fails
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start
	expect_unavailable "a job list cut short" wnctl job list --all --project p
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "1 2 3 4 5 " "jobs listed once reads work"
	wn_stop
	WN_STORE_FAULTS=scan:after=3:count=1 wn_start
	expect_unavailable "a task list cut short" wnctl task list p
	expect_eq "$(task_names p)" "t,u" "tasks listed once reads work"
	wn_stop
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start
	expect_unavailable "a project list cut short" wnctl project list
	expect_eq "$(project_names)" "p" "projects listed once reads work"
	expect_contains "$(cat "$WN_TMP/wnd.log")" "store read failed: IO error: No space left on device (injected fault)"
}

test_a_project_delete_that_cannot_read_every_job_changes_nothing() {
	wn_start
	five_jobs
	wn_stop
	# after wn_start's 2 steps, 3 walk the two tasks; the jobs' walk fails at
	# its third
	WN_STORE_FAULTS=scan:after=7:count=1 wn_start
	expect_unavailable "a project delete that cannot read its jobs" wnctl project delete p --force
	expect_eq "$(project_names)" "p" "projects after the refused delete"
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "1 2 3 4 5 " "jobs after the refused delete"
	wnctl project delete p --force >/dev/null || fail "the delete once reads work"
	expect_eq "$(project_names)" "" "projects after the delete"
	expect_check_clean
	wn_start
	expect_eq "$(wnctl --json job list --all | jq -c '.jobs // []')" "[]" "jobs after a restart"
}

test_a_task_delete_that_cannot_read_every_job_changes_nothing() {
	wn_start
	five_jobs
	wn_stop
	# after wn_start's 2 steps, the jobs' walk fails at its third
	WN_STORE_FAULTS=scan:after=4:count=1 wn_start
	expect_unavailable "a task delete that cannot read its jobs" wnctl task delete p t --force
	expect_eq "$(task_names p)" "t,u" "tasks after the refused delete"
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "1 2 3 4 5 " "jobs after the refused delete"
	wnctl task delete p t --force >/dev/null || fail "the delete once reads work"
	expect_check_clean
}

# run_with_output: job 1 of p/t claimed by worker w and completed with output
# sent in two heartbeats (two chunks of output).
run_with_output() {
	local job
	job=$(fetch_job p w) || fail "fetch"
	[ "$(jq -r .id <<<"$job")" = 1 ] || fail "fetched $job"
	raw_call "$M_QUEUE/Heartbeat" "$(pbhex '[(1, "w"), (2, [(1, 1), (2, 1)]), (3, [(1, 1), (2, 1), (4, "hello ")])]')"
	expect_raw OK "first output: $(raw_message)"
	raw_call "$M_QUEUE/Heartbeat" "$(pbhex '[(1, "w"), (2, [(1, 1), (2, 1)]), (3, [(1, 1), (2, 1), (3, 6), (4, "world\n")])]')"
	expect_raw OK "second output: $(raw_message)"
	raw_call "$M_QUEUE/Complete" "$(pbhex '[(1, 1), (2, 1), (3, "w"), (4, 1)]')"
	expect_raw OK "complete"
	expect_eq "$(wnctl job log 1)" "hello world" "output of job 1"
}

test_a_job_remove_that_cannot_read_its_output_changes_nothing() {
	wn_start
	five_jobs
	run_with_output
	wn_stop
	# after wn_start's 2 steps, the output's walk reads its first key, then
	# the read fails
	WN_STORE_FAULTS=scan:after=3:count=1 wn_start
	expect_unavailable "a remove that cannot read the job's output" wnctl job remove 1
	expect_eq "$(job_status 1)" completed "job 1 after the refused remove"
	expect_eq "$(wnctl job log 1)" "hello world" "output of job 1 after the refused remove"
	wnctl job remove 1 >/dev/null || fail "the remove once reads work"
	expect_check_clean
}

test_a_bulk_change_whose_selection_is_cut_short_changes_nothing() {
	wn_start
	five_jobs
	wn_stop
	# after wn_start's 2 steps, the selection's walk fails at its fourth
	WN_STORE_FAULTS=scan:after=5:count=1 wn_start
	expect_unavailable "a cancel by filter whose walk was cut short" \
		wnctl job cancel --project p --yes
	expect_eq "$(wnctl --json job list --all --project p | jq -r '[.jobs[].status] | unique | join(",")')" \
		"pending" "statuses after the refused cancel"
	wnctl job cancel --project p --yes >/dev/null || fail "the cancel once reads work"
	expect_eq "$(wnctl --json job list --all --project p | jq -r '[.jobs[].status] | unique | join(",")')" \
		"cancelled" "statuses after the cancel"
}
