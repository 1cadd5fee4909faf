# The slurm formatter against a real SLURM (see slurm_lib.sh): a worker
# killed after sbatch took a job but before the server learnt its SLURM job
# id, or not back before a lease ran out, gets the job again at its next
# attempt. The worker tags each submission (sbatch --comment) and, before it
# submits a job that may have been submitted already, looks in squeue for
# that tag: the job is followed again instead of running twice.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

# window_setup SCRIPT [TASK ARGS...]: SLURM, wnd (a silent worker is LOST
# after 2 s; wnd's other arguments: WND_ARGS, default a 10 minutes lease),
# project p with task t (created with TASK ARGS), and w.yaml whose task t
# runs SCRIPT through the sbatch the test holds (slurm_held_sbatch): while
# $WN_TMP/hold-answer exists, it lets the real sbatch submit the job, writes
# its id to $WN_TMP/submitted and waits before it answers.
window_setup() {
	local script=$1
	shift
	slurm_held_sbatch
	WND_ARGS=(--worker-timeout-ms 2000 "${WND_ARGS[@]}")
	slurm_setup
	TASK_ARGS=("$@")
	slurm_add_task t "$script" "sbatch: $WN_TMP/sbatch-held"
}

WND_ARGS=(--lease-ms 600000)

# slurm_jobs: how many SLURM jobs were submitted.
slurm_jobs() { squeue -h -r -t all -o %i | wc -l; }

# kill_in_window ID: start worker w1, let sbatch take job ID, then kill -9
# the worker before it learns the SLURM job id; prints that id.
kill_in_window() {
	touch "$WN_TMP/hold-answer"
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $1 to be submitted" test -s "$WN_TMP/submitted"
	kill -KILL "$first"
	wait_until 10 "the killed worker to be gone" proc_gone "$first"
	rm "$WN_TMP/hold-answer"
	expect_eq "$(job_ext "$1")" "" "external id known to the server"
	head -n 1 "$WN_TMP/submitted"
}

test_a_worker_killed_before_it_reported_the_slurm_id_follows_that_job() {
	# kill -9 after sbatch answered SLURM but before the heartbeat with
	# the SLURM job id: the server hands the job out again (attempt 2)
	# once the worker is LOST; the worker started again finds attempt 1's
	# SLURM job, still running, by its tag and follows it.
	window_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id sid
	id=$(wnctl job add p t)
	sid=$(kill_in_window "$id")
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the restarted worker to follow SLURM job $sid" \
		log_has w1.log "job $id: attempt 1 of it still runs as SLURM job $sid"
	wait_until 20 "the server to learn SLURM job $sid" eval '[ "$(job_ext "$id")" = "$sid" ]'
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
	# the tag: the worker's name, its server, the job and its attempt
	expect_contains "$(squeue -h -t all -j "$sid" -O 'Comment:|')" "whatsnext:w1."
	expect_contains "$(squeue -h -t all -j "$sid" -O 'Comment:|')" ":$id.1"
}

test_a_run_that_completed_before_the_worker_came_back_is_not_run_again() {
	# the SLURM job of attempt 1 ends well while no worker follows it:
	# SLURM still lists it, and its success (which the server never
	# learnt) is the job's
	window_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id sid
	id=$(wnctl job add p t)
	sid=$(kill_in_window "$id")
	touch "$WN_TMP/release"
	wait_until 20 "SLURM job $sid to end" eval '[ "$(slurm_state "$sid")" = COMPLETED ]'
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_contains "$(<w1.log)" "job $id: attempt 1 of it ended as SLURM job $sid (COMPLETED)"
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
}

test_a_failed_attempt_is_run_again() {
	# attempt 1 failed while no worker followed it: the server counts it
	# lost and hands the job out again; a failure may have been reported
	# (the worker cannot tell), so attempt 2 is a run of its own
	window_setup "echo run {attempt}; [ {attempt} = 1 ] && exit 3; echo done"
	local id sid
	id=$(wnctl job add p t)
	sid=$(kill_in_window "$id")
	wait_until 20 "SLURM job $sid to end" eval '[ "$(slurm_state "$sid")" = FAILED ]'
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	[ "$(job_ext "$id")" != "$sid" ] || fail "attempt 2 names attempt 1's SLURM job $sid"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 2"
	expect_eq "$(slurm_jobs)" 2 "SLURM jobs submitted"
}

test_while_squeue_fails_nothing_is_submitted_again() {
	# squeue fails (a wrapper says so while $WN_TMP/down exists): the
	# worker cannot tell whether SLURM runs the job already, submits
	# nothing and hands the job back; once squeue answers, it follows the
	# SLURM job it finds
	window_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	cat >"$WN_TMP/squeue-down" <<EOF
#!/bin/bash
if [ -e $WN_TMP/down ]; then
	echo "squeue: error: Unable to contact slurm controller (connect failure)" >&2
	exit 1
fi
exec squeue "\$@"
EOF
	chmod 755 "$WN_TMP/squeue-down"
	echo "    squeue: $WN_TMP/squeue-down" >>w.yaml
	local id sid
	id=$(wnctl job add p t)
	sid=$(kill_in_window "$id")
	touch "$WN_TMP/down"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the worker to hand job $id back" \
		log_has w1.log "job $id: not run: cannot tell whether SLURM has job $id already"
	expect_eq "$(job_ext "$id")" "" "external id while squeue fails"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted while squeue fails"
	rm "$WN_TMP/down"
	wait_until 60 "the worker to follow SLURM job $sid" eval '[ "$(job_ext "$id")" = "$sid" ]'
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
}

test_a_tasks_own_comment_is_kept_after_the_tag() {
	# extra's --comment follows the worker's tag in the SLURM job's
	# comment (the command line's --comment wins over the script's), and
	# the job is found by its tag all the same
	window_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	echo '    extra: ["--comment=mine, whatsnext:w1 {attempt}"]' >>w.yaml
	local id sid
	id=$(wnctl job add p t)
	sid=$(kill_in_window "$id")
	expect_eq "$(squeue -h -j "$sid" -O 'Comment:|' | sed 's/^whatsnext:w1\.[0-9a-f]*:/TAG:/')" \
		"TAG:$id.1 mine, whatsnext:w1 1|" "SLURM's comment"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the restarted worker to follow SLURM job $sid" \
		log_has w1.log "job $id: attempt 1 of it still runs as SLURM job $sid"
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
}

test_the_elements_of_a_job_array_are_found_again() {
	# a sweep goes to SLURM as one job array; the worker is killed before
	# it reports the array's id: the worker started again follows each
	# element as its job, and submits nothing
	window_setup "echo run {lr} {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	wnctl job sweep p t --grid lr=1,2,3 >/dev/null
	local ids sid
	ids=$(jobs_table p "j['id']" | sort -n | tr '\n' ' ')
	sid=$(kill_in_window "${ids%% *}")
	[[ $sid =~ ^[0-9]+$ ]] || fail "sbatch printed '$sid'"
	expect_eq "$(squeue -h -r -t all -j "$sid" -O 'JobArrayID:|' | sort | tr -d '|' | tr '\n' ' ')" \
		"${sid}_0 ${sid}_1 ${sid}_2 " "the array's elements"
	worker_start w1 w.yaml --exit-when-empty
	local id i=0
	for id in $ids; do
		wait_until 30 "the worker to follow element $i as job $id" \
			eval '[ "$(job_ext "$id")" = "${sid}_$i" ]'
		i=$((i + 1))
	done
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	i=0
	for id in $ids; do
		expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
		expect_contains "$(job_get "$id" "j['output_tail']")" "run $((i + 1)) 1"
		i=$((i + 1))
	done
	expect_eq "$(grep -c . "$WN_TMP/sbatch-calls")" 1 "sbatch calls"
}

test_a_job_whose_lease_ran_out_while_the_worker_was_away_is_followed() {
	# the worker stops, leaving its SLURM job running, and is not back
	# before the lease runs out: the server hands the job out again
	# (attempt 2) and the worker started again under its name follows the
	# SLURM job of attempt 1 instead of submitting it again
	WND_ARGS=(--lease-ms 2000)
	window_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	sid=$(job_ext "$id")
	kill -TERM "$first"
	worker_wait "$first" 10
	wait_until 30 "the lease of job $id to run out" job_status_is "$id" pending
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the restarted worker to follow SLURM job $sid" \
		log_has w1.log "job $id: attempt 1 of it still runs as SLURM job $sid"
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
}

test_a_submission_whose_answer_was_lost_is_followed_not_run_twice() {
	# the controller takes the job, but sbatch loses the connection before
	# its answer (a wrapper submits, then says so and fails, once): sbatch
	# is not run again, the job goes back to the queue, and its next
	# attempt finds the SLURM job by its tag and follows it
	WND_ARGS=()
	slurm_setup
	cat >"$WN_TMP/sbatch-lost" <<EOF
#!/bin/bash
echo "\$*" >>$WN_TMP/sbatch-calls
if [ ! -e $WN_TMP/lost-once ]; then
	touch $WN_TMP/lost-once
	sbatch "\$@" >>$WN_TMP/submitted || exit
	echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
	exit 1
fi
exec sbatch "\$@"
EOF
	chmod 755 "$WN_TMP/sbatch-lost"
	TASK_ARGS=(--max-attempts 1)
	slurm_add_task t 'echo run {attempt}' "sbatch: $WN_TMP/sbatch-lost"
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 60 "job $id to be handed back" log_has w1.log "job $id: not run: cannot submit to SLURM"
	sid=$(head -n 1 "$WN_TMP/submitted")
	wait_status "$id" completed 60
	expect_contains "$(<w1.log)" "job $id: attempt 1 of it"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "run 1"
	expect_eq "$(wc -l <"$WN_TMP/sbatch-calls")" 1 "sbatch calls"
	expect_eq "$(slurm_jobs)" 1 "SLURM jobs submitted"
}
