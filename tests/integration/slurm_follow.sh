# The slurm formatter against a real SLURM (see slurm_lib.sh): cancelling,
# and a worker that stops and starts again while its SLURM jobs run.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

# follow_setup SCRIPT [SLURM.CONF LINES...]: SLURM, wnd, project p with task
# t, and w.yaml whose task t runs SCRIPT.
follow_setup() {
	local script=$1
	shift
	slurm_setup "$@"
	slurm_add_task t "$script"
}

slurm_running() { [ "$(slurm_state "$1")" = RUNNING ]; }

test_cancel_through_wnctl_or_scancel() {
	follow_setup 'echo started; sleep 300'
	local mine theirs
	mine=$(wnctl job add p t)
	theirs=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $mine to get its SLURM job id" job_has_ext "$mine"
	wait_until 20 "job $theirs to get its SLURM job id" job_has_ext "$theirs"
	local msid tsid
	msid=$(job_ext "$mine")
	tsid=$(job_ext "$theirs")
	wait_until 20 "SLURM job $msid to run" slurm_running "$msid"
	wait_until 20 "SLURM job $tsid to run" slurm_running "$tsid"
	# wnctl job cancel: the worker runs scancel
	wnctl job cancel "$mine" --reason "not needed" >/dev/null
	# scancel outside WhatsNext: the job is cancelled, and says so
	scancel "$tsid"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(slurm_state "$msid")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$mine" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "job $mine: cancelled on the server; stopping it"
	expect_eq "$(job_get "$theirs" "j['status']")" cancelled "status"
	expect_eq "$(job_get "$theirs" "j['reason']")" "SLURM job $tsid CANCELLED outside WhatsNext" \
		"reason"
}

test_restarted_worker_takes_its_slurm_jobs_back() {
	# Two SLURM jobs run when the worker stops: one still runs when it
	# starts again and is followed to its end through squeue; the other
	# ended meanwhile and SLURM forgot it (MinJobAge=2), so its end comes
	# from the job completion log (sacct -c). Neither is submitted again.
	# Each job runs until the test releases it.
	follow_setup "echo \"run {n}\"; while [ ! -e $WN_TMP/release-{n} ]; do sleep 0.1; done
      echo \"done {n}\"; exit {code}" MinJobAge=2
	local long short
	long=$(wnctl job add p t --param n=long --param code=0)
	short=$(wnctl job add p t --param n=short --param code=4)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $long to get its SLURM job id" job_has_ext "$long"
	wait_until 20 "job $short to get its SLURM job id" job_has_ext "$short"
	local lsid ssid
	lsid=$(job_ext "$long")
	ssid=$(job_ext "$short")
	wait_until 20 "SLURM job $lsid to run" slurm_running "$lsid"
	wait_until 20 "SLURM job $ssid to run" slurm_running "$ssid"
	# a stopping worker leaves its SLURM jobs alone, and their leases too
	kill -TERM "$first"
	worker_wait "$first" 10
	expect_contains "$(<w1.log)" "job $long: left running as SLURM job $lsid"
	expect_contains "$(<w1.log)" "job $short: left running as SLURM job $ssid"
	expect_eq "$(slurm_state "$lsid")" RUNNING "SLURM's state after the worker stopped"
	expect_eq "$(job_get "$long" "j['status']")" running "status after the worker stopped"
	touch "$WN_TMP/release-short"
	wait_until 30 "SLURM to forget job $ssid" eval '! squeue -h -j "$ssid" >/dev/null 2>&1'
	slurm_running "$lsid" || fail "SLURM job $lsid ended while nothing released it"
	# the same name again: it takes both jobs back
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the restarted worker to follow job $long" \
		log_has w1.log "job $long: following its run again (SLURM job $lsid"
	touch "$WN_TMP/release-long"
	worker_wait "$WORKER_PID" 30
	expect_contains "$(<w1.log)" "job $long: following its run again (SLURM job $lsid"
	expect_eq "$(job_get "$long" "j['status']") $(job_get "$long" "j['attempt']")" "completed 1"
	expect_eq "$(job_ext "$long")" "$lsid" "SLURM job id"
	expect_contains "$(job_get "$long" "j['output_tail']")" "done long"
	expect_eq "$(job_get "$short" "j['status']") $(job_get "$short" "j['attempt']")" "failed 1"
	expect_eq "$(job_get "$short" "j['exit_code']")" 4 "exit code"
	expect_eq "$(job_get "$short" "j['reason']")" "SLURM job $ssid FAILED: exit status 4"
	expect_contains "$(job_get "$short" "j['output_tail']")" "done short"
	# each submitted once
	expect_eq "$(grep -c "JobId=" "$SLURM_DIR/log/jobcomp.log")" 2 "SLURM jobs submitted"
}


# held_sbatch_setup SCRIPT [TASK ARGS...]: SLURM, wnd, project p with task t
# (created with TASK ARGS), and w.yaml whose task t runs SCRIPT through the
# sbatch the test holds (slurm_held_sbatch).
held_sbatch_setup() {
	local script=$1
	shift
	slurm_held_sbatch
	slurm_setup
	TASK_ARGS=("$@")
	slurm_add_task t "$script" "sbatch: $WN_TMP/sbatch-held"
}

test_a_retry_does_not_show_the_last_attempts_slurm_job() {
	# Attempt 1 fails and the job is queued again; while attempt 2 waits
	# for sbatch, the job names no SLURM job: attempt 1's is not its run.
	held_sbatch_setup "echo attempt {attempt}; while [ ! -e $WN_TMP/release-{attempt} ]; do sleep 0.1; done
      [ {attempt} = 1 ] && exit 3; echo done" --retries 1
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local first
	first=$(job_ext "$id")
	touch "$WN_TMP/hold-sbatch" "$WN_TMP/release-1"
	wait_until 30 "attempt 2 to be submitted" test -e "$WN_TMP/in-sbatch"
	expect_eq "$(job_get "$id" "j['attempt']") $(job_get "$id" "j['status']")" "2 running"
	expect_eq "$(job_ext "$id")" "" "external id while attempt 2 is being submitted"
	rm "$WN_TMP/hold-sbatch"
	wait_until 20 "attempt 2 to get its SLURM job id" job_has_ext "$id"
	local second
	second=$(job_ext "$id")
	[ "$second" != "$first" ] || fail "attempt 2 names attempt 1's SLURM job $first"
	touch "$WN_TMP/release-2"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2"
	expect_eq "$(job_ext "$id")" "$second" "SLURM job id"
}

test_a_worker_stopped_while_sbatch_runs_hands_the_job_back() {
	# SIGTERM reaches the worker while sbatch, which SLURM has taken the
	# job from, has not answered: the worker kills it at once (not after
	# the two minutes sbatch may take) and hands the job back; its next
	# attempt, on the worker started again, finds that SLURM job by its tag
	# and follows it instead of submitting the job a second time.
	held_sbatch_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id
	touch "$WN_TMP/hold-answer"
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to be submitted" test -s "$WN_TMP/submitted"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: its submission to SLURM was given up"
	expect_contains "$(<w1.log)" "handing it back"
	expect_eq "$(job_get "$id" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 0, 0)" "status, failures and lost leases"
	rm "$WN_TMP/hold-answer"
	local sid
	sid=$(head -n 1 "$WN_TMP/submitted")
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the worker started again to follow SLURM job $sid" \
		log_has w1.log "job $id: attempt 1 of it still runs as SLURM job $sid"
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_ext "$id")" "completed $sid"
	expect_contains "$(job_get "$id" "j['output_tail']")" "done"
	expect_eq "$(squeue -h -t all -o %i | wc -l)" 1 "SLURM jobs submitted"
}

test_a_cancel_while_sbatch_runs_cancels_what_it_submitted() {
	# the job is cancelled while sbatch, which SLURM has taken the job
	# from, has not answered: the worker kills sbatch at once, finds the
	# SLURM job by its tag and cancels it
	held_sbatch_setup "echo run; sleep 300"
	local id
	touch "$WN_TMP/hold-answer"
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to be submitted" test -s "$WN_TMP/submitted"
	local sid
	sid=$(head -n 1 "$WN_TMP/submitted")
	wnctl job cancel "$id" >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "job $id: its sbatch, given up, had submitted SLURM job $sid"
	expect_eq "$(slurm_state "$sid")" CANCELLED "SLURM's state"
	rm "$WN_TMP/hold-answer"
}

test_a_worker_killed_and_started_again_follows_its_slurm_jobs() {
	# kill -9 leaves the worker in the fleet until the server marks it LOST
	# (here after 2 s); the worker started again under its name joins then.
	# The SLURM job has kept its lease through the LOST (it runs on without
	# the worker): the new worker follows it, nothing is submitted twice.
	WND_ARGS=(--worker-timeout-ms 2000 --lease-ms 600000)
	follow_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	kill -KILL "$first"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 30 "the restarted worker to follow job $id" \
		log_has w1.log "job $id: following its run again (SLURM job $sid"
	expect_contains "$(<wnd.log)" "job $id: runs on as $sid without worker w1; its lease is kept"
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 1"
	expect_eq "$(job_ext "$id")" "$sid" "SLURM job id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "done"
	expect_eq "$(squeue -h -t all -o %i | wc -l)" 1 "SLURM jobs submitted"
}

# cancel_while_away: a job runs in SLURM; its worker w1 stops,
# leaving the SLURM job running, and the job is cancelled meanwhile. Sets ID
# and SID.
cancel_while_away() {
	WND_ARGS=(--lease-ms 600000)
	follow_setup 'echo started; sleep 300'
	ID=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $ID to get its SLURM job id" job_has_ext "$ID"
	SID=$(job_ext "$ID")
	wait_until 20 "SLURM job $SID to run" slurm_running "$SID"
	kill -TERM "$first"
	worker_wait "$first" 10
	wnctl job cancel "$ID" --reason "not needed" >/dev/null
	expect_eq "$(slurm_state "$SID")" RUNNING "SLURM's state before the worker is back"
}

# back_and_stopped: w1 starts again under its name and scancels the run.
back_and_stopped() {
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_contains "$(<w1.log)" "job $ID: held before a restart (project p, task t, attempt 1); cancelled on the server meanwhile: stopping its run"
	expect_eq "$(slurm_state "$SID")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$ID" "j['status']") $(job_get "$ID" "j['reason']")" "cancelled not needed"
}

test_a_job_cancelled_while_its_worker_is_away_is_stopped_in_slurm() {
	cancel_while_away
	# the worker is told only when it comes back: job show says so, not
	# that it was told
	expect_exit 0 wnctl job show "$ID"
	expect_contains "$WN_OUT" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	back_and_stopped
}

test_a_cancel_outlives_a_restart_of_wnd_until_the_worker_is_back() {
	# As above, and wnd is killed and started again between the cancel and
	# the worker's return: the run still to be stopped is kept on disk, so
	# the worker is still told to scancel it (before, wnd forgot it and the
	# SLURM job ran on with no one following it).
	cancel_while_away
	wn_kill9
	wn_start "${WND_ARGS[@]}"
	expect_contains "$(wnctl job show "$ID")" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	expect_eq "$(job_get "$ID" "j['stopping']")" True "stopping, in --json"
	back_and_stopped
	# the run said it ended: nothing is left to stop, after a restart too
	expect_eq "$(job_get "$ID" "j['stopping']")" False "stopping, once the run ended"
	wn_stop
	"$WN_BIN/wnd" --data "$WN_TMP/data" --check >check.out 2>&1 ||
		fail "wnd --check: $(<check.out)"
	wn_start "${WND_ARGS[@]}"
	expect_not_contains "$(wnctl job show "$ID")" "stopping"
}

test_a_cancel_reaches_slurm_however_long_the_worker_is_away() {
	# The worker is away for longer than the lease: a run outside its
	# worker is still to be stopped, by the worker started again under its
	# name (before, the lease's end forgot it). wnd comes back with a lease
	# of 1 s, which the cancelled run gets from the start, and outlives.
	cancel_while_away
	wn_stop
	WND_ARGS=(--lease-ms 1000)
	wn_start "${WND_ARGS[@]}"
	sleep 2.5 # the lease the restart gave the cancelled run runs out
	expect_contains "$(wnctl job show "$ID")" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	back_and_stopped
	expect_eq "$(job_get "$ID" "j['stopping']")" False "stopping, once the run ended"
}

test_a_cancel_while_the_controller_is_down_reaches_slurm_once_it_is_back() {
	# scancel fails while the controller cannot be reached (here a wrapper
	# says so while $WN_TMP/down exists); the worker tries again until it
	# reaches SLURM, however long that takes, rather than give up after two.
	follow_setup 'echo started; sleep 300'
	cat >"$WN_TMP/scancel-down" <<EOF
#!/bin/bash
echo "\$*" >>$WN_TMP/scancel-calls
if [ -e $WN_TMP/down ]; then
	echo "scancel: error: Unable to contact slurm controller (connect failure)" >&2
	exit 1
fi
exec scancel "\$@"
EOF
	chmod 755 "$WN_TMP/scancel-down"
	echo "    scancel: $WN_TMP/scancel-down" >>w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	local sid
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" slurm_running "$sid"
	touch "$WN_TMP/down"
	wnctl job cancel "$id" >/dev/null
	# kill_grace_s is 1: the first try and the one after the grace period
	wait_until 20 "three tries of scancel" \
		eval '[ "$(wc -l <"$WN_TMP/scancel-calls" 2>/dev/null)" -ge 3 ]'
	expect_eq "$(slurm_state "$sid")" RUNNING "SLURM's state while scancel fails"
	rm "$WN_TMP/down"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(slurm_state "$sid")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "job $id: cannot cancel SLURM job $sid: scancel: error: Unable to contact slurm controller (connect failure); trying again every 300 ms"
}

# slurmctld stops while the job runs, and the job ends meanwhile: squeue
# fails, which decides nothing; once the controller is back (on its saved
# state) the job is reported as SLURM says it ended, and a worker started
# again meanwhile follows it on rather than submitting it again.
test_a_controller_restarted_while_the_job_runs() {
	follow_setup "echo started; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done; exit 3"
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" slurm_running "$sid"
	slurm_ctld_stop
	wait_until 20 "the worker to see squeue fail" log_has w1.log "cannot ask SLURM about its jobs"
	# the worker restarts while the controller is down
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 30
	touch "$WN_TMP/release"
	worker_start w1 w.yaml
	slurm_ctld_start
	wait_status "$id" failed 120
	expect_eq "$(job_get "$id" "(j['exit_code'], j['attempt'])")" "(3, 1)" "job $id"
	expect_contains "$(job_get "$id" "j['output_tail']")" "done"
	expect_eq "$(squeue -h -r -t all -o %i | wc -l)" 1 "SLURM jobs submitted"
}

# A worker given no name, whose tasks run on SLURM, is named after its host
# alone: started again, it has the same name and follows its SLURM job,
# where a name with its process id in it (another at each start) ran the
# job a second time once the lease ran out.
test_a_worker_without_a_name_follows_its_slurm_jobs_after_a_restart() {
	WND_ARGS=(--lease-ms 3000)
	follow_setup "echo run {attempt}; while [ ! -e $WN_TMP/release ]; do sleep 0.1; done; echo done"
	local id pid sid
	id=$(wnctl job add p t)
	"$WN_BIN/wnworker" --config w.yaml >>w.log 2>&1 &
	pid=$!
	WN_PIDS+=("$pid")
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	sid=$(job_ext "$id")
	expect_eq "$(job_get "$id" "j['worker']")" "$(hostname)" "the worker's name"
	kill -TERM "$pid"
	worker_wait "$pid" 30
	"$WN_BIN/wnworker" --config w.yaml --exit-when-empty >>w.log 2>&1 &
	pid=$!
	WN_PIDS+=("$pid")
	wait_until 30 "the worker started again to follow SLURM job $sid" \
		log_has w.log "job $id: following its run again (SLURM job $sid"
	touch "$WN_TMP/release"
	worker_wait "$pid" 30
	expect_eq "$(job_get "$id" "(j['status'], j['attempt'])")" "('completed', 1)" "job $id"
	expect_eq "$(squeue -h -r -t all -o %i | wc -l)" 1 "SLURM jobs submitted"
}

# slurm_hanging PROG: write $WN_TMP/PROG-hanging, PROG run through, which
# does not answer while $WN_TMP/hang-PROG exists (it creates
# $WN_TMP/in-PROG then): a controller that takes the call and says nothing.
slurm_hanging() {
	cat >"$WN_TMP/$1-hanging" <<EOF2
#!/bin/bash
if [ -e $WN_TMP/hang-$1 ]; then
	touch $WN_TMP/in-$1
	exec sleep 300
fi
exec $1 "\$@"
EOF2
	chmod 755 "$WN_TMP/$1-hanging"
}

test_a_stop_does_not_wait_for_the_scancel_of_a_cancel() {
	# scancel does not answer; a SIGTERM to the worker kills it at once
	# (where the worker waited up to the minute scancel may take) and
	# leaves the cancel to the worker started again
	follow_setup 'echo started; sleep 300'
	slurm_hanging scancel
	echo "    scancel: $WN_TMP/scancel-hanging" >>w.yaml
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" slurm_running "$sid"
	touch "$WN_TMP/hang-scancel"
	wnctl job cancel "$id" >/dev/null
	wait_until 20 "scancel to be called" test -e "$WN_TMP/in-scancel"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: left running as SLURM job $sid"
	expect_eq "$(slurm_state "$sid")" RUNNING "SLURM's state after the worker stopped"
	rm "$WN_TMP/hang-scancel"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(slurm_state "$sid")" CANCELLED "SLURM's state"
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
}

test_a_cancel_cancels_what_a_cut_sbatch_submits_after_the_first_look() {
	# sbatch is cut by the cancel before the controller registers the job,
	# which it does only once the worker has looked for it in squeue a
	# first time (here a stand-in sbatch submits it then, after it was
	# killed): the worker looks again for a while, finds it and cancels
	# it, where it stopped looking after one squeue and left it running
	slurm_setup
	cat >"$WN_TMP/sbatch-late" <<EOF2
#!/bin/bash
(
	while [ ! -s $WN_TMP/squeue-finds ]; do sleep 0.05; done
	sbatch "\$@" >>$WN_TMP/submitted
) </dev/null >/dev/null 2>&1 &
touch $WN_TMP/in-sbatch
exec sleep 300
EOF2
	# records each squeue by the worker's user (a look for a job by its
	# tag) once it has answered
	cat >"$WN_TMP/squeue-noted" <<EOF2
#!/bin/bash
out=\$(squeue "\$@")
rc=\$?
case " \$* " in *" -u "*) echo "\$*" >>$WN_TMP/squeue-finds ;; esac
[ -z "\$out" ] || printf '%s\n' "\$out"
exit \$rc
EOF2
	chmod 755 "$WN_TMP/sbatch-late" "$WN_TMP/squeue-noted"
	slurm_add_task t 'echo run; sleep 300' "sbatch: $WN_TMP/sbatch-late" \
		"squeue: $WN_TMP/squeue-noted"
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "sbatch to be called" test -e "$WN_TMP/in-sbatch"
	wnctl job cancel "$id" >/dev/null
	wait_until 20 "the late submission" test -s "$WN_TMP/submitted"
	sid=$(head -n 1 "$WN_TMP/submitted")
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "job $id: its sbatch, given up, had submitted SLURM job $sid"
	wait_until 20 "SLURM job $sid to end" \
		eval '[ "$(slurm_state "$sid")" = CANCELLED ]'
}

test_a_stop_does_not_wait_for_the_squeue_looking_for_a_cut_sbatchs_job() {
	# sbatch is cut by a cancel and the squeue that looks for what it
	# submitted does not answer: a SIGTERM kills that squeue at once, where
	# the worker waited up to the minute squeue may take
	slurm_setup
	slurm_hanging sbatch
	slurm_hanging squeue
	slurm_add_task t 'echo run; sleep 300' "sbatch: $WN_TMP/sbatch-hanging" \
		"squeue: $WN_TMP/squeue-hanging"
	touch "$WN_TMP/hang-sbatch" "$WN_TMP/hang-squeue"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "sbatch to be called" test -e "$WN_TMP/in-sbatch"
	wnctl job cancel "$id" >/dev/null
	wait_until 20 "squeue to be called" test -e "$WN_TMP/in-squeue"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: left running as its SLURM job id unknown"
}

test_a_stop_does_not_wait_for_the_squeue_following_the_jobs() {
	# the poller's squeue does not answer when the worker is told to stop:
	# the worker leaves its SLURM job running and exits at once, where it
	# waited up to the minute squeue may take
	follow_setup 'echo started; sleep 300'
	slurm_hanging squeue
	echo "    squeue: $WN_TMP/squeue-hanging" >>w.yaml
	local id sid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to get its SLURM job id" job_has_ext "$id"
	sid=$(job_ext "$id")
	wait_until 20 "SLURM job $sid to run" slurm_running "$sid"
	touch "$WN_TMP/hang-squeue"
	wait_until 20 "squeue to be called" test -e "$WN_TMP/in-squeue"
	kill -TERM "$first"
	worker_wait "$first" 20
	expect_contains "$(<w1.log)" "job $id: left running as SLURM job $sid"
}
