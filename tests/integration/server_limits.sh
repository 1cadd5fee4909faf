# The limits of the transport under attack (docs/server.md, "Limits"): what a
# hostile peer can make wnd hold or wait for. A raw client
# (tests/tools/sp_attack.py) sends what no well-behaved client would: copies
# of a parked Fetch's request id, fetches by the hundred on one connection.
source "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"

SP_ATTACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/sp_attack.py"

# fetch_body PROJECT WAIT_MS [WORKER]; submit_body PROJECT TASK NAME: request bodies.
fetch_body() { pbhex '[(1, A[0]), (2, A[2]), (3, int(A[1]))]' "$1" "$2" "${3:-w1}"; }
submit_body() { pbhex '[(1, [(1, A[0]), (2, A[1]), (3, A[2])])]' "$1" "$2" "$3"; }

attack() { python3 -S "$SP_ATTACK" "$@"; }

# limits_config FILE KEY VALUE...: a wnd config with these settings.
limits_config() {
	local f=$1
	shift
	: >"$f"
	while [ $# -gt 0 ]; do
		echo "$1: $2" >>"$f"
		shift 2
	done
}

test_copies_of_a_parked_fetch_block_no_event_loop() {
	wn_start --threads 2
	mkproject p
	mktask p t
	# A Fetch that waits a minute, then six copies of it (its request id) on
	# connections of their own: each copy is answered or takes the Fetch's
	# place at once, so the Lists behind them, and one on a new connection,
	# are answered while the Fetch still waits
	local out
	out=$(attack "$WN_SERVER" repeat 6 "$(fetch_body p 60000)" "$(submit_body p t j1)") ||
		fail "attack failed: $out"
	local i
	for i in 1 2 3 4 5 6; do
		expect_contains "$out" "copy $i list: ok" "List behind copy $i"
	done
	expect_contains "$out" "fresh list: ok" "List on a new connection"
	expect_contains "$out" "early fetch replies: 0" "Fetch replies before a job existed"
	# the job goes once, to the last copy (the one a resending client waits on)
	expect_contains "$out" "fetch reply: copy 6 code 0 job 1" "who got the job"
	expect_contains "$out" "other fetch replies: 0" "replies to the copies let go"
	expect_eq "$(job_status 1)" running "the job, leased once"
	expect_eq "$(job_field 1 .attempt)" 1 "attempts"
	expect_serving
}

test_one_connection_cannot_park_fetches_without_bound() {
	wn_start
	mkproject p
	mktask p t
	# 40 fetches on one connection: 16 wait (the default cap), the rest are
	# refused at once with RESOURCE_EXHAUSTED, and the server goes on serving
	local out
	out=$(attack "$WN_SERVER" parkmany 1 40 "$(fetch_body p 60000)") || fail "attack failed: $out"
	expect_contains "$out" "conn 1 refused=24 codes=8" "fetches refused"
	expect_contains "$out" "message: too many fetches wait on this connection (16, " "message"
	expect_contains "$out" "fresh list: ok" "a List with 16 fetches parked"
	expect_serving
}

test_parked_fetches_are_capped_per_connection_and_in_all() {
	limits_config "$WN_TMP/wnd.yaml" max_parked_per_connection 4 max_parked_fetches 10
	wn_start --config "$WN_TMP/wnd.yaml"
	mkproject p
	mktask p t
	# three connections of 6 fetches: 4 park on each of the first two, the
	# third finds 2 places left in all; the rest are refused at once
	local out
	out=$(attack "$WN_SERVER" parkmany 3 6 "$(fetch_body p 60000)") || fail "attack failed: $out"
	expect_contains "$out" "conn 1 refused=2 codes=8" "first connection"
	expect_contains "$out" "conn 2 refused=2 codes=8" "second connection"
	expect_contains "$out" "conn 3 refused=4 codes=8" "third connection (the server's cap)"
	expect_contains "$out" "message: too many fetches wait on this connection (4, max_parked_per_connection)" \
		"refusal message"
	expect_contains "$out" "fresh list: ok" "a List with every fetch parked"
	# the connections closed, their places are free again
	wait_for 10 "the parked fetches of closed connections dropped" \
		bash -c "python3 -S '$SP_ATTACK' '$WN_SERVER' parkmany 1 4 '$(fetch_body p 60000)' | grep -q 'conn 1 refused=0'"
	# a Submit and a real Fetch work as before
	wnctl job add p t --name j1 >/dev/null
	expect_eq "$(fetch_job p w9 | jq -r .id)" 1 "job fetched"
	expect_serving
}

test_limits_out_of_bounds_stop_wnd() {
	local key out rc
	for key in max_parked_per_connection max_parked_fetches; do
		limits_config "$WN_TMP/bad.yaml" "$key" 0
		rc=0
		out=$(timeout 10 "$WN_BIN/wnd" --config "$WN_TMP/bad.yaml" --data "$WN_TMP/d" \
			--listen "ipc://$WN_TMP/bad.sock" 2>&1) || rc=$?
		[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$key 0: exit $rc"
		expect_contains "$out" "bad.yaml:1:" "$key 0: where"
		expect_contains "$out" "'$key' must be between 1 and" "$key 0: the bound"
	done
}
