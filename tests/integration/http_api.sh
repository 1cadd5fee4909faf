# The HTTP/JSON API (docs/http.md) with curl: every kind of method answers
# the JSON that the Protocol Buffers project's own library makes of the
# protobuf reply the SP listener gives (tests/tools/pb_oracle.py); changes
# made over HTTP are durable and seen by wnctl; bad JSON, verbs, media types
# and paths get 4xx with a message and change nothing; request ids; waits
# parked over HTTP, dropped by their client, and at shutdown; tokens; CORS;
# https; the secure default.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

WN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ORACLE=$WN_SRC/tests/tools/pb_oracle.py

# oracle_init: the Python module of the .proto for pb_oracle.py.
oracle_init() {
	mkdir -p py
	protoc --python_out=py -I"$WN_SRC/proto" "$WN_SRC/proto/whatsnext.proto" ||
		fail "protoc could not compile the .proto"
}

# hcall METHOD JSON [curl args...]: POST /v1/METHOD with body JSON; the body
# of the reply in $HBODY, its status in $HSTATUS, its headers in hdrs.
hcall() {
	local method=$1 body=$2
	shift 2
	HSTATUS=$(curl -sS -o hbody -D hdrs -w '%{http_code}' -X POST "$WN_HTTP/v1/$method" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@") ||
		fail "curl $method: no reply"
	HBODY=$(<hbody)
}

# expect_http STATUS METHOD JSON [curl args...]: hcall, then the status.
expect_http() {
	local want=$1
	shift
	hcall "$@"
	expect_eq "$HSTATUS" "$want" "HTTP status of $1 $2 (body $HBODY)"
}

# typed_create STATUS TYPE NAME: ProjectService/Create of project NAME with
# a body of Content-Type TYPE (the one Content-Type line) answers STATUS.
typed_create() {
	HSTATUS=$(curl -sS -o hbody -w '%{http_code}' -X POST "$WN_HTTP/v1/ProjectService/Create" \
		-H "Content-Type: $2" --data-binary "{\"name\":\"$3\"}") || fail "curl: no reply"
	HBODY=$(<hbody)
	expect_eq "$HSTATUS" "$1" "HTTP status of a body of Content-Type $2 (body $HBODY)"
}

# same_as_sp METHOD JSON: the HTTP reply of METHOD to JSON equals, as the
# oracle reads them, the SP listener's protobuf reply to the same request.
same_as_sp() {
	local method=$1 req=$2 hex
	expect_http 200 "$method" "$req"
	hex=$("$ORACLE" py request "/$method" encode "$req") || fail "oracle: $req"
	raw_call "/whatsnext.v1.$method" "$hex"
	expect_eq "$(raw_code)" OK "SP reply to $method"
	local want got
	want=$("$ORACLE" py reply "/$method" decode "$(raw_bodies)")
	got=$(jq -cS . <<<"$HBODY")
	expect_eq "$got" "$want" "JSON of $method $req"
}

test_json_replies_equal_the_protobuf_replies() {
	oracle_init
	wn_start --http 127.0.0.1:0
	wn_http_url
	expect_http 200 ProjectService/Create '{"name":"p","description":"first ✓"}'
	expect_eq "$(jq -r .name <<<"$HBODY")" p
	expect_eq "$(jq -r .status <<<"$HBODY")" PROJECT_ACTIVE
	expect_http 200 TaskService/Create \
		'{"task":{"project":"p","name":"train","resources":{"cpu":1,"memoryMb":"64"},"maxAttempts":3}}'
	expect_http 200 JobService/Submit \
		'{"job":{"project":"p","task":"train","params":{"lr":"0.1","seed":"7"},"priority":5}}'
	local id
	id=$(jq -r .job.id <<<"$HBODY")
	[[ $id =~ ^[0-9]+$ ]] || fail "a job id is a string of digits: $HBODY"
	expect_eq "$(jq -r .job.status <<<"$HBODY")" JOB_PENDING
	# wnctl (over SP) sees what HTTP made
	expect_eq "$(wnctl --json job show "$id" | jq -r '.params.lr')" 0.1
	wnctl job add p train --param lr=0.2 >/dev/null
	# one job runs with results, so replies hold maps of oneofs, times, enums
	printf 'loss=0.25\nacc=0.5\n' >r.txt
	{
		worker_head
		cat <<EOF
tasks:
  train:
    command: [/bin/sh, -c, "cat $WN_TMP/r.txt >>\$WN_RESULTS; echo done"]
EOF
	} >worker.yaml
	worker_start w1 worker.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(wnctl --json job show "$id" | jq -r .status)" completed
	same_as_sp ProjectService/List '{}'
	same_as_sp ProjectService/Get '{"name":"p"}'
	same_as_sp TaskService/List '{"project":"p"}'
	same_as_sp JobService/Get "{\"id\":\"$id\"}"
	same_as_sp JobService/Get "{\"id\":$id}"
	same_as_sp JobService/List '{"project":"p","status":"JOB_COMPLETED"}'
	same_as_sp JobService/List '{"project":"p","pageSize":1}'
	same_as_sp JobService/History "{\"id\":\"$id\"}"
	same_as_sp WorkerService/List '{}'
	expect_eq "$(jq -r '.jobs[0].results.loss.number' <<<"$(curl -s -X POST \
		-H 'Content-Type: application/json' -d '{"project":"p","status":"JOB_COMPLETED"}' \
		"$WN_HTTP/v1/JobService/List")")" 0.25
	# the original field names are read too
	expect_http 200 JobService/List '{"project":"p","page_size":1}'
	expect_eq "$(jq '.jobs | length' <<<"$HBODY")" 1
	# a change made over HTTP is durable: kill -9 right after the reply
	expect_http 200 ProjectService/Create '{"name":"durable"}'
	wn_kill9
	wn_start --http 127.0.0.1:0
	expect_eq "$(project_names)" durable,p
}

test_bad_requests_get_4xx_and_change_nothing() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	local before
	before=$(wnctl --json job list --all)
	expect_http 400 ProjectService/Create 'not json'
	expect_eq "$(jq -r .code <<<"$HBODY")" 3
	[ -n "$(jq -r .message <<<"$HBODY")" ] || fail "no message: $HBODY"
	expect_http 400 ProjectService/Create '{"name": 5}'
	expect_contains "$(jq -r .message <<<"$HBODY")" name
	expect_http 400 ProjectService/Create '{"nme": "x"}'
	expect_contains "$(jq -r .message <<<"$HBODY")" nme
	expect_http 400 ProjectService/Create '{"name": "x"} trailing'
	expect_http 400 ProjectService/Create '["x"]'
	expect_http 400 JobService/Submit '{"job":{"project":"p","task":"t","priority":"high"}}'
	expect_http 400 JobService/Get '{"id":"-1"}'
	expect_http 400 JobService/Get '{"id":"18446744073709551616"}'
	expect_http 400 JobService/Get '{"id":1.5}'
	# a number a double reads as an integer, which it is not, is refused
	# by what was written (-1e-400 is -0.0 as a double)
	expect_http 400 JobService/List '{"pageSize":-1e-400}'
	expect_eq "$(jq -r .message <<<"$HBODY")" 'field "pageSize": -1e-400 is not an integer'
	expect_http 400 JobService/Get '{"id":2051.0000000000001}'
	expect_eq "$(jq -r .message <<<"$HBODY")" 'field "id": 2051.0000000000001 is not an integer'
	# a uint64 past 2^63-1 as a number is refused saying to send a string,
	# which is read exactly
	expect_http 400 JobService/Get '{"id":18446744073709551615}'
	expect_contains "$(jq -r .message <<<"$HBODY")" "must be sent as a string of its digits"
	expect_http 404 JobService/Get '{"id":"18446744073709551615"}'
	expect_contains "$(jq -r .message <<<"$HBODY")" "job 18446744073709551615 not found"
	expect_http 400 ProjectService/Create '{"name":"a\u0000b"}'
	# the server's own checks answer in JSON too
	expect_http 400 ProjectService/Create '{"name":"bad name!"}'
	expect_eq "$(jq -r .code <<<"$HBODY")" 3
	expect_http 404 JobService/Get '{"id":"999"}'
	expect_eq "$(jq -r .code <<<"$HBODY")" 5
	expect_http 409 ProjectService/Create '{"name":"p"}'
	expect_eq "$(jq -r .code <<<"$HBODY")" 6
	# a message that quotes a name cut inside a character is still JSON
	# with its code and message (the cut character left out)
	local long
	long=$(printf 'a%.0s' {1..139})é
	expect_http 400 ProjectService/Create "{\"name\":\"$long\"}"
	expect_eq "$(jq -r .code <<<"$HBODY")" 3
	expect_contains "$(jq -r .message <<<"$HBODY")" aaaaaaaa
	# verbs, media types, paths
	expect_http 415 ProjectService/Create '{"name":"y"}' -H 'Content-Type: text/plain'
	expect_http 415 ProjectService/Create '{"name":"y"}' -H 'Content-Type: application/x-www-form-urlencoded'
	# JSON is UTF-8: a body said to be in another charset is not read as UTF-8
	typed_create 415 'application/json; charset=latin1' y
	expect_eq "$(jq -r .message <<<"$HBODY")" "the body must be JSON in UTF-8: charset=latin1 is not read (send Content-Type: application/json, or application/json; charset=utf-8)"
	typed_create 415 'application/json;charset="iso-8859-1"' y
	expect_contains "$(jq -r .message <<<"$HBODY")" "charset=iso-8859-1 is not read"
	typed_create 415 'application/json; charset=utf-16' y
	typed_create 415 'application/json; charset' y
	typed_create 415 'application/jsonx' y
	expect_eq "$(project_names)" p
	typed_create 200 'application/json; charset=utf-8' u1
	typed_create 200 'Application/JSON ; Charset="UTF-8"' u2
	typed_create 200 'application/json;' u3
	expect_eq "$(project_names)" p,u1,u2,u3
	local u
	for u in u1 u2 u3; do expect_http 200 ProjectService/Delete "{\"name\":\"$u\"}"; done
	expect_http 404 NoService/Create '{"name":"y"}'
	expect_http 404 ProjectService/Nope '{"name":"y"}'
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$WN_HTTP/v1/ProjectService/List")" 405
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$WN_HTTP/no/such/page")" 404
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$WN_HTTP/")" 405
	# a body past the limit
	head -c $((24 << 20)) /dev/zero | tr '\0' ' ' >big.json
	local st
	st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary @big.json "$WN_HTTP/v1/ProjectService/Create")
	[[ $st == 4* ]] || fail "a 24 MiB body: status $st"
	# nothing changed, and wnd serves on
	expect_eq "$(project_names)" p
	expect_eq "$(wnctl --json job list --all)" "$before"
}

test_request_ids_make_retries_safe() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local body='{"job":{"project":"p","task":"t"}}' a b c
	expect_http 200 JobService/Submit "$body" -H 'X-Request-Id: 4242'
	a=$(jq -r .job.id <<<"$HBODY")
	expect_http 200 JobService/Submit "$body" -H 'X-Request-Id: 4242'
	b=$(jq -r .job.id <<<"$HBODY")
	expect_eq "$b" "$a" "a retried request id"
	expect_http 200 JobService/Submit "$body"
	c=$(jq -r .job.id <<<"$HBODY")
	[ "$c" != "$a" ] || fail "a request without an id made no new job"
	# ids up to 2^64-1; anything else in the header is refused
	expect_http 200 JobService/Submit "$body" -H 'X-Request-Id: 18446744073709551615'
	a=$(jq -r .job.id <<<"$HBODY")
	expect_http 200 JobService/Submit "$body" -H 'X-Request-Id: 18446744073709551615'
	expect_eq "$(jq -r .job.id <<<"$HBODY")" "$a" "a retried request id of 2^64-1"
	local bad
	for bad in 0 18446744073709551616 -1 abc '12 3' 1x; do
		expect_http 400 JobService/Submit "$body" -H "X-Request-Id: $bad"
		expect_contains "$(jq -r .message <<<"$HBODY")" X-Request-Id
	done
	expect_eq "$(wnctl --json job list --all | jq ".jobs | length")" 3
}

# waiting N: wnd has N requests waiting (/metrics).
waiting() {
	[ "$(curl -s "$WN_HTTP/metrics" | sed -n 's/^whatsnext_waiting_requests //p')" = "$1" ]
}

# A Fetch sent again with its X-Request-Id while the first copy still waits
# (a client that timed out and retried): the retry takes the first one's
# place, and the first is answered at once, not left waiting for ever (its
# connection held, and wnd unable to stop).
test_a_fetch_retried_while_it_waits_answers_both_calls() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_http 200 WorkerService/Join '{"worker":{"name":"w1","projects":["p"]}}'
	local fetch='{"project":"p","worker":"w1","waitMs":20000}' first second
	curl -s -m 25 -o first.out -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H 'X-Request-Id: 777001' -d "$fetch" "$WN_HTTP/v1/QueueService/Fetch" >first.code &
	first=$!
	WN_PIDS+=("$first")
	wait_until 20 "the first fetch parked" waiting 1
	curl -s -m 25 -o second.out -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H 'X-Request-Id: 777001' -d "$fetch" "$WN_HTTP/v1/QueueService/Fetch" >second.code &
	second=$!
	WN_PIDS+=("$second")
	wait "$first" || fail "the first fetch got no answer ($(cat first.code))"
	expect_eq "$(cat first.code)" 409 "the first copy ($(cat first.out))"
	expect_eq "$(jq -r .code first.out)" 10
	expect_contains "$(jq -r .message first.out)" "X-Request-Id"
	waiting 1 || fail "the retry does not wait in the first one's place"
	# the retry gets the job submitted meanwhile, once
	local id
	id=$(wnctl job add p t)
	wait "$second" || fail "the retry got no answer"
	expect_eq "$(cat second.code)" 200 "the retry ($(cat second.out))"
	expect_eq "$(jq -r .job.id second.out)" "$id"
	expect_eq "$(wnctl --json job show "$id" | jq -r .status)" running
	# no call is left behind: wnd stops cleanly
	wn_stop
}

# fifth_taken ID: a wait of 1 ms for job ID is answered (200), not refused
# for want of a parking place.
fifth_taken() {
	hcall JobService/Wait "{\"ids\":[\"$1\"],\"waitMs\":1}"
	[ "$HSTATUS" = 200 ]
}

test_waits_park_over_http() {
	printf 'max_parked_fetches: 4\n' >wnd.yaml
	wn_start --http 127.0.0.1:0 --config wnd.yaml
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	# a wait answered when the job ends
	curl -sS -X POST -H 'Content-Type: application/json' \
		-d "{\"ids\":[\"$id\"],\"waitMs\":30000}" "$WN_HTTP/v1/JobService/Wait" >wait.out &
	local cpid=$!
	WN_PIDS+=("$cpid")
	sleep 0.3
	kill -0 "$cpid" 2>/dev/null || fail "the wait did not wait: $(cat wait.out)"
	wnctl job cancel "$id" >/dev/null
	wait "$cpid" || fail "curl of the wait failed"
	expect_eq "$(jq -r .done wait.out)" true "wait.out: $(cat wait.out)"
	expect_eq "$(jq -r .cancelled wait.out)" 1
	# waits whose clients went away hold their parking places until their
	# deadline (docs/http.md), then wnd takes waits again
	id=$(wnctl job add p t)
	local i pids=()
	for i in 1 2 3 4; do
		curl -s -m 2 -X POST -H 'Content-Type: application/json' \
			-d "{\"ids\":[\"$id\"],\"waitMs\":9000}" "$WN_HTTP/v1/JobService/Wait" \
			>"gone.$i" &
		pids+=($!)
		WN_PIDS+=($!)
	done
	wait_until 20 "four waits parked" waiting 4
	hcall JobService/Wait "{\"ids\":[\"$id\"],\"waitMs\":1}"
	expect_eq "$HSTATUS" 429 "a fifth wait ($HBODY)"
	expect_eq "$(jq -r .code <<<"$HBODY")" 8
	for i in "${pids[@]}"; do wait "$i" && fail "a wait of a pending job returned: $(cat gone.*)"; done
	waiting 4 || fail "the waits of clients gone left before their deadline"
	wait_until 30 "the places of waits whose clients left" fifth_taken "$id"
	expect_eq "$(jq -r .pending <<<"$HBODY")" 1
	# a wait parked at shutdown is answered, and wnd stops cleanly
	curl -s -o shut.out -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d "{\"ids\":[\"$id\"],\"waitMs\":60000}" "$WN_HTTP/v1/JobService/Wait" >shut.code &
	cpid=$!
	WN_PIDS+=("$cpid")
	sleep 0.3
	wn_stop
	wait "$cpid" || true
	[ -s shut.code ] || fail "the parked wait got no answer at shutdown"
}
