# The slurm formatter against a real SLURM (see slurm_lib.sh): jobs become
# SLURM batch jobs, are followed to their real end and reported as SLURM
# says they ended. Independent jobs of one test run side by side, to keep
# the suite short.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

test_jobs_are_followed_to_their_slurm_end() {
	slurm_setup
	# ok runs until the test has seen it RUNNING and releases it
	slurm_add_task ok "echo \"hello from \$SLURM_JOB_ID: {msg}\"; while [ ! -e $WN_TMP/release-ok ]; do sleep 0.1; done"
	slurm_add_task bad 'echo about to fail; exit {code}'
	# Values substituted into the script are shell-quoted: each is one word,
	# never run, expanded or split, and arrives byte for byte.
	cat >"$WN_TMP/show.py" <<'EOF'
import json, sys
print("ARGV=" + json.dumps(sys.argv[1:]))
EOF
	slurm_add_task args "python3 $WN_TMP/show.py {a} {b} {c} {d} --e={e}"
	local a='$(touch /tmp/wn-pwned-$$)' b="'; rm -rf ~; '" c='two words  and	tab'
	local d='`id`;$HOME"\' e='*'
	local ok bad args
	ok=$(wnctl job add p ok --param msg=world)
	bad=$(wnctl job add p bad --param code=3)
	args=$(wnctl job add p args --param "a=$a" --param "b=$b" --param "c=$c" --param "d=$d" \
		--param "e=$e")
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $ok to get its SLURM job id" job_has_ext "$ok"
	local sid
	sid=$(job_ext "$ok")
	[[ $sid =~ ^[0-9]+$ ]] || fail "external id '$sid' is not a SLURM job id"
	# RUNNING while SLURM has it, however long that takes
	expect_eq "$(job_get "$ok" "j['status']")" running "status while SLURM has it"
	touch "$WN_TMP/release-ok"
	worker_wait "$WORKER_PID" 40

	# success
	expect_eq "$(job_get "$ok" "j['status']") $(job_get "$ok" "j['exit_code']")" "completed 0"
	expect_eq "$(slurm_state "$sid")" COMPLETED "SLURM's state"
	expect_contains "$(job_get "$ok" "j['output_tail']")" "hello from $sid: world"
	expect_contains "$(wnctl job show "$ok")" "$sid" # wnctl job show names the SLURM job
	local script=$WN_TMP/logs/p/ok/$ok.1.sbatch
	[ -f "$script" ] || fail "no batch script at $script"
	expect_contains "$(<"$script")" "#SBATCH --job-name=p.ok"
	expect_contains "$(<"$script")" "#SBATCH --output=$WN_TMP/logs/p/ok/$ok.1.out"
	expect_contains "$(<"$script")" "export WN_JOB_ID=$ok"
	expect_contains "$(<w1.log)" "job $ok: started (SLURM job $sid"

	# a non-zero exit: FAILED with the exit code
	local bsid
	bsid=$(job_ext "$bad")
	expect_eq "$(job_get "$bad" "j['status']") $(job_get "$bad" "j['exit_code']")" "failed 3"
	expect_eq "$(job_get "$bad" "j['reason']")" "SLURM job $bsid FAILED: exit status 3" "reason"
	expect_contains "$(job_get "$bad" "j['output_tail']")" "about to fail"
	expect_eq "$(slurm_state "$bsid")" FAILED "SLURM's state"

	# shell metacharacters in parameters
	expect_eq "$(job_get "$args" "j['status']")" completed "status"
	[ ! -e "/tmp/wn-pwned-$$" ] || fail "a parameter was run by the shell"
	local want
	want=$(python3 -c 'import json,sys; print("ARGV=" + json.dumps(sys.argv[1:]))' \
		"$a" "$b" "$c" "$d" "--e=$e")
	expect_eq "$(job_get "$args" "j['output_tail'].strip()")" "$want" "argv"
}

test_submission_errors_fail_with_sbatchs_message() {
	slurm_setup
	# 3 GPUs on a node that has 2: sbatch refuses it, and says why
	TASK_ARGS=(--gpu 3)
	slurm_add_task gpus 'echo never'
	TASK_ARGS=()
	slurm_add_task part 'echo never' 'partition: "{part}"'
	slurm_add_task prog 'echo never' "sbatch: $WN_TMP/no/sbatch"
	local gpus part prog
	gpus=$(wnctl job add p gpus)
	part=$(wnctl job add p part --param part=nosuchpartition)
	prog=$(wnctl job add p prog)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$gpus" "j['status']")" failed "status"
	local reason
	reason=$(job_get "$gpus" "j['reason']")
	expect_contains "$reason" "cannot submit to SLURM: sbatch: error: Batch job submission failed:"
	expect_contains "$reason" "Requested node configuration is not available"
	expect_contains "$(<"$WN_TMP/logs/p/gpus/$gpus.1.sbatch")" "#SBATCH --gres=gpu:3"
	expect_eq "$(job_get "$part" "j['status']")" failed "status"
	expect_contains "$(job_get "$part" "j['reason']")" \
		"invalid partition specified: nosuchpartition"
	# a program given by its path is not looked for in PATH: the reason
	# says the file is missing
	expect_eq "$(job_get "$prog" "j['status']") $(job_get "$prog" "j['reason']")" \
		"failed cannot submit to SLURM: cannot run $WN_TMP/no/sbatch: No such file or directory"
	# nothing ran
	expect_eq "$(squeue -h -t all -o %T | grep -vx FAILED | wc -l)" 0 "SLURM jobs that ran"
}

# A controller that is down (slurmctld stopped) fails no job: sbatch cannot
# reach it, the job goes back to the queue unharmed, and runs once the
# controller is back, once.
test_a_controller_that_is_down_fails_no_job() {
	# each sbatch tries to connect for MessageTimeout seconds
	slurm_setup MessageTimeout=3
	TASK_ARGS=(--max-attempts 1)
	slurm_add_task t 'echo ran {job.id}'
	TASK_ARGS=()
	slurm_ctld_stop
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 240 "the worker to hand job $id back" \
		log_has w1.log "job $id: not run: cannot submit to SLURM: "
	expect_contains "$(<w1.log)" "Unable to contact slurm controller"
	wait_until 10 "job $id to be pending again" job_status_is "$id" pending
	expect_eq "$(job_get "$id" "(j.get('failures', 0), j.get('lost', 0))")" "(0, 0)" \
		"failures and lost leases of job $id"
	slurm_ctld_start
	wait_status "$id" completed 180
	expect_contains "$(job_get "$id" "j['output_tail']")" "ran $id"
	expect_eq "$(squeue -h -r -t all -o %i | wc -l)" 1 "SLURM jobs submitted"
}

# A stop of the worker while sbatch waits to be tried again (1, 2, 4 s)
# ends the wait: sbatch is not run again, the job goes back to the queue
# unharmed, and the worker exits.
test_a_stop_ends_the_pauses_between_sbatch_tries() {
	slurm_setup MessageTimeout=3
	printf '#!/bin/sh\necho "$*" >>%s/sbatch-calls\nexec sbatch "$@"\n' "$WN_TMP" \
		>"$WN_TMP/sbatch-count"
	chmod 755 "$WN_TMP/sbatch-count"
	TASK_ARGS=(--max-attempts 1)
	slurm_add_task t 'echo ran {job.id}' "sbatch: $WN_TMP/sbatch-count"
	TASK_ARGS=()
	slurm_ctld_stop
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 60 "sbatch to fail and the worker to wait before it tries again" \
		log_has w1.log "sbatch cannot reach the SLURM controller; trying again in 1 s"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 60
	expect_eq "$(wc -l <"$WN_TMP/sbatch-calls")" 1 "sbatch runs"
	expect_contains "$(<w1.log)" "job $id: not run: cannot submit to SLURM: "
	expect_contains "$(<w1.log)" "handing it back"
	expect_eq "$(job_get "$id" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 0, 0)" "status, failures and lost leases of job $id"
}

test_time_limit_fails_the_job_as_timeout() {
	# The task's timeout becomes the SLURM job's --time (whole minutes).
	# SLURM checks time limits every 30 s; to keep the test short, the job's
	# end time is moved close once it runs.
	slurm_setup
	TASK_ARGS=(--timeout 50)
	slurm_add_task t 'echo started; sleep 300'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	expect_contains "$(<"$WN_TMP/logs/p/t/$id.1.sbatch")" "#SBATCH --time=1"
	wait_until 20 "SLURM job $sid to run" eval '[ "$(slurm_state "$sid")" = RUNNING ]'
	scontrol update JobId="$sid" EndTime="$(date -d '+2 sec' +%Y-%m-%dT%H:%M:%S)" ||
		fail "cannot move the end time of SLURM job $sid"
	worker_wait "$WORKER_PID" 60
	expect_eq "$(slurm_state "$sid")" TIMEOUT "SLURM's state"
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_contains "$(job_get "$id" "j['reason']")" "SLURM job $sid TIMEOUT"
	expect_contains "$(job_get "$id" "j['output_tail']")" "started"
}

test_a_job_slurm_never_starts_fails_after_pending_timeout_ms() {
	# held (SLURM keeps it PENDING for good): cancelled pending_timeout_ms
	# after its submission, and its job fails saying it never started,
	# where it waited for ever (the task's timeout is SLURM's --time, which
	# counts from the start); a job that starts in time runs on past it
	slurm_setup
	slurm_add_task held 'echo never' 'pending_timeout_ms: 1500' 'extra: [--hold]'
	slurm_add_task runs 'sleep 3; echo done' 'pending_timeout_ms: 2500'
	local held runs sid
	held=$(wnctl job add p held)
	runs=$(wnctl job add p runs)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	sid=$(job_ext "$held")
	expect_eq "$(job_get "$held" "j['status']") $(job_get "$held" "j['exit_code']")" "failed -1"
	expect_eq "$(job_get "$held" "j['reason']")" \
		"SLURM job $sid never started: still PENDING (JobHeldUser) 1.5 s after its submission (pending_timeout_ms); cancelled" \
		"reason"
	expect_contains "$(<w1.log)" "job $held: SLURM job $sid has not started in the 1.5 s since its submission"
	expect_eq "$(slurm_state "$sid")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$runs" "j['status']")" completed "status of the job that started"
	expect_contains "$(job_get "$runs" "j['output_tail']")" done
}
