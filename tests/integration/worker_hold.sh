# A heartbeat the server holds (QueueService/Heartbeat's long poll) keeps
# its worker ACTIVE and its leases alive, whatever the server's worker
# timeout and lease. Real wnd, wnworker and wnctl.
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"

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
	wn_start --worker-timeout-ms 1500
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
	expect_not_contains "$(cat "$WN_TMP/wnd.log")" "LOST"
	touch "release-$id"
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 1
}
