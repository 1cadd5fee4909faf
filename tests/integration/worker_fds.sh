# A worker under a small descriptor limit (ulimit -n) runs every job: a
# command that finds the worker out of descriptors for a moment waits for
# the other slots to give theirs back instead of failing. Real wnd, wnworker
# and wnctl.
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"

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
    command: [/bin/sh, -c, 'echo "\$1" >> $WN_TMP/runs; sleep 0.0\$((\$1 % 5))', sh, "{job.id}"]
EOF2
	} >w.yaml
	local i
	for i in $(seq 1 48); do echo '{"project": "p", "task": "t"}'; done | wnctl job batch - >/dev/null
	# 8 slots, each with its command, its log, its call to the server
	(
		ulimit -n 24
		exec "$WN_BIN/wnworker" --config w.yaml --name w1 --exit-when-empty >>w1.log 2>&1
	) &
	WORKER_PID=$!
	WN_PIDS+=("$WORKER_PID")
	worker_wait "$WORKER_PID" 60
	expect_not_contains "$(cat w1.log)" "not run" "the worker's log"
	expect_eq "$(jobs_table p "' '.join(map(str, [j['status'], j['attempt']]))" | sort | uniq -c | sed 's/^ *//')" \
		"48 completed 1" "jobs"
	expect_eq "$(sort -n runs | uniq | wc -l)" 48 "commands run"
	expect_eq "$(wc -l <runs)" 48 "runs"
}
