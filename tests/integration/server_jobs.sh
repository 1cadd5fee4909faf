# Jobs: submit, batch, show, list, cancel, retry, remove, priority.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_job_add_show() {
	wn_start
	mkproject p
	mktask p t
	local id id2 j
	id=$(wnctl job add p t --name first --param lr=0.1 --param expr=a=b --priority 5)
	[[ $id =~ ^[0-9]+$ ]] || fail "job add printed '$id', not an id"
	j=$(job_json "$id")
	expect_eq "$(jq -r .id <<<"$j")" "$id" "id"
	expect_eq "$(jq -r .project <<<"$j")" p "project"
	expect_eq "$(jq -r .task <<<"$j")" t "task"
	expect_eq "$(jq -r .name <<<"$j")" first "name"
	expect_eq "$(jq -r .params.lr <<<"$j")" 0.1 "param lr"
	expect_eq "$(jq -r .params.expr <<<"$j")" a=b "param expr"
	expect_eq "$(jq -r '.priority // 0' <<<"$j")" 5 "priority"
	expect_eq "$(jq -r .status <<<"$j")" pending "status"
	expect_eq "$(jq -r '.attempt // 0' <<<"$j")" 0 "attempt"
	[ "$(jq -r '.created_ms // 0' <<<"$j")" -gt 0 ] || fail "created_ms not set: $j"

	id2=$(wnctl job add p t)
	[ "$id2" -gt "$id" ] || fail "second id $id2 not above $id"
	# What a job name may hold, as docs/server.md says.
	expect_exit 7 wnctl job add p t --name 'a b'
	expect_contains "$WN_ERR" "a job name may hold only letters, digits, '.', '_', '-' and, after its first character, '=', ',', ':', '+' and '@'" \
		"message for a bad job name"
	expect_exit 7 wnctl job add p t --name '=a'
	expect_exit 0 wnctl --json job add p t --name 'lr=0.1,bs=32:a+b@c'
	expect_exit 0 wnctl job remove "$(jq -r .id <<<"$WN_OUT")"
	expect_eq "$(job_field "$id2" .name)" "t-$id2" "default name"

	expect_exit 0 wnctl job show "$id"
	expect_contains "$WN_OUT" first
	expect_contains "$WN_OUT" pending

	expect_exit 4 wnctl job add nosuch t
	expect_contains "$WN_ERR" "wnctl: "
	expect_exit 4 wnctl job add p nosuch
	expect_exit 4 wnctl job show 999999
	expect_eq "$(all_job_ids | tr '\n' ' ')" "$id $id2 " "jobs after refused submits"
}

test_job_batch() {
	wn_start
	mkproject p
	mktask p t
	mktask p u
	cat >array.json <<'EOF'
[
  {"project": "p", "task": "t", "name": "a1", "params": {"x": "1"}, "priority": 2},
  {"project": "p", "task": "u", "name": "a2", "params": {"x": "2", "y": "z"}},
  {"project": "p", "task": "t", "name": "a3", "priority": -1}
]
EOF
	local ids
	ids=$(wnctl job batch array.json)
	expect_eq "$(wc -l <<<"$ids" | tr -d ' ')" 3 "ids printed"
	local a1 a2 a3
	read -r a1 a2 a3 <<<"$(tr '\n' ' ' <<<"$ids")"
	[ "$a1" -lt "$a2" ] && [ "$a2" -lt "$a3" ] || fail "batch ids not increasing: $ids"
	expect_eq "$(job_field "$a1" '"\(.name) \(.task) \(.params.x) \(.priority // 0)"')" "a1 t 1 2" \
		"first batch job"
	expect_eq "$(job_field "$a2" '.name + " " + .task + " " + .params.x + .params.y')" "a2 u 2z" \
		"second batch job"
	expect_eq "$(job_field "$a3" '.name + " " + (.priority // 0 | tostring)')" "a3 -1" \
		"third batch job"

	# One object per line, project and task from the command line.
	printf '{"name": "l1"}\n{"name": "l2", "params": {"k": "v"}}\n' >lines.json
	ids=$(wnctl job batch lines.json --project p --task u)
	expect_eq "$(wc -l <<<"$ids" | tr -d ' ')" 2 "ids printed"
	expect_eq "$(job_field "$(head -n 1 <<<"$ids")" '.project + "/" + .task + "/" + .name')" \
		"p/u/l1" "line batch job"
	expect_eq "$(job_field "$(tail -n 1 <<<"$ids")" .params.k)" v "line batch param"

	# All or nothing: one bad spec stores none of them.
	local before
	before=$(all_job_ids)
	gen_batch good.json p t 50
	{
		cat good.json
		echo '{"project": "p", "task": "nosuch", "name": "bad"}'
		cat good.json
	} >mixed.json
	expect_exit 4 wnctl job batch mixed.json
	expect_contains "$WN_ERR" "wnctl: "
	expect_eq "$(all_job_ids)" "$before" "jobs after a refused batch"
	{
		cat good.json
		echo "{\"project\": \"p\", \"task\": \"t\", \"name\": \"$(printf 'n%.0s' $(seq 1 300))\"}"
	} >mixed.json
	expect_exit 7 wnctl job batch mixed.json
	expect_eq "$(all_job_ids)" "$before" "jobs after a batch with a bad name"
	ids=$(wnctl job batch good.json)
	expect_eq "$(wc -l <<<"$ids" | tr -d ' ')" 50 "ids of the good batch"
}

# A dependency by name must stay inside its project: refused, nothing made.
test_job_batch_dependency_across_projects_refused() {
	wn_start
	mkproject a
	mkproject b
	mktask a t
	mktask b t
	cat >cross.json <<'EOF'
[
  {"project": "a", "task": "t", "name": "first"},
  {"project": "b", "task": "t", "name": "second", "after": [{"ref": "first"}]}
]
EOF
	expect_exit 7 wnctl job batch cross.json
	expect_contains "$WN_ERR" 'dependency on "first", a job of another project (a)'
	expect_eq "$(all_job_ids)" "" "jobs after the refused batch"
}

test_job_list_filters_paging() {
	wn_start
	mkproject p
	mktask p a
	mktask p b
	mkproject q
	mktask q a
	gen_batch pa.json p a 5
	gen_batch pb.json p b 3
	gen_batch qa.json q a 2
	local pa pb qa
	pa=$(wnctl job batch pa.json)
	pb=$(wnctl job batch pb.json)
	qa=$(wnctl job batch qa.json)

	expect_eq "$(all_job_ids --project p)" "$(printf '%s\n%s' "$pa" "$pb")" "--project p"
	expect_eq "$(all_job_ids --project p --task b)" "$pb" "--project p --task b"
	expect_eq "$(all_job_ids --task a)" "$(printf '%s\n%s' "$pa" "$qa")" "--task a"
	expect_eq "$(all_job_ids --project q)" "$qa" "--project q"
	local first
	first=$(head -n 1 <<<"$pa")
	wnctl job cancel "$first" >/dev/null
	expect_eq "$(all_job_ids --status cancelled)" "$first" "--status cancelled"
	expect_eq "$(all_job_ids --project p --status pending | wc -l | tr -d ' ')" 7 \
		"--project p --status pending"
	expect_exit 4 wnctl job list --project nosuch

	# Pages: --limit, --after.
	local all page
	all=$(all_job_ids)
	page=$(wnctl --json job list --limit 3 | jq_jobs | jq -r .id)
	expect_eq "$page" "$(head -n 3 <<<"$all")" "first page"
	page=$(wnctl --json job list --limit 4 --after "$(sed -n 3p <<<"$all")" | jq_jobs | jq -r .id)
	expect_eq "$page" "$(sed -n 4,7p <<<"$all")" "second page"
	page=$(wnctl --json job list --after "$(tail -n 1 <<<"$all")" | jq_jobs | jq -r .id)
	expect_eq "$page" "" "page after the last job"
	# --json prints one object however many pages it took, page by page.
	local j
	j=$(wnctl --json job list --all --limit 3)
	expect_eq "$(jq -r '.jobs[].id' <<<"$j")" "$all" "--all --json over pages of 3"
	expect_eq "$(jq -r .next_after_id <<<"$j")" 0 "no page follows --all"
	expect_eq "$(wnctl --json job list --limit 3 | jq -r .next_after_id)" "$(sed -n 3p <<<"$all")" \
		"a page with more after it"
	expect_eq "$(wnctl --json job list --status completed | jq -c .)" '{"jobs":[],"next_after_id":0}' \
		"an empty list"
	expect_exit 0 wnctl job list --project q
	expect_contains "$WN_OUT" "$(head -n 1 <<<"$qa")"

	# More jobs than the largest page: --all still lists each once, in id order.
	gen_batch big.json q a 10500
	jq -s . big.json >big.array.json
	local big
	big=$(wnctl job batch big.array.json)
	expect_eq "$(wc -l <<<"$big" | tr -d ' ')" 10500 "ids of the big batch"
	all=$(all_job_ids --project q)
	expect_eq "$(wc -l <<<"$all" | tr -d ' ')" 10502 "jobs listed with --all"
	expect_eq "$all" "$(sort -n -u <<<"$all")" "--all in strictly increasing id order"
	expect_eq "$all" "$(printf '%s\n%s' "$qa" "$big")" "--all ids"
}

test_job_cancel_retry_remove() {
	wn_start
	mkproject p
	mktask p t
	local a b c
	a=$(wnctl job add p t --name a)
	b=$(wnctl job add p t --name b)
	c=$(wnctl job add p t --name c)

	expect_exit 0 wnctl job cancel "$a" --reason "not needed"
	expect_eq "$(job_status "$a")" cancelled "cancelled job"
	expect_contains "$(job_field "$a" '.reason // ""')" "not needed" "reason"
	# A cancelled job is not handed out.
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$b" "fetch after cancel"

	expect_exit 0 wnctl job retry "$a"
	expect_eq "$(job_status "$a")" pending "retried job"
	expect_exit 6 wnctl job retry "$a"
	expect_contains "$WN_ERR" "wnctl: "

	# A RUNNING job cannot be removed; cancelling it tells its holder.
	expect_exit 6 wnctl job remove "$b"
	expect_eq "$(job_status "$b")" running "job after refused remove"
	expect_exit 0 wnctl job cancel "$b" --reason stop
	expect_eq "$(job_status "$b")" cancelled "cancelled running job"
	expect_eq "$(job_field "$b" '.lease_expires_ms // 0')" 0 "lease of the cancelled job"
	local hb
	hb=$(wnctl --json queue heartbeat --worker w1 "$b:1")
	expect_eq "$(jq -r '(.cancelled // []) | map(tostring) | join(",")' <<<"$hb")" "$b" \
		"heartbeat cancelled list"

	expect_exit 0 wnctl job remove "$c"
	expect_exit 4 wnctl job show "$c"
	expect_exit 4 wnctl job remove "$c"
	expect_exit 4 wnctl job cancel 999999
	expect_exit 4 wnctl job retry 999999

	# A completed job can be neither retried nor cancelled, but removed.
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$a" "fetch of the retried job"
	expect_exit 0 wnctl queue complete "$a" 1 --worker w1
	expect_eq "$(job_status "$a")" completed "completed job"
	expect_exit 6 wnctl job retry "$a"
	expect_exit 6 wnctl job cancel "$a"
	expect_eq "$(job_status "$a")" completed "completed job after refused cancel"
	expect_exit 0 wnctl job remove "$a"
	expect_exit 4 wnctl job show "$a"

	# A retry clears what the last run was; the attempts go on counting, the
	# failures count again from the retry.
	local d
	d=$(wnctl job add p t --name d)
	expect_eq "$(fetch_job p w2 | jq -r .id)" "$d" "fetch of d"
	wnctl queue complete "$d" 1 --worker w2 --fail --exit-code 3 --duration-ms 1500 >/dev/null
	expect_exit 0 wnctl job show "$d"
	expect_contains "$WN_OUT" $'worker: w2\n' "the failed run's worker"
	expect_contains "$WN_OUT" $'duration: 1.500 s\n' "the failed run's duration"
	expect_contains "$WN_OUT" 'failures: 1 (since submission or the last retry)' "failures"
	expect_exit 0 wnctl job retry "$d"
	expect_eq "$WN_OUT" "job $d: pending" "job retry's line"
	expect_eq "$(job_field "$d" '[.status, .attempt, .worker, .started_ms, .duration_ms,
		.finished_ms, .exit_code, .failures] | map(tostring) | join(" ")')" "pending 1  0 0 0 0 0" \
		"the job after its retry"
	expect_exit 0 wnctl job show "$d"
	expect_not_contains "$WN_OUT" "worker:" "job show after the retry"
	expect_not_contains "$WN_OUT" "started:" "job show after the retry"
	expect_not_contains "$WN_OUT" "duration:" "job show after the retry"
	expect_contains "$WN_OUT" $'attempt: 1\n' "job show after the retry"
	expect_eq "$(fetch_job p w1 | jq -r '"\(.id) \(.attempt) \(.worker)"')" "$d 2 w1" \
		"the next run of the retried job"
}

test_job_priority() {
	wn_start
	mkproject p
	mktask p t
	local a b c
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t)
	expect_exit 0 wnctl job priority "$c" 10
	expect_eq "$(job_field "$c" '.priority // 0')" 10 "priority"
	expect_exit 0 wnctl job priority "$a" -5
	expect_eq "$(job_field "$a" '.priority // 0')" -5 "negative priority"
	expect_eq "$(wnctl --json queue show p | jq_jobs | jq -r .id | tr '\n' ' ')" "$c $b $a " \
		"dispatch order"
	expect_eq "$(job_field "$b" '.position // 0')" 1 "position of b"
	expect_eq "$(fetch_job p w | jq -r .id)" "$c" "first fetch"
	expect_eq "$(fetch_job p w | jq -r .id)" "$b" "second fetch"
	expect_exit 4 wnctl job priority 999999 1
}

# A filter that matches a few jobs among more than 100,000 still finds them
# all, whatever pages the server cuts the scan into.
# test-tier: long
test_job_list_sparse_filter_over_100k() {
	wn_start
	mkproject p
	mktask p t
	mkproject q
	mktask q t
	local first last
	first=$(wnctl job add p t --name first)
	# JSON arrays: the quickest file format to read for a big batch.
	gen_batch q.json q t 60000
	jq -s . q.json >q.array.json
	wnctl job batch q.array.json >/dev/null
	wnctl job batch q.array.json >/dev/null
	last=$(wnctl job add p t --name last)
	expect_eq "$(all_job_ids --project p | tr '\n' ' ')" "$first $last " "jobs of p"
	expect_eq "$(all_job_ids --status pending --project p | tr '\n' ' ')" "$first $last " \
		"pending jobs of p"
	expect_eq "$(all_job_ids --project q | wc -l | tr -d ' ')" 120000 "jobs of q"
}
