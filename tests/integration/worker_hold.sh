# A heartbeat the server holds (QueueService/Heartbeat's long poll) keeps
# its worker ACTIVE and its leases alive, whatever the server's worker
# timeout and lease. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

hold_yaml() {
	worker_head
	cat <<EOF
output_ms: 0
tasks:
  gated:
    command: [/bin/sh, -c, 'touch started-\$1; while [ ! -e release-\$1 ]; do sleep 0.05; done', sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

worker_state() { jget "$(wnctl --json worker show "$1")" "j['state']"; }

test_a_worker_whose_heartbeat_is_held_is_not_lost() {
	wn_start --worker-timeout-ms 1500 --lease-ms 1500
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	hold_yaml >w.yaml
	worker_start w1 w.yaml
	wait_until 10 "the worker to join" log_has w1.log "joined the fleet as w1"
	local id
	id=$(wnctl job add p gated)
	wait_until 10 "job $id to start" test -e "started-$id"
	# three worker timeouts: an idle and a busy worker stay ACTIVE
	local i
	for i in $(seq 1 9); do
		expect_eq "$(worker_state w1)" active "w1 after $((i * 500)) ms"
		sleep 0.5
	done
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "LOST"
	touch "release-$id"
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 1
}

# hold_setup [wnd args...]: wnd, project p with task gated, w.yaml whose
# worker heartbeats rarely (the server holds its heartbeats).
hold_setup() {
	wn_start "$@"
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	hold_yaml | sed 's/^output_ms: 0$/output_ms: 0\nheartbeat_ms: 14000\nslots: 3/' >w.yaml
}

# restart_with SIGNAL: stop wnd with SIGNAL and start it again on its data.
restart_with() {
	kill "-$1" "$WND_PID"
	wait "$WND_PID" 2>/dev/null || true
	wn_start
}

test_a_held_heartbeat_rides_out_restarts() {
	hold_setup
	worker_start w1 w.yaml
	local a b sig
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	for sig in KILL TERM; do
		restart_with $sig
		# the worker heartbeats again at once: a cancel still reaches
		# it well before its 20 s interval
		b=$(wnctl job add p gated)
		wait_until 10 "job $b to start ($sig)" test -e "started-$b"
		wnctl job cancel "$b" >/dev/null
		wait_until 8 "the worker to stop job $b ($sig)" log_has w1.log \
			"job $b: cancelled on the server; stopping it"
	done
	expect_eq "$(job_get "$a" "j['status']")" running
	touch "release-$a"
	wait_status "$a" completed
	expect_eq "$(job_get "$a" "j['attempt']")" 1
}

test_heartbeats_work_when_no_place_is_left_to_hold_them() {
	echo "max_parked_fetches: 1" >wnd.yaml
	wn_start --config wnd.yaml --worker-timeout-ms 1500
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	hold_yaml >w.yaml
	worker_start w1 w.yaml
	worker_start w2 w.yaml
	local a b
	a=$(wnctl job add p gated)
	b=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	wait_until 10 "job $b to start" test -e "started-$b"
	# one heartbeat is held, the other answered at once: both workers
	# stay ACTIVE and keep their leases
	# (more than a worker timeout)
	sleep 2
	touch "release-$a" "release-$b"
	wait_status "$a" completed
	wait_status "$b" completed
	expect_eq "$(job_get "$a" "j['attempt']"),$(job_get "$b" "j['attempt']")" 1,1
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "LOST"
}

log_says() { [[ "$(wnctl job log "$1")" == *"$2"* ]]; }

test_fifty_runs_ship_output_and_hear_cancels() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p chat >/dev/null
	worker_head >w.yaml
	cat >>w.yaml <<EOF
slots: 50
output_ms: 300
heartbeat_ms: 14000
tasks:
  chat:
    command: [/bin/sh, -c, 'i=0; while :; do i=\$((i+1)); echo "tick \$i"; sleep 0.5; done']
EOF
	local ids i
	wnctl job sweep p chat --grid "n=$(seq -s, 1 50)" >/dev/null
	mapfile -t ids < <(jget "$(wnctl --json job list)" "'\\n'.join(str(x['id']) for x in j['jobs'])")
	expect_eq "${#ids[@]}" 50
	worker_start w1 w.yaml
	wait_until 20 "50 runs" eval "[ \$(wnctl job list --status running | grep -c chat) = 50 ]"
	# every run's output reaches the server well within its heartbeat
	# interval (output_ms bounds how long a heartbeat is held)
	for i in 0 24 49; do
		wait_until 5 "output of job ${ids[$i]}" log_says "${ids[$i]}" "tick 3"
	done
	wnctl job cancel "${ids[7]}" >/dev/null
	wait_until 5 "the cancel to reach the worker" log_has w1.log \
		"job ${ids[7]}: cancelled on the server; stopping it"
	expect_eq "$(wnctl job list --status running | grep -c chat)" 49
}

test_a_run_that_ends_is_not_called_lost() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p quick >/dev/null
	worker_head >w.yaml
	cat >>w.yaml <<EOF
slots: 4
heartbeat_ms: 14000
tasks:
  quick:
    command: [/bin/sh, -c, 'sleep 0.3']
EOF
	wnctl job sweep p quick --grid "n=$(seq -s, 1 12)" >/dev/null
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 20
	expect_eq "$(wnctl job list --status completed | grep -c quick)" 12
	# each completion answers the held heartbeat: the run it names ended,
	# its lease was not lost
	expect_not_contains "$(<w1.log)" "is lost"
}

test_a_busy_worker_stops_at_once_while_its_heartbeat_is_held() {
	hold_setup
	worker_start w1 w.yaml
	local a
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	kill -TERM "$WORKER_PID"
	wait_until 5 "the worker to begin stopping" log_has w1.log "signal again to stop them"
	kill -TERM "$WORKER_PID"
	# kill_grace_s is 1: far below the 14 s the heartbeat may be held
	worker_wait "$WORKER_PID" 5
	expect_eq "$(job_get "$a" "j['status']")" pending
}

test_resuming_a_lost_worker_says_it_takes_jobs_when_back() {
	wn_start --worker-timeout-ms 2000
	wnctl project create p >/dev/null
	hold_yaml >w.yaml
	worker_start w1 w.yaml
	wait_until 10 "the worker to join" log_has w1.log "joined the fleet as w1"
	# killed first: a live worker hears the drain at once and leaves (GONE)
	kill -9 "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
	wnctl worker drain w1 >/dev/null
	wait_until 15 "w1 to be lost" eval '[ "$(worker_state w1)" = lost ]'
	expect_exit 0 wnctl worker resume w1
	expect_eq "$WN_OUT" "worker w1: lost, no longer draining: it takes new jobs once it heartbeats again (0 jobs held)"
	expect_eq "$(jget "$(wnctl --json worker show w1)" "j.get('draining', False)")" False
}

test_an_exit_when_empty_worker_rides_out_a_restart() {
	hold_setup
	local pid a
	a=$(wnctl job add p gated)
	worker_start w1 w.yaml --exit-when-empty
	pid=$WORKER_PID
	wait_until 10 "job $a to start" test -e "started-$a"
	restart_with TERM
	touch "release-$a"
	wait_status "$a" completed
	worker_wait "$pid" 10
	expect_eq "$(job_get "$a" "j['attempt']")" 1
}

test_a_retry_fetched_while_the_heartbeat_is_held_runs() {
	# Runs that fail are retried and the same worker fetches each retry at
	# once, while the server holds the heartbeat that named the attempt
	# before: its answer must not stop the retry as if its lease were lost.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p flaky --retries 2 >/dev/null
	{
		worker_head
		cat <<EOF2
slots: 2
tasks:
  flaky:
    command: [/bin/sh, -c, 'sleep 0.\$1; exit 1', sh, "{job.id}"]
EOF2
	} >w.yaml
	local ids i
	for i in 1 2 3 4 5 6; do
		ids+=" $(wnctl job add p flaky)"
	done
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	for i in $ids; do
		expect_eq "$(job_get "$i" "j['status']") $(job_get "$i" "j['attempt']")" "failed 3" \
			"job $i"
	done
	expect_not_contains "$(<w1.log)" "lost"
}
