# Dependencies: the three conditions, what a failure, a cancel or a forced
# removal does to the jobs that wait, and what `job show` says about them.
source "${BASH_SOURCE[0]%/*}/deps_lib.sh"

test_deps_afterok() {
	deps_start
	local a b c d
	a=$(add a)
	b=$(add b --after "$a")
	# The default condition is afterok; writing it changes nothing.
	c=$(add c --after "$a:afterok")
	expect_eq "$(ready_ids)" "$a" "ready before a ran"
	expect_eq "$(waiting_ids)" "$b $c" "waiting before a ran"
	expect_status "$b" pending

	# job show says which dependency b waits for, with its condition and state.
	expect_exit 0 wnctl job show "$b"
	expect_contains "$WN_OUT" "waiting: " "job show of a waiting job"
	grep -E "^waiting: .*(^|[^0-9])$a([^0-9]|$)" <<<"$WN_OUT" >/dev/null ||
		fail "the waiting line does not name job $a: $WN_OUT"
	expect_contains "$WN_OUT" "deps:" "job show"
	expect_contains "$WN_OUT" "  afterok $a: pending" "job show deps"
	local j
	j=$(job_json "$b")
	expect_eq "$(jq -c '[.deps[] | {job_id, condition, status}]' <<<"$j")" \
		"[{\"job_id\":$a,\"condition\":\"afterok\",\"status\":\"pending\"}]" "deps in JSON"

	run_next "$a"
	expect_statuses "$a completed" "$b pending" "$c pending"
	expect_eq "$(ready_ids)" "$b $c" "ready once a completed"
	expect_contains "$(wnctl job show "$b")" "  afterok $a: completed" "job show deps"
	run_next "$b"
	run_next "$c"
	run_next none

	# A failed dependency blocks the job at once, with a reason naming it.
	a=$(add a2)
	b=$(add b2 --after "$a")
	run_next "$a" --fail --exit-code 3
	expect_statuses "$a failed" "$b blocked"
	expect_reason_names "$b" "$a"
	expect_eq "$(ready_ids)" "" "ready after the failure"
	expect_eq "$(waiting_ids)" "" "waiting after the failure"
	d=$(wnctl --json queue stats p | jq -r '.projects[0].blocked // 0')
	expect_eq "$d" 1 "blocked count in queue stats"
}

test_deps_afterany() {
	deps_start
	local a1 a2 a3 b1 b2 b3
	a1=$(add a1)
	a2=$(add a2)
	a3=$(add a3)
	b1=$(add b1 --after "$a1:afterany")
	b2=$(add b2 --after "$a2:afterany")
	b3=$(add b3 --after "$a3:afterany")
	expect_eq "$(waiting_ids)" "$b1 $b2 $b3" "waiting"
	run_next "$a1"
	run_next "$a2" --fail --exit-code 1
	expect_exit 0 wnctl job cancel "$a3"
	# However its dependency ended, each runs.
	expect_statuses "$b1 pending" "$b2 pending" "$b3 pending"
	expect_eq "$(ready_ids)" "$b1 $b2 $b3" "ready"
	run_next "$b1"
	run_next "$b2"
	run_next "$b3"
	run_next none
}

test_deps_afternotok() {
	deps_start
	local ok bad gone alert_ok alert_bad alert_gone
	ok=$(add ok)
	bad=$(add bad)
	gone=$(add gone)
	alert_ok=$(add alert-ok --after "$ok:afternotok")
	alert_bad=$(add alert-bad --after "$bad:afternotok")
	alert_gone=$(add alert-gone --after "$gone:afternotok")
	expect_eq "$(waiting_ids)" "$alert_ok $alert_bad $alert_gone" "waiting"
	run_next "$ok"
	# Its dependency succeeded: the alert can never run.
	expect_status "$alert_ok" blocked
	expect_reason_names "$alert_ok" "$ok"
	run_next "$bad" --fail --exit-code 2
	expect_exit 0 wnctl job cancel "$gone" --reason "not needed"
	expect_statuses "$alert_bad pending" "$alert_gone pending"
	expect_eq "$(ready_ids)" "$alert_bad $alert_gone" "alerts ready"
	run_next "$alert_bad"
	run_next "$alert_gone"
	run_next none
}

test_deps_several_conditions() {
	deps_start
	local a b c
	a=$(add a)
	b=$(add b)
	c=$(add c --after "$a" --after "$b:afterany")
	run_next "$a"
	expect_eq "$(waiting_ids)" "$c" "c still waits for b"
	expect_exit 0 wnctl job show "$c"
	grep -E "^waiting: .*(^|[^0-9])$b([^0-9]|$)" <<<"$WN_OUT" >/dev/null ||
		fail "the waiting line does not name job $b: $WN_OUT"
	expect_contains "$WN_OUT" "  afterok $a: completed"
	expect_contains "$WN_OUT" "  afterany $b: pending"
	run_next "$b" --fail
	expect_status "$c" pending
	run_next "$c"
}

test_deps_cancel() {
	deps_start
	local a ok notok any
	a=$(add a)
	ok=$(add ok --after "$a")
	notok=$(add notok --after "$a:afternotok")
	any=$(add any --after "$a:afterany")
	expect_exit 0 wnctl job cancel "$a"
	# Cancelled counts as failed for afterok and afternotok.
	expect_statuses "$a cancelled" "$ok blocked" "$notok pending" "$any pending"
	expect_reason_names "$ok" "$a"
	expect_eq "$(ready_ids)" "$notok $any" "ready after the cancel"

	# Cancelling a running job does the same.
	local b dep out id attempt
	b=$(add b --priority 10)
	dep=$(add dep --after "$b")
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "$id" "$b" "job handed out"
	expect_status "$b" running
	expect_exit 0 wnctl job cancel "$b"
	expect_status "$dep" blocked
	expect_reason_names "$dep" "$b"
}

test_deps_refused() {
	deps_start
	mkproject q
	mktask q t
	local a other before
	a=$(add a)
	other=$(wnctl job add q t)
	before=$(count_jobs)

	# An unknown job.
	expect_exit 7 wnctl job add p t --after 999999
	expect_contains "$WN_ERR" 999999 "unknown dependency message"
	# A job of another project.
	expect_exit 7 wnctl job add p t --after "$other"
	expect_contains "$WN_ERR" "$other" "cross-project dependency message"
	# The job's own id (the next one): a cycle of one, or an unknown job.
	expect_exit 7 wnctl job add p t --after "$((other + 1))"

	# The same inside a batch: nothing of it is stored.
	printf '{"name":"x"}\n{"name":"y","after":[%s, 999999]}\n' "$a" >unknown.json
	expect_exit 7 wnctl job batch unknown.json --project p --task t
	expect_contains "$WN_ERR" 999999 "unknown dependency in a batch"
	printf '{"name":"x"}\n{"name":"y","after":["x", %s]}\n' "$other" >cross.json
	expect_exit 7 wnctl job batch cross.json --project p --task t
	expect_contains "$WN_ERR" "$other" "cross-project dependency in a batch"
	expect_eq "$(count_jobs)" "$before" "jobs after refused submits"

	# What wnctl refuses before sending anything (exit 2).
	expect_exit 2 wnctl job add p t --after "$a:afterwards"
	expect_contains "$WN_ERR" "afterwards"
	expect_exit 2 wnctl job add p t --after abc
	expect_exit 2 wnctl job add p t --after 0
	printf '{"name":"x","after":["nosuch"]}\n' >ref.json
	expect_exit 2 wnctl job batch ref.json --project p --task t
	expect_contains "$WN_ERR" "nosuch"
	printf '{"name":"x"}\n{"name":"x"}\n{"name":"y","after":["x"]}\n' >dup.json
	expect_exit 2 wnctl job batch dup.json --project p --task t
	expect_contains "$WN_ERR" "ambiguous"
	printf '{"name":"x","after":[{"ref":"x","condition":"never"}]}\n' >cond.json
	expect_exit 2 wnctl job batch cond.json --project p --task t
	printf '{"name":"x","after":[{"job_id":1,"ref":"x"}]}\n' >both.json
	expect_exit 2 wnctl job batch both.json --project p --task t
	expect_eq "$(count_jobs)" "$before" "jobs after refused submits"
}

test_deps_remove_force() {
	deps_start
	local a b c
	a=$(add a)
	b=$(add b --after "$a")
	c=$(add c --after "$b")
	# Others depend on a: refused, and nothing changes.
	expect_exit 6 wnctl job remove "$a"
	expect_statuses "$a pending" "$b pending" "$c pending"
	expect_exit 0 wnctl job remove "$a" --force
	expect_eq "$WN_OUT" "job $a: removed"
	expect_exit 4 wnctl job show "$a"
	# Its dependents are blocked at once, transitively, and say why.
	expect_statuses "$b blocked" "$c blocked"
	expect_reason_names "$b" "$a"
	expect_eq "$(ready_ids)" "" "ready after the forced removal"
	# A job nobody waits for is removed without --force.
	local d
	d=$(add d)
	expect_exit 0 wnctl job remove "$d"
}

# Deleting a task removes its jobs as a forced removal does: jobs of other
# tasks that waited afterok or afternotok for one are blocked, and say why;
# those that waited afterany may run.
test_deps_task_delete() {
	deps_start
	mktask p u
	local a b c d
	a=$(add a)
	b=$(wnctl job add p u --name b --after "$a")
	c=$(wnctl job add p u --name c --after "$b")
	d=$(wnctl job add p u --name d --after "$a:afterany")
	expect_exit 0 wnctl task delete p t --yes
	expect_eq "$WN_OUT" "deleted task p/t (1 job removed)"
	expect_statuses "$b blocked" "$c blocked" "$d pending"
	expect_reason_names "$b" "$a"
	expect_eq "$(ready_ids)" "$d" "ready after the task's deletion"
}
