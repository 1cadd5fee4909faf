# The slurm formatter against a real SLURM (see slurm_lib.sh): jobs become
# SLURM batch jobs, are followed to their real end and reported as SLURM
# says they ended.
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/slurm_lib.sh"

# basic_setup: SLURM, wnd, project p with task t, and w.yaml whose task t
# runs SCRIPT (the `script:` body, one line) with more task keys after it.
basic_setup() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t "${TASK_ARGS[@]}" >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      $1
EOF
	local more
	for more in "${@:2}"; do echo "    $more" >>w.yaml; done
}
TASK_ARGS=()

test_success_is_followed_to_completed() {
	basic_setup 'echo "hello from $SLURM_JOB_ID: {msg}"; sleep 1'
	local id
	id=$(wnctl job add p t --param msg=world)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	[[ $sid =~ ^[0-9]+$ ]] || fail "external id '$sid' is not a SLURM job id"
	# RUNNING while SLURM runs it, however long that takes
	expect_eq "$(job_get "$id" "j['status']")" running "status while SLURM runs it"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(job_get "$id" "j['exit_code']")" 0 "exit code"
	expect_eq "$(slurm_state "$sid")" COMPLETED "SLURM's state"
	expect_contains "$(job_get "$id" "j['output_tail']")" "hello from $sid: world"
	# wnctl job show names the SLURM job
	expect_contains "$(wnctl job show "$id")" "$sid"
	# the batch script the worker wrote and submitted
	local script=$WN_TMP/logs/p/t/$id.1.sbatch
	[ -f "$script" ] || fail "no batch script at $script"
	expect_contains "$(cat "$script")" "#SBATCH --job-name=p.t"
	expect_contains "$(cat "$script")" "#SBATCH --output=$WN_TMP/logs/p/t/$id.1.out"
	expect_contains "$(cat "$script")" "export WN_JOB_ID=$id"
	expect_contains "$(cat w1.log)" "job $id: started (SLURM job $sid"
}

test_exit_code_fails_the_job_with_it() {
	basic_setup 'echo about to fail; exit {code}'
	local id
	id=$(wnctl job add p t --param code=3)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	local sid
	sid=$(job_ext "$id")
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_eq "$(job_get "$id" "j['exit_code']")" 3 "exit code"
	expect_eq "$(job_get "$id" "j['reason']")" "SLURM job $sid FAILED: exit status 3" "reason"
	expect_contains "$(job_get "$id" "j['output_tail']")" "about to fail"
	expect_eq "$(slurm_state "$sid")" FAILED "SLURM's state"
}

test_time_limit_fails_the_job_as_timeout() {
	# The task's timeout becomes the SLURM job's --time (whole minutes).
	# SLURM checks time limits about every 30 s; to keep the test short the
	# job's end time is moved close once it runs.
	TASK_ARGS=(--timeout 50 --retries 0)
	basic_setup 'echo started; sleep 300'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	expect_contains "$(cat "$WN_TMP/logs/p/t/$id.1.sbatch")" "#SBATCH --time=1"
	wait_until 20 "SLURM job $sid to run" eval '[ "$(slurm_state "$sid")" = RUNNING ]'
	scontrol update JobId="$sid" EndTime="$(date -d '+2 sec' +%Y-%m-%dT%H:%M:%S)" ||
		fail "cannot move the end time of SLURM job $sid"
	worker_wait "$WORKER_PID" 60
	expect_eq "$(slurm_state "$sid")" TIMEOUT "SLURM's state"
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_contains "$(job_get "$id" "j['reason']")" "SLURM job $sid TIMEOUT"
}

test_impossible_request_fails_with_sbatchs_message() {
	# 3 GPUs on a node that has 2: sbatch refuses it, and says why.
	TASK_ARGS=(--gpu 3)
	basic_setup 'echo never'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	local reason
	reason=$(job_get "$id" "j['reason']")
	expect_contains "$reason" "cannot submit to SLURM: sbatch: error: Batch job submission failed:"
	expect_contains "$reason" "Requested node configuration is not available"
	expect_contains "$(cat "$WN_TMP/logs/p/t/$id.1.sbatch")" "#SBATCH --gres=gpu:3"
}

test_bad_partition_fails_with_sbatchs_message() {
	basic_setup 'echo never' 'partition: "{part}"'
	local id
	id=$(wnctl job add p t --param part=nosuchpartition)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_contains "$(job_get "$id" "j['reason']")" "invalid partition specified: nosuchpartition"
}

test_parameters_reach_the_program_literally() {
	# Values substituted into the script are shell-quoted: each is one word,
	# never run, expanded or split, and arrives byte for byte.
	cat >"$WN_TMP/show.py" <<'EOF'
import json, sys
print("ARGV=" + json.dumps(sys.argv[1:]))
EOF
	basic_setup "python3 $WN_TMP/show.py {a} {b} {c} {d} --e={e}"
	local a='$(touch /tmp/wn-pwned-$$)' b="'; rm -rf ~; '" c='two words  and	tab' d='`id`;$HOME"\' e=''
	local id
	id=$(wnctl job add p t --param "a=$a" --param "b=$b" --param "c=$c" --param "d=$d" --param "e=$e")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	[ ! -e "/tmp/wn-pwned-$$" ] || fail "a parameter was run by the shell"
	local want
	want=$(python3 -c 'import json,sys; print("ARGV=" + json.dumps(sys.argv[1:]))' \
		"$a" "$b" "$c" "$d" "--e=$e")
	expect_eq "$(job_get "$id" "j['output_tail'].strip()")" "$want" "argv"
}
