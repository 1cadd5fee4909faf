# Dependency graphs: blocking that spreads at once and is undone by a retry,
# cycles, batch references, `job deps`, and a pipeline run by two workers.
source "${BASH_SOURCE[0]%/*}/deps_lib.sh"

test_deps_blocked_transitive_and_retry() {
	deps_start
	local a b c d e x
	a=$(add a)
	b=$(add b --after "$a")
	c=$(add c --after "$b")
	d=$(add d --after "$c")
	e=$(add e --after "$b")
	x=$(add x)
	run_next "$a" --fail --exit-code 1 --reason boom
	# Every job downstream is blocked by the same call, before any fetch.
	expect_statuses "$a failed" "$b blocked" "$c blocked" "$d blocked" "$e blocked" "$x pending"
	expect_reason_names "$b" "$a"
	expect_reason_names "$c" "$b" "$a"
	expect_reason_names "$d" "$c" "$b" "$a"
	expect_reason_names "$e" "$b" "$a"
	expect_eq "$(wnctl --json queue stats p | jq -r '.projects[0].blocked // 0')" 4 "blocked count"
	expect_eq "$(ready_ids)" "$x" "ready while blocked"
	expect_eq "$(waiting_ids)" "" "waiting while blocked"
	expect_eq "$(all_job_ids --status blocked | tr '\n' ' ')" "$b $c $d $e " "job list --status blocked"

	# Retrying the failed job puts every blocked job downstream back to pending.
	expect_exit 0 wnctl job retry "$a"
	expect_eq "$WN_OUT" "job $a: pending"
	expect_statuses "$a pending" "$b pending" "$c pending" "$d pending" "$e pending"
	expect_eq "$(ready_ids)" "$a $x" "ready after the retry"
	expect_eq "$(waiting_ids)" "$b $c $d $e" "waiting after the retry"
	run_next "$a"
	run_next "$b"
	expect_eq "$(ready_ids)" "$c $e $x" "ready after b"
	run_next "$c"
	run_next "$d"
	run_next "$e"
	run_next "$x"
	run_next none
	expect_eq "$(all_job_ids --status completed | wc -l | tr -d ' ')" 6 "completed jobs"
}

# test-tier: long
test_deps_cycles() {
	deps_start
	# A job that waits for itself.
	printf '{"name":"a","after":["a"]}\n' >self.json
	expect_exit 7 wnctl job batch self.json --project p --task t
	expect_contains "${WN_ERR,,}" cycle "self-dependency message"
	# Two jobs that wait for each other.
	printf '{"name":"a","after":["b"]}\n{"name":"b","after":["a:afterany"]}\n' >two.json
	expect_exit 7 wnctl job batch two.json --project p --task t
	expect_contains "${WN_ERR,,}" cycle "two-job cycle message"
	# A cycle of 10000 jobs hidden in a chain, and a cycle off a valid path.
	awk 'BEGIN { n = 10000
		printf "{\"name\":\"c1\",\"after\":[\"c%d\"]}\n", n
		for (i = 2; i <= n; i++) printf "{\"name\":\"c%d\",\"after\":[\"c%d\"]}\n", i, i - 1 }' >ring.json
	expect_exit 7 wnctl job batch ring.json --project p --task t
	expect_contains "${WN_ERR,,}" cycle "long cycle message"
	printf '{"name":"r"}\n{"name":"s","after":["r","u"]}\n{"name":"t2","after":["s"]}\n{"name":"u","after":["t2","r"]}\n' >tail.json
	expect_exit 7 wnctl job batch tail.json --project p --task t
	expect_contains "${WN_ERR,,}" cycle "cycle off a path"
	expect_eq "$(count_jobs)" 0 "jobs after refused batches"

	# The same chain without the closing edge is fine, however long.
	awk 'BEGIN { n = 10000; printf "{\"name\":\"c1\"}\n"
		for (i = 2; i <= n; i++) printf "{\"name\":\"c%d\",\"after\":[\"c%d\"]}\n", i, i - 1 }' >chain.json
	wnctl job batch chain.json --project p --task t >ids
	expect_eq "$(wc -l <ids | tr -d ' ')" 10000 "chain ids"
	local first last prev j
	first=$(head -n 1 ids)
	last=$(tail -n 1 ids)
	prev=$(tail -n 2 ids | head -n 1)
	expect_eq "$(job_field "$last" '[.deps[].job_id] | join(",")')" "$prev" "last link's dependency"
	expect_eq "$(ready_ids)" "$first" "ready in the chain"
	j=$(wnctl --json job deps "$last")
	expect_eq "$(jq '.jobs | length' <<<"$j")" 10000 "jobs upstream of the last link"
	expect_eq "$(jq '.jobs[0].id' <<<"$j")" "$last" "job deps starts with the job"
	expect_eq "$(jq '[.jobs[].id] | unique | length' <<<"$j")" 10000 "each job once"
	# The tree is drawn 32 levels deep; deeper lines give their depth as a number.
	wnctl job deps "$last" >tree
	expect_eq "$(wc -l <tree | tr -d ' ')" 10000 "lines of the tree"
	expect_eq "$(sed -n 33p tree)" "$(printf '%124s' '')\`-- afterok $((last - 32)) c9968: pending" \
		"the deepest indented line"
	expect_eq "$(sed -n 34p tree)" "[depth 33] \`-- afterok $((last - 33)) c9967: pending" \
		"the first line past the indentation"
	expect_eq "$(tail -n 1 tree)" "[depth 9999] \`-- afterok $first c1: pending" "the last line"
	local size
	size=$(wc -c <tree | tr -d ' ')
	((size < 600000)) || fail "a tree of 10000 lines takes $size bytes"
}

test_deps_batch_refs() {
	deps_start
	local before
	before=$(wnctl job add p t --name earlier)
	# References by name, by id, with conditions, in every accepted form; a
	# job may refer to one written after it.
	cat >pipe.json <<EOF
[
  {"name": "eval", "after": ["train-a", {"ref": "train-b", "condition": "afterany"}]},
  {"name": "prep", "after": [$before]},
  {"name": "train-a", "after": ["prep"]},
  {"name": "train-b", "after": ["prep:afterok", "$before:afterany"]},
  {"name": "alert", "after": [{"ref": "eval", "condition": "afternotok"}]}
]
EOF
	local ids ev pr ta tb al
	ids=$(wnctl job batch pipe.json --project p --task t)
	read -r ev pr ta tb al <<<"$(tr '\n' ' ' <<<"$ids")"
	expect_eq "$(job_field "$ev" '[.deps[] | "\(.job_id):\(.condition)"] | join(" ")')" \
		"$ta:afterok $tb:afterany" "eval's dependencies"
	expect_eq "$(job_field "$pr" '[.deps[] | "\(.job_id):\(.condition)"] | join(" ")')" \
		"$before:afterok" "prep's dependencies"
	expect_eq "$(job_field "$tb" '[.deps[] | "\(.job_id):\(.condition)"] | join(" ")')" \
		"$pr:afterok $before:afterany" "train-b's dependencies"
	expect_eq "$(job_field "$al" '[.deps[] | "\(.job_id):\(.condition)"] | join(" ")')" \
		"$ev:afternotok" "alert's dependencies"
	expect_eq "$(ready_ids)" "$before" "ready"
	run_next "$before"
	run_next "$pr"
	run_next "$ta"
	run_next "$tb" --fail
	run_next "$ev"
	expect_status "$al" blocked
	run_next none
}

test_deps_tree() {
	deps_start
	local p a b e out
	p=$(add prep)
	a=$(add left --after "$p")
	b=$(add right --after "$p")
	e=$(add join --after "$a" --after "$b:afterany")
	expect_exit 0 wnctl job deps "$e"
	out=$WN_OUT
	expect_eq "$(wc -l <<<"$out" | tr -d ' ')" 5 "lines of the tree: $out"
	expect_eq "$(head -n 1 <<<"$out" | cut -d: -f1)" "$e join" "the tree's root"
	expect_contains "$(sed -n 2p <<<"$out")" "afterok $a left: pending" "first dependency"
	expect_contains "$(sed -n 3p <<<"$out")" "afterok $p prep: pending" "its dependency"
	expect_contains "$(sed -n 4p <<<"$out")" "afterany $b right: pending" "second dependency"
	expect_contains "$(sed -n 5p <<<"$out")" "afterok $p prep: pending (see above)" "shared job"
	expect_eq "$(grep -c "(see above)" <<<"$out")" 1 "jobs shown again"
	local j
	j=$(wnctl --json job deps "$e")
	expect_eq "$(jq -r '.jobs[0].id' <<<"$j")" "$e" "deps JSON starts with the job"
	expect_eq "$(jq -r '[.jobs[].id] | sort | join(" ")' <<<"$j")" \
		"$(printf '%s\n' "$p" "$a" "$b" "$e" | sort -n | tr '\n' ' ' | sed 's/ $//')" "deps JSON jobs"
	run_next "$p"
	expect_contains "$(wnctl job deps "$e")" "afterok $p prep: completed" "tree after prep ran"
	expect_exit 0 wnctl job deps "$p"
	expect_eq "$WN_OUT" "$p prep: completed" "a job without dependencies"
	expect_exit 4 wnctl job deps 999999
}

test_deps_pipeline_two_workers() {
	deps_start
	# preprocess -> train x3 -> evaluate, and an alert if evaluate does not succeed.
	cat >pipeline.json <<'EOF'
{"name": "preprocess"}
{"name": "train-1", "after": ["preprocess"]}
{"name": "train-2", "after": ["preprocess"]}
{"name": "train-3", "after": ["preprocess"]}
{"name": "evaluate", "after": ["train-1", "train-2", "train-3"]}
{"name": "alert", "after": ["evaluate:afternotok"]}
EOF
	local ids pre t1 t2 t3 ev al
	ids=$(wnctl job batch pipeline.json --project p --task t)
	read -r pre t1 t2 t3 ev al <<<"$(tr '\n' ' ' <<<"$ids")"
	local w pids=()
	for w in w1 w2; do
		worker_loop "$w" order.log stop &
		pids+=("$!")
		bg_track "$!"
	done
	wait_for 60 "evaluate to complete" status_is "$ev" completed
	wait_for 20 "the alert to be blocked" status_is "$al" blocked
	touch stop
	local pid
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	[ ! -s order.log.err ] || fail "worker loops failed: $(head -n 5 order.log.err)"
	local t
	for t in "$t1" "$t2" "$t3"; do
		expect_before order.log "end $pre" "start $t"
		expect_before order.log "end $t" "start $ev"
	done
	expect_eq "$(grep -c '^start ' order.log)" 5 "jobs started: $(tr '\n' ';' <order.log)"
	expect_eq "$(grep -c "^start $al\$" order.log)" 0 "the alert ran"
	expect_statuses "$pre completed" "$t1 completed" "$t2 completed" "$t3 completed"
}

test_deps_pipeline_wnworker() {
	deps_start
	cat >pipeline.json <<'JSON'
{"name": "preprocess"}
{"name": "train-1", "after": ["preprocess"]}
{"name": "train-2", "after": ["preprocess"]}
{"name": "train-3", "after": ["preprocess"]}
{"name": "evaluate", "after": ["train-1", "train-2", "train-3"]}
{"name": "alert", "after": ["evaluate:afternotok"]}
JSON
	local ids pre t1 t2 t3 ev al
	ids=$(wnctl job batch pipeline.json --project p --task t)
	read -r pre t1 t2 t3 ev al <<<"$(tr '\n' ' ' <<<"$ids")"
	# The real worker, twice; each run appends "start ID" and "end ID" to order.log.
	cat >worker.yaml <<YAML
projects: p
fetch_wait_ms: 500
kill_grace_s: 1
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
tasks:
  t:
    command: [sh, -c, 'echo start \$0 >>order.log; sleep 0.2; echo end \$0 >>order.log', "{job.id}"]
    workdir: $WN_TMP
YAML
	local w pids=()
	for w in w1 w2; do
		"$WN_BIN/wnworker" --config worker.yaml --name "$w" >>"$w.log" 2>&1 &
		pids+=("$!")
		bg_track "$!"
	done
	wait_for 60 "evaluate to complete" status_is "$ev" completed
	wait_for 20 "the alert to be blocked" status_is "$al" blocked
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid"
		wait "$pid" || fail "wnworker $pid did not stop cleanly: $(tail -n 5 w1.log w2.log)"
	done
	local t
	for t in "$t1" "$t2" "$t3"; do
		expect_before order.log "end $pre" "start $t"
		expect_before order.log "end $t" "start $ev"
	done
	expect_eq "$(grep -c '^start ' order.log)" 5 "jobs started: $(tr '\n' ';' <order.log)"
	expect_eq "$(job_field "$ev" .worker | grep -cE '^w[12]$')" 1 "worker of evaluate"
}

test_deps_retry_names_the_blocked_jobs_it_puts_back() {
	deps_start
	local a b c x
	a=$(add a)
	b=$(add b --after "$a")
	c=$(add c --after "$b")
	x=$(add x)
	run_next "$a" --fail --exit-code 1
	run_next "$x"
	expect_statuses "$a failed" "$b blocked" "$c blocked"
	# Retrying a pipeline's failed step and the steps it blocked, in one
	# call: the blocked ones are pending again with it, and said to be.
	expect_exit 0 wnctl job retry --project p
	expect_eq "$WN_OUT" "retried 3 jobs: $a, $b, $c" "retry by filter"
	expect_statuses "$a pending" "$b pending" "$c pending"
	run_next "$a" --fail --exit-code 1
	expect_exit 0 wnctl job retry "$c" "$a"
	expect_eq "$WN_OUT" "retried 2 jobs: $a, $c" "retry by ids"
	expect_statuses "$a pending" "$b pending" "$c pending"
	# Named alone, a blocked job whose dependency still failed is refused.
	run_next "$a" --fail --exit-code 1
	expect_exit 6 wnctl job retry "$c" "$b"
	expect_contains "$WN_OUT" "left 2 jobs as they were" "refused retry"
	expect_statuses "$b blocked" "$c blocked"
}

test_deps_retry_and_remove_a_chain_listed_backwards() {
	deps_start
	# A batch may name a job before the one it waits for: here each job waits
	# for the next one in the file, so dependencies have the higher ids.
	awk 'BEGIN { n = 20000
		for (i = 1; i < n; i++) printf "{\"name\":\"c%d\",\"after\":[\"c%d\"]}\n", i, i + 1
		printf "{\"name\":\"c%d\"}\n", n }' >back.json
	wnctl job batch back.json --project p --task t --sweep back >ids
	# stat_of STATE: how many jobs of p are in STATE
	stat_of() { wnctl --json queue stats p | jq -r ".projects[0].$1 // 0"; }
	local s first last
	first=$(head -n 1 ids)
	last=$(tail -n 1 ids)
	s=$(sweep_json "$first" | jq -r .id)
	expect_exit 0 wnctl sweep cancel "$s" --yes
	expect_eq "$(stat_of cancelled)" 20000 "cancelled"
	# Retried at once, each job after the one it waits for.
	expect_exit 0 wnctl sweep retry "$s"
	expect_contains "$WN_OUT" "retried 20000 jobs" "sweep retry"
	expect_eq "$(stat_of pending)" 20000 "pending after the retry"
	expect_eq "$(ready_ids)" "$last" "ready after the retry"
	# Removed at once without force, each job before the one it waits for.
	expect_exit 0 wnctl job remove --sweep "$s" --yes
	expect_contains "$WN_OUT" "removed 20000 jobs" "remove"
	expect_eq "$(stat_of pending)" 0 "jobs left"

	# A report listed before the 20000 jobs it waits for.
	awk 'BEGIN { n = 20000; printf "{\"name\":\"report\",\"after\":["
		for (i = 1; i <= n; i++) printf "%s\"j%d\"", (i > 1 ? "," : ""), i
		printf "]}\n"; for (i = 1; i <= n; i++) printf "{\"name\":\"j%d\"}\n", i }' >fan.json
	wnctl job batch fan.json --project p --task t --sweep fan >ids
	s=$(sweep_json "$(head -n 1 ids)" | jq -r .id)
	expect_exit 0 wnctl sweep cancel "$s" --yes
	expect_exit 0 wnctl sweep retry "$s"
	expect_contains "$WN_OUT" "retried 20001 jobs" "sweep retry of the fan-in"
	expect_eq "$(stat_of pending)" 20001 "pending after the retry"
	expect_exit 0 wnctl job remove --sweep "$s" --yes
	expect_contains "$WN_OUT" "removed 20001 jobs" "remove of the fan-in"
	expect_eq "$(stat_of pending)" 0 "jobs left of the fan-in"
}
