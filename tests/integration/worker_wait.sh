# wnctl job wait: waiting for real jobs of a cli worker (by ids, a sweep, a
# project), failures, a cancel while waiting, the timeout, bad input, a
# restart and a kill -9 of wnd while waiting, and the limits on requests
# parked, shared with parked fetches.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

SP_ATTACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/sp_attack.py"

# wait_setup [SLOTS]: wnd is started; project p with task t, whose jobs sleep
# {s} seconds (0.05 steps) and exit with {rc} (a marker file stops a job
# that waits for it: {s} = "hold"); w.yaml is a worker config for them.
wait_setup() {
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
slots: ${1:-4}
tasks:
  t:
    command: [/bin/sh, -c, 'if [ "\$1" = hold ]; then until [ -e $WN_TMP/release ]; do sleep 0.05; done; else sleep "\$1"; fi; exit "\$2"', sh, "{s}", "{rc}"]
EOF
	} >w.yaml
}

# job S RC: submit a job of p/t sleeping S seconds then exiting RC; prints its id.
job() { wnctl job add p t --param "s=$1" --param "rc=$2"; }

# wait_bg OUT ARGS...: run `wnctl job wait ARGS` in the background, its
# stdout in OUT, stderr in OUT.err and exit status in OUT.rc; pid in WAIT_PID.
wait_bg() {
	local out=$1
	shift
	(
		rc=0
		"$WN_BIN/wnctl" job wait "$@" >"$out" 2>"$out.err" || rc=$?
		# whole when it appears: a reader waits for the file, then reads it
		echo "$rc" >"$out.rc.tmp" && mv "$out.rc.tmp" "$out.rc"
	) &
	WAIT_PID=$!
	WN_PIDS+=("$WAIT_PID")
}

# parked N: wnd (log_level debug) has parked N requests in all so far
# (fetches and waits); watches N: N waits.
parked() { [ "$(grep 'waits up to' "$WN_TMP/wnd.log" | grep -vc 'heartbeat [0-9]* waits')" -ge "$1" ]; }
watches() { [ "$(grep -c 'request [0-9]* waits up to' "$WN_TMP/wnd.log")" -ge "$1" ]; }

debug_config() { printf 'log_level: debug\n' >"$WN_TMP/wnd.yaml"; }

test_wait_for_real_jobs() {
	debug_config
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_setup 4
	local a b c
	a=$(job 0.3 0)
	b=$(job 0.6 0)
	c=$(job 0.2 3)
	worker_start w1 w.yaml
	# ids: they all completed
	expect_exit 0 wnctl job wait "$a" "$b"
	expect_eq "$WN_OUT" "2 jobs: 2 completed" "summary"
	for id in "$a" "$b"; do expect_eq "$(job_get "$id" "j['status']")" completed "job $id"; done
	# one failed: exit 9, and the job is listed with its reason
	expect_exit 9 wnctl job wait "$a" "$b" "$c" "$a"
	expect_contains "$WN_OUT" "3 jobs: 2 completed, 1 failed" "summary"
	echo "$WN_OUT" | grep -q "^$c  *t-$c  *failed  *exit status 3\$" ||
		fail "the failed job is not listed: $WN_OUT"
	expect_exit 9 wnctl --json job wait "$c"
	expect_eq "$(jget "$WN_OUT" "[j['done'], j['total'], j['failed']]")" "[true, 1, 1]" "json"
	# a sweep: every job of it, the others not
	local sweep
	sweep=$(wnctl job sweep p t --grid s=0.1,0.4,0.2 --param rc=0 | sed -n 's/^sweep \([0-9]*\):.*/\1/p')
	[ -n "$sweep" ] || fail "no sweep id"
	expect_exit 0 wnctl job wait --sweep "$sweep"
	expect_eq "$WN_OUT" "3 jobs: 3 completed" "sweep summary"
	expect_eq "$(wnctl --json sweep show "$sweep" | python3 -c 'import json,sys; print(json.load(sys.stdin)["completed"])')" 3 "sweep completed"
	# a project: a cancel while waiting ends the wait, exit 9
	local h
	h=$(job hold 0)
	wait_status "$h" running
	wait_bg proj.out --project p
	wait_until 20 "the project's wait to park" watches 1
	[ ! -e proj.out.rc ] || fail "the project's wait ended early: $(cat proj.out proj.out.err)"
	wnctl job cancel "$h" >/dev/null
	wait_until 20 "the project's wait to end" test -e proj.out.rc
	expect_eq "$(<proj.out.rc)" 9 "exit of the project's wait"
	expect_contains "$(<proj.out)" "1 cancelled" "project summary"
	expect_contains "$(<proj.out)" "t-$h" "the cancelled job listed"
	# the timeout: exit 10 with the state of the moment; 0 looks once
	local d
	d=$(job hold 0)
	wait_status "$d" running
	expect_exit 10 wnctl job wait "$d" --timeout 300ms
	expect_eq "$WN_OUT" "1 job: 1 running" "summary at the timeout"
	expect_contains "$WN_ERR" "timed out: 1 job has not ended yet" "timeout message"
	expect_exit 10 wnctl job wait "$d" --timeout 0
	expect_exit 0 wnctl job wait "$a" --timeout 0
	touch release
	expect_exit 0 wnctl job wait "$d" --timeout 1m
	# bad input: a clear message, exit 2 (usage) or 4 (not found)
	expect_exit 2 wnctl job wait
	expect_contains "$WN_ERR" "name the jobs to wait for" "no jobs"
	expect_exit 2 wnctl job wait "$a" --sweep "$sweep"
	expect_exit 2 wnctl job wait abc
	expect_exit 2 wnctl job wait "$a" --timeout 5x
	expect_contains "$WN_ERR" "invalid --timeout '5x'" "bad duration"
	expect_exit 4 wnctl job wait "$a" 99999
	expect_contains "$WN_ERR" "job 99999 not found" "unknown job"
	expect_exit 4 wnctl job wait --sweep 99999
	expect_exit 4 wnctl job wait --project nope
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID"
}

test_wait_rides_out_restarts() {
	debug_config
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_setup 2
	local h
	h=$(job hold 0)
	worker_start w1 w.yaml
	wait_status "$h" running
	wait_bg w.out "$h"
	wait_until 20 "the wait to park" watches 1
	# SIGTERM: the parked wait is answered (not done), wnctl asks again
	wn_stop
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_until 20 "the wait to park again" watches 2
	# kill -9: the connection drops, the request goes again to the new wnd
	wn_kill9
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_until 20 "the wait to park on the third wnd" watches 3
	[ ! -e w.out.rc ] || fail "the wait ended early: $(cat w.out w.out.err)"
	touch release
	wait_until 30 "the wait to end" test -e w.out.rc
	expect_eq "$(<w.out.rc)" 0 "exit of the wait (stderr: $(<w.out.err))"
	expect_eq "$(<w.out)" "1 job: 1 completed" "summary"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID"
}

test_wait_counts_against_the_parked_limits() {
	printf 'log_level: debug\nmax_parked_fetches: 3\n' >wnd.yaml
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_setup
	local h
	h=$(job 0 0)
	# a fetch parked on a connection held open (no job for its project)
	wnctl project create q >/dev/null
	local fetch_hex
	fetch_hex=$(python3 -c 'import sys
def v(n):
    o=b""
    while True:
        b=n&0x7f; n>>=7
        if n: o+=bytes([b|0x80])
        else: return o+bytes([b])
def f(k,x):
    return (bytes([k<<3|2])+v(len(x))+x) if isinstance(x,bytes) else bytes([k<<3])+v(x)
print((f(1,b"q")+f(2,b"w9")+f(3,60000)).hex())')
	python3 -S "$SP_ATTACK" "$WN_SERVER" hold 1 "fetch=$fetch_hex" 60 >attack.out 2>&1 &
	WN_PIDS+=("$!")
	wait_until 20 "the fetch to park" parked 1
	wait_bg w1.out "$h"
	wait_until 20 "the first wait to park" parked 2
	wait_bg w2.out "$h"
	wait_until 20 "the second wait to park" parked 3
	# the server's cap (3): a fourth is refused at once, with exit 7
	expect_exit 7 wnctl job wait "$h"
	expect_contains "$WN_ERR" "too many requests wait on the server (3, max_parked_fetches)" "refusal"
	# the job runs and completes: both waits end, and room is back
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the waits to end" test -e w1.out.rc -a -e w2.out.rc
	expect_eq "$(cat w1.out.rc) $(cat w2.out.rc)" "0 0" "exits of the waits"
	expect_exit 0 wnctl job wait "$h" --timeout 10s
	worker_wait "$WORKER_PID"
	# more ids than one Wait names (1000): wnctl asks in turn and adds up
	wnctl project create r >/dev/null
	wnctl task create r t >/dev/null
	local ids
	ids=$(seq 1001 | sed 's/.*/{}/' | wnctl job batch - --project r --task t | tr '\n' ' ')
	# shellcheck disable=SC2086 # one argument per id
	expect_exit 10 wnctl job wait $ids --timeout 0
	expect_eq "$WN_OUT" "1001 jobs: 1001 pending" "1001 ids"
	wnctl queue clear r >/dev/null
	# shellcheck disable=SC2086
	expect_exit 4 wnctl job wait $ids
}
