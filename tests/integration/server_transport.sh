# The transport: wnd's own implementation of nng's wire protocol, driven by
# a raw client (tests/tools/sp_peer.py) that sends what an nng socket would
# not, and by the real binaries: several requests in flight on one
# connection with replies out of order, a request arriving a byte at a time,
# wrong handshakes, addresses in use, a socket file left by a killed server.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

SP_PEER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/sp_peer.py"
M_FETCH=/whatsnext.v1.QueueService/Fetch
M_SUBMIT=/whatsnext.v1.JobService/Submit

# fetch_body PROJECT WAIT_MS; submit_body PROJECT TASK NAME: request bodies.
fetch_body() { pbhex '[(1, A[0]), (2, "w1"), (3, int(A[1]))]' "$1" "$2"; }
submit_body() { pbhex '[(1, [(1, A[0]), (2, A[1]), (3, A[2])])]' "$1" "$2" "$3"; }

test_replies_come_back_out_of_order_on_one_connection() {
	wn_start
	mkproject p
	mktask p t
	# A Fetch that waits, then a Submit, in one write on one connection: the
	# Submit is answered first, then the parked Fetch with the job it made.
	local out
	out=$(python3 "$SP_PEER" "$WN_SERVER" pipeline "$M_FETCH:$(fetch_body p 5000)" \
		"$M_SUBMIT:$(submit_body p t j1)") || fail "pipeline failed: $out"
	local first second
	first=$(sed -n 1p <<<"$out")
	second=$(sed -n 2p <<<"$out")
	expect_eq "${first%% *}" 2 "SP id of the first reply (the Submit's)"
	expect_eq "${second%% *}" 1 "SP id of the second reply (the Fetch's)"
	expect_eq "$(cut -d' ' -f2 <<<"$first") $(cut -d' ' -f2 <<<"$second")" "0 0" "codes"
	expect_eq "$(cut -d' ' -f3 <<<"$second")" "$(cut -d' ' -f3 <<<"$first")" \
		"job fetched = job submitted"
	expect_eq "$(wnctl --json job list --project p --all | jq_jobs | jq -r '.status')" running "job status"
}

test_many_requests_in_one_write() {
	wn_start
	mkproject p
	mktask p t
	local args=() i
	for i in $(seq 1 20); do args+=("$M_SUBMIT:$(submit_body p t "j$i")"); done
	local out
	out=$(python3 "$SP_PEER" "$WN_SERVER" pipeline "${args[@]}") || fail "pipeline failed: $out"
	expect_eq "$(awk '{print $1}' <<<"$out" | sort -n | tr '\n' ' ')" "$(seq 1 20 | tr '\n' ' ')" \
		"every request answered once"
	expect_eq "$(awk '$2 != 0' <<<"$out")" "" "replies that are not OK"
	expect_eq "$(wnctl --json job list --project p --all | jq_jobs | jq -s length)" 20 "jobs on the server"
}

test_request_arriving_a_byte_at_a_time() {
	wn_start
	mkproject p
	mktask p t
	local out
	out=$(python3 "$SP_PEER" "$WN_SERVER" trickle "$M_SUBMIT:$(submit_body p t slow)") ||
		fail "trickle failed: $out"
	expect_eq "${out%% *}" 0 "code of the trickled Submit"
	expect_eq "$(wnctl --json job list --project p --all | jq_jobs | jq -r .name)" slow "job on the server"
}

# test-tier: long
test_client_that_does_not_read_cannot_fill_the_servers_memory() {
	wn_start
	mkproject p
	local before out
	before=$(snapshot)
	# 800,000 requests (about 38 MB) sent while no reply is read for 3 s: the
	# server stops reading once 8 MiB of replies wait, so the client cannot
	# send them all; once it reads, every request is answered
	out=$(python3 "$SP_PEER" "$WN_SERVER" flood 800000 3) || fail "flood failed: $out"
	expect_eq "$(sed -n 's/^sent_all=//p' <<<"$out")" 0 \
		"all requests taken while their replies went unread"
	expect_eq "$(sed -n 's/^replies=//p' <<<"$out")" 800000 "replies once the client reads"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after the flood"
}

test_wrong_handshakes_are_closed() {
	wn_start
	mkproject p
	local before hs
	before=$(snapshot)
	# PUB (32), REP (49) instead of REQ, a bad magic, an HTTP request
	for hs in 0053500000200000 0053500000310000 0058590000300000 474554202f20485454502f312e310d0a0d0a; do
		expect_eq "$(python3 "$SP_PEER" "$WN_SERVER" handshake "$hs")" closed "connection after handshake $hs"
	done
	# the right one stays open
	expect_eq "$(python3 "$SP_PEER" "$WN_SERVER" handshake 0053500000300000)" open "connection after REQ's handshake"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after wrong handshakes"
}

test_socket_file_left_by_a_killed_server_is_replaced() {
	wn_start
	mkproject p
	wn_kill9
	[ -S "${WN_SERVER#ipc://}" ] || fail "the killed server's socket file is gone (the test needs it)"
	wn_start
	expect_eq "$(project_names)" p "projects after the restart on the same socket"
}

test_address_in_use_is_refused() {
	wn_start
	mkproject p
	local rc=0 out
	out=$(timeout 10 "$WN_BIN/wnd" --data "$WN_TMP/other" --listen "$WN_SERVER" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "second wnd on $WN_SERVER: exit $rc"
	grep -q "cannot listen on $WN_SERVER: address in use" <<<"$out" || fail "message: $out"
	# a port someone else listens on
	python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(30)' "$WN_TMP/port" &
	WN_PIDS+=("$!")
	local i port
	for i in $(seq 1 100); do [ -s "$WN_TMP/port" ] && break; sleep 0.05; done
	port=$(<"$WN_TMP/port")
	rc=0
	out=$(timeout 10 "$WN_BIN/wnd" --data "$WN_TMP/other" --listen "tcp://127.0.0.1:$port" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd on a busy port: exit $rc"
	grep -q "cannot listen on tcp://127.0.0.1:$port: address in use" <<<"$out" || fail "message: $out"
	expect_serving
	expect_eq "$(project_names)" p "the first server's projects"
}

test_unsupported_addresses_are_refused() {
	local url rc out
	for url in ws://127.0.0.1:1 tcp://127.0.0.1 "ipc://" "tcp://no.such.host.invalid:1"; do
		rc=0
		out=$(timeout 10 "$WN_BIN/wnd" --data "$WN_TMP/d" --listen "$url" 2>&1) || rc=$?
		[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd --listen $url: exit $rc"
		grep -q "cannot listen on $url" <<<"$out" || fail "wnd --listen $url: $out"
	done
}
