# The direct client (wn_rpc_open with WN_RPC_DIRECT: one plain socket
# speaking nng's SP protocol) against the real wnd, driven through wnbench,
# whose row threads use it by default: the jobs it reports done are done on
# the server, over tcp and over ipc.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# bench_jobs OUT OP: the jobs column of the row OP in wnbench's thread table
# OUT (columns: mode, op, threads, jobs, ...; op may hold spaces).
bench_jobs() {
	awk -v op="$2" '{
		line = $0
		sub(/^[^ ]+ +/, "", line)
		if (index(line, op " ") == 1) {
			rest = substr(line, length(op) + 1)
			split(rest, f, " ")
			print f[2]
		}
	}' <<<"$1"
}

# run_direct_bench: 300 no-op requests through each client, then 300 jobs
# submitted, fetched and completed through the direct client (2 producers,
# 2 consumers); the server's counts must agree with what wnbench printed.
run_direct_bench() {
	local out
	out=$("$WN_BIN/wnbench" --server "$WN_SERVER" --client direct --label direct \
		--ops noop,cycle --threads 2 --jobs 300 --duration 60 --warmup 0 --keep \
		--no-header 2>&1) || fail "wnbench --client direct failed: $out"
	expect_eq "$(bench_jobs "$out" "no-op request")" 300 "no-op requests, direct client"
	expect_eq "$(bench_jobs "$out" "no-op, nng REQ")" 300 "no-op requests, nng client"
	expect_eq "$(bench_jobs "$out" cycle)" 300 "jobs wnbench completed"
	local stats
	stats=$(wnctl --json queue stats)
	# one project per row; the cycle row's holds every job, all completed
	expect_eq "$(jq '[.projects[] | select(.project | startswith("wnbench-"))] | length' <<<"$stats")" 3 \
		"benchmark projects"
	expect_eq "$(jq '[.projects[].completed] | add' <<<"$stats")" 300 "completed jobs on the server"
	expect_eq "$(jq '[.projects[] | .pending + .running + .failed] | add' <<<"$stats")" 0 \
		"jobs not completed on the server"
	expect_serving
}

test_direct_client_tcp() {
	export WN_SERVER=tcp://127.0.0.1:$(free_port)
	wn_start --durability relaxed
	run_direct_bench
}

test_direct_client_ipc() {
	wn_start --durability relaxed
	expect_contains "$WN_SERVER" ipc:// "server address"
	run_direct_bench
}

test_direct_client_bad_option() {
	wn_start
	expect_fail "$WN_BIN/wnbench" --server "$WN_SERVER" --client zmq --ops noop
	expect_contains "$WN_ERR" "--client: expected direct or nng: zmq"
}
