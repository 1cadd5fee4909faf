# wnworker: stopping jobs (timeout, cancel), signals to the worker, lost
# leases and an unreachable server, with the real wnd and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# gated_yaml [PROJECT]: a worker.yaml whose task `gated` writes the pid of a
# background child to child-ID-ATTEMPT.pid, says started-ID-ATTEMPT, and waits
# until the file release-ID-ATTEMPT exists; on SIGTERM it says so and exits 7.
gated_yaml() {
	worker_head "${1:-p}"
	cat <<EOF
heartbeat_ms: 200
slots: 4
tasks:
  gated:
    command: [/bin/sh, -c, 'trap "echo got TERM; exit 7" TERM; sleep 600 & echo \$! > child-\$1.pid; touch started-\$1; while [ ! -e release-\$1 ]; do sleep 0.05; done; echo released \$1',
              sh, "{job.id}-{attempt}"]
    workdir: $WN_TMP
EOF
}

# started_again ID: an attempt of job ID other than the first has started.
started_again() { ls started-"$1"-* 2>/dev/null | grep -qv -- "-1\$"; }

test_timeout_kills_the_process_group() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated --timeout 1 >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	wait_status "$id" failed
	expect_eq "$(job_get "$id" "j['reason']")" "timed out after 1 s"
	expect_eq "$(job_get "$id" "j['exit_code']")" 7
	expect_contains "$(job_get "$id" "j['output_tail']")" "got TERM"
	wait_until 5 "the job's background child to be killed" pid_gone "child-$id-1.pid"
	expect_contains "$(<w1.log)" "job $id: timed out; stopping it"
}

test_timeout_escalates_to_sigkill() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p stubborn --timeout 1 >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  stubborn:
    command: [/bin/sh, -c, 'trap "echo ignoring TERM" TERM; echo \$\$ > $WN_TMP/sh.pid; while :; do sleep 0.05; done']
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p stubborn)
	worker_start w1 w.yaml
	wait_status "$id" failed
	expect_eq "$(job_get "$id" "j['reason']")" "timed out after 1 s"
	expect_eq "$(job_get "$id" "j['exit_code']")" 137
	expect_contains "$(job_get "$id" "j['output_tail']")" "ignoring TERM"
	wait_until 5 "the command to be gone" pid_gone sh.pid
}

test_cancel_of_a_running_job_reaches_the_worker() {
	wn_start --lease-ms 1500
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	wait_until 10 "the job to start" test -e "started-$id-1"
	wnctl job cancel "$id" >/dev/null
	wait_until 10 "the worker to stop the job" log_has w1.log "job $id: cancelled after"
	wait_until 5 "the job's processes to be gone" pid_gone "child-$id-1.pid"
	expect_eq "$(job_get "$id" "j['status']")" cancelled
	expect_contains "$(<w1.log)" "job $id: cancelled on the server; stopping it"
	# The worker goes on serving.
	local next
	next=$(wnctl job add p gated)
	wait_until 10 "the next job to start" test -e "started-$next-1"
	touch "release-$next-1"
	wait_status "$next" completed
}

test_sigterm_drains_running_jobs() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id-1"
	kill -TERM "$pid"
	wait_until 10 "the worker to drain" log_has w1.log "waiting for 1 running job"
	# Submitted during the drain: must not be taken.
	local later
	later=$(wnctl job add p gated)
	expect_eq "$(job_get "$id" "j['status']")" running
	kill -0 "$pid" || fail "the worker exited before its job finished"
	touch "release-$id-1"
	worker_wait "$pid"
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_contains "$(job_get "$id" "j['output_tail']")" "released $id-1"
	expect_eq "$(job_get "$later" "j['status']")" pending
	expect_contains "$(<w1.log)" "worker w1 stopped"
}

# --once: the first signal lets the one job it runs finish, as any drain does;
# only a second one stops it.
test_once_first_signal_lets_the_job_finish() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml --once
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id-1"
	kill -TERM "$pid"
	wait_until 10 "the worker to drain" log_has w1.log "waiting for 1 running job"
	expect_eq "$(job_get "$id" "j['status']")" running
	kill -0 "$pid" || fail "the worker exited before its job finished"
	touch "release-$id-1"
	worker_wait "$pid"
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 1
	expect_not_contains "$(<w1.log)" "lease handed back"
}

test_second_signal_hands_leases_back() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated --max-attempts 1 >/dev/null
	gated_yaml >w.yaml
	local a b
	a=$(wnctl job add p gated)
	b=$(wnctl job add p gated)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the jobs to start" test -e "started-$a-1" -a -e "started-$b-1"
	kill -TERM "$pid"
	wait_until 10 "the worker to drain" log_has w1.log "waiting for 2 running jobs"
	kill -INT "$pid"
	worker_wait "$pid"
	local id
	for id in "$a" "$b"; do
		expect_eq "$(job_get "$id" "j['status']")" pending "job $id after the release"
		expect_eq "$(job_get "$id" "j['lost']")" 0 "job $id lost count"
		expect_eq "$(job_get "$id" "j['failures']")" 0 "job $id failures"
		wait_until 5 "job $id's processes to be gone" pid_gone "child-$id-1.pid"
	done
	expect_contains "$(<w1.log)" "lease handed back"
	# max_attempts is 1, yet the jobs run again: a handed-back lease does not count.
	worker_start w2 w.yaml
	wait_until 10 "job $a to start again" started_again "$a"
	wait_until 10 "job $b to start again" started_again "$b"
	touch "release-$a-$(job_get "$a" "j['attempt']")" "release-$b-$(job_get "$b" "j['attempt']")"
	wait_status "$a" completed
	wait_status "$b" completed
}

test_idle_worker_stops_at_once_on_sigterm() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the worker to start" log_has w1.log "serving project p"
	kill -TERM "$pid"
	worker_wait "$pid" 10
	expect_contains "$(<w1.log)" "stopping: no new jobs, none running"
	expect_not_contains "$(<w1.log)" "waiting for 0 running jobs"
	# Nothing it fetched on the way out is lost: a job added now is pending.
	local id
	id=$(wnctl job add p gated)
	expect_eq "$(job_get "$id" "j['status']")" pending
}

test_sigkill_of_the_worker_reruns_the_job_elsewhere() {
	wn_start --lease-ms 1000
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id-1"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# The command dies with its worker.
	wait_until 5 "the orphaned command to die" pid_gone "child-$id-1.pid"
	worker_start w2 w.yaml
	wait_until 20 "attempt 2 to start on w2" test -e "started-$id-2"
	touch "release-$id-2"
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 2 "attempts"
	expect_eq "$(job_get "$id" "j['worker']")" w2
	expect_eq "$(job_get "$id" "j['lost']")" 1 "lost leases"
}

test_late_result_of_a_stale_attempt_is_refused() {
	wn_start --lease-ms 1000
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	local p1=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id-1"
	# w1 hangs (no heartbeats) while its command finishes; the lease expires
	# and w2 runs attempt 2.
	kill -STOP "$p1"
	touch "release-$id-1"
	worker_start w2 w.yaml --once
	local p2=$WORKER_PID
	wait_until 20 "attempt 2 to start on w2" test -e "started-$id-2"
	touch "release-$id-2"
	worker_wait "$p2"
	expect_eq "$(job_get "$id" "j['status']")" completed
	# w1 wakes up with the result of attempt 1: refused.
	kill -CONT "$p1"
	wait_until 10 "w1 to learn its result is stale" grep -qE \
		"job $id: (the server refused the result of attempt 1|lease lost)" w1.log
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(job_get "$id" "j['worker']")" w2
	expect_eq "$(job_get "$id" "j['attempt']")" 2
	expect_contains "$(job_get "$id" "j['output_tail']")" "released $id-2"
}

test_result_is_delivered_after_the_server_comes_back() {
	wn_start --lease-ms 30000
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml >w.yaml
	local id
	id=$(wnctl job add p gated)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id-1"
	wn_stop
	touch "release-$id-1"
	wait_until 10 "the job to finish" log_has w1.log "job $id: finished: exit 0"
	wait_until 10 "the worker to notice" log_has w1.log "cannot reach the server"
	kill -0 "$pid" || fail "the worker exited while the server was down"
	wn_start --lease-ms 30000
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 1
	wait_until 10 "the worker to see the server again" log_has w1.log "reachable again"
	# And it goes on fetching.
	local next
	next=$(wnctl job add p gated)
	wait_until 10 "the next job to start" test -e "started-$next-1"
	touch "release-$next-1"
	wait_status "$next" completed
}

test_worker_waits_for_a_server_that_is_not_up_yet() {
	export WN_SERVER=ipc://$WN_TMP/wnd.sock
	gated_yaml >w.yaml
	worker_start w1 w.yaml
	wait_until 10 "the worker to say the server is unreachable" log_has w1.log \
		"cannot reach the server"
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	local id
	id=$(wnctl job add p gated)
	wait_until 20 "the job to start" test -e "started-$id-1"
	touch "release-$id-1"
	wait_status "$id" completed
}

test_slots_run_jobs_side_by_side() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	gated_yaml | sed 's/^slots: 4/slots: 3/' >w.yaml
	local ids=() i
	for i in 1 2 3 4; do
		ids+=("$(wnctl job add p gated)")
	done
	worker_start w1 w.yaml
	# Three start together, each with its own lease; the fourth waits.
	wait_until 10 "three jobs to run at once" test -e "started-${ids[0]}-1" \
		-a -e "started-${ids[1]}-1" -a -e "started-${ids[2]}-1"
	expect_eq "$(job_get "${ids[3]}" "j['status']")" pending
	touch "release-${ids[1]}-1"
	wait_until 10 "the fourth job to take the free slot" test -e "started-${ids[3]}-1"
	touch "release-${ids[0]}-1" "release-${ids[2]}-1" "release-${ids[3]}-1"
	for i in "${ids[@]}"; do
		wait_status "$i" completed
	done
}

# daemon_yaml: a worker.yaml offering GPU 0 whose task `g` (one GPU) starts a
# daemon in a session of its own (it writes its pid to d.pid, and "got TERM"
# to daemon.trace on SIGTERM) and runs until stopped (on SIGTERM, until the
# daemon has written that); a later run of `g` that
# finds d.pid writes overlap-ID if that daemon still runs (not a zombie), and
# ends.
daemon_yaml() {
	worker_head
	cat <<EOF
resources:
  gpus: [0]
tasks:
  g:
    command: [/bin/sh, -c, 'if [ -e d.pid ]; then case \$(cut -d" " -f3 /proc/\$(cat d.pid)/stat) in [RSDT]*) touch overlap-\$1;; esac; exit 0; fi;
              (setsid sh -c "trap \"echo got TERM >> daemon.trace; exit 0\" TERM; echo \\\$\\\$ > d.tmp; mv d.tmp d.pid; while :; do sleep 0.05; done" </dev/null >/dev/null 2>&1 &);
              trap "while [ ! -s daemon.trace ]; do sleep 0.05; done; exit 0" TERM; while :; do sleep 0.05; done', sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

# A process that left the run's process group and session is stopped with
# the run (SIGTERM first), and the GPU the run held goes to the next job only
# once that process is gone.
test_cancel_ends_a_daemon_that_left_the_session() {
	wn_start --lease-ms 1500
	wnctl project create p >/dev/null
	wnctl task create p g --gpu 1 >/dev/null
	daemon_yaml >w.yaml
	local a b
	a=$(wnctl job add p g)
	worker_start w1 w.yaml
	wait_until 10 "the daemon to start" test -s d.pid
	wn_track_session "$(<d.pid)"
	b=$(wnctl job add p g)
	wnctl job cancel "$a" >/dev/null
	wait_status "$b" completed
	expect_eq "$(job_get "$a" "j['status']")" cancelled
	expect_eq "$(cat daemon.trace 2>/dev/null)" "got TERM" "what the daemon got"
	proc_gone "$(<d.pid)" || fail "the daemon of job $a outlived it"
	[ ! -e "overlap-$b" ] || fail "job $b ran on GPU 0 while the daemon of job $a still ran"
}

# A command that ends leaving a daemon behind in a session of its own, one
# that ignores SIGTERM: the daemon is gone by the time the job is reported.
test_a_daemon_left_behind_is_ended_with_its_command() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, '(setsid sh -c "trap \"\" TERM; echo \\\$\\\$ > d.tmp; mv d.tmp d.pid; exec sleep 600" </dev/null >/dev/null 2>&1 &);
              while [ ! -s d.pid ]; do sleep 0.05; done; echo left it']
    workdir: $WN_TMP
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 10 "the daemon to start" test -s d.pid
	wn_track_session "$(<d.pid)"
	wait_status "$id" completed
	proc_gone "$(<d.pid)" || fail "the daemon outlived the job it was left by"
	worker_wait "$WORKER_PID"
}

# A command that ends leaving a process in its group, which itself started
# a daemon in a session of its own: both are gone once the job is reported,
# and neither is left behind as a zombie of the worker.
test_a_daemon_of_a_process_left_in_the_group_is_ended() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	cat >job.sh <<'EOF'
sh -c 'setsid sh -c "echo \$\$ > d.tmp; mv d.tmp d.pid; exec sleep 600" </dev/null >/dev/null 2>&1 &
       exec sleep 600' </dev/null >/dev/null 2>&1 &
echo $! > m.pid
while [ ! -s d.pid ]; do sleep 0.05; done
echo left them
EOF
	script_task job.sh >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 10 "the daemon to start" test -s d.pid
	wn_track_session "$(<d.pid)"
	wait_status "$id" completed
	proc_gone "$(<m.pid)" || fail "the process left in the group outlived the job"
	proc_gone "$(<d.pid)" || fail "the daemon of the process left in the group outlived the job"
	expect_eq "$(zombies_of "$WORKER_PID")" "" "zombies of the worker"
}

# A process that a command left behind in a session of its own and that
# then exits while the command runs is reaped by the worker, to which it was
# handed: no zombie piles up while the job goes on.
test_an_orphan_that_exits_is_reaped_while_the_job_runs() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	cat >job.sh <<'EOF'
(setsid sh -c 'echo $$ > o.tmp; mv o.tmp o.pid' </dev/null >/dev/null 2>&1 &)
while [ ! -e release ]; do sleep 0.05; done
EOF
	script_task job.sh >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 10 "the orphan to start" test -s o.pid
	wait_until 10 "the worker to reap the orphan" proc_reaped "$(<o.pid)"
	expect_eq "$(job_get "$id" "j['status']")" running
	touch release
	wait_status "$id" completed
	expect_eq "$(zombies_of "$WORKER_PID")" "" "zombies of the worker"
}

# A command that runs on with a daemon it started in a session of its own
# (its direct child): a timeout stops the daemon with the command (SIGTERM
# first), and it is gone by the time the job is reported.
test_a_timeout_stops_the_daemon_of_a_running_command() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --timeout 1 >/dev/null
	cat >job.sh <<'EOF'
setsid sh -c 'trap "echo got TERM >> daemon.trace; exit 0" TERM; echo $$ > d.tmp; mv d.tmp d.pid
              while :; do sleep 0.05; done' </dev/null >/dev/null 2>&1 &
trap 'while [ ! -s daemon.trace ]; do sleep 0.05; done; exit 0' TERM
while :; do sleep 0.05; done
EOF
	script_task job.sh >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 10 "the daemon to start" test -s d.pid
	wn_track_session "$(<d.pid)"
	wait_status "$id" failed
	expect_eq "$(job_get "$id" "j['reason']")" "timed out after 1 s"
	expect_eq "$(cat daemon.trace 2>/dev/null)" "got TERM" "what the daemon got"
	proc_gone "$(<d.pid)" || fail "the daemon outlived the job"
}
