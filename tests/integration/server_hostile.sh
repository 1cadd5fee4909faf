# Requests a hostile peer would send (with wnraw), within the size limit, that
# made wnd work or hold memory out of all proportion: each is refused or
# served at the cost of an ordinary request of its size, changes nothing when
# refused, and the server keeps serving.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

M_WORKER=/whatsnext.v1.WorkerService

setup_state() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name base >/dev/null
}

# A job's parameters given twice were looked for pair by pair, under the
# server's lock: a Submit of a million parameters held every client for hours.
# Now one pass: the request (its last parameter repeats the first) is refused
# in seconds.
test_hostile_a_million_parameters_are_checked_in_one_pass() {
	# wnraw sends its request first on its connection: let it be large
	echo "max_unauthenticated_request: 67108864" >"$WN_TMP/wnd.yaml"
	wn_start --config "$WN_TMP/wnd.yaml"
	mkproject p
	mktask p t
	wnctl job add p t --name base >/dev/null
	local before
	before=$(snapshot)
	python3 - "$WN_TMP/body" <<'EOF'
import sys
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)
def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data
entries = [field(4, field(1, b"k%d" % i) + field(2, b"v")) for i in range(1000000)]
entries.append(field(4, field(1, b"k0") + field(2, b"again")))
spec = field(1, b"p") + field(2, b"t") + b"".join(entries)
open(sys.argv[1], "wb").write(field(1, spec))
EOF
	raw_call $M_JOB/Submit "" --body-file "$WN_TMP/body" --timeout 120000
	expect_raw INVALID_ARGUMENT "submit of a million parameters, one twice"
	expect_eq "$(raw_message)" "parameter k0 is given twice" "message"
	expect_serving
	expect_eq "$(snapshot)" "$before" "state after a million parameters"
}

# A waiting Fetch keeps its task names until it is answered: a million names
# (40 MB in memory) per parked Fetch, thousands of them, was memory without
# bound. At most 1024 tasks per Fetch.
test_hostile_fetch_task_lists_are_bounded() {
	setup_state
	local body
	body=$(python3 -c 'import sys; print(" ".join("t%d" % i for i in range(int(sys.argv[1]))))' 1025)
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (2, "w"), (3, 1000)] + [(4, t) for t in A]' $body)"
	expect_raw INVALID_ARGUMENT "fetch with 1025 tasks"
	expect_eq "$(raw_message)" "at most 1024 tasks per fetch" "message"
	expect_eq "$(job_status 1)" pending "the job a refused fetch named"
	# 1024 are served, the job among them
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (2, "w")] + [(4, t) for t in A[:1023]] + [(4, "t")]' $body)"
	expect_raw OK "fetch with 1024 tasks"
	expect_eq "$(job_status 1)" running "the job fetched"
}

# What a worker announces in Join is kept in its record, stored, and sent
# with every worker list: a million labels took 10 s under the server's lock,
# and values or project lists of megabytes made `worker list` replies larger
# than any client takes. Labels: at most 256, values 128 bytes (as a task's);
# projects: at most 1024.
test_hostile_join_announcements_are_bounded() {
	setup_state
	local before
	before=$(wnctl --json worker list)
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w1"), (4, [(4, [(1, "k%d" % i), (2, "v")]) for i in range(257)])])]')"
	expect_raw INVALID_ARGUMENT "join with 257 labels"
	expect_eq "$(raw_message)" "at most 256 labels" "message"
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w1"), (4, [(4, [(1, "site"), (2, "v" * 129)])])])]')"
	expect_raw INVALID_ARGUMENT "join with a label value of 129 bytes"
	expect_eq "$(raw_message)" "label site: value is longer than 128 bytes" "message"
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w1")] + [(11, "p")] * 1025)]')"
	expect_raw INVALID_ARGUMENT "join with 1025 projects"
	expect_eq "$(raw_message)" "at most 1024 projects" "message"
	expect_eq "$(wnctl --json worker list)" "$before" "workers after refused joins"
	# the limits themselves are served
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w1"), (4, [(4, [(1, "k%d" % i), (2, "v" * 128)]) for i in range(256)])] + [(11, "p")] * 1024)]')"
	expect_raw OK "join at the limits"
	expect_eq "$(wnctl --json worker show w1 | jq '.capacity.labels | length')" 256 "labels kept"
}

# Ids, numbers and positions at their extremes are answered, never trusted.
test_hostile_extreme_ids_and_numbers_are_answered() {
	setup_state
	local before id m
	before=$(snapshot)
	for id in 0 9223372036854775808 18446744073709551615; do
		for m in Get Cancel Retry Remove Deps; do
			raw_call $M_JOB/$m "$(pbhex '[(1, int(A[0]))]' "$id")"
			expect_raw NOT_FOUND "$m of job $id"
		done
		raw_call /whatsnext.v1.SweepService/Get "$(pbhex '[(1, int(A[0]))]' "$id")"
		expect_raw NOT_FOUND "sweep $id"
		raw_call $M_QUEUE/Complete "$(pbhex '[(1, int(A[0])), (2, 4294967295), (3, "w"), (4, 1)]' "$id")"
		expect_raw_error "complete of job $id"
	done
	raw_call $M_QUEUE/Pop "$(pbhex '[(1, "p"), (2, 2147483647)]')"
	expect_raw NOT_FOUND "pop at the last position"
	raw_call $M_QUEUE/List "$(pbhex '[(1, "p"), (2, 10), (3, 2147483647)]')"
	expect_raw OK "queue list far past the end"
	expect_eq "$(snapshot)" "$before" "state after extreme ids"
	raw_call $M_JOB/SetPriority "$(pbhex '[(1, 1), (2, -2147483648)]')"
	expect_raw OK "lowest priority"
	raw_call $M_JOB/SetPriority "$(pbhex '[(1, 1), (2, 2147483647)]')"
	expect_raw OK "highest priority"
	expect_eq "$(job_field 1 .priority)" 2147483647 "priority"
	expect_serving
}

# A Fetch's task names are sorted once and searched, not compared one by one
# for every class at every job claimed (a Fetch of 1000 jobs naming 1024
# tasks of a project with 1000 took 13 s under the server's lock, now 0.5 s).
# Names in any order, repeated or unknown, select the same jobs, also for a
# Fetch that waits.
test_hostile_fetch_task_names_in_any_order() {
	setup_state
	mktask p u
	mktask p v
	wnctl job add p u --name ju >/dev/null
	wnctl job add p v --name jv >/dev/null
	raw_call $M_QUEUE/Fetch "$(pbhex '[(1, "p"), (2, "w"), (6, 10)] + [(4, t) for t in A]' zz v a v t)"
	expect_raw OK "fetch of tasks zz v a v t"
	expect_eq "$(job_status 1) $(job_status 2) $(job_status 3)" "running pending running" \
		"jobs of t, u and v"
	# a waiting Fetch for u or w gets the next job of u
	wnctl job cancel 2 >/dev/null
	wnraw --method $M_QUEUE/Fetch --timeout 30000 \
		--body-hex "$(pbhex '[(1, "p"), (2, "w2"), (3, 20000)] + [(4, t) for t in A]' w u x u2)" \
		>"$WN_TMP/parked" &
	local pid=$!
	bg_track "$pid"
	sleep 0.5 # most often parked by now; either way the answer is the same
	wnctl job add p v --name jv2 >/dev/null
	wnctl job add p u --name ju2 >/dev/null
	wait "$pid"
	expect_eq "$(job_status 5)" running "the job of u, for the waiting fetch"
	expect_eq "$(job_status 4)" pending "the job of v"
}

# A worker's Complete with a negative run time is refused whole: the job
# stays RUNNING under its lease, and the worker learns why. It used to be
# taken, and `wnctl job show` said "duration: -5.000 s".
test_hostile_a_negative_duration_is_refused() {
	setup_state
	local id
	id=$(fetch_job p w | jq -r .id)
	raw_call $M_QUEUE/Complete "$(pbhex '[(1, int(A[0])), (2, 1), (3, "w"), (4, 1), (8, -5000)]' "$id")"
	expect_raw INVALID_ARGUMENT "complete with duration_ms -5000"
	expect_eq "$(raw_message)" "duration_ms -5000 is negative" "message"
	expect_eq "$(job_status "$id")" running "status after the refused complete"
	raw_call $M_QUEUE/CompleteBatch \
		"$(pbhex '[(1, [(1, int(A[0])), (2, 1), (3, "w"), (4, 1), (8, -1)])]' "$id")"
	expect_raw OK "complete batch"
	expect_eq "$(job_status "$id")" running "status after the refused result of a batch"
	raw_call $M_QUEUE/Complete "$(pbhex '[(1, int(A[0])), (2, 1), (3, "w"), (4, 1), (8, 1200)]' "$id")"
	expect_raw OK "complete with duration_ms 1200"
	expect_eq "$(job_field "$id" .duration_ms)" 1200 "duration kept"
}

# Needs and capacities at their extremes do not wrap: a worker of 2^64-1 MB
# holds one job of a task needing 2^63 MB, not three (the sum of its needs
# wrapped around 2^64 and looked small again).
test_hostile_huge_needs_do_not_wrap_a_workers_capacity() {
	setup_state
	raw_call $M_TASK/Create "$(pbhex '[(1, [(1, "p"), (2, "big"), (4, [(3, 2**63)])])]')"
	expect_raw OK "task needing 2^63 MB"
	local i
	for i in 1 2 3; do wnctl job add p big --name "big$i" >/dev/null; done
	raw_call /whatsnext.v1.WorkerService/Join \
		"$(pbhex '[(1, [(1, "w"), (4, [(3, 2**64 - 1)]), (13, "i1")])]')"
	expect_raw OK "join with 2^64-1 MB"
	for i in 1 2 3; do fetch_job p w --task big >/dev/null; done
	expect_eq "$(wnctl --json job list --project p --task big --status running | jq_jobs | wc -l)" 1 \
		"jobs of 2^63 MB running on the worker"
	expect_eq "$(wnctl --json worker show w | jq -r .used.memory_mb)" 9223372036854775808 \
		"memory the worker uses"
}
