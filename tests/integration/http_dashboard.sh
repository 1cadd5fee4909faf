# The dashboard wnd serves at / (docs/dashboard.md), in a real headless
# Chromium (Debian's chromium, driven by puppeteer-core from
# tests/browser/node_modules: scripts/install-deps.sh installs both): the
# token login, every page with no console error nor failed request, a
# sweep's real numbers as `wnctl sweep results` gives them, a job's state
# followed live. The screenshots are kept in the build directory, beside
# WN_BIN: $(dirname $WN_BIN)/test-artifacts/http_dashboard/ (the test prints
# the path).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DASH_SECRET=dashboard-admin-secret-0123456789abcdef

test_dashboard_in_a_browser() {
	local browser=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$browser" ] || fail "no $browser: run scripts/install-deps.sh (Debian package chromium)"
	browser_need

	printf '%s\n' "$DASH_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$DASH_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url

	wnctl project create sw --description "a sweep of examples/train.py" >/dev/null
	wnctl task create sw train >/dev/null
	wnctl task create sw live >/dev/null
	wnctl task create sw big --gpu 64 >/dev/null
	{
		worker_head sw
		cat <<EOF
slots: 4
heartbeat_ms: 300
output_ms: 200
tasks:
  train:
    command: [python3, $REPO/examples/train.py, --lr, "{lr}", --epochs, "{epochs}",
              --seconds-per-epoch, "0.01", --fail-above-lr, "0.5",
              --checkpoint, "model-{job.id}.json"]
    artifacts:
      paths: ["model-{job.id}.json"]
      upload: true
  live:
    command: [/bin/sh, $WN_TMP/live.sh]
  big:
    command: [/bin/true]
EOF
	} >w.yaml
	# The live job prints and reports a step every 0.1 s until the test
	# creates the file `open`.
	cat >live.sh <<EOF
i=0
while [ ! -e $WN_TMP/open ]; do
	i=\$((i + 1))
	echo "step \$i"
	echo "{\"step\": \$i, \"loss\": \$((1000 / i))}" >>"\$WN_RESULTS"
	sleep 0.1
done
echo done
EOF
	local sweep live job
	sweep=$(wnctl --json job sweep sw train --grid lr=0.001,0.1,1 --grid epochs=1,3 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	live=$(wnctl job add sw live --name live-run)
	local big after
	big=$(wnctl job add sw big --name needs-gpus)
	after=$(wnctl job add sw train --name after-big --param lr=0.01 --param epochs=1 --after "$big:afterany")
	worker_start w1 w.yaml
	# exit 9: the lr=1 runs fail on purpose
	local rc=0
	wnctl job wait --sweep "$sweep" --timeout 60s >/dev/null || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 9 ] || fail "wnctl job wait --sweep $sweep: exit $rc"
	wait_status "$live" running 20
	wnctl --json sweep results "$sweep" >results.json
	job=$sweep # lr=0.001, epochs=1: completed, with its checkpoint
	expect_eq "$(job_get "$job" "j['status']")" completed "status of job $job"
	wnctl --json job show "$job" >job.json

	local shots=${WN_ARTIFACTS:-$(dirname "$WN_BIN")/test-artifacts}/http_dashboard
	rm -rf "$shots"
	echo "screenshots: $shots"
	WN_URL="$WN_HTTP/" WN_SECRET=$DASH_SECRET WN_SWEEP=$sweep \
		WN_RESULTS=$WN_TMP/results.json WN_JOB=$job WN_JOB_JSON=$WN_TMP/job.json \
		WN_AFTER=$after WN_BIG=$big WN_LIVE=$live WN_GATE=$WN_TMP/open WN_SHOTS=$shots CHROMIUM=$browser \
		node "$REPO/tests/browser/dashboard.js" || fail "the dashboard in Chromium (above)"
	expect_eq "$(job_get "$live" "j['status']")" completed "the live job's status after the page saw it end"
	local n
	n=$(find "$shots" -name '*.png' | wc -l)
	[ "$n" -ge 13 ] || fail "only $n screenshots in $shots"
}

# browser_need: the browser tests need puppeteer-core (scripts/install-deps.sh).
browser_need() {
	[ -d "$REPO/tests/browser/node_modules/puppeteer-core" ] ||
		fail "no puppeteer-core in tests/browser/node_modules: run scripts/install-deps.sh"
}

# browser_setup: browser_need, then wnd with an HTTP listener ($WN_HTTP).
browser_setup() {
	browser_need
	wn_start --http 127.0.0.1:0
	wn_http_url
}

# page_text HASH [SELECTOR]: what the dashboard shows at #HASH (the text of
# SELECTOR, default the page's main part), read in Chromium by
# tests/browser/page-text.js, which fails on any error the page logs and on a
# dialog a script injected through the data would open.
page_text() {
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium} node "$REPO/tests/browser/page-text.js" \
		"$WN_HTTP/#$1" "${2:-main}" || fail "the dashboard at #$1 (above)"
}

# test-tier: long
test_dashboard_sweep_keys_named_like_javascript_properties() {
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# parameters that only some jobs of the sweep have, named as properties
	# every JavaScript object has
	cat >b.json <<'JSON'
{"sweep": {"name": "props"}, "jobs": [
 {"project": "p", "task": "t", "params": {"lr": "0.1", "toString": "a"}},
 {"project": "p", "task": "t", "params": {"lr": "0.2", "constructor": "b"}},
 {"project": "p", "task": "t", "params": {"lr": "0.3"}}]}
JSON
	local ids first text
	ids=$(wnctl job batch b.json)
	first=$(head -1 <<<"$ids")
	text=$(page_text "/sweeps/$first" "table.results")
	expect_not_contains "$text" "native code"
	# ID, NAME, constructor, lr, toString, STATUS: an empty cell where a job
	# lacks the parameter
	expect_contains "$text" "$first	t-$first		0.1	a	pending"
	expect_contains "$text" "$((first + 1))	t-$((first + 1))	b	0.2		pending"
	expect_contains "$text" "$((first + 2))	t-$((first + 2))		0.3		pending"
	wn_stop
}

# test-tier: long
test_dashboard_queue_of_a_token_limited_to_some_projects() {
	browser_need
	printf '%s\n' "$DASH_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$DASH_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	local p id secret text
	for p in mine theirs; do
		wnctl project create "$p" >/dev/null
		wnctl task create "$p" t >/dev/null
	done
	id=$(wnctl job add mine t --name mine-job)
	wnctl job add theirs t --name their-job >/dev/null
	secret=$(wnctl token create limited --role user --project mine 2>/dev/null)
	# the token lists both projects but may read the queue of one: the
	# queue of every project shows that one, and says the other is not its
	text=$(WN_SECRET=$secret WN_ALLOW=403 page_text /queue body)
	expect_not_contains "$text" "is not one of them"
	expect_contains "$text" "0	$id	mine-job	t	0	waiting for a worker"
	expect_contains "$text" "theirs not for this token"
	expect_not_contains "$text" "their-job"
	wn_stop
}

# test-tier: long
test_dashboard_plots_results_that_differ_in_the_last_digit() {
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# each job reports 0.3 and 0.1 + 0.2 (0.30000000000000004), in an order
	# that leaves the two jobs' last values apart by that last digit
	cat >report.sh <<'SH'
if [ "$1" = 1 ]; then first=0.30000000000000004 last=0.3; else first=0.3 last=0.30000000000000004; fi
printf '{"loss": %s}\n' "$first" >>"$WN_RESULTS"
sleep 0.3
printf '{"loss": %s}\n' "$last" >>"$WN_RESULTS"
SH
	{
		worker_head p
		cat <<EOF
heartbeat_ms: 100
tasks:
  t:
    command: [/bin/sh, $WN_TMP/report.sh, "{a}"]
EOF
	} >w.yaml
	local sweep text
	sweep=$(wnctl --json job sweep p t --grid a=1,2 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(wnctl --json job history "$sweep" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["series"][0]["points"]))')" 2 "points reported"
	# the pages draw (a chart's scale once looped for good on such values)
	# with one tick for the one value
	text=$(page_text "/jobs/$sweep" "section:has(> .plot-box)")
	expect_eq "$(grep -cx '0.3' <<<"$text")" 1 "ticks of 0.3 on the job's history chart"
	text=$(page_text "/sweeps/$sweep" ".plot-box")
	expect_eq "$(grep -cx '0.3' <<<"$text")" 1 "ticks of 0.3 on the sweep's plot"
	wn_stop
}

# test-tier: long
test_dashboard_sweep_says_how_many_jobs_were_removed() {
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid a=1,2,3 >/dev/null 2>&1
	wnctl job remove 1 2 >/dev/null
	expect_contains "$(wnctl sweep show 1)" "jobs: 3 (ids 1-3; 2 removed)"
	expect_contains "$(page_text /sweeps/1 dl.fields)" "3 (ids 1–3; 2 removed)"
	wn_stop
}

# test-tier: long
test_dashboard_job_or_sweep_named_by_other_than_a_number() {
	browser_setup
	# a mistyped address says what is wrong, and asks wnd nothing it would refuse
	expect_contains "$(page_text /jobs/abc)" "no job abc: a job is named by its number"
	expect_contains "$(page_text /sweeps/1x)" "no sweep 1x: a sweep is named by its number"
	wn_stop
}

# test-tier: long
test_dashboard_plot_labels_its_zero_tick_0() {
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	printf '%s\n' 'echo "{\"loss\": 1}" >>"$WN_RESULTS"' >report.sh
	{
		worker_head p
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, $WN_TMP/report.sh]
EOF
	} >w.yaml
	local sweep text
	# a parameter from -0.25 to 0.35: the plot's scale runs from -0.3 to 0.3
	# by 0.1, through 0
	sweep=$(wnctl --json job sweep p t --grid a=-0.25,0.35 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$sweep" "j['results']['loss']['number']")" 1.0 "the loss reported"
	text=$(page_text "/sweeps/$sweep" ".plot-box")
	expect_eq "$(grep -cx -- '0' <<<"$text")" 1 "ticks labeled 0 on the sweep's plot"
	expect_not_contains "$text" "e-17"
	wn_stop
}

# test-tier: long
test_dashboard_with_a_worker_token_says_what_it_may_see() {
	browser_need
	printf '%s\n' "$DASH_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$DASH_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	local secret text
	secret=$(wnctl token create runner --role worker 2>/dev/null)
	# a worker token runs jobs and reads no project: the Projects page says
	# so, rather than staying empty
	text=$(WN_SECRET=$secret WN_ALLOW=403 page_text / main)
	expect_contains "$text" "This token cannot list projects"
	expect_contains "$text" "a reader, user or admin token"
	expect_not_contains "$text" "No projects yet"
	# so do the Workers and Queue pages
	text=$(WN_SECRET=$secret WN_ALLOW=403 page_text /workers main)
	expect_contains "$text" "This token cannot list workers"
	text=$(WN_SECRET=$secret WN_ALLOW=403 page_text /queue main)
	expect_contains "$text" "This token cannot list projects"
	wn_stop
}

# test-tier: long
test_dashboard_plots_results_near_the_largest_numbers() {
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# results from -1.7e308 to 1.7e308 (their difference is past the
	# largest double), and a job whose two numbers are both 1.7e308
	cat >report.sh <<'SH'
case $1 in
1) printf 'loss=-1.7e308\nloss=1.7e308\n' ;;
2) printf 'loss=1.7e308\nloss=1.7e308\n' ;;
3) printf 'loss=1e308\n' ;;
esac >>"$WN_RESULTS"
SH
	{
		worker_head p
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, $WN_TMP/report.sh, "{a}"]
EOF
	} >w.yaml
	local sweep text j
	sweep=$(wnctl --json job sweep p t --grid a=1,2,3 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$sweep" "j['results']['loss']['number']")" 1.7e+308 "the loss reported"
	# every tick is a finite number, and the points are drawn (page_text
	# fails on the console's error for a point placed at NaN)
	text=$(page_text "/sweeps/$sweep" ".plot-box")
	expect_not_contains "$text" "inf"
	expect_not_contains "$text" "nan"
	expect_contains "$text" "e+308"
	for j in "$sweep" $((sweep + 1)); do
		text=$(page_text "/jobs/$j" "section:has(> .plot-box)")
		expect_not_contains "$text" "inf"
		expect_not_contains "$text" "nan"
		expect_contains "$text" "e+308"
	done
	wn_stop
}

# queue_lists: how many QueueService/List calls wnd has answered.
queue_lists() {
	curl -s "$WN_HTTP/metrics" |
		awk '/^whatsnext_requests_total\{method="QueueService\/List"/ { n += $2 } END { print n + 0 }'
}

# test-tier: long
test_dashboard_queue_of_many_projects_lists_those_with_pending_jobs() {
	browser_setup
	local i id before text
	for i in $(seq 1 40); do
		wnctl project create "p$i" >/dev/null
		wnctl task create "p$i" t >/dev/null
	done
	id=$(wnctl job add p7 t --name waits-here)
	before=$(queue_lists)
	# the queue of every project asks wnd about the one with a PENDING job,
	# not about each of the 40 at every refresh
	text=$(page_text /queue main)
	expect_contains "$text" "0	$id	waits-here	t	0	waiting for a worker"
	expect_contains "$text" "p8 0 ready, 0 waiting"
	local n=$(($(queue_lists) - before))
	[ "$n" -ge 1 ] && [ "$n" -lt 10 ] || fail "the queue page made $n QueueService/List calls for 1 project with jobs of 40"
	wn_stop
}

# make_projects N: projects proj0000 ... over HTTP, on one connection.
make_projects() {
	python3 - "${WN_HTTP##*:}" "$1" <<'PY' || fail "making $1 projects"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
for i in range(int(sys.argv[2])):
    c.request("POST", "/v1/ProjectService/Create", json.dumps({"name": "proj%04d" % i}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("project %d: HTTP %d" % (i, r.status))
PY
}

# test-tier: long
test_dashboard_of_hundreds_of_projects_shows_a_page_of_them() {
	# every project in one table (and a queue section each), drawn again
	# every 2 s, held the browser for seconds with thousands of projects
	browser_setup
	make_projects 250
	local id text
	wnctl task create proj0007 t >/dev/null
	id=$(wnctl job add proj0007 t --name waits-here)
	text=$(page_text / main)
	expect_contains "$text" "projects 1–100 of 250"
	expect_eq "$(grep -c '^proj0' <<<"$text")" 100 "project rows on the first page"
	expect_contains "$text" "proj0099"
	expect_not_contains "$text" "proj0100"
	# the queue: a section for the project with a PENDING job, the others named
	text=$(page_text /queue main)
	expect_contains "$text" "0	$id	waits-here	t	0	waiting for a worker"
	expect_eq "$(grep -c ' ready, ' <<<"$text")" 1 "queue sections"
	expect_contains "$text" "249 projects with no PENDING job: proj0000, proj0001,"
	wn_stop
}

# test-tier: long
test_dashboard_hides_what_a_revoked_token_read() {
	browser_need
	printf '%s\n' "$DASH_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$DASH_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	wnctl project create p --description "read-with-the-reader-token" >/dev/null
	local secret text
	secret=$(wnctl token create dash --role reader 2>/dev/null)
	expect_contains "$(WN_SECRET=$secret page_text /projects/p main)" "read-with-the-reader-token"
	# the token is revoked while the page is open: the page asks for another
	# and no longer shows what the revoked one read
	text=$(WN_SECRET=$secret WN_ALLOW=401 WN_THEN="$WN_BIN/wnctl token revoke dash" \
		WN_WAIT_FOR='#login:not([hidden])' page_text /projects/p body)
	expect_contains "$text" "token refused: unknown or revoked token"
	expect_not_contains "$text" "read-with-the-reader-token"
	wn_stop
}

# test-tier: long
test_dashboard_says_when_wnd_stops_answering() {
	browser_setup
	wnctl project create p >/dev/null
	# wnd stops (SIGSTOP) while the page is open: it still takes connections
	# but answers none; the page says it cannot reach wnd rather than
	# waiting for good under an old "live" time
	local text
	text=$(WN_THEN="kill -STOP $WND_PID" WN_WAIT_FOR='#banner:not([hidden])' page_text / body)
	kill -CONT "$WND_PID"
	expect_contains "$text" "cannot reach wnd: no answer within 10 s"
	expect_contains "$text" "offline"
	wn_stop
}

# test-tier: long
test_dashboard_job_says_its_cancelled_run_is_being_stopped() {
	# a worker claimed the job without joining and has not reported since
	# it was cancelled: wnd knows no worker w1 to tell, as wnctl says
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id text
	id=$(wnctl job add p t)
	"$WN_BIN/wnclaim" "$WN_SERVER" p w1 >/dev/null || fail "wnclaim"
	wnctl job cancel "$id" >/dev/null
	expect_contains "$(wnctl job show "$id")" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	text=$(page_text "/jobs/$id")
	expect_contains "$text" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	wn_stop
}

# http_call METHOD JSON: the reply of POST /v1/METHOD with body JSON.
http_call() {
	curl -sS -H 'Content-Type: application/json' -d "$2" "$WN_HTTP/v1/$1"
}

# test-tier: long
test_dashboard_job_says_whether_its_cancelled_runs_worker_is_told_now() {
	# a joined worker holds the run when it is cancelled: it is told with
	# its next heartbeat; once it left (gone), only when it comes back
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id text
	id=$(wnctl job add p t)
	expect_contains "$(http_call WorkerService/Join '{"worker": {"name": "w1", "instance": "i1"}}')" WORKER_ACTIVE
	expect_contains "$(http_call QueueService/Fetch '{"project": "p", "worker": "w1"}')" JOB_RUNNING
	wnctl job cancel "$id" >/dev/null
	text=$(page_text "/jobs/$id")
	expect_contains "$text" "stopping: the run of attempt 1 on worker w1, told to stop"
	expect_not_contains "$text" "comes back"
	expect_contains "$(http_call WorkerService/Leave '{"name": "w1"}')" WORKER_GONE
	expect_contains "$(wnctl job show "$id")" "to be told to stop when worker w1 comes back"
	expect_contains "$(page_text "/jobs/$id")" "stopping: the run of attempt 1 on worker w1, to be told to stop when worker w1 comes back"
	wn_stop
}

# test-tier: long
test_dashboard_sweep_of_thousands_of_jobs_shows_a_page_of_its_results() {
	# a results table of every job of a large sweep, drawn whole, held the
	# browser for many seconds
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local sweep text
	sweep=$(wnctl --json job sweep p t --grid "a=$(seq -s, 1 1200)" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	text=$(page_text "/sweeps/$sweep" "section:has(> .scroll > table.results)")
	expect_contains "$text" "1200 jobs; click a column to sort by it"
	expect_contains "$text" "jobs 1–500 of 1200"
	expect_eq "$(grep -cP '^\d+\ta=\d+\t\d+\tpending$' <<<"$text")" 500 "result rows shown"
	expect_contains "$text" "$((sweep + 499))	a=500	500	pending"
	expect_not_contains "$text" "a=501"
	wn_stop
}

# test-tier: long
test_dashboard_of_hundreds_of_workers_shows_a_page_of_them() {
	# every worker in one table, drawn again every 2 s, held the browser
	# for seconds with thousands of workers
	browser_setup
	python3 - "${WN_HTTP##*:}" <<'PY' || fail "joining 250 workers"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
for i in range(250):
    c.request("POST", "/v1/WorkerService/Join",
              json.dumps({"worker": {"name": "wk%04d" % i, "instance": "i%d" % i, "host": "h"}}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("worker %d: HTTP %d" % (i, r.status))
PY
	local text
	text=$(page_text /workers main)
	expect_contains "$text" "workers 1–100 of 250"
	expect_eq "$(grep -c '^wk0' <<<"$text")" 100 "worker rows on the first page"
	expect_contains "$text" "wk0099	active	h"
	expect_not_contains "$text" "wk0100"
	wn_stop
}

# test-tier: long
test_dashboard_back_returns_to_the_page_of_jobs_left() {
	# the browser's back button from a job came to the project's first page
	# of jobs, and a forward to the job and back again too: each entry of
	# the history keeps the page of the table and the filter it was left at
	browser_setup
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid "a=$(seq -s, 1 120)" >/dev/null
	local next='click main .section-head button:nth-of-type(2)' text
	# pages 1, 2, 3 (jobs 101-120), a job, back
	text=$(WN_STEPS="$next"$'\n'"$next"$'\n''click main table.jobs tbody a'$'\n''back' page_text /projects/p "main table.jobs")
	expect_contains "$text" "101	a=101	t	pending"
	expect_not_contains "$text" "a=100	"
	# forward to the job, back again; then the link to the projects and
	# the project's link start afresh, at the first page
	text=$(WN_STEPS="$next"$'\n''click main table.jobs tbody a'$'\n''back'$'\n''forward'$'\n''back' page_text /projects/p "main table.jobs")
	expect_contains "$text" "51	a=51	t	pending"
	text=$(WN_STEPS="$next"$'\n''click header a.brand'$'\n''click main table.projects a' page_text /projects/p "main table.jobs")
	expect_contains "$text" "1	a=1	t	pending"
	wn_stop
}
