# How soon a running wnworker hears of changes: a cancel, a task's new
# timeout, a stop. The worker here heartbeats only every 30 s and waits 60 s
# on a fetch, so each change must reach it without waiting for either (the
# server answers its waiting heartbeat or fetch at once): the bounds below
# are far below those intervals. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# slow_yaml: a worker with long intervals whose task `gated` writes its pid
# to pid-ID, says started-ID and waits until release-ID exists.
slow_yaml() {
	cat <<EOF
projects: p
fetch_wait_ms: 60000
heartbeat_ms: 30000
output_ms: 0
kill_grace_s: 1
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
tasks:
  gated:
    command: [/bin/sh, -c, 'echo \$\$ > pid-\$1; touch started-\$1; while [ ! -e release-\$1 ]; do sleep 0.05; done',
              sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

reach_setup() {
	wn_start --lease-ms 120000
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	slow_yaml >w.yaml
}

test_a_cancel_stops_the_run_before_the_next_heartbeat() {
	reach_setup
	worker_start w1 w.yaml
	local a b
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	wnctl job cancel "$a" >/dev/null
	# the worker's next heartbeat is 30 s away: the server tells it now
	wait_until 8 "the cancelled run to stop" pid_gone "pid-$a"
	expect_contains "$(<w1.log)" "job $a: cancelled on the server; stopping it"
	expect_eq "$(job_get "$a" "j['status']")" cancelled
	# the same for a job fetched while the worker already waited
	b=$(wnctl job add p gated)
	wait_until 10 "job $b to start" test -e "started-$b"
	wnctl job cancel "$b" >/dev/null
	wait_until 8 "the second cancelled run to stop" pid_gone "pid-$b"
	expect_eq "$(job_get "$b" "j['status']")" cancelled
}

test_a_task_update_applies_to_the_next_run() {
	reach_setup
	worker_start w1 w.yaml
	local a b
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	touch "release-$a"
	wait_status "$a" completed
	# the worker just read the task (no timeout); a timeout set now holds
	# for the next run
	wnctl task update p gated --timeout 1 >/dev/null
	b=$(wnctl job add p gated)
	wait_status "$b" failed 8
	expect_eq "$(job_get "$b" "j['reason']")" "timed out after 1 s"
}

test_an_idle_worker_stops_at_once_on_sigint() {
	reach_setup
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the worker to join" log_has w1.log "joined the fleet as w1"
	# its fetch waits on the server for up to 60 s
	kill -INT "$pid"
	worker_wait "$pid" 8
	expect_eq "$(jget "$(wnctl --json worker show w1)" "j['state']")" gone
	# nothing it fetched on the way out is lost: a job added now is pending
	local id
	id=$(wnctl job add p gated)
	expect_eq "$(job_get "$id" "j['status']")" pending
}

test_a_wrong_address_is_reported_at_once() {
	local port
	port=$(free_port)
	slow_yaml >w.yaml
	# --exit-when-empty cannot tell whether anything is left: it exits
	expect_exit 1 timeout 8 "$WN_BIN/wnworker" --config w.yaml --name w1 \
		--server "tcp://127.0.0.1:$port" --exit-when-empty
	expect_contains "$WN_ERR" "cannot reach the server at tcp://127.0.0.1:$port"
	expect_contains "$WN_ERR" "exiting (--exit-when-empty)"
	# without it, the worker says so at once and keeps trying
	worker_start w2 w.yaml --server "tcp://127.0.0.1:$port"
	wait_until 5 "the worker to report the address" log_has w2.log \
		"cannot reach the server at tcp://127.0.0.1:$port"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 20
}

test_a_fetch_refused_ends_an_exit_when_empty_worker_with_status_1() {
	wn_start
	wnctl project create p >/dev/null
	slow_yaml | sed 's/^projects: .*/projects: nosuch/' >w.yaml
	grep -q '^projects: nosuch$' w.yaml || fail "the config names no project nosuch"
	# a project the server does not know: nothing can run, and the status says so
	expect_exit 1 timeout 20 "$WN_BIN/wnworker" --config w.yaml --name w1 --exit-when-empty
	expect_contains "$WN_ERR" 'cannot fetch from project nosuch: project "nosuch" not found'
	expect_contains "$WN_ERR" "exiting (--exit-when-empty)"
}

test_wn_server_overrides_the_files_server() {
	reach_setup
	local port id
	port=$(free_port)
	{
		echo "server: tcp://127.0.0.1:$port"
		slow_yaml
	} >w.yaml
	id=$(wnctl job add p gated)
	touch "release-$id"
	# WN_SERVER is wn_start's address; the file names a port nobody serves
	expect_exit 0 timeout 20 "$WN_BIN/wnworker" --config w.yaml --name w1 --once
	expect_eq "$(job_get "$id" "j['status']")" completed
}

# A kill grace as long as the server's worker timeout is warned of: after a
# crash of the worker, its jobs could run again while their first runs end.
test_a_kill_grace_past_the_worker_timeout_is_warned() {
	wn_start --worker-timeout-ms 8000
	wnctl project create p >/dev/null
	slow_yaml | sed 's/^kill_grace_s: 1$/kill_grace_s: 20/' >w.yaml
	grep -q '^kill_grace_s: 20$' w.yaml || fail "w.yaml: no kill_grace_s to set"
	worker_start w1 w.yaml
	wait_until 10 "the worker to join" log_has w1.log "joined the fleet as w1"
	wait_until 5 "the warning" log_has w1.log \
		"kill_grace_s 20 is not shorter than the server's worker timeout of 8000 ms"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 10
}

test_a_heartbeat_too_long_for_the_lease_is_warned() {
	wn_start --lease-ms 3000
	wnctl project create p >/dev/null
	slow_yaml | sed 's/^heartbeat_ms: 30000$/heartbeat_ms: 2000/' >w.yaml
	worker_start w1 w.yaml
	wait_until 10 "the worker to join" log_has w1.log "joined the fleet as w1"
	wait_until 5 "the warning" log_has w1.log \
		"heartbeat_ms 2000 is too long for the server's lease of 3000 ms: leases will be lost between heartbeats; use at most a third of it (1000)"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 10
}

# hung_setup: a worker that waits 10 minutes for each answer (rpc_timeout_ms),
# serving project p of a fresh wnd.
hung_setup() {
	wn_start --lease-ms 120000
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	slow_yaml | sed 's/^rpc_timeout_ms: .*/rpc_timeout_ms: 600000/' >w.yaml
}

# A server that takes the worker's calls and answers none (stopped with
# SIGSTOP: a hung machine) does not hold an idle worker's stop for its
# rpc_timeout_ms of 10 minutes: the first signal gives its calls up.
test_a_stop_gives_up_a_server_that_does_not_answer() {
	hung_setup
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the worker to join" wnctl worker show w1
	kill -STOP "$WND_PID"
	wait_stopped "$WND_PID"
	kill -TERM "$pid"
	worker_wait "$pid" 60
	kill -CONT "$WND_PID"
	expect_contains "$(<w1.log)" "no answer from the server at"
	expect_contains "$(<w1.log)" "worker w1 stopped"
}

# The same with a job running: the first signal waits for the job, the
# second stops it and gives up handing its lease back to a server that does
# not answer; the worker exits and leaves nothing running.
test_a_second_stop_gives_up_reporting_to_a_server_that_does_not_answer() {
	hung_setup
	worker_start w1 w.yaml
	local pid=$WORKER_PID a
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	kill -STOP "$WND_PID"
	wait_stopped "$WND_PID"
	kill -TERM "$pid"
	wait_until 10 "the worker to drain" log_has w1.log "waiting for 1 running job"
	kill -TERM "$pid"
	worker_wait "$pid" 60
	kill -CONT "$WND_PID"
	wait_until 5 "the job's process to be gone" pid_gone "pid-$a"
	expect_contains "$(<w1.log)" "job $a: giving up reporting the result"
}
