# The slurm formatter against a real SLURM (see slurm_lib.sh): cancelling,
# and a worker that stops and starts again while its SLURM jobs run.
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/slurm_lib.sh"

# follow_setup SCRIPT [SLURM.CONF LINES...]: SLURM, wnd, project p with task
# t, and w.yaml whose task t runs SCRIPT.
follow_setup() {
	local script=$1
	shift
	slurm_start "$@"
	wn_start "${WND_ARGS[@]}"
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      $script
EOF
}
WND_ARGS=()

# slurm_jobs: how many SLURM jobs SLURM knows of (any state).
slurm_jobs() { squeue -h -t all -o %i | wc -l; }

test_cancel_through_wnctl_runs_scancel() {
	follow_setup 'echo started; sleep 300'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" eval '[ "$(slurm_state "$sid")" = RUNNING ]'
	wnctl job cancel "$id" --reason "not needed" >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(slurm_state "$sid")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(cat w1.log)" "job $id: cancelled on the server; stopping it"
}

test_cancel_outside_cancels_the_job() {
	follow_setup 'echo started; sleep 300'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" eval '[ "$(slurm_state "$sid")" = RUNNING ]'
	scancel "$sid"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_eq "$(job_get "$id" "j['reason']")" "SLURM job $sid CANCELLED outside WhatsNext" \
		"reason"
}

test_restarted_worker_follows_its_running_job() {
	follow_setup 'echo "run {n}"; sleep 4; echo done'
	local id
	id=$(wnctl job add p t --param n=1)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" eval '[ "$(slurm_state "$sid")" = RUNNING ]'
	# a stopping worker leaves its SLURM jobs alone, and their leases too
	kill -TERM "$first"
	worker_wait "$first" 10
	expect_eq "$(slurm_state "$sid")" RUNNING "SLURM's state after the worker stopped"
	expect_eq "$(job_get "$id" "j['status']")" running "status after the worker stopped"
	expect_contains "$(cat w1.log)" "job $id: left running as SLURM job $sid"
	# the same name again: it takes the job back and follows it to its end
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(job_get "$id" "j['attempt']")" 1 "attempts"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
	expect_contains "$(job_get "$id" "j['output_tail']")" "done"
	expect_contains "$(cat w1.log)" "job $id: following its run again (SLURM job $sid"
}

test_restarted_worker_learns_the_end_from_sacct() {
	# The job ends while no worker follows it, and SLURM forgets it
	# (MinJobAge): the restarted worker learns its end from the job
	# completion log (sacct -c).
	WND_ARGS=(--worker-timeout-ms 120000)
	follow_setup 'echo "short run"; sleep 1; exit 4' MinJobAge=2
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	kill -KILL "$first"
	wait "$first" 2>/dev/null || true
	wait_until 60 "SLURM to forget job $sid" eval '! squeue -h -j "$sid" >/dev/null 2>&1'
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_eq "$(job_get "$id" "j['exit_code']")" 4 "exit code"
	expect_eq "$(job_get "$id" "j['reason']")" "SLURM job $sid FAILED: exit status 4" "reason"
	expect_eq "$(job_get "$id" "j['attempt']")" 1 "attempts"
	expect_contains "$(job_get "$id" "j['output_tail']")" "short run"
}
