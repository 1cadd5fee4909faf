# The runai formatter against tests/tools/runai-standin (see runai_basic.sh):
# a worker killed after `runai training submit` answered but before the
# server learnt the workload's name gets the job again at its next attempt,
# whose workload name differs. Before it submits an attempt after the first,
# the worker describes the workloads of the earlier attempts (their names
# follow from the task's name template) and follows one that still runs or
# succeeded instead of running the job twice.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

STANDIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/runai-standin

# window_setup COMMAND [TASK KEYS...]: wnd (a silent worker is LOST after
# 2 s), project p with task t, and w.yaml whose task t runs COMMAND (a list)
# through a runai that, while $WN_TMP/hold exists, lets the stand-in submit
# the workload, writes its name to $WN_TMP/submitted and waits before it
# answers: the worker does not know the workload's name yet.
window_setup() {
	local command=$1
	shift
	export RUNAI_STANDIN_DIR=$WN_TMP/runai
	cat >"$WN_TMP/runai-late" <<EOF
#!/bin/bash
if [ "\$2" = submit ] && [ -e $WN_TMP/hold ]; then
	$STANDIN "\$@" || exit
	echo "\$3" >>$WN_TMP/submitted
	while [ -e $WN_TMP/hold ]; do sleep 0.1; done
	exit 0
fi
exec $STANDIN "\$@"
EOF
	chmod 755 "$WN_TMP/runai-late"
	wn_start --worker-timeout-ms 2000 --lease-ms 600000
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	worker_head >w.yaml
	cat >>w.yaml <<EOF
heartbeat_ms: 500
tasks:
  t:
    formatter: runai
    runai: $WN_TMP/runai-late
    poll_ms: 200
    project: team-a
    image: registry.example/train:1
    command: $command
EOF
	local more
	for more in "$@"; do echo "    $more" >>w.yaml; done
}

# calls VERB: the recorded calls of runai VERB, one JSON list per line.
calls() { grep -F "\"$1\"" "$RUNAI_STANDIN_DIR/calls.log" || true; }
job_ext() { job_get "$1" "j.get('external_id', '')"; }
# runai_status NAME: the status RUNAI gives workload NAME (the stand-in
# moves on one state per describe: Pending, Running, then how it ended).
runai_status() { "$STANDIN" training describe "$1" -p team-a | sed -n 's/^Status: //p'; }

# kill_in_window ID: start worker w1, let RUNAI take job ID, then kill -9
# the worker before it reports the workload's name; prints that name.
kill_in_window() {
	touch "$WN_TMP/hold"
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $1 to be submitted" test -s "$WN_TMP/submitted"
	kill -KILL "$first"
	wait_until 10 "the killed worker to be gone" proc_gone "$first"
	rm "$WN_TMP/hold"
	expect_eq "$(job_ext "$1")" "" "external id known to the server"
	head -n 1 "$WN_TMP/submitted"
}

test_a_worker_killed_before_it_reported_the_workload_follows_it() {
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT; while [ ! -e $WN_TMP/release ]; do sleep 0.05; done; echo done\"]"
	local id wl
	id=$(wnctl job add p t)
	wl=$(kill_in_window "$id")
	expect_eq "$wl" "wn-p-$id-1" "workload submitted"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the restarted worker to follow workload $wl" \
		log_has w1.log "job $id: attempt 1 of it still runs as RUNAI workload $wl"
	wait_until 20 "the server to learn workload $wl" eval '[ "$(job_ext "$id")" = "$wl" ]'
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$wl" "workload name"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_an_earlier_attempt_that_failed_is_submitted_anew() {
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT; [ \$WN_ATTEMPT = 1 ] && exit 3; echo done\"]"
	local id wl
	id=$(wnctl job add p t)
	wl=$(kill_in_window "$id")
	wait_until 20 "workload $wl to fail" eval '[ "$(runai_status "$wl")" = Failed ]'
	local seen
	seen=$(calls describe | grep -cF "\"$wl\"")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "wn-p-$id-2" "workload name"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 2"
	expect_eq "$(calls submit | wc -l)" 2 "submissions"
	# the worker looked at attempt 1's workload before it submitted anew
	expect_eq "$(calls describe | grep -cF "\"$wl\"")" "$((seen + 1))" "describes of $wl"
}

test_while_describe_fails_nothing_is_submitted() {
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT; while [ ! -e $WN_TMP/release ]; do sleep 0.05; done; echo done\"]"
	local id wl
	id=$(wnctl job add p t)
	wl=$(kill_in_window "$id")
	echo "failed to get workload: dial tcp 10.0.0.1:443: connect: connection refused" \
		>"$RUNAI_STANDIN_DIR/describe-error"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the worker to hand job $id back" \
		log_has w1.log "job $id: not run: cannot tell whether RUNAI has job $id already"
	expect_eq "$(job_ext "$id")" "" "external id while describe fails"
	expect_eq "$(calls submit | wc -l)" 1 "submissions while describe fails"
	rm "$RUNAI_STANDIN_DIR/describe-error"
	wait_until 60 "the worker to follow workload $wl" eval '[ "$(job_ext "$id")" = "$wl" ]'
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_one_name_for_every_attempt_a_failed_workload_is_deleted_first() {
	# name without {attempt}: attempt 2 is the same workload name; a
	# running one is followed, a failed one deleted before it is submitted
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT; [ \$WN_ATTEMPT = 1 ] && exit 3; echo done\"]" \
		'name: "wn-{project}-{job.id}"'
	local id wl
	id=$(wnctl job add p t)
	wl=$(kill_in_window "$id")
	expect_eq "$wl" "wn-p-$id" "workload submitted"
	wait_until 20 "workload $wl to fail" eval '[ "$(runai_status "$wl")" = Failed ]'
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$wl" "workload name"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 2"
	expect_eq "$(calls submit | wc -l)" 2 "submissions"
	expect_eq "$(calls delete | wc -l)" 1 "deletes"
}

test_a_followed_earlier_workload_deleted_outside_fails_the_attempt() {
	# the workload of attempt 1 may be deleted by the worker that submitted
	# it (alive after all, and told that its lease is gone): the attempt
	# that followed it fails, as a retry's business, and is not cancelled
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT; while [ ! -e $WN_TMP/release ]; do sleep 0.05; done; echo done\"]"
	local id wl
	id=$(wnctl job add p t)
	wl=$(kill_in_window "$id")
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the server to learn workload $wl" eval '[ "$(job_ext "$id")" = "$wl" ]'
	"$STANDIN" training delete "$wl" -p team-a >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "failed 2"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"RUNAI workload $wl was deleted outside WhatsNext" "reason"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_a_submission_that_timed_out_is_followed_not_run_twice() {
	# RUNAI takes the workload, but submit does not answer within the
	# task's call_timeout_ms and is killed: the job goes back to the queue,
	# and its next attempt finds the workload by its name and follows it
	window_setup "[sh, -c, \"echo run \$WN_ATTEMPT\"]" 'call_timeout_ms: 1500'
	mkdir -p "$RUNAI_STANDIN_DIR"
	touch "$RUNAI_STANDIN_DIR/submit-hang"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 60 "job $id to be handed back" \
		log_has w1.log "job $id: not run: cannot submit to RUNAI: $WN_TMP/runai-late did not finish within 1500 ms: killed; handing it back"
	rm "$RUNAI_STANDIN_DIR/submit-hang"
	wait_status "$id" completed 60
	expect_contains "$(<w1.log)" "job $id: attempt 1 of it"
	expect_eq "$(job_get "$id" "j['attempt']") $(job_ext "$id")" "2 wn-p-$id-1" \
		"attempt and workload followed"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(job_get "$id" "(j.get('failures', 0), j.get('lost', 0))")" "(0, 0)" \
		"failures and lost leases"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_a_call_timeout_out_of_bounds_is_refused_by_check() {
	window_setup "[echo, hi]" 'call_timeout_ms: 10'
	local err
	err=$("$WN_BIN/wnworker" --config w.yaml --check 2>&1) && fail "--check took call_timeout_ms: 10"
	expect_contains "$err" "call_timeout_ms"
	sed -i 's/call_timeout_ms: 10$/call_timeout_ms: 30000/' w.yaml
	expect_exit 0 "$WN_BIN/wnworker" --config w.yaml --check
}
