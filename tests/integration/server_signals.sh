# Signals: SIGHUP stops wnd as cleanly as SIGTERM (a foreground server whose
# terminal went away); SIGUSR1 and SIGUSR2 are logged and change nothing.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_sighup_stops_cleanly() {
	wn_start
	mkproject p
	mktask p t
	local ids=() i
	for i in 1 2 3; do
		ids+=("$(wnctl job add p t)")
	done
	local held
	held=$(fetch_job p w1 | jq -r .id)
	kill -HUP "$WND_PID"
	local rc=0
	wait "$WND_PID" || rc=$?
	expect_eq "$rc" 0 "exit status after SIGHUP"
	local log
	log=$(<"$WN_TMP/wnd.log")
	expect_contains "$log" "SIGHUP: finishing requests in flight"
	expect_contains "$log" "stopped cleanly"
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >/dev/null || fail "data directory not clean after SIGHUP"

	wn_start
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "${ids[*]} " "jobs after SIGHUP"
	expect_eq "$(job_status "$held")" running "the job held at SIGHUP"
}

test_sigusr_is_not_fatal() {
	wn_start
	mkproject p
	mktask p t
	local a
	a=$(wnctl job add p t)
	kill -USR1 "$WND_PID"
	kill -USR2 "$WND_PID"
	wait_for 10 "the log line of SIGUSR2" grep -q "SIGUSR2: ignored" "$WN_TMP/wnd.log"
	expect_contains "$(<"$WN_TMP/wnd.log")" "SIGUSR1: ignored"
	expect_serving
	local b
	b=$(wnctl job add p t)
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "$a $b " "jobs after SIGUSR1 and SIGUSR2"
	wn_stop
	expect_contains "$(<"$WN_TMP/wnd.log")" "SIGTERM: finishing requests in flight"
	wn_start
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "$a $b " "jobs after a restart"
}
