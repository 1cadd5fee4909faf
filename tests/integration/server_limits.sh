# The limits of the transport under attack (docs/server.md, "Limits"): what a
# hostile peer can make wnd hold or wait for. A raw client
# (tests/tools/sp_attack.py) sends what no well-behaved client would: copies
# of a parked Fetch's request id, fetches by the hundred on one connection.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

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
	# a Submit and a real Fetch work as before (in another project: fetches
	# of the closed connections may still be parked on p until wnd reads
	# their ends, and one of them would be handed the job)
	mkproject p2
	mktask p2 t
	wnctl job add p2 t --name j1 >/dev/null
	expect_eq "$(fetch_job p2 w9 | jq -r .name)" j1 "job fetched"
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

# start_nofile N [wnd args...]: wn_start with at most N descriptors for wnd.
start_nofile() {
	local n=$1
	shift
	export WN_SERVER=ipc://$WN_TMP/wnd.sock
	bash -c 'ulimit -n "$1"; shift; exec "$@"' _ "$n" "$WN_BIN/wnd" --listen "$WN_SERVER" \
		--data "$WN_TMP/data" "$@" >>"$WN_TMP/wnd.log" 2>&1 &
	WND_PID=$!
	WN_PIDS+=("$WND_PID")
	wn_wait_ready
}

# attack_bg OUT ARGS...: sp_attack in the background, its output in OUT, once
# it says it holds its connections.
attack_bg() {
	local out=$1
	shift
	python3 -S "$SP_ATTACK" "$@" >"$out" 2>&1 &
	ATTACK_PID=$!
	WN_PIDS+=("$ATTACK_PID")
	wait_for 60 "the attack's connections" grep -q '^holding' "$out"
}

# log_lines PATTERN: how many lines of wnd's log match.
log_lines() { grep -c -- "$1" "$WN_TMP/wnd.log" || true; }

test_unauthenticated_connections_cannot_make_wnd_hold_their_requests() {
	export WN_TOKEN=sekret
	wn_start
	mkproject p
	mktask p t
	local before out
	before=$(snapshot)
	# 12 connections without a token each send all but the last byte of a
	# 20 MiB request: wnd answers each from its first bytes and drops the
	# rest as it comes, instead of holding 240 MiB
	out=$(attack "$WN_SERVER" bigframe 12 $((20 << 20)) "$WND_PID") || fail "attack failed: $out"
	local growth
	growth=$(sed -n 's/^rss_growth_kb=//p' <<<"$out")
	[ "$growth" -lt $((32 << 10)) ] || fail "wnd grew by $growth KiB: $out"
	expect_eq "$(grep -c '^conn .* code 16 message authenticate first: a request over 1048576 bytes' <<<"$out")" 12 \
		"connections told to authenticate first ($out)"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after the attack"
}

test_a_large_first_request_with_a_token_is_served() {
	export WN_TOKEN=sekret
	wn_start
	mkproject p
	mktask p t
	# a batch of 3 MB: wnctl's first request is over the limit of a
	# connection that has not authenticated, so it authenticates first
	awk 'BEGIN { for (i = 1; i <= 12000; i++)
		printf "{\"project\":\"p\",\"task\":\"t\",\"name\":\"j%d\",\"params\":{\"x\":\"%0200d\"}}\n", i, i }' >batch.jsonl
	[ "$(stat -c %s batch.jsonl)" -gt $((2 << 20)) ] || fail "the batch is too small to test"
	wnctl job batch batch.jsonl >/dev/null
	expect_eq "$(wnctl --json queue stats | jq '[.projects[]?.pending // 0] | add')" 12000 "jobs submitted"
	# a raw client sending the same first gets told, and is served after a
	# small request with the token on the same connection
	pbfile body '[(1, [(1, "p"), (2, "t"), (3, "big"), (4, [(1, "x"), (2, "y" * 1000000)]),
		(4, [(1, "z"), (2, "y" * 1000000)])])]'
	raw_call /whatsnext.v1.JobService/Submit "" --body-file body --token sekret
	expect_raw UNAUTHENTICATED "a 2 MB first request"
	expect_contains "$(raw_message)" "authenticate first" "its message"
	raw_call /whatsnext.v1.JobService/Submit "" --body-file body --token sekret --hello
	expect_raw OK "the same after a small request"
	# a wrong token: wnctl says so, not "authenticate first"
	expect_fail env WN_TOKEN=wrong "$WN_BIN/wnctl" job batch batch.jsonl
	expect_not_contains "$WN_ERR" "authenticate first" "wnctl's message for a wrong token"
	expect_contains "$WN_ERR" "token" "wnctl's message for a wrong token"
}

test_a_revoked_tokens_connection_is_held_to_the_unauthenticated_limit() {
	printf 'admin-secret-for-the-limits-tests\n' >admin.token
	chmod 600 admin.token
	export WN_TOKEN=admin-secret-for-the-limits-tests
	wn_start --admin-token-file admin.token
	local alice
	alice=$(wnctl token create alice --role user)
	# alice's connection authenticates with a List; then alice is revoked
	# and it sends all but the last byte of a 2 MiB request: wnd answers
	# from its first bytes at once, as on a connection that never
	# authenticated, rather than wait for and hold the rest
	python3 -S "$SP_ATTACK" --token "$alice" "$WN_SERVER" revoked $((2 << 20)) revoked.flag \
		>attack.out 2>&1 &
	ATTACK_PID=$!
	WN_PIDS+=("$ATTACK_PID")
	wait_for 60 "alice's List" grep -q '^list: ok' attack.out
	wnctl token revoke alice --yes >/dev/null
	touch revoked.flag
	wait "$ATTACK_PID" || fail "attack failed: $(cat attack.out)"
	expect_contains "$(cat attack.out)" "code 16 message authenticate first: a request over 1048576 bytes" \
		"the answer to the revoked token's large request"
	expect_serving
}

test_unauthenticated_connections_share_a_byte_budget() {
	limits_config "$WN_TMP/wnd.yaml" max_unauthenticated_bytes 4194304
	export WN_TOKEN=sekret
	wn_start --config "$WN_TMP/wnd.yaml"
	# 10 connections each send 600 KiB of a 1 MiB request (allowed alone):
	# wnd holds 4 of them (each 1 MiB less its first 16 KiB) within the 4 MiB
	# all such connections may make it hold, and refuses the other 6 at once
	local out
	out=$(attack "$WN_SERVER" partial 10 $((1 << 20)) $((600 << 10))) || fail "attack failed: $out"
	expect_contains "$out" "answered=6 codes=14" "requests refused"
	expect_contains "$out" "message: the server holds too many bytes from connections that have not authenticated (4194304, max_unauthenticated_bytes); retry later" \
		"refusal"
	expect_eq "$(log_lines 'max_unauthenticated_bytes 4194304')" 1 "log lines"
	expect_serving
}

test_connection_limit_refuses_politely() {
	limits_config "$WN_TMP/wnd.yaml" max_connections 4
	wn_start --config "$WN_TMP/wnd.yaml"
	attack_bg "$WN_TMP/attack.out" "$WN_SERVER" hold 4 request 30
	expect_contains "$(cat "$WN_TMP/attack.out")" "holding 4" "connections held"
	expect_fail wnctl --timeout 5000 project list
	expect_contains "$WN_ERR" "too many connections (4, max_connections); retry later" "wnctl's message"
	kill "$ATTACK_PID"
	wait "$ATTACK_PID" 2>/dev/null || true
	wait_for 10 "wnctl served once the connections are gone" wnctl project list
	expect_eq "$(log_lines 'connection limit reached (4, max_connections)')" 1 "log lines"
}

test_descriptor_exhaustion_keeps_the_log_small() {
	start_nofile 64
	mkproject p
	# 200 connections that only send the handshake, held 5 s, against 64
	# descriptors: wnd serves what its limit allows (sized from them) and
	# refuses the rest, with a line in its log, not one per try; once they
	# are gone a real client is served
	local out
	out=$(attack "$WN_SERVER" hold 200 handshake 5) || fail "attack failed: $out"
	expect_contains "$out" "refused=" "the attack ($out)"
	wait_for 20 "wnctl served once the connections are gone" wnctl --timeout 2000 project list
	local lines
	lines=$(wc -l <"$WN_TMP/wnd.log")
	[ "$lines" -lt 30 ] || fail "wnd logged $lines lines: $(sort "$WN_TMP/wnd.log" | cut -c26- | uniq -c | sort -rn | head -5)"
	expect_eq "$(log_lines 'connection limit reached (16, max_connections)')" 1 "log lines"
	expect_serving
	local lines bytes
	lines=$(wc -l <"$WN_TMP/wnd.log")
	bytes=$(wc -c <"$WN_TMP/wnd.log")
	[ "$lines" -lt 30 ] && [ "$bytes" -lt 8192 ] ||
		fail "wnd logged $lines lines, $bytes bytes: $(head -c 2000 "$WN_TMP/wnd.log")"
}

test_running_out_of_descriptors_backs_off() {
	# a limit above what the descriptors allow: accept runs out of them
	limits_config "$WN_TMP/wnd.yaml" max_connections 1000 idle_timeout_ms 2000 \
		handshake_timeout_ms 2000
	start_nofile 64 --config "$WN_TMP/wnd.yaml"
	expect_eq "$(log_lines 'max_connections 1000 leaves less than')" 1 "warning at start"
	mkproject p
	attack_bg "$WN_TMP/attack.out" "$WN_SERVER" hold 200 handshake 30
	wait_for 20 "wnctl served once the idle connections are closed" \
		wnctl --timeout 2000 project list
	wait "$ATTACK_PID" || fail "attack failed: $(cat "$WN_TMP/attack.out")"
	local opened
	opened=$(sed -n 's/^opened=\([0-9]*\) .*/\1/p' "$WN_TMP/attack.out")
	expect_contains "$(cat "$WN_TMP/attack.out")" "closed_by_server=$opened " \
		"the attack's connections closed by wnd"
	expect_serving
	local n
	n=$(log_lines 'accept on .* failed: Too many open files')
	[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "accept failures logged $n times: $(head -c 2000 "$WN_TMP/wnd.log")"
	[ "$(wc -l <"$WN_TMP/wnd.log")" -lt 30 ] || fail "wnd logged $(wc -l <"$WN_TMP/wnd.log") lines"
}

test_handshake_and_idle_timeouts_close_connections() {
	limits_config "$WN_TMP/wnd.yaml" handshake_timeout_ms 500 idle_timeout_ms 1500
	wn_start --config "$WN_TMP/wnd.yaml"
	mkproject p
	mktask p t
	local mode out
	for mode in none half handshake request; do
		out=$(attack "$WN_SERVER" hold 3 "$mode" 10) || fail "$mode: $out"
		expect_contains "$out" "opened=3 refused=0 closed_by_server=3" "connections that sent $mode"
	done
	# a Fetch that waits longer than the idle time is not idle: answered
	out=$(attack "$WN_SERVER" hold 2 "fetch=$(fetch_body p 3000)" 6) || fail "fetch: $out"
	expect_contains "$out" "answered=2" "waiting fetches answered"
	expect_serving
}

test_a_tls_handshake_that_never_ends_is_closed() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
		-out cert.pem -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
	limits_config "$WN_TMP/wnd.yaml" handshake_timeout_ms 500 tls_cert "$WN_TMP/cert.pem" \
		tls_key "$WN_TMP/key.pem"
	local port
	port=$(free_port)
	wn_start --config "$WN_TMP/wnd.yaml" --listen "tls+tcp://127.0.0.1:$port"
	# connections to the TLS port that never start their TLS handshake
	local out
	out=$(attack "tcp://127.0.0.1:$port" hold 3 none 10) || fail "attack: $out"
	expect_contains "$out" "opened=3 refused=0 closed_by_server=3" "silent TLS connections"
	expect_serving
}

test_the_soft_descriptor_limit_is_raised_to_the_hard_one() {
	# a soft limit under the hard one (1024 under systemd's 524288, say)
	# would only make descriptors run out sooner: wnd raises it at start,
	# and sizes max_connections from what it got
	export WN_SERVER=ipc://$WN_TMP/wnd.sock
	bash -c 'ulimit -S -n 256 && ulimit -H -n 4096 && exec "$@"' _ "$WN_BIN/wnd" \
		--listen "$WN_SERVER" --data "$WN_TMP/data" >>"$WN_TMP/wnd.log" 2>&1 &
	WND_PID=$!
	WN_PIDS+=("$WND_PID")
	wn_wait_ready
	expect_eq "$(awk '/^Max open files/ {print $4, $5}' "/proc/$WND_PID/limits")" "4096 4096" \
		"wnd's descriptor limits"
	expect_eq "$(log_lines 'descriptor limit raised from 256 to 4096')" 1 "the log's line"
	expect_eq "$(log_lines 'serving at most 3520 connections')" 1 "max_connections"
	# one already at its hard limit is left alone, and not logged
	wn_stop
	start_nofile 300
	expect_eq "$(awk '/^Max open files/ {print $4, $5}' "/proc/$WND_PID/limits")" "300 300" \
		"wnd's descriptor limits, soft and hard alike"
	expect_eq "$(log_lines 'descriptor limit raised')" 1 "the log's lines"
}

# A descriptor limit too low to start (ulimit -n under 64, the hard limit
# too) stops wnd at once, before it creates or opens its data directory,
# rather than part way through a start on whatever file it opens then.
test_a_start_with_too_few_descriptors_changes_nothing() {
	local n
	for n in 12 16 63; do
		expect_exit 1 bash -c 'ulimit -n "$1"; shift; exec "$@"' _ "$n" "$WN_BIN/wnd" \
			--listen "ipc://$WN_TMP/few.sock" --data "$WN_TMP/never"
		expect_eq "$WN_ERR" "wnd: too few file descriptors: the limit (ulimit -n) is $n, and a start needs at least 64; raise it" \
			"message with ulimit -n $n"
	done
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory: $(ls "$WN_TMP/never")"
	wn_start
	mkproject p
	wn_stop
	local before
	before=$(ls -l --time-style=full-iso data)
	expect_exit 1 bash -c 'ulimit -n 16; exec "$@"' _ "$WN_BIN/wnd" \
		--listen "ipc://$WN_TMP/few.sock" --data "$WN_TMP/data"
	expect_eq "$(ls -l --time-style=full-iso data)" "$before" "the data directory after the refused start"
	start_nofile 64
	expect_eq "$(project_names)" p "projects"
}
