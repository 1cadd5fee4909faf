# Durability and lifecycle: kill -9 loses nothing acknowledged, clean
# shutdown on SIGTERM/SIGINT, one server per data directory.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# submit_loop PROJECT TASK: submit jobs one by one until the file `stop`
# exists, appending the id of every acknowledged submit to `acked`.
submit_loop() {
	local i=0 id
	while [ ! -e stop ] && [ "$i" -lt 100000 ]; do
		i=$((i + 1))
		if id=$("$WN_BIN/wnctl" --timeout 2000 job add "$1" "$2" --name "k$i" 2>/dev/null); then
			echo "$id" >>acked
		fi
	done
}

# batch_loop PROJECT TASK: submit batches of 20 jobs named b<k>-<i> until the
# file `stop` exists, appending the ids of every acknowledged batch to
# `acked_batch`.
batch_loop() {
	local k=0 i ids
	while [ ! -e stop ] && [ "$k" -lt 10000 ]; do
		k=$((k + 1))
		for i in $(seq 1 20); do
			echo "{\"project\":\"$1\",\"task\":\"$2\",\"name\":\"b$k-$i\"}"
		done >"batch$k.json"
		if ids=$("$WN_BIN/wnctl" --timeout 2000 job batch "batch$k.json" 2>/dev/null); then
			echo "$ids" >>acked_batch
		fi
	done
}

# wait_lines FILE N: wait until FILE has at least N lines.
wait_lines() {
	wait_for 60 "$2 lines in $1" bash -c '[ -f "$0" ] && [ "$(wc -l <"$0")" -ge "$1" ]' "$1" "$2"
}

test_kill9_keeps_acknowledged_jobs() {
	wn_start
	mkproject p
	mktask p t
	# Two writers at once: single submits and batches share fsyncs.
	submit_loop p t &
	local loop=$!
	bg_track "$loop"
	batch_loop p t &
	local bloop=$!
	bg_track "$bloop"
	wait_lines acked 40
	wait_lines acked_batch 100
	wn_kill9
	touch stop
	wait "$loop"
	wait "$bloop"
	local n
	n=$(cat acked acked_batch | wc -l | tr -d ' ')

	wn_start
	local ids
	ids=$(all_job_ids --project p)
	local missing
	missing=$(missing_from <(cat acked acked_batch | sort -n) <(echo "$ids") | head -n 5 |
		tr '\n' ' ')
	expect_eq "$missing" "" "acknowledged jobs missing after kill -9 (of $n)"
	expect_eq "$(sort -n <<<"$ids" | uniq -d)" "" "duplicate ids after restart"
	# Batches are atomic even when the server dies: every batch is all there or absent.
	local partial
	partial=$(wnctl --json job list --all --project p | jq_jobs | jq -r '.name' |
		sed -n 's/^\(b[0-9]*\)-[0-9]*$/\1/p' | sort | uniq -c | awk '$1 != 20' | head -n 3)
	expect_eq "$partial" "" "batches stored in part"
	expect_eq "$(job_field "$(tail -n 1 acked)" '"\(.project)/\(.task) \(.status)"')" "p/t pending" \
		"last acknowledged job"
	# Ids keep increasing after a restart.
	local next
	next=$(wnctl job add p t)
	[ "$next" -gt "$(sort -n <<<"$ids" | tail -n 1)" ] || fail "new id $next reuses an old one"
	# The restarted server keeps taking work.
	expect_eq "$(wnctl --json queue stats p | jq -r '.projects[0].pending // 0')" \
		"$(($(wc -l <<<"$ids") + 1))" "pending after restart"
}

test_kill9_keeps_claims_and_results() {
	wn_start
	mkproject p
	mktask p t
	gen_batch jobs.json p t 5
	local ids
	ids=($(wnctl job batch jobs.json))
	expect_eq "$(fetch_job p w | jq -r .id)" "${ids[0]}" "first fetch"
	wnctl queue complete "${ids[0]}" 1 --worker w --exit-code 0 --output "done" >/dev/null
	expect_eq "$(fetch_job p w | jq -r .id)" "${ids[1]}" "second fetch"
	wnctl job cancel "${ids[2]}" --reason gone >/dev/null
	wnctl job priority "${ids[4]}" 9 >/dev/null
	wnctl project archive p >/dev/null
	wnctl project create q --description kept >/dev/null
	wn_kill9

	wn_start
	expect_eq "$(job_field "${ids[0]}" '"\(.status) \(.output_tail // "")"')" "completed done" \
		"completed job"
	expect_eq "$(job_field "${ids[1]}" '"\(.status) \(.attempt // 0) \(.worker)"')" "running 1 w" \
		"running job"
	expect_eq "$(job_status "${ids[2]}")" cancelled "cancelled job"
	expect_eq "$(job_field "${ids[4]}" '.priority // 0')" 9 "priority"
	expect_eq "$(wnctl --json project show p | jq -r .status)" archived "archived project"
	expect_eq "$(wnctl --json project show q | jq -r .description)" kept "new project"
	wnctl project unarchive p >/dev/null
	# The queue index is rebuilt: the same order as before the crash.
	expect_eq "$(wnctl --json queue show p | jq_jobs | jq -r .id | tr '\n' ' ')" \
		"${ids[4]} ${ids[3]} " "queue after restart"
	# The running job's lease is still the one handed out.
	expect_exit 0 wnctl queue complete "${ids[1]}" 1 --worker w
	expect_eq "$(job_status "${ids[1]}")" completed "job completed after restart"
}

test_sigterm_drains_and_exits_cleanly() {
	wn_start -v
	mkproject p
	mktask p t
	submit_loop p t &
	local loop=$!
	bg_track "$loop"
	wait_lines acked 20
	# A fetch waiting on the server when it is asked to stop still gets a reply.
	mkproject idle
	mktask idle t
	(
		rc=0
		wnctl --timeout 5000 --json queue fetch idle --worker w --wait 3000 >waited.out 2>&1 ||
			rc=$?
		echo "$rc" >waited.rc
	) &
	bg_track "$!"
	wait_for 20 "the fetch to wait on the server" grep -q "of worker w waits" "$WN_TMP/wnd.log"
	wn_stop
	touch stop
	wait "$loop"
	wait_for 20 "the waiting fetch to end" test -s waited.rc
	[ "$(<waited.rc)" != 3 ] || fail "waiting fetch got no reply: $(<waited.out)"

	wn_start
	local missing
	missing=$(missing_from <(sort -n acked) <(all_job_ids --project p) | head -n 5 | tr '\n' ' ')
	expect_eq "$missing" "" "acknowledged jobs missing after SIGTERM"
	wn_stop
}

test_sigint_exits_cleanly() {
	wn_start
	mkproject p
	mktask p t
	local id
	id=$(wnctl job add p t --name keep)
	kill -INT "$WND_PID"
	local rc=0
	wait "$WND_PID" || rc=$?
	expect_eq "$rc" 0 "wnd exit status after SIGINT"
	wn_start
	expect_eq "$(job_field "$id" .name)" keep "job after SIGINT and restart"
}

test_second_server_refuses_data_dir() {
	wn_start
	mkproject p
	local rc=0
	timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/second.sock" \
		>second.log 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || fail "second wnd on the same data directory kept running"
	[ "$rc" -ne 0 ] || fail "second wnd on the same data directory exited 0"
	[ -s second.log ] || fail "second wnd refused without a message"
	expect_contains "$(<second.log)" data "message of the second wnd"
	# The first one is unaffected.
	expect_exit 0 wnctl project show p
	wn_stop
}

test_relaxed_durability_serves() {
	wn_start --durability relaxed
	mkproject p
	mktask p t
	local id
	id=$(wnctl job add p t)
	wn_stop
	wn_start --durability sync
	expect_eq "$(job_status "$id")" pending "job after relaxed run and clean stop"
	local rc=0
	timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/other" --listen "ipc://$WN_TMP/x.sock" \
		--durability sometimes >bad.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd accepted --durability sometimes (exit $rc)"
	[ -s bad.log ] || fail "bad --durability refused without a message"
}

# A client whose reply was lost when wnd died sends its submit again once wnd
# is back: it gets the first answer and no second job.
test_resend_after_restart() {
	wn_start
	mkproject p
	mktask p t
	local body first
	body=$(pbhex '[(1, [(1, "p"), (2, "t"), (3, "once")])]')
	raw_call $M_JOB/Submit "$body" --id 31337
	expect_raw OK "first submit"
	first=$(raw_bodies)
	raw_call $M_JOB/SubmitBatch "$(pbhex '[(1, [(1, "p"), (2, "t"), (3, "b1")]),
		(1, [(1, "p"), (2, "t"), (3, "b2")])]')" --id 31338
	expect_raw OK "first batch"
	wn_kill9
	wn_start
	raw_call $M_JOB/Submit "$body" --id 31337
	expect_raw OK "resent submit"
	expect_eq "$(raw_bodies)" "$first" "reply to the resent submit"
	raw_call $M_JOB/SubmitBatch "$(pbhex '[(1, [(1, "p"), (2, "t"), (3, "b1")]),
		(1, [(1, "p"), (2, "t"), (3, "b2")])]')" --id 31338
	expect_raw OK "resent batch"
	expect_eq "$(wnctl --json job list --all | jq_jobs | jq -r .name | tr '\n' ' ')" "once b1 b2 " \
		"jobs after resends across a restart"
}
