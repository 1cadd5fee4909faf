# wnctl at its edges: values that hold line breaks or terminal controls,
# completion of values, windows past the end, what a user types wrong.
source "${BASH_SOURCE[0]%/*}/lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# Labels holding control characters (a line break, a screen clear), as a
# wnd before 7 December 2026 stored them (it now refuses them), are shown on
# one line, escaped; --json keeps their bytes.
test_ctl_labels_are_shown_on_one_line() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --label site=aXbYYYY --label gpu=a100 >/dev/null
	cat >w.yaml <<YAML
projects: p
fetch_wait_ms: 500
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
resources: {cpu: 1, gpus: [], memory: 1G, labels: {site: aXbYYYY}}
tasks:
  t:
    command: [/bin/true]
YAML
	worker_start w1 w.yaml
	wait_until 10 "worker w1 to join" wnctl worker show w1
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 10
	wn_stop
	local k hex
	for k in t/p/t w/w1; do
		hex=$("$WN_BIN/wnstore" "$WN_TMP/data" get "$k") || fail "no record $k"
		# aXbYYYY -> a, a line break, b, a screen clear: as many bytes
		"$WN_BIN/wnstore" "$WN_TMP/data" put "$k" "${hex//61586259595959/610a621b5b324a}"
	done
	wn_start
	expect_exit 0 wnctl task show p t
	expect_contains "$WN_OUT" $'  site=a\\x0ab\\x1b[2J\n' "task show"
	expect_contains "$WN_OUT" $'  gpu=a100\n' "a plain label"
	expect_not_contains "$WN_OUT" $'\nb' "a forged line"
	expect_exit 0 wnctl worker show w1
	expect_contains "$WN_OUT" $'labels:\n  site=a\\x0ab\\x1b[2J\n' "worker show"
	expect_not_contains "$WN_OUT" $'\nb' "a forged line"
	expect_exit 0 wnctl --json task show p t
	expect_contains "$WN_OUT" '"site": "a\nb\u001B[2J"' "--json"
}

test_ctl_queue_show_says_when_offset_is_past_the_end() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local i
	for i in 1 2 3; do wnctl job add p t >/dev/null; done
	expect_exit 0 wnctl queue show p --offset 5
	expect_eq "$(wc -l <<<"$WN_OUT")" "1" "the header alone"
	expect_eq "$WN_ERR" "wnctl: showing none: --offset 5 is past the end of 3 pending jobs in line"
	expect_exit 0 wnctl queue show p --offset 3 --ready
	expect_eq "$WN_ERR" "wnctl: showing none: --offset 3 is past the end of 3 pending jobs in line"
	# a window that holds some says which, as before; an empty queue says nothing
	expect_exit 0 wnctl queue show p --offset 2
	expect_eq "$WN_ERR" "wnctl: showing 2 to 2 of 3 pending jobs"
	wnctl project create empty >/dev/null
	expect_exit 0 wnctl queue show empty --offset 5
	expect_eq "$WN_ERR" "" "an empty queue"
	# --json stays one document on stdout
	expect_exit 0 wnctl --json queue show p --offset 5
	expect_eq "$(jget "$WN_OUT" "(len(j['jobs']), j['total'])")" "(0, 3)" "--json"
}

# peak_kb CMD...: run CMD (its output to ./out), print the most memory it
# held at once, in KB (its peak resident set).
peak_kb() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
with open("out", "wb") as out:
    rc = subprocess.run(sys.argv[1:], stdout=out).returncode
if rc != 0:
    sys.exit("exit %d" % rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

# jfile FILE EXPR: a python expression over the JSON in FILE, as `j` (jget
# takes the JSON as an argument, which holds at most 128 KB).
jfile() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

test_ctl_params_column_of_a_job_with_many_parameters() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# 20,000 parameters (a job has no limit on their number but the request's size)
	python3 -c 'import json; print(json.dumps({"params": {"p%d" % i: "v" for i in range(20000)}}))' >job.json
	local id kb
	id=$(wnctl job batch job.json --project p --task t)
	kb=$(peak_kb "$WN_BIN/wnctl" job list --project p --format id,params)
	# every parameter once, in one cell
	expect_eq "$(sed -n 2p out | wc -w)" "20001" "words of the row"
	expect_eq "$(sed -n 2p out | awk '{print $1, $2, $3}')" "$id p0=v p1=v" "the row"
	expect_eq "$(sed -n 2p out | awk '{print $NF}')" "p19999=v" "the last parameter"
	# the cell was built once: it was copied again for each parameter, 1.7 GB
	((kb < 200000)) || fail "job list --format params held $kb KB"
}

test_ctl_many_labels_and_parameters_on_the_command_line() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local -a labels=() params=()
	local i kb
	for i in $(seq 1 8000); do
		labels+=(--label "k$i=v$i")
		params+=(--param "p$i=v$i")
	done
	# a key given again keeps its place and takes the last value
	labels+=(--label k1=again)
	kb=$(peak_kb "$WN_BIN/wnctl" task create p many "${labels[@]}")
	# each option was copied with all those before it: 8,000 took 520 MB
	((kb < 100000)) || fail "task create with 8000 labels held $kb KB"
	wnctl --json task show p many >task.json
	expect_eq "$(jfile task.json "(len(j['resources']['labels']), j['resources']['labels']['k1'], j['resources']['labels']['k8000'])")" \
		"(8000, 'again', 'v8000')" "labels"
	kb=$(peak_kb "$WN_BIN/wnctl" job add p t "${params[@]}" --param p2=last)
	((kb < 100000)) || fail "job add with 8000 parameters held $kb KB"
	wnctl --json job show "$(<out)" >job.json
	expect_eq "$(jfile job.json "(len(j['params']), list(j['params'])[:2], j['params']['p2'])")" \
		"(8000, ['p1', 'p2'], 'last')" "parameters"
}

test_ctl_task_list_of_a_task_with_many_labels() {
	wn_start
	wnctl project create p >/dev/null
	local -a labels=()
	local i kb
	for i in $(seq 1 8000); do labels+=(--label "k$i=v$i"); done
	wnctl task create p many "${labels[@]}" >/dev/null
	kb=$(peak_kb "$WN_BIN/wnctl" task list p)
	# the LABELS cell holds them all, once, in order
	expect_eq "$(awk 'NR == 2 {print $8}' out | tr ',' '\n' | wc -l)" "8000" "labels in the cell"
	expect_eq "$(awk 'NR == 2 {print $8}' out | cut -d, -f1,2,8000)" "k1=v1,k2=v2,k8000=v8000" "the cell"
	# the cell was copied again for each label: 8,000 took 360 MB
	((kb < 100000)) || fail "task list held $kb KB"
}

test_ctl_worker_show_of_a_worker_with_many_projects_and_tasks() {
	wn_start
	# the most a worker may serve: 1024 projects and 1024 tasks, of long names
	local i
	{
		printf 'projects: [%s]\n' "$(for i in $(seq 1 1024); do printf 'p%0120d,' "$i"; done | sed 's/,$//')"
		printf 'fetch_wait_ms: 500\nrpc_timeout_ms: 2000\nlog_dir: %s/logs\ntasks:\n' "$WN_TMP"
		for i in $(seq 1 1024); do printf '  t%0120d:\n    command: [/bin/true]\n' "$i"; done
	} >w.yaml
	worker_start w1 w.yaml
	wait_until 10 "worker w1 to join" wnctl worker show w1
	local kb
	kb=$(peak_kb "$WN_BIN/wnctl" worker show w1)
	expect_eq "$(grep '^projects: ' out | tr ',' '\n' | wc -l)" "1024" "projects"
	expect_eq "$(grep '^tasks: ' out | tr ',' '\n' | wc -l)" "1024" "tasks"
	expect_contains "$(grep '^tasks: ' out)" "$(printf 't%0120d, t%0120d' 1023 1024)" "the last tasks"
	# each list was copied again for each name: 127 MB
	((kb < 60000)) || fail "worker show held $kb KB"
}

# silent_listener PATH: something at ipc://PATH that takes connections and
# never answers (not wnd: a stale tunnel, another program); ready on return.
silent_listener() {
	python3 - "$1" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
open(sys.argv[1] + ".ready", "w").close()
held = []
while True:
    held.append(s.accept()[0])
PY
	WN_PIDS+=($!)
	wait_until 10 "the listener to listen" test -e "$1.ready"
}

test_ctl_waiting_commands_give_up_on_an_address_that_never_answers() {
	silent_listener "$WN_TMP/silent.sock"
	export WN_SERVER=ipc://$WN_TMP/silent.sock
	# as any command: no answer within --timeout is exit 3, not a server to
	# wait for through a restart (5 minutes for job wait, 10 for job log -f)
	expect_exit 3 timeout 60 "$WN_BIN/wnctl" --timeout 1000 status
	local cmd
	for cmd in "job wait 1" "job wait --project p" "job wait --sweep 3 --timeout 1h" \
		"job log -f 1" "--json job log -f 1"; do
		# shellcheck disable=SC2086
		expect_exit 3 timeout 60 "$WN_BIN/wnctl" --timeout 1000 $cmd
		expect_eq "$WN_ERR" "wnctl: cannot connect to $WN_SERVER within 1000 ms: timed out" "$cmd"
		expect_eq "$WN_OUT" "" "stdout of $cmd"
	done
}

# ids_cmd VERB N [ARG]: wnctl job VERB with the ids 1 to N (then ARG).
ids_cmd() {
	# shellcheck disable=SC2046
	"$WN_BIN/wnctl" job "$1" $(seq 1 "$2") ${3:+"$3"}
}

test_ctl_bulk_refuses_more_ids_than_a_request_takes() {
	# a usage error, found before any connection: no server is needed
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	local cmd
	for cmd in cancel retry remove hold release; do
		expect_exit 2 ids_cmd "$cmd" 100001
		expect_eq "$WN_ERR" "wnctl: 100001 ids: one command takes at most 100000 (select them with --sweep or filters, or give them in parts) (see 'wnctl job $cmd --help')"
	done
	expect_exit 2 ids_cmd priority 100001 5
	expect_contains "$WN_ERR" "100001 ids: one command takes at most 100000"
	# as many as it takes go to the server
	expect_exit 3 ids_cmd hold 100000
	expect_contains "$WN_ERR" "cannot connect"
}

# job_gets: how many JobService/Get calls wnd has answered (its /metrics).
job_gets() {
	curl -s "$WN_HTTP/metrics" |
		awk '/^whatsnext_requests_total\{method="JobService\/Get"/ { n += $2 } END { print n + 0 }'
}

test_ctl_wait_looks_up_only_the_jobs_it_lists() {
	printf 'log_level: debug\n' >wnd.yaml # parked calls are logged
	wn_start --config wnd.yaml --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# 30 jobs: the first fails, the others complete, one of them is removed after
	local -a ids=()
	local i lease before
	for i in $(seq 1 30); do ids+=("$(wnctl job add p t)"); done
	for i in $(seq 1 30); do
		lease=$(wnctl queue fetch p --worker w1)
		if [ "$i" = 1 ]; then
			wnctl queue complete $lease --worker w1 --fail --exit-code 3 >/dev/null
		else
			wnctl queue complete $lease --worker w1 >/dev/null
		fi
	done
	before=$(job_gets)
	expect_exit 9 wnctl job wait "${ids[@]}"
	expect_eq "$WN_OUT" "30 jobs: 29 completed, 1 failed
ID  NAME  STATE   REASON
${ids[0]}   t-${ids[0]}   failed  exit code 3" "the summary and the failed job"
	# the one job that did not complete was found first: no other was looked up
	expect_eq "$(($(job_gets) - before))" 1 "JobService/Get calls"

	# a job removed while waited on is counted, and nothing is looked up for it
	local id
	id=$(wnctl job add p t)
	before=$(job_gets)
	(
		rc=0
		"$WN_BIN/wnctl" job wait "$id" "${ids[@]:1}" >rm.out 2>&1 || rc=$?
		echo "$rc" >rm.rc
	) &
	WN_PIDS+=($!)
	wait_until 10 "the wait to park" grep -q 'waits up to' "$WN_TMP/wnd.log"
	wnctl job remove "$id" >/dev/null
	wait_until 20 "the wait to end" test -s rm.rc
	expect_eq "$(<rm.rc)" 9 "exit of a wait with a job removed"
	expect_eq "$(<rm.out)" "30 jobs: 29 completed, 1 removed" "summary"
	expect_eq "$(($(job_gets) - before))" 0 "JobService/Get calls"
}

test_ctl_help_command_takes_what_it_documents() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # help needs no server
	local top
	top=$(wnctl --help)
	# help about help is the usage, not an unknown command 'help'
	expect_exit 0 wnctl help help
	expect_eq "$WN_OUT" "$top" "help help"
	expect_eq "$WN_ERR" "" "stderr of help help"
	# what follows NOUN VERB is a usage error, not help of another command
	expect_exit 2 wnctl help job show extra
	expect_eq "$WN_ERR" "wnctl: unexpected argument 'extra' (usage: wnctl help [NOUN [VERB]])"
	expect_eq "$WN_OUT" "" "stdout"
	expect_exit 2 wnctl help status all
	expect_contains "$WN_ERR" "unexpected argument 'all'"
	expect_exit 2 wnctl help help job
	expect_contains "$WN_ERR" "unexpected argument 'job'"
	# the word a command's synopsis begins with is part of it
	expect_exit 0 wnctl help job artifact get
	expect_eq "$WN_OUT" "$(wnctl job artifact get --help)" "help job artifact get"
	expect_exit 2 wnctl help job artifact put
	expect_contains "$WN_ERR" "unexpected argument 'put'"
	expect_exit 0 wnctl help job show
	expect_eq "$WN_OUT" "$(wnctl job show --help)" "help job show"
	# completion offers the nouns after help, not help again
	expect_eq "$(wnctl __complete help '' | tr '\n' ' ')" "project task job queue sweep worker status admin token "
	expect_eq "$(wnctl __complete help he)" ""
}

test_ctl_filters_the_server_refuses_are_usage_errors() {
	# found before any connection: no server is needed
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	local many glob cmd
	many=$(seq -f 'p%g' 1 1001 | paste -sd,)
	glob=$(printf '*%.0s' $(seq 1 1025))
	for cmd in "job list" "job cancel" "job hold"; do
		# shellcheck disable=SC2086
		expect_exit 2 wnctl $cmd --project "$many"
		expect_eq "$WN_ERR" "wnctl: --project names 1001 projects: at most 1000 (see 'wnctl $cmd --help')"
		# shellcheck disable=SC2086
		expect_exit 2 wnctl $cmd --name "$glob"
		expect_eq "$WN_ERR" "wnctl: invalid --name: a glob of 1025 bytes, at most 1024 (see 'wnctl $cmd --help')"
	done
	expect_exit 2 wnctl job priority --project "$many" 5
	expect_contains "$WN_ERR" "1001 projects: at most 1000"
	# as many as the server takes are sent
	expect_exit 3 wnctl job list --project "$(seq -f 'p%g' 1 1000 | paste -sd,)" --name "${glob:1}"
	expect_contains "$WN_ERR" "cannot connect"
}

test_ctl_sweep_file_with_many_parameters() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # a dry run needs no server
	python3 -c 'import json; print(json.dumps({"params": {"p%d" % i: "v%d" % i for i in range(5000)}}))' >sweep.json
	# parameters are found through an index (each was looked for among those
	# before it: 8 s of CPU for 80,000); a key given again takes its last value
	expect_exit 0 "$WN_BIN/wnctl" --json job sweep p t \
		--file sweep.json --param p5=again --grid x=1,2 --dry-run
	printf '%s' "$WN_OUT" >jobs.json
	expect_eq "$(jfile jobs.json "[(len(s['params']), s['params']['p5'], s['params']['p4999'], list(s['params'])[:3]) for s in j['jobs']]")" \
		"[(5001, 'again', 'v4999', ['p0', 'p1', 'p2']), (5001, 'again', 'v4999', ['p0', 'p1', 'p2'])]" \
		"the jobs' parameters"
}

test_ctl_a_filter_given_twice_is_refused() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p a >/dev/null
	wnctl task create p b >/dev/null
	local ja jb
	ja=$(wnctl job add p a)
	jb=$(wnctl job add p b)
	# the first --task was dropped without a word: only b's job was cancelled
	expect_exit 2 wnctl job cancel --task a --task b
	expect_eq "$WN_ERR" "wnctl: --task given twice ('a', then 'b'): it takes one value (see 'wnctl job cancel --help')"
	expect_eq "$(jget "$(wnctl --json job show "$jb")" "j['status']")" "pending" "nothing changed"
	expect_exit 2 wnctl job list --task a --task b
	expect_exit 2 wnctl job hold --name 'a*' --name 'b*'
	expect_contains "$WN_ERR" "--name given twice ('a*', then 'b*')"
	expect_exit 2 wnctl job list --sweep 1 --sweep 2
	expect_contains "$WN_ERR" "--sweep given twice (1, then 2): it takes one value"
	expect_exit 2 wnctl job list --submitter x --submitter y
	# job wait waited for the last project only
	wnctl project create q >/dev/null
	expect_exit 2 wnctl job wait --project p --project q --timeout 0
	expect_eq "$WN_ERR" "wnctl: --project given twice ('p', then 'q'): it takes one value (see 'wnctl job wait --help')"
	expect_exit 2 wnctl job wait --sweep 1 --sweep 2
	# the same value twice is that value; lists still take many (--project, --status)
	expect_exit 0 wnctl job list --task a --task a --format id
	expect_eq "$(tail -n +2 <<<"$WN_OUT")" "$ja" "--task a twice"
	expect_exit 0 wnctl job list --project p --project p,q --status pending --status failed --format id
	expect_eq "$(tail -n +2 <<<"$WN_OUT" | tr '\n' ' ')" "$ja $jb " "lists"
}

test_ctl_queue_clear_refuses_two_tasks() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p a >/dev/null
	wnctl task create p b >/dev/null
	wnctl job add p a >/dev/null
	wnctl job add p b >/dev/null
	# the first --task was dropped: the pending jobs of b only were removed
	expect_exit 2 wnctl queue clear p --task a --task b --yes
	expect_eq "$WN_ERR" "wnctl: --task given twice ('a', then 'b'): it takes one value (see 'wnctl queue clear --help')"
	expect_exit 0 wnctl queue stats p --json
	expect_eq "$(jget "$WN_OUT" "j['projects'][0]['pending']")" 2 "nothing removed"
	expect_exit 0 wnctl queue clear p --task a --task a --yes
	expect_eq "$WN_OUT" "removed 1 pending job"
}

test_ctl_wait_for_a_sweep_whose_jobs_were_all_removed_is_not_found() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local out sweep
	out=$(wnctl job sweep p t --grid k=1,2 --name s)
	sweep=$(sed -n 's/^sweep \([0-9]*\):.*/\1/p' <<<"$out")
	[ -n "$sweep" ] || fail "no sweep id in: $out"
	wnctl job remove --sweep "$sweep" --force >/dev/null
	# not "0 jobs", exit 0, as if every job had completed
	expect_exit 4 wnctl job wait --sweep "$sweep"
	expect_eq "$WN_ERR" "wnctl: sweep $sweep has no jobs to wait for: its 2 jobs were removed before the wait"
	expect_eq "$WN_OUT" "" "stdout"
	expect_exit 4 wnctl --json job wait --sweep "$sweep" --timeout 0
	expect_eq "$WN_OUT" "" "stdout with --json"
	# a sweep with a job left is waited for as before
	out=$(wnctl job sweep p t --grid k=1,2 --name s2)
	sweep=$(sed -n 's/^sweep \([0-9]*\):.*/\1/p' <<<"$out")
	wnctl job remove "$sweep" --force >/dev/null
	wnctl job cancel "$((sweep + 1))" >/dev/null
	expect_exit 9 wnctl job wait --sweep "$sweep"
	expect_contains "$WN_OUT" "1 job: 1 cancelled"
}
