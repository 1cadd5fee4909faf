# Dependencies against every end of the job they wait for: each condition
# (afterok, afterany, afternotok) against an upstream job that COMPLETED,
# FAILED, was CANCELLED, is BLOCKED or was removed, as docs/dependencies.md's
# table "What each end means" says, through wnctl: the dependent's status and
# reason, what the queue hands out, after a restart too.
source "${BASH_SOURCE[0]%/*}/deps_lib.sh"

CONDS="afterok afterany afternotok"

# want END COND: "runs" or "blocked", the cell of the documented table.
want() {
	case "$1:$2" in
	completed:afterok | completed:afterany) echo runs ;;
	*:afterok | completed:afternotok | removed:afternotok) echo blocked ;;
	*) echo runs ;;
	esac
}

# why_of END UP COND: the reason a dependent blocked by UP (in END) gives.
why_of() {
	if [ "$1" = removed ]; then
		echo "dependency job $2 was removed"
	else
		echo "dependency job $2 is ${1^^} ($3)"
	fi
}

# check_cells PREFIX: every dependent DEP[PREFIX:END:COND] is as the table says:
# pending and ready, or blocked with the reason that names its upstream.
check_cells() {
	local pfx=$1 end cond id st
	for end in completed failed cancelled blocked removed; do
		[ -n "${UP[$end]:-}" ] || continue
		for cond in $CONDS; do
			id=${DEP[$pfx:$end:$cond]:-}
			[ -n "$id" ] || continue
			st=$(job_status "$id")
			if [ "$(want "$end" "$cond")" = runs ]; then
				expect_eq "$st" pending "$cond on a $end job: status of job $id"
				expect_eq "$(reason_of "$id")" "" "$cond on a $end job: reason"
			else
				expect_eq "$st" blocked "$cond on a $end job: status of job $id"
				expect_eq "$(reason_of "$id")" "$(why_of "$end" "${UP[$end]}" "$cond")" \
					"$cond on a $end job: reason of job $id"
			fi
		done
	done
}

# ready_want PREFIX...: the ids that the table lets run, in id order.
ready_want() {
	local k
	for k in "${!DEP[@]}"; do
		local pfx=${k%%:*} rest=${k#*:}
		local end=${rest%%:*} cond=${rest#*:} p
		for p in "$@"; do
			[ "$p" = "$pfx" ] && [ "$(want "$end" "$cond")" = runs ] && echo "${DEP[$k]}"
		done
	done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# ends_scenario END: every condition against an upstream job that ends as
# END (its own server: the five ends run side by side). Dependents that wait
# while it ends (w) and dependents submitted after it ended (s: a removed job
# cannot be named, it no longer exists) are judged as the table says, shown
# by wnctl, read the same after a restart, and those that may run are handed
# out, each once, and no other.
ends_scenario() {
	local end=$1 cond x0= id
	deps_start
	declare -gA UP=() DEP=()
	if [ "$end" = blocked ]; then
		x0=$(add x0)
		UP[blocked]=$(add up-blocked --after "$x0")
	else
		UP[$end]=$(add "up-$end")
	fi
	for cond in $CONDS; do
		DEP[w:$end:$cond]=$(add "w-$cond-$end" --after "${UP[$end]}:$cond")
	done
	expect_eq "$(ready_ids)" "${x0:-${UP[$end]}}" "ready before the end"

	case $end in
	completed) run_next "${UP[completed]}" ;;
	failed) run_next "${UP[failed]}" --fail --exit-code 1 ;;
	cancelled) expect_exit 0 wnctl job cancel "${UP[cancelled]}" ;;
	blocked)
		run_next "$x0" --fail --exit-code 1
		expect_status "${UP[blocked]}" blocked
		;;
	removed)
		# A removal with dependents waiting says what forcing it would do.
		expect_exit 6 wnctl job remove "${UP[removed]}"
		expect_contains "$WN_ERR" "afterok or afternotok" "refused removal"
		expect_status "${UP[removed]}" pending "a refused removal changes nothing"
		expect_exit 0 wnctl job remove "${UP[removed]}" --force
		;;
	esac
	check_cells w

	if [ "$end" = removed ]; then
		expect_exit 7 wnctl job add p t --after "${UP[removed]}:afterany"
	else
		for cond in $CONDS; do
			DEP[s:$end:$cond]=$(add "s-$cond-$end" --after "${UP[$end]}:$cond")
		done
	fi
	check_cells s
	expect_eq "$(ready_ids)" "$(ready_want w s)" "ready: the cells that run"

	# What wnctl shows of a blocked dependent and of one that may run.
	case $end in
	blocked)
		expect_exit 0 wnctl job show "${DEP[w:blocked:afterok]}"
		expect_contains "$WN_OUT" "status: blocked"
		expect_contains "$WN_OUT" "reason: dependency job ${UP[blocked]} is blocked (afterok)"
		expect_contains "$WN_OUT" "  afterok ${UP[blocked]}: blocked"
		;;
	removed)
		expect_exit 0 wnctl job show "${DEP[w:removed:afterany]}"
		expect_contains "$WN_OUT" "status: pending"
		expect_contains "$WN_OUT" "  afterany ${UP[removed]}: removed"
		;;
	esac

	# A restart reads the same from the records.
	wn_stop
	wn_start
	check_cells w
	check_cells s
	expect_eq "$(ready_ids)" "$(ready_want w s)" "ready after a restart"

	# Those that may run are handed out, each once, and no other.
	for id in $(ready_want w s); do
		run_next "$id"
	done
	run_next none
}

test_deps_every_condition_against_a_completed_job() { ends_scenario completed; }
test_deps_every_condition_against_a_failed_job() { ends_scenario failed; }
test_deps_every_condition_against_a_cancelled_job() { ends_scenario cancelled; }
test_deps_every_condition_against_a_blocked_job() { ends_scenario blocked; }
test_deps_every_condition_against_a_removed_job() { ends_scenario removed; }

# The pipeline of the issue that made the table: an alert that watches an
# evaluation fires when a training run before it fails, and a report after
# it runs; a retry of the training run takes both back while they wait.
test_deps_blocked_upstream_is_an_end() {
	deps_start
	local train eval alert report ok
	train=$(add train)
	eval=$(add evaluate --after "$train")
	alert=$(add alert --after "$eval:afternotok")
	report=$(add report --after "$eval:afterany")
	ok=$(add publish --after "$eval")
	run_next "$train" --fail --exit-code 2
	expect_statuses "$eval blocked" "$alert pending" "$report pending" "$ok blocked"
	expect_eq "$(reason_of "$ok")" "dependency job $eval is BLOCKED (afterok)"
	expect_eq "$(ready_ids)" "$alert $report" "alert and report ready"
	# The alert runs; the report has not yet when train is retried: the
	# report waits again for evaluate, publish is pending again.
	hold "$alert"
	expect_exit 0 wnctl job retry "$train"
	expect_statuses "$eval pending" "$alert running" "$report pending" "$ok pending"
	expect_eq "$(waiting_ids)" "$eval $report $ok" "waiting again after the retry"
	expect_exit 0 wnctl job show "$report"
	expect_contains "$WN_OUT" "waiting: waiting for job $eval (afterany; it is pending)"
	run_next "$train"
	run_next "$eval"
	expect_statuses "$report pending" "$ok pending"
	expect_eq "$(ready_ids)" "$report $ok" "ready once evaluate completed"
}

# A failed job can be retried as long as it is kept: retention keeps the jobs
# it waits for until it is deleted itself, though their own time is over.
test_deps_retention_keeps_what_a_failed_job_waits_for() {
	deps_start --retention-ms 30000 --test-clock clock
	local prep train other
	prep=$(add prep)
	other=$(add other)
	train=$(add train --after "$prep")
	run_next "$prep"
	run_next "$other"
	hold "$train"
	set_clock 20000
	wnctl queue complete "$train" 1 --worker w --fail >/dev/null
	expect_status "$train" failed
	# prep and other are past their time, train is not: a retention pass
	# deletes other, and keeps prep for train
	set_clock 35000
	local i
	for i in $(seq 1 200); do
		wnctl job show "$other" >/dev/null 2>&1 || break
		sleep 0.05
	done
	expect_fail wnctl job show "$other"
	expect_status "$prep" completed
	expect_exit 0 wnctl job retry "$train"
	expect_status "$train" pending
	run_next "$train"
	expect_status "$train" completed
}
