# /metrics end to end (docs/metrics.md): wnd with its HTTP listener, real
# jobs run by wnworker, the numbers a user checks in Prometheus's text format,
# and promtool's lint of the whole page.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# scrape: GET /metrics, headers in $WN_TMP/headers, the page in $WN_TMP/metrics.
scrape() {
	curl -sS --fail --max-time 10 -D "$WN_TMP/headers" -o "$WN_TMP/metrics" \
		"$WN_HTTP/metrics"
}

# metric SERIES: the value of SERIES (name and labels, as the page writes them)
# in the last scrape, or "missing".
metric() {
	awk -v k="$1" 'index($0, k " ") == 1 { print $2; found = 1 } END { if (!found) print "missing" }' \
		"$WN_TMP/metrics"
}

test_metrics_count_what_the_jobs_did() {
	command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps.sh)"
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl project create q >/dev/null
	wnctl task create p ok >/dev/null
	wnctl task create p bad >/dev/null
	wnctl task create q t >/dev/null
	{
		worker_head "[p, q]"
		cat <<'EOF'
tasks:
  ok:
    command: [/bin/true]
  bad:
    command: [/bin/sh, -c, 'exit 3']
  t:
    command: [/bin/true]
EOF
	} >w.yaml
	local _
	for _ in 1 2 3; do wnctl job add p ok >/dev/null; done
	for _ in 1 2; do wnctl job add p bad >/dev/null; done
	wnctl job add q t >/dev/null
	expect_exit 4 wnctl job show 999
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	# a call over HTTP goes through the same dispatch and is counted with the others
	local code
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
		-H 'Content-Type: application/json' -d '{"id": "999"}' \
		"$WN_HTTP/v1/JobService/Get")
	expect_eq "$code" 404 "HTTP status of a job that does not exist"

	scrape
	expect_contains "$(tr -d '\r' <"$WN_TMP/headers")" "Content-Type: text/plain; version=0.0.4"
	expect_eq "$(metric 'whatsnext_jobs_finished_total{project="p",task="ok",state="completed"}')" 3 "p/ok completed"
	expect_eq "$(metric 'whatsnext_jobs_finished_total{project="p",task="bad",state="failed"}')" 2 "p/bad failed"
	expect_eq "$(metric 'whatsnext_jobs_finished_total{project="q",task="t",state="completed"}')" 1 "q/t completed"
	expect_eq "$(metric 'whatsnext_jobs{project="p",state="completed"}')" 3 "p's completed jobs"
	expect_eq "$(metric 'whatsnext_jobs{project="p",state="failed"}')" 2 "p's failed jobs"
	expect_eq "$(metric 'whatsnext_queue_depth{project="p"}')" 0 "p's queue depth"
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="ok"}')" 3 "p/ok submitted"
	expect_eq "$(metric 'whatsnext_job_run_duration_seconds_count{project="p",task="ok"}')" 3 "p/ok runs"
	expect_eq "$(metric 'whatsnext_job_run_duration_seconds_count{project="p",task="bad"}')" 2 "p/bad runs"
	expect_eq "$(metric 'whatsnext_dispatch_latency_seconds_count')" 6 "jobs claimed"
	expect_eq "$(metric 'whatsnext_dispatch_latency_seconds_bucket{le="+Inf"}')" 6 "jobs claimed (+Inf)"
	expect_eq "$(metric 'whatsnext_requests_total{method="JobService/Submit",code="OK"}')" 6 "Submit calls"
	expect_eq "$(metric 'whatsnext_requests_total{method="QueueService/Complete",code="OK"}')" 6 "Complete calls"
	expect_eq "$(metric 'whatsnext_requests_total{method="JobService/Get",code="NOT_FOUND"}')" 2 "Get of a job that does not exist (SP and HTTP)"
	expect_eq "$(metric 'whatsnext_request_duration_seconds_count{method="QueueService/Complete"}')" 6 "Complete calls timed"
	expect_eq "$(metric 'whatsnext_workers{state="gone"}')" 1 "workers that left"
	expect_eq "$(metric 'whatsnext_build_info{version="'"$("$WN_BIN/wnd" --version | awk '{print $2}')"'"}')" 1 "build info"
	local wal fsyncs
	wal=$(metric 'whatsnext_store_size_bytes{kind="wal"}')
	if [ "$wal" = missing ] || [ "$wal" -le 0 ]; then fail "store size of the WAL: $wal"; fi
	fsyncs=$(metric 'whatsnext_store_fsync_duration_seconds_count')
	if [ "$fsyncs" = missing ] || [ "$fsyncs" -le 0 ]; then fail "fsyncs counted: $fsyncs"; fi
	promtool check metrics <"$WN_TMP/metrics" >"$WN_TMP/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(<"$WN_TMP/promtool.out")"
	wn_stop
}

test_queue_depth_counts_only_what_a_worker_could_claim() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid a=1,2,3 --max-running 1 >/dev/null 2>&1
	wnctl job add p t >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_queue_depth{project="p"}')" 4 "p's queue depth, nothing running"
	# the sweep's first job runs: the sweep is at its cap, its two others
	# wait for its turn and no worker could claim them
	[ -n "$(wnctl queue fetch p --worker w1)" ] || fail "no job fetched"
	expect_eq "$(wnctl queue show p --ready | grep -c 'waiting for a worker')" 1 "jobs wnctl shows ready"
	scrape
	expect_eq "$(metric 'whatsnext_queue_depth{project="p"}')" 1 "p's queue depth, the sweep at its cap"
	wnctl project archive p >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_queue_depth{project="p"}')" 0 "an archived project's queue depth"
	expect_eq "$(metric 'whatsnext_jobs{project="p",state="pending"}')" 3 "an archived project's pending jobs"
	wnctl project unarchive p >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_queue_depth{project="p"}')" 1 "p's queue depth, unarchived"
	wn_stop
}

test_metrics_are_only_read() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local verb code
	for verb in POST PUT DELETE; do
		code=$(curl -sS -o "$WN_TMP/body" -D "$WN_TMP/headers" -w '%{http_code}' --max-time 10 \
			-X "$verb" "$WN_HTTP/metrics")
		expect_eq "$code" 405 "HTTP status of $verb /metrics"
		expect_contains "$(tr -d '\r' <"$WN_TMP/headers")" "Allow: GET, HEAD, OPTIONS"
		expect_not_contains "$(<"$WN_TMP/body")" "whatsnext_"
	done
	# OPTIONS asks which verbs are served (RFC 9110 9.3.7): it was 405
	code=$(curl -sS -o "$WN_TMP/body" -D "$WN_TMP/headers" -w '%{http_code}' --max-time 10 \
		-X OPTIONS "$WN_HTTP/metrics")
	expect_eq "$code" 204 "HTTP status of OPTIONS /metrics"
	expect_contains "$(tr -d '\r' <"$WN_TMP/headers")" "Allow: GET, HEAD, OPTIONS"
	expect_not_contains "$(<"$WN_TMP/body")" "whatsnext_"
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -I "$WN_HTTP/metrics")
	expect_eq "$code" 200 "HTTP status of HEAD /metrics"
	wn_stop
}

# The series of a deleted project (jobs submitted and finished, run times, by
# task) stayed on the page until wnd restarted, and a project made again
# under the same name went on counting in them; they now go with the
# project, and a deleted task's with the task.
test_a_deleted_projects_series_leave_the_page() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local prj tk
	for prj in p q; do
		wnctl project create "$prj" >/dev/null
		for tk in a b; do
			wnctl task create "$prj" "$tk" >/dev/null
			wnctl job add "$prj" "$tk" >/dev/null
			wnctl job add "$prj" "$tk" >/dev/null
		done
	done
	wnctl job cancel 1 >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="a"}')" 2 "p/a submitted"
	expect_eq "$(metric 'whatsnext_jobs_finished_total{project="p",task="a",state="cancelled"}')" 1 "p/a cancelled"
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="b"}')" 2 "p/b submitted"
	# a task deleted: its series go, its project's others stay
	wnctl task delete p b --yes >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="b"}')" missing "p/b submitted, deleted"
	expect_eq "$(grep 'project="p",task="b"' "$WN_TMP/metrics")" "" "lines of the deleted task p/b"
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="a"}')" 2 "p/a submitted, p/b deleted"
	# the project deleted: every line of it goes, q's stay
	wnctl project delete p --yes >/dev/null
	scrape
	expect_eq "$(grep 'project="p"' "$WN_TMP/metrics")" "" "lines of the deleted project p"
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="q",task="a"}')" 2 "q/a submitted"
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="q",task="b"}')" 2 "q/b submitted"
	# made again under the same name, it counts from nothing
	wnctl project create p >/dev/null
	wnctl task create p a >/dev/null
	wnctl job add p a >/dev/null
	scrape
	expect_eq "$(metric 'whatsnext_jobs_submitted_total{project="p",task="a"}')" 1 "p/a submitted, made again"
	expect_eq "$(metric 'whatsnext_jobs_finished_total{project="p",task="a",state="cancelled"}')" 0 "p/a cancelled, made again"
	wn_stop
}
