# Bad input on the wire (sent with wnraw): each gets the right status code
# and a message, changes nothing, and the server keeps serving. Also: a
# request received twice (same id) is executed once.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# setup_state: a project p with a task t and one job, the baseline that bad
# input must leave unchanged.
setup_state() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name base >/dev/null
}

# submit_body NAME: a well-formed SubmitRequest body for p/t named NAME.
submit_body() { pbhex '[(1, [(1, "p"), (2, "t"), (3, A[0])])]' "$1"; }

test_bad_garbage_bytes() {
	setup_state
	local before
	before=$(snapshot)
	raw_send --hex ffffffffffffffffffffffff
	expect_raw INVALID_ARGUMENT "invalid varint"
	raw_send --hex 0a
	expect_raw INVALID_ARGUMENT "lone tag"
	raw_send --hex ""
	expect_raw_error "empty message"
	local seed
	for seed in $(seq 1 20); do
		raw_send --garbage $((seed * 37)) --seed "$seed"
		expect_raw_error "garbage seed $seed"
	done
	raw_send --garbage 200000 --seed 99
	expect_raw_error "200 kB of garbage"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after garbage"
}

test_bad_truncated_envelope() {
	setup_state
	local before body method=$M_JOB/Submit len n
	before=$(snapshot)
	body=$(submit_body viaraw)
	# Request{id 77 (2 bytes), method (2 + length), body (2 + length)}.
	len=$((2 + 2 + ${#method} + 2 + ${#body} / 2))
	for n in 1 3 20 $((len - 4)) $((len - 1)); do
		raw_call "$method" "$body" --id 77 --truncate "$n"
		expect_raw INVALID_ARGUMENT "envelope cut to $n of $len bytes"
	done
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after truncated envelopes"
	# The same envelope in full is a valid submit.
	raw_call "$method" "$body" --id 78
	expect_raw OK "whole envelope"
	expect_eq "$(wnctl --json job list --all | jq_jobs | jq -r .name | tr '\n' ' ')" "base viaraw " \
		"jobs after the whole envelope"
}

test_bad_unknown_method() {
	setup_state
	local before body m
	before=$(snapshot)
	body=$(submit_body never)
	for m in $M_JOB/Explode /whatsnext.v1.NoSuchService/Submit /whatsnext.v2.JobService/Submit \
		$M_JOB/submit; do
		raw_call "$m" "$body"
		expect_raw UNIMPLEMENTED "method $m"
	done
	for m in "" JobService/Submit / "$M_JOB/Submit/x" "$M_JOB/"; do
		raw_call "$m" "$body"
		expect_raw_error "method '$m'"
	done
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after unknown methods"
}

test_bad_body_wrong_type() {
	setup_state
	local before
	before=$(snapshot)
	# GetJobRequest{id 5} where a SubmitRequest or CreateProjectRequest is due.
	raw_call $M_JOB/Submit 0805
	expect_raw INVALID_ARGUMENT "Submit with a GetJobRequest body"
	raw_call $M_PROJECT/Create 0805
	expect_raw INVALID_ARGUMENT "project Create with a GetJobRequest body"
	# CreateProjectRequest{name "p"} where a GetJobRequest is due.
	raw_call $M_JOB/Get 0a0170
	expect_raw INVALID_ARGUMENT "job Get with a CreateProjectRequest body"
	# A JobSpec whose priority is a string, and a body that is not protobuf.
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "p"), (2, "t"), (5, "high")])]')"
	expect_raw INVALID_ARGUMENT "Submit with a string priority"
	raw_call $M_JOB/Cancel ffffffffffffffffffffffff
	expect_raw INVALID_ARGUMENT "Cancel with a garbage body"
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (3, "soon")]')"
	expect_raw INVALID_ARGUMENT "Fetch with a string wait_ms"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after bodies of the wrong type"
}

# big_submit FILE NAME BYTES: a SubmitRequest body for p/t with about BYTES
# bytes of parameters (32 KiB values named x0, x1, ...): the bytes pbfile
# would write, built from one encoded value instead of field by field.
big_submit() {
	python3 - "$@" <<'EOF'
import sys
path, name, size = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data

value = field(2, b"v" * 32768)
entries = [field(1, b"x%d" % i) + value for i in range(size // 32768)]
head = field(1, b"p") + field(2, b"t") + field(3, name)
spec_len = len(head) + sum(len(varint(4 << 3 | 2) + varint(len(e))) + len(e) for e in entries)
with open(path, "wb") as f:
    f.write(varint(1 << 3 | 2) + varint(spec_len) + head)
    for e in entries:
        f.write(varint(4 << 3 | 2) + varint(len(e)) + e)
EOF
}

# test-tier: long
test_bad_oversized_message() {
	setup_state
	local mib=$((1024 * 1024))
	# Control: a 1 MiB request is served.
	big_submit body "small" "$mib"
	raw_call $M_JOB/Submit "" --body-file body --hello
	expect_raw OK "1 MiB submit"
	local before size
	before=$(snapshot)
	for size in 17 40 63; do
		big_submit body "big$size" $((size * mib))
		raw_call $M_JOB/Submit "" --body-file body --timeout 20000 --hello
		expect_raw RESOURCE_EXHAUSTED "submit of $size MiB"
	done
	expect_serving
	# Far beyond the limit the transport may drop the connection instead.
	big_submit body huge $((160 * mib))
	raw_call $M_JOB/Submit "" --body-file body --timeout 5000 --hello
	if [ "$RAW_RC" -eq 0 ]; then
		expect_raw RESOURCE_EXHAUSTED "submit of 160 MiB"
	else
		expect_eq "$RAW_RC" 3 "wnraw exit status for 160 MiB ($RAW_OUT)"
	fi
	rm -f body
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after oversized messages"
}

test_bad_names() {
	setup_state
	local before long128 long129 bad
	before=$(snapshot)
	long128=$(printf 'n%.0s' $(seq 1 128))
	long129=${long128}9
	for bad in "" "$long129" -x .x _x "a b" a/b a:b "é" $'a\nb' "a*"; do
		raw_call $M_PROJECT/Create "$(pbhex '[(1, A[0])]' "$bad")"
		expect_raw INVALID_ARGUMENT "project name '$bad'"
		raw_call $M_TASK/Create "$(pbhex '[(1, [(1, "p"), (2, A[0])])]' "$bad")"
		expect_raw INVALID_ARGUMENT "task name '$bad'"
	done
	raw_call $M_JOB/Submit "$(submit_body "$(printf 'j%.0s' $(seq 1 300))")"
	expect_raw INVALID_ARGUMENT "submit with a 300-byte job name"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "p"), (2, "t"), (4, [(1, "bad key"), (2, "v")])])]')"
	expect_raw INVALID_ARGUMENT "submit with a parameter named 'bad key'"
	raw_call $M_JOB/SubmitBatch "$(pbhex '[(1, [(1, "p"), (2, "t")]),
		(1, [(1, "p"), (2, "t"), (3, A[0])])]' "$(printf 'j%.0s' $(seq 1 300))")"
	expect_raw INVALID_ARGUMENT "batch with a 300-byte job name"
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (2, A[0])]' "$long129")"
	expect_raw INVALID_ARGUMENT "fetch with a 129-byte worker name"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after bad names"
	# Control: the longest valid names are accepted.
	raw_call $M_PROJECT/Create "$(pbhex '[(1, A[0])]' "$long128")"
	expect_raw OK "project name of 128 bytes"
	raw_call $M_TASK/Create "$(pbhex '[(1, [(1, "p"), (2, A[0])])]' "$long128")"
	expect_raw OK "task name of 128 bytes"
}

# Requests that name a project or task by an empty or malformed name are
# invalid arguments, not lookups of something that might exist.
test_bad_names_in_lookups() {
	setup_state
	local before long129
	before=$(snapshot)
	long129=$(printf 'n%.0s' $(seq 1 129))
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, ""), (2, "t")])]')"
	expect_raw INVALID_ARGUMENT "submit with an empty project"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "p"), (2, "")])]')"
	expect_raw INVALID_ARGUMENT "submit with an empty task"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, A[0]), (2, "t")])]' "$long129")"
	expect_raw INVALID_ARGUMENT "submit with a 129-byte project name"
	raw_call $M_PROJECT/Get "$(pbhex '[(1, "")]')"
	expect_raw INVALID_ARGUMENT "get of an empty project name"
	raw_call $M_TASK/Create "$(pbhex '[(1, [(1, ""), (2, "t2")])]')"
	expect_raw INVALID_ARGUMENT "task in an empty project name"
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, ""), (2, "w")]')"
	expect_raw INVALID_ARGUMENT "fetch from an empty project name"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after bad names in lookups"
}

test_bad_unknown_ids() {
	setup_state
	local before
	before=$(snapshot)
	raw_call $M_JOB/Get "$(pbhex '[(1, 999999)]')"
	expect_raw NOT_FOUND "get of job 999999"
	raw_call $M_JOB/Cancel "$(pbhex '[(1, 999999)]')"
	expect_raw NOT_FOUND "cancel of job 999999"
	raw_call $M_JOB/SetPriority "$(pbhex '[(1, 999999), (2, 3)]')"
	expect_raw NOT_FOUND "priority of job 999999"
	raw_call $M_QUEUE/Complete "$(pbhex '[(1, 999999), (2, 1), (3, "w"), (4, 1)]')"
	expect_raw NOT_FOUND "complete of job 999999"
	raw_call $M_PROJECT/Get "$(pbhex '[(1, "nosuch")]')"
	expect_raw NOT_FOUND "get of project nosuch"
	raw_call $M_PROJECT/Delete "$(pbhex '[(1, "nosuch")]')"
	expect_raw NOT_FOUND "delete of project nosuch"
	raw_call $M_TASK/Get "$(pbhex '[(1, "p"), (2, "nosuch")]')"
	expect_raw NOT_FOUND "get of task p/nosuch"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "nosuch"), (2, "t")])]')"
	expect_raw NOT_FOUND "submit to project nosuch"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "p"), (2, "nosuch")])]')"
	expect_raw NOT_FOUND "submit to task p/nosuch"
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "nosuch"), (2, "w")]')"
	expect_raw NOT_FOUND "fetch from project nosuch"
	raw_call $M_QUEUE/Clear "$(pbhex '[(1, "nosuch")]')"
	expect_raw NOT_FOUND "clear of project nosuch"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after unknown ids"
}

test_bad_negative_page_sizes() {
	setup_state
	raw_call $M_JOB/List "$(pbhex '[(4, -1)]')"
	expect_raw INVALID_ARGUMENT "job list with page_size -1"
	raw_call $M_JOB/List "$(pbhex '[(1, "p"), (4, -2147483648)]')"
	expect_raw INVALID_ARGUMENT "job list with page_size INT32_MIN"
	raw_call $M_QUEUE/List "$(pbhex '[(1, "p"), (2, -5)]')"
	expect_raw INVALID_ARGUMENT "queue list with limit -5"
	# Control: a positive page size is served.
	raw_call $M_JOB/List "$(pbhex '[(4, 1)]')"
	expect_raw OK "job list with page_size 1"
	[ "$(raw_bodies)" != "" ] || fail "job list reply without jobs: $RAW_OUT"
	expect_fail wnctl job list --limit -1
	expect_fail wnctl queue show p --limit -1
	expect_serving
}

# A peer that connects and leaves (or talks nonsense) before the protocol
# handshake: port scanners, health checks, clients that give up early.
test_bad_connection_without_handshake() {
	local port
	port=$(free_port)
	wn_start --listen "tcp://127.0.0.1:$port"
	local sock=${WN_SERVER#ipc://}
	python3 - "$sock" "$port" <<'EOF'
import socket, sys
path, port = sys.argv[1], int(sys.argv[2])
for payload in (b"", b"GET / HTTP/1.0\r\n\r\n", b"\x00SP\x00\x00\x30\x00\x00"):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(payload)
    s.close()
    t = socket.create_connection(("127.0.0.1", port))
    t.sendall(payload)
    t.close()
EOF
	expect_serving
	expect_exit 0 wnctl --timeout 5000 --server "tcp://127.0.0.1:$port" project list
	expect_exit 0 wnctl project create after
}

test_resend_same_request_id() {
	setup_state
	local body
	body=$(submit_body once)
	raw_call $M_JOB/Submit "$body" --id 4242 --repeat 3
	expect_raw OK "submit sent three times"
	expect_eq "$(raw_bodies | wc -l | tr -d ' ')" 3 "replies"
	expect_eq "$(raw_bodies | sort -u | wc -l | tr -d ' ')" 1 "distinct replies to one request id"
	expect_eq "$(wnctl --json job list --all | jq_jobs | jq -r .name | tr '\n' ' ')" "base once " \
		"jobs after a resent submit"
	# A new id is a new request.
	raw_call $M_JOB/Submit "$body" --id 4243
	expect_raw OK "submit with a new id"
	expect_eq "$(wnctl --json job list --all | jq_jobs | jq -r .name | tr '\n' ' ')" \
		"base once once " "jobs after a second request"

	# A resent create is answered from the first execution, not ALREADY_EXISTS.
	raw_call $M_PROJECT/Create "$(pbhex '[(1, "r1")]')" --id 99 --repeat 2
	expect_eq "$(grep -c '^code=0 ' <<<"$RAW_OUT")" 2 "OK replies to a resent create ($RAW_OUT)"
	raw_call $M_PROJECT/Create "$(pbhex '[(1, "r1")]')" --id 100
	expect_raw ALREADY_EXISTS "create with a new id"

	# A resent fetch claims one job, once.
	wnctl queue clear p >/dev/null
	local a b
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (2, "w")]')" --id 555 --repeat 2
	expect_eq "$(grep -c '^code=0 ' <<<"$RAW_OUT")" 2 "OK replies to a resent fetch ($RAW_OUT)"
	expect_eq "$(raw_bodies | sort -u | wc -l | tr -d ' ')" 1 "distinct replies to a resent fetch"
	expect_eq "$(job_field "$a" '"\(.status) \(.attempt // 0)"')" "running 1" "fetched job"
	expect_eq "$(job_status "$b")" pending "job behind it"

	# A resent complete is answered OK again, not as a stale lease.
	raw_call $M_QUEUE/Complete "$(pbhex '[(1, int(A[0])), (2, 1), (3, "w"), (4, 1)]' "$a")" \
		--id 556 --repeat 2
	expect_eq "$(grep -c '^code=0 ' <<<"$RAW_OUT")" 2 "OK replies to a resent complete ($RAW_OUT)"
	expect_eq "$(job_status "$a")" completed "completed job"
}
