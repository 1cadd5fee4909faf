# The worker's calls run side by side: while the server holds its Fetch (a
# free slot waiting for work), a job that ends is reported at once, and the
# held Fetch still hands out the next job at once. Real wnd, wnworker and
# wnctl, over ipc:// and tcp://.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# held_yaml: two slots, a Fetch held up to 60 s, heartbeats 30 s apart; the
# task `gated` says started-ID and waits until release-ID exists.
held_yaml() {
	cat <<EOF
projects: p
slots: 2
fetch_wait_ms: 60000
heartbeat_ms: 30000
kill_grace_s: 1
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
tasks:
  gated:
    command: [/bin/sh, -c, 'touch started-\$1; while [ ! -e release-\$1 ]; do sleep 0.05; done',
              sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

held_run() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p gated >/dev/null
	held_yaml >w.yaml
	worker_start w1 w.yaml
	local a b
	a=$(wnctl job add p gated)
	wait_until 10 "job $a to start" test -e "started-$a"
	# the other slot's Fetch waits on the server (60 s): the result of $a
	# goes beside it, not after it
	touch "release-$a"
	wait_status "$a" completed 8
	b=$(wnctl job add p gated)
	wait_until 8 "job $b to start" test -e "started-$b"
	touch "release-$b"
	wait_status "$b" completed 8
	expect_not_contains "$(<w1.log)" "cannot reach"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 8
	expect_eq "$(jget "$(wnctl --json worker show w1)" "j['state']")" gone
}

test_a_held_fetch_holds_up_no_report_ipc() {
	held_run
}

test_a_held_fetch_holds_up_no_report_tcp() {
	export WN_SERVER=tcp://127.0.0.1:$(free_port)
	held_run
}
