# A worker short of something on its own machine fails no job for it: under
# a small descriptor limit (ulimit -n) a command that finds the worker out of
# descriptors for a moment waits for the other slots to give theirs back; on
# a disk too full for a command's log the job is handed back, unharmed, and
# the worker takes no job for a while. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

test_a_worker_with_few_descriptors_runs_every_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF2
slots: 8
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$1" >> $WN_TMP/runs; mkdir $WN_TMP/at/\$1; sleep 0.0\$((\$1 % 5)); echo \$(ls $WN_TMP/at | wc -l) >> $WN_TMP/at.count; rmdir $WN_TMP/at/\$1', sh, "{job.id}"]
EOF2
	} >w.yaml
	mkdir at
	local i
	for i in $(seq 1 48); do echo '{"project": "p", "task": "t"}'; done | wnctl job batch - >/dev/null
	# 8 slots, each with its command, its log, its call to the server: 24
	# descriptors have room for 3 of them at once
	(
		ulimit -n 24
		exec "$WN_BIN/wnworker" --config w.yaml --name w1 --exit-when-empty >>w1.log 2>&1
	) &
	WORKER_PID=$!
	WN_PIDS+=("$WORKER_PID")
	worker_wait "$WORKER_PID" 60
	expect_contains "$(<w1.log)" \
		"the descriptor limit (ulimit -n 24) has room for 3 of the 8 slots: running at most 3 jobs at once" \
		"the worker's log"
	local most
	most=$(sort -n at.count | tail -1)
	[ "$most" -le 3 ] || fail "$most commands ran at once, past the 3 the limit has room for"
	expect_not_contains "$(<w1.log)" "not run" "the worker's log"
	expect_eq "$(jobs_table p "' '.join(map(str, [j['status'], j['attempt']]))" | sort | uniq -c | sed 's/^ *//')" \
		"48 completed 1" "jobs"
	expect_eq "$(sort -n runs | uniq | wc -l)" 48 "commands run"
	expect_eq "$(wc -l <runs)" 48 "runs"
}

test_a_full_log_disk_hands_jobs_back_and_fails_none() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --retries 1 >/dev/null
	# a disk with room for a few files only: the logs' directories, then none
	mount_disk 1m nr_inodes=8
	local i=0
	while touch "$WN_TMP/disk/ballast$i" 2>/dev/null; do i=$((i + 1)); done
	{
		worker_head | sed "s|^log_dir: .*|log_dir: $WN_TMP/disk|"
		cat <<EOF2
slots: 2
tasks:
  t:
    command: [/bin/sh, -c, 'echo ran "\$1"', sh, "{job.id}"]
    log: "{job.id}.log"
EOF2
	} >w.yaml
	local a b c
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t)
	# --once: the one job taken goes back unrun, and the status says so
	expect_exit 1 timeout 30 "$WN_BIN/wnworker" --config w.yaml --name w0 --once
	expect_contains "$WN_ERR" "the job was handed back unrun"
	worker_start w1 w.yaml
	wait_until 20 "the worker to hand a job back" log_has w1.log "handing it back"
	expect_contains "$(<w1.log)" "this machine cannot start commands now" "the worker's log"
	expect_contains "$(<w1.log)" "No space left on device" "the worker's log"
	local id
	for id in "$a" "$b" "$c"; do
		wait_status "$id" pending 20 # the hand-back may still be on its way
		expect_eq "$(job_get "$id" "(j.get('failures', 0), j.get('lost', 0))")" "(0, 0)" \
			"failures and lost leases of job $id on a full disk"
	done
	rm -f "$WN_TMP"/disk/ballast*
	for id in "$a" "$b" "$c"; do
		wait_status "$id" completed 90
		expect_eq "$(job_get "$id" "j.get('failures', 0)")" 0 "failures of job $id"
		expect_eq "$(<"$WN_TMP/disk/$id.log")" "ran $id" "the log of job $id"
	done
}

# lowest_free_fd PID: the lowest descriptor number process PID has not open
# (a limit of it leaves the process no descriptor to open).
lowest_free_fd() {
	local n=0
	while [ -e "/proc/$1/fd/$n" ]; do n=$((n + 1)); done
	echo "$n"
}

# A worker out of descriptors when a command ends cannot look for what the
# command left running outside its group: it looks again until it can,
# rather than take a look it could not make for one that found nothing and
# report the job with the daemon still running.
test_a_worker_short_of_descriptors_ends_the_daemon_before_the_report() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	cat >job.sh <<'EOF2'
(setsid sh -c 'echo $$ > d.tmp; mv d.tmp d.pid; exec sleep 600' </dev/null >/dev/null 2>&1 &)
while [ ! -s d.pid ]; do sleep 0.05; done
touch started
while [ ! -e go ]; do sleep 0.05; done
EOF2
	{
		worker_head
		cat <<EOF2
tasks:
  t:
    command: [/bin/sh, $WN_TMP/job.sh]
    workdir: $WN_TMP
EOF2
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 10 "the job to start" test -e started
	wn_track_session "$(<d.pid)"
	prlimit --pid "$WORKER_PID" --nofile="$(lowest_free_fd "$WORKER_PID")":
	touch go
	wait_until 10 "the worker to say it cannot look" log_has w1.log \
		"cannot look for all of its processes, this worker is short of descriptors"
	expect_contains "$(<w1.log)" "Too many open files" "the worker's log"
	kill -0 "$(<d.pid)" || fail "the daemon was ended unseen"
	expect_eq "$(job_get "$id" "j['status']")" running
	prlimit --pid "$WORKER_PID" --nofile=1024:
	wait_status "$id" completed
	pid_gone d.pid || fail "the job was reported with its daemon still running"
}

# A worker whose stderr is a pipe nobody reads (a log collector that hung)
# goes on running jobs: its log lines are dropped, not waited for, and it says
# how many when stderr takes lines again.
test_a_worker_whose_stderr_is_not_read_runs_every_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF2
slots: 4
log_level: debug
tasks:
  t:
    command: [/bin/true]
EOF2
	} >w.yaml
	local i
	for i in $(seq 1 300); do echo '{"project": "p", "task": "t"}'; done | wnctl job batch - >/dev/null
	mkfifo err.fifo
	exec 7<>err.fifo # held open, never read: the pipe fills and stays full
	"$WN_BIN/wnworker" --config w.yaml --name w1 --exit-when-empty 2>err.fifo &
	WORKER_PID=$!
	WN_PIDS+=("$WORKER_PID")
	worker_wait "$WORKER_PID" 60
	expect_eq "$(jobs_table p "j['status']" | sort | uniq -c | sed 's/^ *//')" "300 completed" \
		"jobs"
	# what stderr holds now, and what comes after the lines dropped
	timeout 5 cat <&7 >err.txt || true
	exec 7<&-
	expect_contains "$(<err.txt)" "wnworker debug:" "the lines the pipe took"
}

# A command whose exec fails for want of memory (ENOMEM) or of processes
# (EAGAIN) on the worker's machine fails no job: the job is handed back,
# unharmed, with the reason in the log, and runs once the machine can start
# it (here: another worker). wnnoexec makes every execve of the worker fail
# so.
test_an_exec_short_of_memory_hands_the_job_back() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --max-attempts 1 >/dev/null
	script_task run.sh >w.yaml
	echo 'echo ran' >run.sh
	local err a
	a=$(wnctl job add p t)
	for err in ENOMEM EAGAIN; do
		"$WN_BIN/wnnoexec" exec "$err" "$WN_BIN/wnworker" --config w.yaml --name "w-$err" --once \
			>"w-$err.log" 2>&1 && fail "the worker whose job went back exited 0"
		expect_contains "$(<"w-$err.log")" "job $a: not run: cannot start /bin/sh: "
		expect_contains "$(<"w-$err.log")" "handing it back"
		expect_eq "$(job_get "$a" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
			"('pending', 0, 0)" "job $a after an exec that failed with $err"
	done
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	# handed back twice, it runs all the same (--max-attempts 1)
	expect_eq "$(job_get "$a" "(j['status'], j['output_tail'].strip())")" "('completed', 'ran')" \
		"job $a"
}

# The same when the worker cannot fork the guard process that its commands
# need (no process left: EAGAIN): the job goes back, and runs elsewhere.
test_a_guard_that_cannot_be_forked_hands_the_job_back() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --max-attempts 1 >/dev/null
	script_task run.sh >w.yaml
	echo 'echo ran' >run.sh
	local a
	a=$(wnctl job add p t)
	"$WN_BIN/wnnoexec" fork EAGAIN "$WN_BIN/wnworker" --config w.yaml --name w0 --once \
		>w0.log 2>&1 && fail "the worker whose job went back exited 0"
	expect_contains "$(<w0.log)" "job $a: not run: cannot start /bin/sh: cannot start the guard process: fork: Resource temporarily unavailable; handing it back"
	expect_eq "$(job_get "$a" "(j['status'], j.get('failures', 0), j.get('lost', 0))")" \
		"('pending', 0, 0)" "job $a after a fork that failed"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$a" "(j['status'], j['output_tail'].strip())")" "('completed', 'ran')" \
		"job $a"
}
