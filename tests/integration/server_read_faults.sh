# Reads of the store that fail (the `read` and `scan` faults of
# WN_STORE_FAULTS): a request that needed what it could not read changes
# nothing and answers UNAVAILABLE (wnctl's exit status 3, "retry later").
# Walks that a failed read cuts short (`scan`, counted from when wnd serves:
# one count per key a walk moves to, and one for the step past its last key)
# give no shorter listing and leave no keys of what a removal removed behind.
# A start reads twice (`read`): the records a test names are read after.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# expect_unavailable WHAT CMD...: CMD exits 3 saying what cannot be read.
expect_unavailable() {
	local what=$1 rc=0
	shift
	"$@" >out.txt 2>&1 || rc=$?
	expect_eq "$rc" 3 "exit status of $what ($(<out.txt))"
	expect_contains "$(<out.txt)" "cannot read "
	expect_contains "$(<out.txt)" "retry later"
}

# expect_check_clean: wnd stopped, `wnd --check` finds nothing wrong.
expect_check_clean() {
	wn_stop
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >check.txt 2>&1 ||
		fail "wnd --check: $(<check.txt)"
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
	expect_contains "$(<start.log)" "count must be at least 1"
	rc=0
	WN_STORE_FAULTS=scann "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/x.sock" >start.log 2>&1 || rc=$?
	expect_eq "$rc" 2 "exit status of a start with an unknown operation"
	expect_contains "$(<start.log)" "(known: write, sync, flush, open, read, scan)"
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
	expect_contains "$(<"$WN_TMP/wnd.log")" "store read failed: IO error: No space left on device (injected fault)"
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

# api METHOD JSON: POST JSON to wnd's HTTP API; prints the body.
api() {
	curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$WN_HTTP/v1/$1"
}

test_a_fetch_that_cannot_read_the_jobs_task_leaves_the_job_in_line() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wn_stop
	# read 3 is the job's at the fetch, read 4 its task's
	WN_STORE_FAULTS=read:after=${WN_AFTER:-3}:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	expect_unavailable "a fetch that cannot read the task" wnctl queue fetch p --worker w1
	expect_eq "$(job_status 1)" pending "job 1 after the refused fetch"
	local out
	out=$(api QueueService/Fetch '{"project":"p","worker":"w1"}')
	expect_eq "$(jq -r '"\(.job.id) \(.tasks[0].name)"' <<<"$out")" "1 t" \
		"the job and its task handed out once reads work ($out)"
}

test_a_complete_that_cannot_read_the_earlier_output_is_retried() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	fetch_job p w1 >/dev/null
	wnctl queue heartbeat --worker w1 1:1 >/dev/null
	raw_call "$M_QUEUE/Heartbeat" "$(pbhex '[(1, "w1"), (2, [(1, 1), (2, 1)]), (3, [(1, 1), (2, 1), (4, "hello ")])]')"
	expect_raw OK "output"
	wn_stop
	# after wn_start's 2 steps, the walk to the output's last chunk fails
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start
	local complete
	complete=$(pbhex '[(1, 1), (2, 1), (3, "w1"), (4, 1), (13, [(1, 1), (2, 1), (3, 6), (4, "world")])]')
	raw_call "$M_QUEUE/Complete" "$complete"
	expect_raw UNAVAILABLE "a complete that cannot read the output"
	expect_contains "$(raw_message)" "retry later"
	expect_eq "$(job_status 1)" running "job 1 after the refused complete"
	raw_call "$M_QUEUE/Complete" "$complete"
	expect_raw OK "the complete once reads work"
	expect_eq "$(wnctl job log 1)" "hello world" "output of job 1"
}

test_a_complete_batch_result_whose_job_cannot_be_read_is_unavailable() {
	wn_start --http 127.0.0.1:0
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b >/dev/null
	fetch_job p w1 >/dev/null
	fetch_job p w1 >/dev/null
	wn_stop
	WN_STORE_FAULTS=read:after=2:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	local out
	out=$(api QueueService/CompleteBatch '{"results":[{"jobId":"1","attempt":1,"worker":"w1","success":true,"brief":true},{"jobId":"2","attempt":1,"worker":"w1","success":true,"brief":true}]}')
	expect_eq "$(jq -r '[.results[] | .code // "OK"] | join(",")' <<<"$out")" "UNAVAILABLE,OK" \
		"result codes ($out)"
	expect_eq "$(job_status 1) $(job_status 2)" "running completed" "jobs after the batch"
}

test_a_join_that_cannot_read_a_held_job_changes_nothing() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}' >/dev/null
	fetch_job p w1 >/dev/null
	# a run outside the worker (a SLURM job): a Join tells of it once cancelled
	api QueueService/Heartbeat '{"worker":"w1","leases":[{"jobId":"1","attempt":1,"externalId":"ext-1"}]}' >/dev/null
	wnctl job cancel 1 >/dev/null
	wn_stop
	WN_STORE_FAULTS=read:after=2:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	local out
	out=$(api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}')
	expect_contains "$out" '"code":14' "join that cannot read job 1"
	out=$(api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}')
	expect_eq "$(jq -r '[.held[].id] | join(",")' <<<"$out")" "1" "jobs held in the second join ($out)"
}

test_a_change_whose_dependency_cannot_be_read_changes_nothing() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	wnctl job cancel 1 >/dev/null
	expect_eq "$(job_status 2)" blocked "job 2 before"
	wn_stop
	# read 3 is job 2's, read 4 its dependency's
	WN_STORE_FAULTS=read:after=3:count=1 wn_start
	expect_unavailable "a retry whose dependency cannot be read" wnctl job retry 2
	wn_stop
	WN_STORE_FAULTS=read:after=3:count=1 wn_start
	expect_unavailable "a priority change whose dependency cannot be read" wnctl job priority 2 5
	expect_eq "$(job_field 2 '.priority // 0')" 0 "priority of job 2 after the refused change"
	expect_eq "$(job_field 2 '.deps[0].status')" cancelled "the dependency's status in job 2"
}

# job_with_files: job 1 of p/t claimed by worker w1, whose attempt 1 stored
# a.txt and b.txt (5 bytes each); START_ARGS go to wn_start.
job_with_files() {
	wn_start "$@"
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	fetch_job p w1 >/dev/null
	local sa sb
	sa=$(printf hello | sha256sum | cut -d' ' -f1)
	sb=$(printf world | sha256sum | cut -d' ' -f1)
	raw_call "$M_QUEUE/PutArtifact" "$(pbhex '[(1, "w1"), (2, 1), (3, 1), (4, "a.txt"), (5, 5), (6, A[0]), (8, "hello")]' "$sa")"
	expect_raw OK "artifact a.txt"
	raw_call "$M_QUEUE/PutArtifact" "$(pbhex '[(1, "w1"), (2, 1), (3, 1), (4, "b.txt"), (5, 5), (6, A[0]), (8, "world")]' "$sb")"
	expect_raw OK "artifact b.txt"
}

# artifact_bytes: the bytes of artifacts project p stores.
artifact_bytes() { wnctl --json queue stats p | jq -r '.projects[0].artifact_bytes // 0'; }

test_a_complete_that_cannot_read_the_stored_artifacts_changes_nothing() {
	local sa
	sa=$(printf hello | sha256sum | cut -d' ' -f1)
	job_with_files
	wn_stop
	# after wn_start's 2 steps and the 4 of the first count of the bytes
	# stored (which a failure only puts off), the Complete's walk over the
	# files reads the records of a.txt and b.txt; the walk over b.txt's
	# content then fails
	WN_STORE_FAULTS=scan:after=6:count=1 wn_start
	local complete
	complete=$(pbhex '[(1, 1), (2, 1), (3, "w1"), (4, 1), (14, [(1, "a.txt"), (2, 5), (3, A[0]), (4, 1)])]' "$sa")
	raw_call "$M_QUEUE/Complete" "$complete"
	expect_raw UNAVAILABLE "a complete that cannot read the stored artifacts"
	expect_eq "$(job_status 1)" running "job 1 after the refused complete"
	raw_call "$M_QUEUE/Complete" "$complete"
	expect_raw OK "the complete once reads work"
	expect_eq "$(job_field 1 '[.artifacts[] | "\(.path) \(.stored // false)"] | join(",")')" \
		"a.txt true" "artifacts of job 1"
	expect_eq "$(artifact_bytes)" 5 "bytes of artifacts project p stores"
}

test_a_clear_that_cannot_read_a_pending_job_changes_nothing() {
	wn_start
	five_jobs
	wn_stop
	# read 3 is job 1's at the clear, read 4 job 2's
	WN_STORE_FAULTS=read:after=3:count=1 wn_start
	expect_unavailable "a clear that cannot read a pending job" wnctl queue clear p --yes
	expect_eq "$(wnctl --json job list --all --project p | jq -r '[.jobs[].status] | join(",")')" \
		"pending,pending,pending,pending,pending" "statuses after the refused clear"
	expect_eq "$(wnctl --json queue clear p --yes | jq -r .removed)" 5 "jobs the clear removes once reads work"
	expect_eq "$(wnctl --json job list --all --project p | jq -c '.jobs // []')" "[]" "jobs after the clear"
}

test_an_upload_that_cannot_read_the_earlier_one_changes_nothing() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	fetch_job p w1 >/dev/null
	local sa sb
	sa=$(printf hello | sha256sum | cut -d' ' -f1)
	sb=$(printf world | sha256sum | cut -d' ' -f1)
	raw_call "$M_QUEUE/PutArtifact" "$(pbhex '[(1, "w1"), (2, 1), (3, 1), (4, "a.txt"), (5, 5), (6, A[0]), (8, "hello")]' "$sa")"
	expect_raw OK "artifact a.txt"
	wn_stop
	# read 3 is job 1's, read 4 the record of a.txt stored before
	WN_STORE_FAULTS=read:after=3:count=1 wn_start
	local put
	put=$(pbhex '[(1, "w1"), (2, 1), (3, 1), (4, "a.txt"), (5, 5), (6, A[0]), (8, "world")]' "$sb")
	raw_call "$M_QUEUE/PutArtifact" "$put"
	expect_raw UNAVAILABLE "an upload that cannot read the earlier one"
	expect_eq "$(artifact_bytes)" 5 "bytes of artifacts project p stores after the refused upload"
	raw_call "$M_QUEUE/PutArtifact" "$put"
	expect_raw OK "the upload once reads work"
	expect_eq "$(artifact_bytes)" 5 "bytes of artifacts project p stores"
	wnctl job artifact get 1 a.txt -o a.txt >/dev/null || fail "artifact get"
	expect_eq "$(<a.txt)" world "content of a.txt"
	expect_check_clean
}

test_a_job_remove_that_cannot_read_its_files_changes_nothing() {
	job_with_files
	wnctl job cancel 1 >/dev/null
	wn_stop
	# after wn_start's 2 steps and the count of the bytes stored, the
	# removal reads what the job reported; the walk that counts its files
	# then fails past the first
	WN_STORE_FAULTS=scan:after=13:count=1 wn_start
	expect_eq "$(artifact_bytes)" 10 "bytes stored before the removal"
	expect_unavailable "a removal that cannot read the job's files" wnctl job remove 1
	expect_eq "$(job_status 1)" cancelled "job 1 after the refused removal"
	expect_eq "$(artifact_bytes)" 10 "bytes stored after the refused removal"
	wnctl job remove 1 >/dev/null || fail "the removal once reads work"
	expect_eq "$(artifact_bytes)" 0 "bytes stored after the removal"
}

test_a_lease_end_that_cannot_read_the_runs_files_is_looked_at_again() {
	set_clock 0
	job_with_files --lease-ms 60000 --test-clock clock
	wn_stop
	# after wn_start's 2 steps and the count of the bytes stored, the walk
	# over the files of the run whose lease ran out fails past the first
	WN_STORE_FAULTS=scan:after=8:count=1 wn_start --lease-ms 60000 --test-clock clock
	expect_eq "$(artifact_bytes)" 10 "bytes stored while the job runs"
	set_clock 70000
	wnctl job show 1 >/dev/null || fail "job show"
	# the lease is looked at again a second later: its end takes every file
	set_clock 75000
	expect_eq "$(job_status 1)" pending "job 1 once its lease ended"
	expect_eq "$(artifact_bytes)" 0 "bytes stored once the run's files went"
	expect_check_clean
}

test_a_count_of_the_bytes_stored_cut_short_is_unavailable_not_short() {
	job_with_files
	wn_stop
	# after wn_start's 2 steps, the count of the bytes stored fails at its
	# first
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start
	expect_unavailable "stats whose count of the bytes stored was cut short" \
		wnctl queue stats p
	expect_eq "$(artifact_bytes)" 10 "bytes stored once reads work"
	wn_stop
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start
	local put sc
	sc=$(printf again | sha256sum | cut -d' ' -f1)
	put=$(pbhex '[(1, "w1"), (2, 1), (3, 1), (4, "c.txt"), (5, 5), (6, A[0]), (8, "again")]' "$sc")
	raw_call "$M_QUEUE/PutArtifact" "$put"
	expect_raw UNAVAILABLE "an upload whose project's bytes cannot be counted"
	raw_call "$M_QUEUE/PutArtifact" "$put"
	expect_raw OK "the upload once reads work"
	expect_eq "$(artifact_bytes)" 15 "bytes stored after the upload"
}

test_a_dependent_whose_dependency_cannot_be_read_is_looked_at_again() {
	set_clock 0
	wn_start --lease-ms 60000 --test-clock clock
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	fetch_job p w1 >/dev/null
	raw_call "$M_QUEUE/Complete" "$(pbhex '[(1, 1), (2, 1), (3, "w1"), (4, 1)]')"
	expect_raw OK "complete of job 1"
	expect_eq "$(fetch_job p w1 | jq -r .id)" 2 "job fetched after job 1"
	wn_stop
	# when job 2's lease runs out, read 3 is job 2's, read 4 that of job 1,
	# its dependency
	WN_STORE_FAULTS=read:after=3:count=1 wn_start --lease-ms 60000 --test-clock clock
	set_clock 70000
	expect_eq "$(fetch_job p w2 | jq -r .id)" 2 "job fetched once its lease ran out"
	expect_contains "$(<"$WN_TMP/wnd.log")" "dependency job 1 cannot be read"
}

test_a_dependent_that_cannot_be_read_when_its_dependency_ends_is_looked_at_again() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	expect_eq "$(fetch_job p w1 | jq -r .id)" 1 "job fetched first"
	wn_stop
	# read 3 is job 1's at its Complete, read 4 that of job 2, its
	# dependent
	WN_STORE_FAULTS=read:after=3:count=1 wn_start
	raw_call "$M_QUEUE/Complete" "$(pbhex '[(1, 1), (2, 1), (3, "w1"), (4, 1)]')"
	expect_raw OK "complete of job 1"
	expect_eq "$(fetch_job p w1 | jq -r .id)" 2 "job fetched once job 1 completed"
}

test_a_join_that_cannot_read_a_held_jobs_dependency_changes_nothing() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}' >/dev/null
	fetch_job p w1 >/dev/null
	raw_call "$M_QUEUE/Complete" "$(pbhex '[(1, 1), (2, 1), (3, "w1"), (4, 1)]')"
	expect_raw OK "complete of job 1"
	expect_eq "$(fetch_job p w1 | jq -r .id)" 2 "job fetched after job 1"
	wn_stop
	# read 3 is job 2's, which w1 holds, read 4 that of job 1, its dependency
	WN_STORE_FAULTS=read:after=${WN_AFTER:-3}:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	local out
	out=$(api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}')
	expect_contains "$out" '"code":14' "join that cannot read the dependency of job 2"
	out=$(api WorkerService/Join '{"worker":{"name":"w1","host":"h","slots":1}}')
	expect_eq "$(jq -r '[.held[] | "\(.id) \(.deps[0].status)"] | join(",")' <<<"$out")" \
		"2 JOB_COMPLETED" "jobs held in the second join ($out)"
}

test_a_heartbeat_that_cannot_read_the_job_it_changes_changes_nothing() {
	wn_start --http 127.0.0.1:0
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	fetch_job p w1 >/dev/null
	wn_stop
	# read 3 is job 1's, whose external id the heartbeat records
	WN_STORE_FAULTS=read:after=2:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	local hb='{"worker":"w1","leases":[{"jobId":"1","attempt":1,"externalId":"ext-1"}]}' out
	out=$(api QueueService/Heartbeat "$hb")
	expect_contains "$out" '"code":14' "heartbeat that cannot read job 1"
	out=$(api QueueService/Heartbeat "$hb")
	expect_eq "$(jq -r '.lost // [] | length' <<<"$out")" 0 "leases lost ($out)"
	expect_eq "$(job_json 1 | jq -r '.external_id // .externalId // ""')" ext-1 "external id of job 1"
}

# A file whose record or content cannot be read is no file that is missing:
# GetArtifact and a download answer UNAVAILABLE (503), not NOT_FOUND or
# INTERNAL, and the file comes once reads work.
test_an_artifact_that_cannot_be_read_is_unavailable_not_missing() {
	job_with_files --http 127.0.0.1:0
	local n
	# past the 2 reads of the start, each read a get makes (among them
	# the record of a.txt) fails in turn
	for n in 2 3 4; do
		wn_stop
		WN_STORE_FAULTS=read:after=$n:count=1 wn_start --http 127.0.0.1:0
		expect_unavailable "a get whose read $((n + 1)) fails" \
			wnctl job artifact get 1 a.txt -o a.txt
		[ ! -e a.txt ] || fail "a file was written for a refused get"
	done
	wnctl job artifact get 1 a.txt -o a.txt >/dev/null || fail "artifact get once reads work"
	expect_eq "$(<a.txt)" hello "content of a.txt"
	wn_stop
	# after wn_start's 2 steps, the walk over a.txt's content fails
	WN_STORE_FAULTS=scan:after=2:count=1 wn_start --http 127.0.0.1:0
	wn_http_url
	expect_eq "$(curl -s -o body.txt -w '%{http_code}' "$WN_HTTP/artifacts/1/a.txt")" 503 \
		"a download whose content cannot be read"
	expect_contains "$(<body.txt)" "retry later"
	expect_eq "$(curl -s "$WN_HTTP/artifacts/1/a.txt")" hello "the download once reads work"
	expect_check_clean
}
