# Leases: expiry, re-issue with the next attempt, stale results, max_attempts,
# heartbeats.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_lease_expires_and_is_reissued() {
	wn_start --lease-ms 1500
	mkproject p
	mktask p t
	local a j
	a=$(wnctl job add p t)
	j=$(fetch_job p w1)
	expect_eq "$(jq -r '"\(.id) \(.attempt // 0)"' <<<"$j")" "$a 1" "first hand-out"
	[ "$(jq -r '.lease_expires_ms // 0' <<<"$j")" -gt 0 ] || fail "lease_expires_ms not set: $j"

	# No heartbeat: the lease expires and the job is PENDING again.
	wait_for 30 "the lease of job $a to expire" status_is "$a" pending
	expect_eq "$(job_field "$a" '.lost // 0')" 1 "lost leases"
	# w1 no longer holds it: it is named as the worker of the last run
	expect_exit 0 wnctl job show "$a"
	expect_contains "$WN_OUT" $'last_worker: w1\n' "the pending job's last worker"
	expect_not_contains "$WN_OUT" $'\nworker: ' "the pending job's worker"

	# The second hand-out gets a lease long enough for the steps below on a
	# busy machine: the lease is the server's setting when a job is fetched.
	wn_stop
	wn_start --lease-ms 600000
	j=$(fetch_job p w2)
	expect_eq "$(jq -r '"\(.id) \(.attempt // 0) \(.worker)"' <<<"$j")" "$a 2 w2" "second hand-out"
	# The first holder's result is stale and changes nothing.
	expect_exit 6 wnctl queue complete "$a" 1 --worker w1 --fail --exit-code 4
	expect_contains "$WN_ERR" "wnctl: "
	expect_exit 0 wnctl queue complete "$a" 2 --worker w2
	j=$(job_json "$a")
	expect_eq "$(jq -r '"\(.status) \(.attempt // 0) \(.worker) \(.exit_code // 0)"' <<<"$j")" \
		"completed 2 w2 0" "job after the current holder's result"
	local hb
	hb=$(wnctl --json queue heartbeat --worker w1 "$a:1")
	expect_eq "$(jq -r '(.lost // []) | map(tostring) | join(",")' <<<"$hb")" "$a" \
		"heartbeat of the lost lease"
}

test_lease_max_attempts_fails_job() {
	wn_start --lease-ms 300
	mkproject p
	mktask p t --max-attempts 2
	local a other
	a=$(wnctl job add p t --priority 1)
	other=$(wnctl job add p t)
	expect_eq "$(fetch_job p w --task t | jq -r '"\(.id) \(.attempt // 0)"')" "$a 1" "first hand-out"
	wait_for 30 "the first lease of job $a to expire" status_is "$a" pending
	expect_eq "$(fetch_job p w | jq -r '"\(.id) \(.attempt // 0)"')" "$a 2" "second hand-out"
	wait_for 30 "job $a to fail after two lost leases" status_is "$a" failed
	local j
	j=$(job_json "$a")
	expect_eq "$(jq -r '.lost // 0' <<<"$j")" 2 "lost leases"
	[ -n "$(jq -r '.reason // ""' <<<"$j")" ] || fail "failed job without a reason: $j"
	# A failed job is not handed out again; the other job is.
	expect_eq "$(fetch_job p w | jq -r .id)" "$other" "next hand-out"
	# Retry restarts the count.
	expect_exit 0 wnctl job retry "$a"
	expect_eq "$(job_field "$a" '"\(.status) \(.lost // 0)"')" "pending 0" "job after retry"
	expect_eq "$(fetch_job p w | jq -r '"\(.id) \(.attempt // 0)"')" "$a 3" "hand-out after retry"
}

test_lease_heartbeat_keeps_job() {
	# Leases of 6 s: a heartbeat every 0.2 s keeps them however slow the
	# machine is at times.
	wn_start --lease-ms 6000
	mkproject p
	mktask p t
	local a b j exp1
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	j=$(fetch_job p w)
	expect_eq "$(jq -r .id <<<"$j")" "$a" "fetched id"
	exp1=$(jq -r '.lease_expires_ms // 0' <<<"$j")
	expect_eq "$(fetch_job p w | jq -r .id)" "$b" "fetched id"

	# Heartbeats for well over two lease periods keep both jobs RUNNING.
	local end hb n=0 nlost ncancelled expires
	end=$(($(date +%s) + 13))
	while [ "$(date +%s)" -lt "$end" ]; do
		hb=$(wnctl --json queue heartbeat --worker w "$a:1" "$b:1")
		# one jq for the three values: this loop runs for 13 s
		read -r nlost ncancelled expires <<<"$(jq -r \
			'"\((.lost // []) | length) \((.cancelled // []) | length) \(.lease_expires_ms // 0)"' \
			<<<"$hb")"
		expect_eq "$nlost" 0 "lost leases in $hb"
		expect_eq "$ncancelled" 0 "cancelled jobs in $hb"
		[ "$expires" -gt "$exp1" ] || fail "heartbeat did not extend the lease past $exp1: $hb"
		n=$((n + 1))
		sleep 0.2
	done
	[ "$n" -ge 5 ] || fail "only $n heartbeats sent"
	expect_eq "$(job_field "$a" '"\(.status) \(.attempt // 0) \(.lost // 0)"')" "running 1 0" \
		"heartbeated job"
	[ "$(job_field "$a" '.lease_expires_ms // 0')" -gt "$exp1" ] || fail "lease of job $a not extended"

	# A heartbeat for a lease the worker does not hold reports it lost.
	hb=$(wnctl --json queue heartbeat --worker w "$a:7")
	expect_eq "$(jq -r '(.lost // []) | map(tostring) | join(",")' <<<"$hb")" "$a" "lost list"

	# Heartbeating only a: b's lease runs out, a's does not.
	wait_for 30 "the lease of job $b to expire" \
		bash -c '"$0" --json queue heartbeat --worker w "$1:1" >/dev/null &&
			[ "$("$0" --json job show "$2" | jq -r .status)" = pending ]' \
		"$WN_BIN/wnctl" "$a" "$b"
	expect_eq "$(job_status "$a")" running "heartbeated job"
}

test_a_heartbeat_not_naming_a_fresh_lease_is_answered_at_once() {
	set_clock 0
	wn_start --lease-ms 600000 --worker-timeout-ms 600000 --test-clock clock
	mkproject p
	mktask p t
	raw_call /whatsnext.v1.WorkerService/Join "$(pbhex '[(1, [(1, "w1")])]')"
	expect_raw OK "join"
	local a
	a=$(wnctl job add p t)
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$a" "fetched by w1"
	# a long poll naming no lease, sent as the Fetch came back: the job
	# handed out is news already, answered at once and held (field 5)
	raw_call "$M_QUEUE"/Heartbeat "$(pbhex '[(1, "w1"), (4, 30000)]')" --timeout 10000
	expect_raw OK "heartbeat just after the hand-out"
	[[ $(raw_bodies) == *2801 ]] || fail "heartbeat just after the hand-out not held: $RAW_OUT"
	# 5 s on, that lease is old: a heartbeat that leaves it out waits, as a
	# client heartbeating some of its leases at a time is not answered at
	# once again and again
	set_clock 5000
	local t0
	t0=$(date +%s%N)
	raw_call "$M_QUEUE"/Heartbeat "$(pbhex '[(1, "w1"), (4, 1500)]')" --timeout 10000
	expect_raw OK "heartbeat leaving out an old lease"
	[ $(($(date +%s%N) - t0)) -ge 1000000000 ] ||
		fail "a heartbeat leaving out an old lease was answered before its wait"
	# but not for longer than 2 s, held: its worker may be waiting for the
	# Fetch that brings the job, and ships the job's output only once its
	# heartbeat names it (the call's own timeout, 10 s, is well within the
	# 30 s asked for)
	raw_call "$M_QUEUE"/Heartbeat "$(pbhex '[(1, "w1"), (4, 30000)]')" --timeout 10000
	expect_raw OK "long poll leaving out an old lease"
	[[ $(raw_bodies) == *2801 ]] || fail "long poll leaving out an old lease not held: $RAW_OUT"
	# and the one naming it renews it
	expect_exit 0 wnctl queue heartbeat --worker w1 "$a:1"
}
