# Results: what jobs report in $WN_RESULTS, read by the real wnworker and
# kept by the real wnd (docs/results.md).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# results_setup: wnd, project p, task t (with RETRIES retries) and a
# worker.yaml whose task runs the script w.sh with heartbeats every 100 ms.
results_setup() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --retries "${RETRIES:-0}" >/dev/null
	{
		worker_head
		cat <<EOF
heartbeat_ms: 100
tasks:
  t:
    command: [/bin/sh, $WN_TMP/w.sh, "{job.id}", "{attempt}"]
EOF
	} >w.yaml
}

# results_of ID: the job's results as sorted "key=value" words.
results_of() {
	job_get "$1" "' '.join('%s=%s' % (k, v) for k, v in sorted(j.get('results', {}).items()))"
}

# results_are ID WORDS: the job's results are WORDS (results_of).
results_are() { [ "$(results_of "$1")" = "$2" ]; }

test_final_results_json_and_lines() {
	results_setup
	cat >w.sh <<'EOF'
for i in 1 2 3; do echo "{\"step\": $i, \"loss\": 0.$((9 - i))}" >>"$WN_RESULTS"; done
printf 'acc = 0.875\n# a comment\nmodel="resnet 50"\nconverged=1e-3\nseed=0x1f\n' >>"$WN_RESULTS"
echo done
EOF
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(results_of "$id")" \
		"acc={'number': 0.875} converged={'number': 0.001} loss={'number': 0.6} model={'text': 'resnet 50'} seed={'text': '0x1f'} step={'number': 3.0}" \
		"results"
	local hist
	hist=$(jget "$(wnctl --json job history "$id")" \
		"' '.join('%s:%s' % (s['key'], ','.join(str(p['value']) for p in s['points'])) for s in j['series'])")
	expect_eq "$hist" "step:1.0,2.0,3.0 loss:0.8,0.7,0.6 acc:0.875 converged:0.001" "history"
	expect_contains "$(wnctl job history "$id")" "loss"
	[ -f "$WN_TMP/logs/p/t/$id.1.results" ] || fail "no results file beside the log"
	# the history record is one wnd --check knows, and removing the job
	# takes it along
	wn_stop
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_OUT" ": clean" "wnd --check after results"
	expect_contains "$("$WN_BIN/wnstore" "$WN_TMP/data" list r/ 2>&1)" "r/$id" "the history's key"
	wn_start
	wnctl job remove "$id" >/dev/null
	expect_fail wnctl job history "$id"
	wn_stop
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_OUT" ": clean" "wnd --check after the job's removal"
	expect_not_contains "$("$WN_BIN/wnstore" "$WN_TMP/data" list 2>&1)" "r/$id" \
		"keys after the job's removal"
}

test_results_while_running() {
	results_setup
	cat >w.sh <<EOF
echo '{"step": 1, "loss": 2.5}' >>"\$WN_RESULTS"
while [ ! -f $WN_TMP/go ]; do sleep 0.05; done
echo '{"step": 2, "loss": 1.5}' >>"\$WN_RESULTS"
EOF
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "results of the running job" \
		results_are "$id" "loss={'number': 2.5} step={'number': 1.0}"
	expect_eq "$(job_get "$id" "j['status']")" running "status while it reports"
	expect_eq "$(jget "$(wnctl --json job history "$id")" "[len(s['points']) for s in j['series']]")" \
		"[1, 1]" "history while running"
	touch go
	worker_wait "$WORKER_PID"
	expect_eq "$(results_of "$id")" "loss={'number': 1.5} step={'number': 2.0}" "final results"
}

test_a_rewrite_keeping_the_first_lines_and_size_is_read_again() {
	# a script that writes its whole results again each epoch, a header
	# longer than 64 bytes first and values of the same length: the file
	# keeps its size and its first bytes, and is read again all the same
	results_setup
	local head="# resnet50, batch size 32, learning rate 0.001, optimizer adam, seed 7"
	cat >w.sh <<EOF
printf '%s\nepoch=1\nloss=0.9\n' "$head" >"\$WN_RESULTS"
while [ ! -f $WN_TMP/go ]; do sleep 0.05; done
printf '%s\nepoch=2\nloss=0.5\n' "$head" >"\$WN_RESULTS"
EOF
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the first results" \
		results_are "$id" "epoch={'number': 1.0} loss={'number': 0.9}"
	touch go
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(results_of "$id")" "epoch={'number': 2.0} loss={'number': 0.5}" \
		"results after the rewrite"
	expect_eq "$(jget "$(wnctl --json job history "$id")" \
		"' '.join('%s:%s' % (s['key'], ','.join(str(p['value']) for p in s['points'])) for s in j['series'])")" \
		"epoch:1.0,2.0 loss:0.9,0.5" "history across the rewrite"
}

test_a_long_run_keeps_its_shape() {
	# more reports than the worker holds between two heartbeats, a key a
	# line (keys taking turns): each key keeps its first report, its last
	# and an even spread in between, and counts every report
	results_setup
	cat >w.sh <<'EOF'
for i in $(seq 1 1500); do echo epoch=$i; echo loss=$i; done >>"$WN_RESULTS"
EOF
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	local shape
	shape=$(jget "$(wnctl --json job history "$id")" "' '.join(
		'%s:%s:%g:%g:%d:%s' % (s['key'], s['reported'], v[0], v[-1],
		                        len(set(int((x - 1) * 10 // 1500) for x in v)),
		                        len(set(b - a for a, b in zip(v, v[1:-1]))) == 1)
		for s in j['series'] for v in [[p['value'] for p in s['points']]])")
	expect_eq "$shape" "epoch:1500:1:1500:10:True loss:1500:1:1500:10:True" \
		"key:reported:first:last:tenths:evenly spaced"
	expect_contains "$(wnctl job history "$id")" "epoch: 1500 reported, every "
}

# expect_bad_results SCRIPT WHAT: a job writing SCRIPT's results fails with
# a reason naming its results file and WHAT; its output tail is kept.
expect_bad_results() {
	results_setup
	printf '%s\necho the-output\n' "$1" >w.sh
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	local reason
	reason=$(job_get "$id" "j['reason']")
	expect_contains "$reason" "results file $WN_TMP/logs/p/t/$id.1.results: "
	expect_contains "$reason" "$2"
	expect_contains "$(job_get "$id" "j['output_tail']")" "the-output"
}

test_not_finite_fails_the_job() {
	expect_bad_results "printf 'a=1\nloss=nan\n' >\"\$WN_RESULTS\"" \
		'line 2: key "loss": a number is not finite'
}

test_malformed_json_fails_the_job() {
	expect_bad_results "printf '{\"a\": 1}\n{\"b\": [1, 2]}\n' >\"\$WN_RESULTS\"" \
		'line 2: key "b": a value is a number or a text, not an array'
}

test_non_utf8_fails_the_job() {
	expect_bad_results "printf 'name=caf\\351\n' >\"\$WN_RESULTS\"" \
		'line 1: key "name": a text is not valid UTF-8'
}

test_bad_key_fails_the_job() {
	expect_bad_results "printf '9lives=1\n' >\"\$WN_RESULTS\"" \
		'line 1: key "9lives": a key starts with a letter'
}

test_oversized_file_fails_the_job() {
	expect_bad_results "yes a=1 | head -c 5000000 >\"\$WN_RESULTS\"" \
		'larger than 4 MiB'
}

test_retry_starts_fresh() {
	RETRIES=1 results_setup
	cat >w.sh <<'EOF'
if [ "$2" = 1 ]; then echo first=1 >>"$WN_RESULTS"; exit 3; fi
echo second=2 >>"$WN_RESULTS"
EOF
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 2" \
		"status and attempt"
	expect_eq "$(results_of "$id")" "second={'number': 2.0}" "results of the second attempt"
	expect_eq "$(jget "$(wnctl --json job history "$id")" "[s['key'] for s in j['series']]")" \
		'["second"]' "history of the second attempt"
}

test_a_stale_results_file_at_the_path_is_removed_first() {
	# a file left at the run's results path (an earlier worker's, say)
	# is not read as this run's: it is removed before the run starts
	results_setup
	echo 'echo only=1 >>"$WN_RESULTS"' >w.sh
	local id
	id=$(wnctl job add p t)
	mkdir -p "$WN_TMP/logs/p/t"
	echo 'stale=7' >"$WN_TMP/logs/p/t/$id.1.results"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(results_of "$id")" "only={'number': 1.0}" "results without the stale file's"
}

test_a_rewrite_with_new_keys_counts_only_the_current_keys() {
	# a script that rewrites its whole file with other keys each round:
	# 40 keys a round, five rounds (200 keys in all, 64 allowed per run).
	# Only the keys of the file as it now stands count; the job completes
	# with the last round's keys alone as its results.
	results_setup
	cat >w.sh <<EOF
for r in 1 2 3 4 5; do
	for k in \$(seq 1 40); do echo "r\${r}k\$k=\$k"; done >"\$WN_RESULTS.tmp"
	mv "\$WN_RESULTS.tmp" "\$WN_RESULTS"
	while [ ! -f $WN_TMP/go\$r ]; do sleep 0.05; done
done
EOF
	local id r
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	for r in 1 2 3 4 5; do
		wait_until 20 "the keys of round $r" results_are_only "$id" "r${r}k" 40
		touch "go$r"
	done
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	expect_eq "$(job_get "$id" "' '.join(sorted(set(k[:2] for k in j.get('results', {}))))")" \
		"r5" "the rounds of the final results"
	expect_eq "$(job_get "$id" "len(j.get('results', {}))")" 40 "final results"
	# the history has room for the current keys: the series of keys no
	# longer reported gave way to them
	expect_eq "$(jget "$(wnctl --json job history "$id")" \
		"sum(1 for s in j['series'] if s['key'].startswith('r5k'))")" 40 "series of the last round"
}

# results_are_only ID PREFIX N: the job's results are N keys, all starting with PREFIX.
results_are_only() {
	[ "$(job_get "$1" "'%d %d' % (sum(1 for k in j.get('results', {}) if k.startswith('$2')), len(j.get('results', {})))")" = "$3 $3" ]
}
