# wnctl against wnd: help, usage errors, exit codes, one-line messages,
# addresses, --json shapes.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# expect_one_line_error: $WN_ERR is exactly one line starting with "wnctl: ".
expect_one_line_error() {
	[ "$(wc -l <<<"$WN_ERR" | tr -d ' ')" = 1 ] || fail "${1:-error}: stderr is not one line: $WN_ERR"
	[[ $WN_ERR == "wnctl: "?* ]] || fail "${1:-error}: stderr does not start with 'wnctl: ': $WN_ERR"
}

test_cli_help() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 0 wnctl --help
	local help=$WN_OUT$WN_ERR n
	for n in project task job queue status; do
		expect_contains "$help" "$n" "wnctl --help"
	done
	for n in project task job queue; do
		expect_exit 0 wnctl "$n" --help
		[ -n "$WN_OUT$WN_ERR" ] || fail "wnctl $n --help printed nothing"
	done
	local v
	for v in "project create" "project list" "task create" "job add" "job batch" "job list" \
		"queue fetch" "queue heartbeat" "queue complete" "queue pop"; do
		# shellcheck disable=SC2086
		expect_exit 0 wnctl $v --help
		[ -n "$WN_OUT$WN_ERR" ] || fail "wnctl $v --help printed nothing"
	done
	expect_exit 0 wnctl job add --help
	expect_contains "$WN_OUT$WN_ERR" --priority "job add --help"
}

test_cli_usage_errors() {
	# No server: a usage error must be found before any connection.
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 2 wnctl
	local args
	for args in frobnicate "project frobnicate" "project create" "task create p" "job add p" \
		"job show" "job show notanumber" "queue complete 1" \
		"--no-such-option project list" "job priority 1" "job list --limit many"; do
		# shellcheck disable=SC2086
		expect_exit 2 wnctl $args
		[[ $WN_ERR == wnctl:* ]] ||
			fail "'wnctl $args': usage error without 'wnctl:' first: $WN_ERR"
	done
}

test_cli_unreachable() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 3 wnctl --timeout 500 project list
	expect_one_line_error "unreachable ipc"
	expect_exit 3 wnctl --timeout 500 --server "tcp://127.0.0.1:$(free_port)" job show 1
	expect_one_line_error "unreachable tcp"
	expect_exit 3 wnctl --timeout 500 status
	# a list in JSON begins with the first page: nothing on stdout
	expect_exit 3 wnctl --timeout 500 --json job list --all
	expect_eq "$WN_OUT" "" "stdout of --json job list with no server"
	expect_one_line_error "unreachable, json list"
	# What is not an address at all is a usage error, as documented.
	expect_exit 2 wnctl --server 127.0.0.1:7805 status
	expect_one_line_error "not an address"
	expect_contains "$WN_ERR" "bad server address 127.0.0.1:7805: " "not an address"
	expect_exit 2 env WN_SERVER=http://127.0.0.1:7805 "$WN_BIN/wnctl" status
	# an empty WN_SERVER counts as not set; an empty --server is a usage error
	expect_exit 3 env WN_SERVER= "$WN_BIN/wnctl" --timeout 500 status
	expect_contains "$WN_ERR" "tcp://127.0.0.1:7640" "empty WN_SERVER: the default address"
	expect_exit 2 wnctl --server '' status
	expect_eq "$WN_ERR" "wnctl: invalid --server: empty address (see 'wnctl --help')"

	# A server that accepts but does not answer: no reply is exit 3 too.
	wn_start
	kill -STOP "$WND_PID"
	wait_stopped "$WND_PID"
	local rc=0 rc300=0
	timeout 30 "$WN_BIN/wnctl" --timeout 1000 project list >/dev/null 2>stopped.err || rc=$?
	timeout 30 "$WN_BIN/wnctl" --timeout 300 project list >/dev/null 2>stopped300.err || rc300=$?
	# a call allowed longer than --timeout (a backup) still connects within it
	local rcb=0
	timeout 30 "$WN_BIN/wnctl" --timeout 300 admin backup "$PWD/bk" >/dev/null 2>backup.err ||
		rcb=$?
	kill -CONT "$WND_PID"
	expect_eq "$rcb" 3 "admin backup with a server that does not answer ($(<backup.err))"
	expect_contains "$(<backup.err)" "cannot connect to $WN_SERVER within 300 ms" \
		"admin backup, a server that does not answer"
	expect_eq "$rc" 3 "exit status with a server that does not answer ($(<stopped.err))"
	expect_eq "$rc300" 3 "the same with --timeout 300 ($(<stopped300.err))"
	# opening counts against --timeout: the message names the timeout given
	expect_contains "$(<stopped.err)" "within 1000 ms" "a server that does not answer"
	expect_contains "$(<stopped300.err)" "cannot connect to $WN_SERVER within 300 ms" \
		"a server that does not answer, --timeout 300"
	expect_serving
}

test_cli_exit_codes_and_messages() {
	wn_start
	mkproject p
	mktask p t
	expect_exit 4 wnctl project show nosuch
	expect_one_line_error "NOT_FOUND"
	expect_exit 4 wnctl job show 424242
	expect_one_line_error "NOT_FOUND job"
	expect_exit 5 wnctl project create p
	expect_one_line_error "ALREADY_EXISTS"
	local id
	id=$(wnctl job add p t)
	expect_exit 6 wnctl queue complete "$id" 1 --worker w
	expect_one_line_error "FAILED_PRECONDITION"
	expect_exit 7 wnctl project create "bad name"
	expect_one_line_error "INVALID_ARGUMENT"
	expect_exit 0 wnctl status
	# Results on stdout, nothing on stderr.
	expect_exit 0 wnctl job add p t
	[[ $WN_OUT =~ ^[0-9]+$ ]] || fail "job add printed '$WN_OUT'"
	expect_eq "$WN_ERR" "" "stderr of a successful command"
}

test_cli_addresses() {
	local port
	port=$(free_port)
	local tcp=tcp://127.0.0.1:$port
	# Two listeners: the private ipc address and a tcp one.
	wn_start --listen "$tcp"
	expect_exit 0 wnctl --server "$tcp" project create viatcp
	expect_exit 0 env WN_SERVER="$tcp" "$WN_BIN/wnctl" project show viatcp
	expect_exit 0 wnctl project show viatcp
	# --server wins over WN_SERVER.
	expect_exit 0 env WN_SERVER="ipc://$WN_TMP/nobody.sock" "$WN_BIN/wnctl" --server "$tcp" \
		project show viatcp
	expect_exit 3 env WN_SERVER="$tcp" "$WN_BIN/wnctl" --timeout 500 \
		--server "ipc://$WN_TMP/nobody.sock" project show viatcp
}

# A port past 65535 (a mistyped 76400 for 7640) is refused, never wrapped
# around to another port where another server may be listening: wnd on
# port P is not reached by P + 65536.
test_cli_port_out_of_range_is_refused() {
	local port
	port=$(free_port)
	wn_start --listen "tcp://127.0.0.1:$port"
	expect_exit 0 wnctl --server "tcp://127.0.0.1:$port" project create reached
	expect_exit 2 wnctl --server "tcp://127.0.0.1:$((port + 65536))" project create wrapped
	expect_eq "$WN_ERR" "wnctl: bad server address tcp://127.0.0.1:$((port + 65536)): the port must be a number from 0 to 65535"
	expect_exit 2 wnctl --server "tcp://127.0.0.1:${port}x" project list
	expect_contains "$WN_ERR" "the port must be a number from 0 to 65535"
	expect_exit 2 env WN_SERVER="tcp://[::1]:99999" "$WN_BIN/wnctl" status
	expect_contains "$WN_ERR" "the port must be a number from 0 to 65535"
	expect_exit 4 wnctl project show wrapped
	# and wnd refuses to listen on one
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/d2" --listen "tcp://127.0.0.1:$((port + 65536))"
	expect_contains "$WN_ERR" "the port must be a number from 0 to 65535"
	# nor serve HTTP on one (it served on another port, the number modulo 65536)
	local url
	for url in "127.0.0.1:$((port + 65536))" "http://127.0.0.1:99999"; do
		expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/d2" --listen "ipc://$WN_TMP/d2.sock" \
			--http "$url"
		expect_eq "$WN_ERR" "wnd: cannot serve http on $url: the port must be a number from 0 to 65535"
	done
	[ ! -e "$WN_TMP/d2" ] || fail "a refused wnd made a data directory"
}

test_cli_json_shapes() {
	wn_start
	expect_exit 0 wnctl --json project create p --description d
	expect_exit 0 wnctl project create empty
	mktask p t
	local j id
	j=$(wnctl --json project show p)
	expect_eq "$(jq -r '"\(.name) \(.description) \(.status)"' <<<"$j")" "p d active" "project JSON"
	j=$(wnctl --json job add p t --name n1 --param a=b)
	id=$(jq -r '.job.id // .id' <<<"$j")
	[[ $id =~ ^[0-9]+$ ]] || fail "job add --json without an id: $j"
	j=$(job_json "$id")
	expect_eq "$(jq -r '[.id, .project, .task, .name, .status, .attempt // 0, .params.a] |
		join(" ")' <<<"$j")" "$id p t n1 pending 0 b" "job JSON"
	# {"job":null}, possibly with other empty fields.
	j=$(wnctl --json queue fetch empty --worker w)
	expect_eq "$(jq -c '[.job, ([.[]] | map(select(. != null and . != [] and . != 0 and
		. != "" and . != false)))]' <<<"$j")" '[null,[]]' "fetch --json with no job: $j"
	j=$(wnctl --json queue fetch p --worker w)
	expect_eq "$(jq -r '"\(.job.id) \(.job.status) \(.job.attempt) \(.job.worker)"' <<<"$j")" \
		"$id running 1 w" "fetch JSON"
	j=$(wnctl --json queue stats p)
	expect_eq "$(jq -r '.projects[0] | "\(.project) \(.running // 0) \(.pending // 0)"' <<<"$j")" \
		"p 1 0" "stats JSON"
	j=$(wnctl --json task show p t)
	expect_eq "$(jq -r '"\(.project) \(.name) \(.max_attempts)"' <<<"$j")" "p t 3" "task JSON"
	j=$(wnctl --json queue complete "$id" 1 --worker w --fail --exit-code 2 --reason r)
	expect_eq "$(jq -r '.job.status // .status' <<<"$j")" failed "complete JSON"
	expect_eq "$(job_status "$id")" failed "status after --fail"
	wnctl --json job list --all | jq -e . >/dev/null || fail "job list --json is not JSON"
	wnctl --json status | jq -e . >/dev/null || fail "status --json is not JSON"
	# Human output of a fetch with no job is empty.
	expect_exit 0 wnctl queue fetch empty --worker w
	expect_eq "$WN_OUT" "" "fetch with no job"
	expect_exit 0 wnctl job list
	expect_contains "$WN_OUT" "$id" "job list"
	expect_contains "$WN_OUT" failed "job list"
}

# 64-bit integers are printed exactly: up to 2^53 - 1 as JSON integers,
# beyond as strings of their decimal digits (readers that hold numbers as
# doubles would round them). A Submit's request id is any 64-bit number.
test_cli_json_64_bit_integers() {
	wn_start
	mkproject p
	mktask p t
	local rid body
	body=$(pbhex '[(1, [(1, "p"), (2, "t")])]')
	for rid in 18446744073709551557 9223372036854775809 9007199254740993 9007199254740991; do
		raw_call $M_JOB/Submit "$body" --id "$rid"
		expect_raw OK "submit with request id $rid"
	done
	wnctl --json job list --project p --all >list.json
	python3 - list.json <<'PY' || fail "request ids in job list --json: $(<list.json)"
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
got = [(j["id"], j["submit_request_id"]) for j in jobs]
want = [(1, "18446744073709551557"), (2, "9223372036854775809"), (3, "9007199254740993"),
        (4, 9007199254740991)]
assert got == want, got
PY
	local j
	j=$(job_json 1)
	expect_contains "$j" '"submit_request_id": "18446744073709551557"' "job show --json"
	expect_eq "$(jq -r .submit_request_id <<<"$j")" 18446744073709551557 "jq's reading"
	expect_contains "$(job_json 4)" $'"submit_request_id": 9007199254740991,\n' "job show --json"
}
