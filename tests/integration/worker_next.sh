# The worker's round trips: a run's result asks for the worker's next job in
# the same call (QueueService/Complete with `next`), so a worker kept busy
# by the queue makes one call per job, not a Fetch and a Complete each.
# Counted by the server's own /metrics (docs/metrics.md).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# requests METHOD: OK answers to METHOD (Service/Method) so far.
requests() {
	curl -sS --fail --max-time 10 "$WN_HTTP/metrics" |
		awk -v k="whatsnext_requests_total{method=\"$1\",code=\"OK\"}" \
			'index($0, k " ") == 1 { print $2; found = 1 } END { if (!found) print 0 }'
}

test_a_busy_worker_takes_each_next_job_with_the_last_result() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$1" >> $WN_TMP/order', sh, "{n}"]
EOF
	} >w.yaml
	local i
	for i in $(seq 1 30); do
		echo "{\"project\": \"p\", \"task\": \"t\", \"params\": {\"n\": \"$i\"}, \"priority\": $((100 - i))}"
	done | wnctl job batch - >/dev/null
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	# every job ran once, in priority order
	expect_eq "$(tr '\n' ' ' <order)" "$(seq -s ' ' 1 30) " "run order"
	expect_eq "$(jobs_table p "' '.join(map(str, [j['status'], j['attempt']]))" | sort | uniq -c | sed 's/^ *//')" \
		"30 completed 1" "jobs"
	expect_eq "$(requests QueueService/Complete)" 30 "Complete calls"
	# the first fetch, the one that found the queue empty, and one more per
	# 10 s for the worker to learn its projects' tasks again
	local fetches
	fetches=$(requests QueueService/Fetch)
	[ "$fetches" -ge 2 ] && [ "$fetches" -le 4 ] ||
		fail "30 jobs took $fetches Fetch calls (expected 2 to 4: the rest came with the results)"
}

test_the_last_result_of_a_draining_worker_claims_no_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'while [ ! -e $WN_TMP/go ]; do sleep 0.05; done']
EOF
	} >w.yaml
	local a b
	a=$(wnctl job add p t --priority 9)
	b=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_status "$a" running
	wnctl worker drain w1 >/dev/null
	wait_until 10 "the worker hears the drain" log_has w1.log "draining (asked by the server)"
	touch go
	worker_wait "$WORKER_PID" 30
	expect_contains "$(<w1.log)" "drained: no job left; exiting"
	wait_status "$a" completed
	# the second job did not run here, and is ready for another worker
	expect_eq "$(job_get "$b" "j['status']")" pending "the other job"
	expect_not_contains "$(<w1.log)" "job $b: started"
}

# runs_at_least N: the commands have run N times or more.
runs_at_least() { [ -f runs ] && [ "$(wc -l <runs)" -ge "$1" ]; }

all_completed() {
	[ "$(jobs_table p "j['status']" | grep -c completed)" -eq "$1" ]
}

test_wnd_killed_while_results_claim_the_next_jobs_loses_none_and_runs_none_twice() {
	# a short lease: a job whose Complete claimed it just before the kill,
	# its answer lost, comes back when that lease runs out
	wn_start --lease-ms 2000
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF2
slots: 4
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$1" >> $WN_TMP/runs; echo "out-\$1-\$2"', sh, "{job.id}", "{attempt}"]
EOF2
	} >w.yaml
	local i
	for i in $(seq 1 120); do echo '{"project": "p", "task": "t"}'; done | wnctl job batch - >/dev/null
	worker_start w1 w.yaml
	for i in 20 60; do
		wait_until 30 "$i runs" runs_at_least "$i"
		wn_kill9
		wn_start --lease-ms 2000
	done
	wait_until 60 "every job to complete" all_completed 120
	# each command ran once: a result that reached the store before the
	# kill is not run again, and its claimed next job ran once, elsewhere
	# in time
	expect_eq "$(sort -n runs | uniq -d | wc -l)" 0 "jobs run twice"
	expect_eq "$(wc -l <runs)" 120 "runs"
	local id at
	while read -r id at; do
		expect_eq "$(wnctl job log "$id")" "out-$id-$at" "job $id's output"
	done < <(jobs_table p "'%d %d' % (j['id'], j['attempt'])" | awk 'NR % 10 == 0')
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID"
	wn_stop
	expect_contains "$("$WN_BIN/wnd" --check --data "$WN_TMP/data" 2>&1)" "clean" "wnd --check"
}

test_exit_when_empty_exits_once_the_last_jobs_are_done() {
	# Runs that end while the worker's last fetch is on its way must not
	# leave it waiting for news that already came: it would wait for its
	# held heartbeat (up to 10 s, with output_ms 0), longer than the 9 s
	# the test gives a worker to run 24 jobs of /bin/true and exit.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
slots: 8
heartbeat_ms: 60000
output_ms: 0
tasks:
  t:
    command: [/bin/true]
EOF
	} >w.yaml
	local round i
	for round in 1 2 3 4; do
		for i in $(seq 1 24); do echo '{"project": "p", "task": "t"}'; done |
			wnctl job batch - >/dev/null
		worker_start "w$round" w.yaml --exit-when-empty
		worker_wait "$WORKER_PID" 9
		expect_contains "$(<"w$round.log")" "no job ready: exiting"
	done
	expect_eq "$(jobs_table p "j['status']" | sort | uniq -c | sed 's/^ *//')" "96 completed" "jobs"
}
