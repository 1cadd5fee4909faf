# wnworker does not take a server at its word (tests/tools/wnimpostor.c
# plays one that lies): a job handed out twice runs once, jobs beyond what
# the worker asked for and jobs of a project it does not serve are handed
# back, a job leased in a reply's further jobs without a first one is run,
# a next job that runs already is not started again, an empty Fetch
# answered at once is not sent again at once, again and again, and a reply
# code no server sends is a refusal, not a server out of reach.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# liar_run MODE SECONDS SLOTS [PROJECT]: the impostor in MODE for SECONDS,
# serving project PROJECT (default p), and a worker with SLOTS slots serving
# p, whose task t records each start in $WN_TMP/runs and sleeps {s} seconds;
# the impostor's lines end up in $WN_TMP/impostor.out.
liar_run() {
	local mode=$1 secs=$2 slots=$3 url=ipc://$WN_TMP/impostor.sock
	"$WN_BIN/wnimpostor" "$url" "${4:-p}" t j "$mode" "$secs" >"$WN_TMP/impostor.out" 2>&1 &
	local ipid=$!
	WN_PIDS+=("$ipid")
	{
		worker_head
		cat <<EOF
slots: $slots
tasks:
  t:
    command: [sh, -c, "echo start {x} >>$WN_TMP/runs; sleep {s}"]
EOF
	} >"$WN_TMP/w.yaml"
	worker_start w1 "$WN_TMP/w.yaml" --server "$url"
	wait_until $((secs + 10)) "the impostor to end" proc_gone "$ipid"
	kill "$WORKER_PID" 2>/dev/null
	wait "$WORKER_PID" 2>/dev/null
	touch "$WN_TMP/runs"
}

# count PATTERN FILE: the lines of FILE that match PATTERN (grep -E)
count() { grep -cE "$1" "$2" || true; }

test_a_job_handed_out_twice_in_one_reply_runs_once() {
	liar_run twice 3 2
	expect_eq "$(count '^start 1$' "$WN_TMP/runs")" 1 "starts of job 1"
	expect_eq "$(count '^complete 1\.1 success=1' "$WN_TMP/impostor.out")" 1 "its completions"
	expect_contains "$(<"$WN_TMP/w1.log")" "job 1 attempt 1: the server handed it out twice"
}

test_jobs_beyond_what_the_worker_asked_for_are_handed_back() {
	liar_run more 3 1
	expect_eq "$(<"$WN_TMP/runs")" "start 1" "the runs"
	local out
	out=$(<"$WN_TMP/impostor.out")
	expect_contains "$out" "release 2.1 reason=worker w1: more jobs than the worker asked for"
	expect_contains "$out" "release 3.1 reason=worker w1: more jobs than the worker asked for"
	expect_contains "$out" "complete 1.1 success=1"
}

test_a_job_among_the_further_ones_of_a_reply_without_a_first_runs() {
	liar_run orphan 3 1
	expect_eq "$(<"$WN_TMP/runs")" "start 1" "the runs"
	expect_contains "$(<"$WN_TMP/impostor.out")" "complete 1.1 success=1"
}

test_a_next_job_that_runs_already_is_not_started_again() {
	liar_run next 4 2
	expect_eq "$(count '^start 2$' "$WN_TMP/runs")" 1 "starts of job 2"
	expect_eq "$(count '^complete 2\.1 ' "$WN_TMP/impostor.out")" 1 "completions of job 2"
	expect_contains "$(<"$WN_TMP/w1.log")" "job 2 attempt 1: the server handed it out twice"
}

test_a_job_of_a_project_not_served_is_handed_back() {
	liar_run more 3 2 elsewhere
	expect_eq "$(<"$WN_TMP/runs")" "" "the runs"
	expect_contains "$(<"$WN_TMP/impostor.out")" \
		"release 1.1 reason=worker w1: the worker does not serve the job's project"
}

test_an_empty_fetch_answered_at_once_is_not_sent_again_at_once() {
	# the worker asks to wait 500 ms (worker_head); answered at once each
	# time, it pauses 250 ms, then longer, up to 5 s: a handful of fetches
	# in 4 s, where sending again at once makes thousands
	liar_run quick 4 1
	local n
	n=$(count '^fetch$' "$WN_TMP/impostor.out")
	[ "$n" -ge 2 ] && [ "$n" -le 20 ] || fail "$n fetches in 4 s"
}

test_a_code_no_server_sends_is_a_refusal() {
	liar_run badcode 3 1
	expect_eq "$(count '^complete 1\.1 ' "$WN_TMP/impostor.out")" 1 "completions sent"
	expect_contains "$(<"$WN_TMP/w1.log")" \
		"job 1: cannot report the result: a code no server sends"
}
