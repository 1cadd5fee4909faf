# Live output: what jobs print reaches `wnctl job log` while they run, in
# order and complete, with the real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# output_setup COMMAND: project p, task t running COMMAND (a YAML flow
# sequence), a worker config w.yaml that ships new output within 200 ms
# (output_ms), while its heartbeats are ten minutes apart: what reaches the
# server sooner came with output_ms.
output_setup() {
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
heartbeat_ms: 600000
output_ms: 200
tasks:
  t:
    command: $1
EOF
	} >w.yaml
}

test_log_follow_live_in_order_and_complete() {
	wn_start
	# 10 lines, then it waits until the test has seen them through the
	# server (so they were shipped while it ran), then 190 more
	output_setup "[/bin/sh, -c, 'i=1; while [ \$i -le 10 ]; do echo \"line \$i\"; i=\$((i+1)); done; while [ ! -e $WN_TMP/go ]; do sleep 0.05; done; while [ \$i -le 200 ]; do echo \"line \$i\"; i=\$((i+1)); [ \$((i % 20)) -ne 0 ] || sleep 0.1; done']"
	local id
	id=$(wnctl job add p t)
	# followed from before it starts: the long-poll waits for it
	wnctl job log -f "$id" >followed.out 2>followed.err &
	local follower=$!
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the first lines through the server" grep -qx "line 10" followed.out
	expect_eq "$(job_get "$id" "j['status']")" running "status while its first lines are read"
	touch go
	follower_end "$follower"
	local rc=$FOLLOWER_RC
	expect_eq "$rc" 0 "exit code of job log -f for a completed job"
	seq 1 200 | sed 's/^/line /' >expected
	cmp expected followed.out || fail "the followed output differs from what the job printed"
	# what the server keeps is the run's log file, byte for byte
	cmp logs/p/t/"$id".1.log followed.out || fail "the log file differs"
	wnctl job log "$id" >again.out
	cmp expected again.out || fail "job log (not followed) differs"
	worker_wait "$WORKER_PID"
}

test_log_raw_bytes_and_failed_exit_code() {
	wn_start
	output_setup "[/bin/sh, -c, 'printf \"caf\\\\303\\\\251 \\\\377\\\\376 bell\\\\007 esc\\\\033[2J end\\\\n\"; exit 3']"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	local rc=0
	wnctl job log -f "$id" >raw.out || rc=$?
	expect_eq "$rc" 9 "exit code of job log -f for a failed job"
	printf 'caf\303\251 \377\376 bell\007 esc\033[2J end\n' >expected
	cmp expected raw.out || fail "bytes to a pipe are not the job's bytes: $(od -c raw.out | head -3)"
	# --json: the reply as it is, the bytes in base64
	expect_contains "$(wnctl --json job log "$id")" "\"data\": \"$(base64 -w0 expected)\""
	# a job that never ran has nothing; a job that does not exist is an error
	local other
	other=$(wnctl job add p t)
	expect_eq "$(wnctl job log "$other")" "" "log of a job that never ran"
	expect_exit 4 wnctl job log 999999
	expect_exit 2 wnctl job log nope
}

test_log_beyond_the_bound_keeps_the_end() {
	printf 'output_max_bytes: 65536\n' >wnd.yaml
	wn_start --config wnd.yaml
	# 300,000 bytes of numbered lines, faster than heartbeats ship them
	output_setup "[/bin/sh, -c, 'seq -f \"%09g\" 1 30000']"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	wnctl job log "$id" >kept.out 2>kept.err
	local size
	size=$(wc -c <kept.out)
	[ "$size" -le 65536 ] && [ "$size" -gt 40000 ] || fail "kept $size bytes, not the last 64 KiB or so"
	expect_contains "$(<kept.err)" "are not kept (the server keeps the latest only)"
	# the end is complete and in order
	seq -f "%09g" 1 30000 | tail -c "$size" >expected
	cmp expected kept.out || fail "the kept output is not the end of what the job printed"
	expect_eq "$(wnctl --json job log "$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["end"], r["ended"])')" "300000 True" "end and ended"
}

# follower_end PID: wait (a minute at most) for the follower PID to end and
# leave its exit status in FOLLOWER_RC.
follower_end() {
	wait_until 60 "wnctl job log -f to end" proc_gone "$1"
	FOLLOWER_RC=0
	wait "$1" || FOLLOWER_RC=$?
}

# log_has_line ID LINE: job ID's output as the server keeps it has LINE.
log_has_line() { wnctl job log "$1" | grep -qx "$2"; }

# log_end_is ID N: the server has N bytes of job ID's output.
log_end_is() {
	[ "$(wnctl --json job log "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("end", 0))')" = "$2" ]
}

# A process that left the command's group (setsid) and dropped the run's
# mark (WN_RUN: else it is ended with the command) and writes on, fast,
# does not hold the result back: the job completes while it still runs.
test_an_escaped_writer_does_not_hold_the_result() {
	# over TCP: a 1 MiB heartbeat takes longer than the writer takes to
	# write 1 MiB more
	export WN_SERVER=tcp://127.0.0.1:$(free_port)
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# the default rpc_timeout_ms: each heartbeat of output is answered
	cat >w.yaml <<EOF
projects: p
fetch_wait_ms: 500
kill_grace_s: 1
log_dir: $WN_TMP/logs
tasks:
  t:
    command: [/bin/sh, -c, 'setsid sh -c "echo \\\$\\\$ >$WN_TMP/writer.pid; exec env -u WN_RUN timeout 45 yes escaped-writer-output" & sleep 0.5; echo leader done']
EOF
	local id pid
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 20 "the writer's pid" test -s writer.pid
	pid=$(<writer.pid)
	WN_PIDS+=("$pid")
	# held by the writer, the job would complete only once it ends (45 s)
	wait_until 35 "job $id to complete" eval "[ \"\$(job_get $id \"j['status']\")\" = completed ]"
	kill -0 "$pid" 2>/dev/null || fail "the writer ended before the job completed"
	kill "$pid"
	expect_contains "$(job_get "$id" "j['output_tail']")" "escaped-writer-output"
}

test_log_survives_a_crash_of_wnd() {
	wn_start
	# 20 lines; then, once go1 exists (wnd is down), 10 more; then, once go2
	# exists (wnd is back), 10 more
	output_setup "[/bin/sh, -c, 'for i in \$(seq 1 20); do echo \"line \$i\"; done; while [ ! -e $WN_TMP/go1 ]; do sleep 0.05; done; for i in \$(seq 21 30); do echo \"line \$i\"; done; while [ ! -e $WN_TMP/go2 ]; do sleep 0.05; done; for i in \$(seq 31 40); do echo \"line \$i\"; done']"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "line 20 on the server" log_has_line "$id" "line 20"
	# a follower waits through the crash and the restart (a request lost with
	# the connection is sent again after --timeout)
	wnctl --timeout 2000 job log -f "$id" >followed.out 2>followed.err &
	local follower=$!
	wait_until 20 "the follower to print line 20" grep -qx "line 20" followed.out
	wn_kill9
	touch go1
	# heartbeats fail while wnd is down: lines 21 to 30 wait on the worker
	wait_until 20 "the worker to miss the server" grep -q "cannot reach the server" w1.log
	wn_start
	wait_until 60 "line 30 on the server, sent again" log_has_line "$id" "line 30"
	touch go2
	wait_status "$id" completed
	seq 1 40 | sed 's/^/line /' >expected
	wnctl job log "$id" >got
	cmp expected got || fail "the output kept differs from what the job printed"
	follower_end "$follower"
	local rc=$FOLLOWER_RC
	expect_eq "$rc" 0 "exit code of the follower"
	cmp expected followed.out || fail "the follower's output differs: $(cat followed.err)"
	worker_wait "$WORKER_PID"
}

# A run that ends with more than a call's share of its output unshipped
# while wnd is down: the worker ships the rest once wnd is back, before the
# result, rather than skip to the last part (the server kept a gap of it).
test_output_left_at_the_end_while_wnd_is_down_is_shipped_whole() {
	wn_start
	# 3.3 MB of numbered lines once go exists (wnd is down), then it ends
	output_setup "[/bin/sh, -c, 'while [ ! -e $WN_TMP/go ]; do sleep 0.05; done; seq 1 150000 | sed \"s/^/line of the run /\"']"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_status "$id" running
	wn_kill9
	touch go
	wait_until 20 "the rest of the output to wait" log_has w1.log "of its output wait for the server"
	wn_start
	wait_status "$id" completed 60
	seq 1 150000 | sed "s/^/line of the run /" >expected
	wnctl job log "$id" >got
	cmp expected got || fail "the output kept differs from what the job printed"
	worker_wait "$WORKER_PID"
}

test_log_on_a_terminal_escapes_controls_and_keeps_utf8_whole() {
	wn_start
	# a character cut in two by a wait: its first byte ships alone
	output_setup "[/bin/sh, -c, 'printf \"clear\\\\033[2J caf\\\\303\"; while [ ! -e $WN_TMP/go ]; do sleep 0.05; done; printf \"\\\\251 end\\\\n\"']"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the first 14 bytes on the server" log_end_is "$id" 14
	# on a terminal (script gives wnctl one)
	script -qefc "$WN_BIN/wnctl job log -f $id" /dev/null >tty.raw &
	local follower=$!
	wait_until 20 "the follower to print the first part" grep -q "clear" tty.raw
	touch go
	follower_end "$follower"
	local rc=$FOLLOWER_RC
	expect_eq "$rc" 0 "exit code on a terminal"
	tr -d '\r' <tty.raw >tty.out
	expect_eq "$(<tty.out)" 'clear\x1b[2J café end' "what the terminal shows"
}

test_log_of_a_job_without_live_output_shows_its_tail() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	# a worker that ships no output (as one before live output, or runai):
	# only the completion's tail
	wnctl queue fetch p --worker w9 >/dev/null
	wnctl queue complete "$id" 1 --worker w9 --fail --exit-code 2 \
		--output $'epoch 1\nloss=nan\n' >/dev/null
	expect_eq "$(wnctl job log "$id")" $'epoch 1\nloss=nan' "job log"
	local rc=0
	wnctl job log -f "$id" >followed || rc=$?
	expect_eq "$rc" 9 "exit code of job log -f for a failed job"
	expect_eq "$(<followed)" $'epoch 1\nloss=nan' "job log -f"
}
