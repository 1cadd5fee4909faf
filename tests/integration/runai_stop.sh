# The runai formatter against tests/tools/runai-standin (see runai_basic.sh):
# a stop of the worker, or a cancel of the job, while a runai call of the
# worker has not answered (submit, describe) is acted on at once, not after
# the call's time limit (call_timeout_ms, two minutes by default). A submit
# cut short may have made the workload all the same: a cancelled job's
# workload is deleted, a job handed back is followed by its next attempt,
# never submitted twice.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

STANDIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/runai-standin

# stop_setup COMMAND: wnd, project p with task t (created with $TASK_ARGS),
# and w.yaml whose task t
# runs COMMAND (a list) through a runai that does not answer while the test
# holds it: submit (after the stand-in made the workload) while
# $WN_TMP/hold-submit exists, describe while $WN_TMP/hold-describe exists,
# delete (before it deletes) while $WN_TMP/hold-delete exists; a held call
# is noted in $WN_TMP/in-submit, $WN_TMP/in-describe or $WN_TMP/in-delete.
stop_setup() {
	export RUNAI_STANDIN_DIR=$WN_TMP/runai
	cat >"$WN_TMP/runai-held" <<EOF
#!/bin/bash
if [ "\$2" = submit ] && [ -e $WN_TMP/hold-submit ]; then
	$STANDIN "\$@" || exit
	touch $WN_TMP/in-submit
	while [ -e $WN_TMP/hold-submit ]; do sleep 0.1; done
	exit 0
fi
if [ "\$2" = describe ] && [ -e $WN_TMP/hold-describe ]; then
	touch $WN_TMP/in-describe
	while [ -e $WN_TMP/hold-describe ]; do sleep 0.1; done
fi
if [ "\$2" = delete ] && [ -e $WN_TMP/hold-delete ]; then
	touch $WN_TMP/in-delete
	while [ -e $WN_TMP/hold-delete ]; do sleep 0.1; done
fi
exec $STANDIN "\$@"
EOF
	chmod 755 "$WN_TMP/runai-held"
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t "${TASK_ARGS[@]}" >/dev/null
	worker_head >w.yaml
	cat >>w.yaml <<EOF
heartbeat_ms: 500
tasks:
  t:
    formatter: runai
    runai: $WN_TMP/runai-held
    poll_ms: 200
    project: team-a
    image: registry.example/train:1
    command: $1
EOF
}

TASK_ARGS=()

# calls VERB: the recorded calls of runai VERB, one JSON list per line.
calls() { grep -F "\"$1\"" "$RUNAI_STANDIN_DIR/calls.log" || true; }
job_ext() { job_get "$1" "j.get('external_id', '')"; }
job_has_ext() { [ -n "$(job_ext "$1")" ]; }
# workload_gone NAME: RUNAI has no workload NAME.
workload_gone() {
	local said
	said=$("$STANDIN" training describe "$1" -p team-a 2>&1) && return 1
	[[ $said == *"\"$1\" not found"* ]]
}

test_a_stop_during_submit_hands_the_job_back_and_it_is_not_run_twice() {
	stop_setup "[sh, -c, \"echo run \$WN_ATTEMPT\"]"
	touch "$WN_TMP/hold-submit"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "the submission of job $id to be held" test -e "$WN_TMP/in-submit"
	kill -TERM "$first"
	# at once, not after the two minutes the submit may take
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: its submission to RUNAI was given up"
	expect_contains "$(<w1.log)" "handing it back"
	expect_eq "$(job_get "$id" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 0, 0)" "status, failures and lost leases"
	rm "$WN_TMP/hold-submit"
	# the next attempt finds the workload attempt 1 made and follows it
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_contains "$(<w1.log)" "job $id: attempt 1 of it"
	expect_eq "$(job_get "$id" "j['status']") $(job_ext "$id")" "completed wn-p-$id-1"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_a_cancel_during_submit_deletes_what_it_made() {
	stop_setup '[sleep, "300"]'
	touch "$WN_TMP/hold-submit"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the submission of job $id to be held" test -e "$WN_TMP/in-submit"
	wnctl job cancel "$id" >/dev/null
	worker_wait "$WORKER_PID" 20
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "job $id: cancelled while it was submitted"
	expect_contains "$(calls delete)" "\"training\", \"delete\", \"wn-p-$id-1\""
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
	rm "$WN_TMP/hold-submit"
}

test_a_stop_during_describe_leaves_the_workload_at_once() {
	stop_setup "[sh, -c, \"while [ ! -e $WN_TMP/release ]; do sleep 0.05; done; echo done\"]"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to record its workload" job_has_ext "$id"
	touch "$WN_TMP/hold-describe"
	wait_until 20 "a describe to be held" test -e "$WN_TMP/in-describe"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: left running as RUNAI workload wn-p-$id-1"
	rm "$WN_TMP/hold-describe"
	touch "$WN_TMP/release"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 1"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

test_a_cancel_during_describe_deletes_the_workload_at_once() {
	stop_setup '[sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to record its workload" job_has_ext "$id"
	touch "$WN_TMP/hold-describe"
	wait_until 20 "a describe to be held" test -e "$WN_TMP/in-describe"
	wnctl job cancel "$id" >/dev/null
	wait_status "$id" cancelled 20
	worker_wait "$WORKER_PID" 20
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
	rm "$WN_TMP/hold-describe"
}

test_a_stop_while_an_earlier_attempt_is_looked_for_hands_the_job_back() {
	# attempt 2 first describes attempt 1's workload (which may still run):
	# a stop while that describe has not answered hands the job back at once
	TASK_ARGS=(--retries 1)
	stop_setup '[sh, -c, "exit 3"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --once
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" pending "status after attempt 1 failed"
	touch "$WN_TMP/hold-describe"
	worker_start w1 w.yaml
	local second=$WORKER_PID
	wait_until 20 "attempt 1's workload to be looked for" test -e "$WN_TMP/in-describe"
	kill -TERM "$second"
	worker_wait "$second" 20
	expect_contains "$(<w1.log)" "job $id: looking for job $id in RUNAI given up"
	expect_eq "$(job_get "$id" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 1, 0)" "status, failures and lost leases"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
	rm "$WN_TMP/hold-describe"
}

test_a_stop_while_a_cancelled_workload_is_not_deleted_yet_leaves_it() {
	# the delete of a cancelled job's workload fails (the cluster out of
	# reach) and is asked again each poll_ms: a stop of the worker does not
	# wait for it, and the worker started again deletes the workload
	stop_setup '[sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to record its workload" job_has_ext "$id"
	mkdir -p "$RUNAI_STANDIN_DIR"
	echo "failed to connect to the cluster: connection refused" \
		>"$RUNAI_STANDIN_DIR/delete-error"
	wnctl job cancel "$id" >/dev/null
	wait_until 20 "the delete to fail" log_has w1.log "cannot delete RUNAI workload wn-p-$id-1"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: left running as RUNAI workload wn-p-$id-1"
	rm "$RUNAI_STANDIN_DIR/delete-error"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
}

test_a_stop_while_a_failed_workload_is_deleted_for_a_retry_hands_the_job_back() {
	# one name for every attempt: attempt 2 first deletes attempt 1's
	# failed workload; a stop while that delete has not answered hands the
	# job back at once, where the worker waited for it (up to the two
	# minutes a runai call may take)
	TASK_ARGS=(--retries 1)
	stop_setup '[sh, -c, "exit 3"]'
	echo '    name: "wn-{project}-{job.id}"' >>w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --once
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" pending "status after attempt 1 failed"
	touch "$WN_TMP/hold-delete"
	worker_start w1 w.yaml
	local second=$WORKER_PID
	wait_until 20 "attempt 1's workload to be deleted" test -e "$WN_TMP/in-delete"
	kill -TERM "$second"
	worker_wait "$second" 20
	expect_contains "$(<w1.log)" "job $id: deleting RUNAI workload wn-p-$id (Failed, attempt 1) to submit attempt 2 under its name given up"
	expect_eq "$(job_get "$id" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 1, 0)" "status, failures and lost leases"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
	rm "$WN_TMP/hold-delete"
}
