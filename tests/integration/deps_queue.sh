# The queue view with the jobs that cannot run now and why, and pop, remove
# and clear on a queue that mixes ready jobs, dependencies and a capped sweep.
source "${BASH_SOURCE[0]%/*}/deps_lib.sh"

# mixed_queue: in project p, a running job R; ready jobs A (task t), B (task
# u, priority 2), C (task t); D (task t) and E (task u) waiting for R; a sweep
# S of three jobs of task t capped at one, one of them running. Sets R A B C D
# E S S1 (the sweep's running job) S2 S3.
mixed_queue() {
	deps_start
	mktask p u
	local out id attempt
	R=$(add r --priority 100)
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "$id" "$R" "job handed out"
	A=$(add a)
	B=$(wnctl job add p u --name b --priority 2)
	C=$(add c)
	D=$(add d --after "$R")
	E=$(wnctl job add p u --name e --after "$R")
	out=$(wnctl job sweep p t --grid i=1,2,3 --max-running 1 --priority 50)
	S=$(sed -E 's/^sweep ([0-9]+):.*/\1/' <<<"$out")
	out=$(wnctl queue fetch p --worker w)
	read -r S1 attempt <<<"$out"
	expect_eq "$S1" "$S" "first job of the sweep handed out"
	S2=$((S + 1))
	S3=$((S + 2))
}

test_queue_view_waiting() {
	mixed_queue
	expect_eq "$(ready_ids)" "$B $A $C" "ready jobs in dispatch order"
	expect_eq "$(waiting_ids)" "$D $E $S2 $S3" "jobs that cannot run now"
	local j
	j=$(queue_json)
	expect_eq "$(jq -r '"\(.total) \(.waiting_total)"' <<<"$j")" "3 4" "totals"
	expect_eq "$(jq_jobs <<<"$j" | jq -r 'select(.position >= 0) | .position' | tr '\n' ' ')" \
		"0 1 2 " "positions"
	local w
	w=$(jq_jobs <<<"$j" | jq -r "select(.id == $D) | .waiting")
	grep -E "(^|[^0-9])$R([^0-9]|$)" <<<"$w" >/dev/null || fail "D's reason does not name $R: '$w'"
	w=$(jq_jobs <<<"$j" | jq -r "select(.id == $S2) | .waiting")
	[ -n "$w" ] || fail "the capped job $S2 has no reason"

	# The table: ready rows first with their place, then the others with "-".
	expect_exit 0 wnctl queue show p
	expect_eq "$(head -n 1 <<<"$WN_OUT" | tr -s ' ')" "POS ID TASK NAME PRIO ATTEMPT WAITING" "header"
	expect_eq "$(sed -n '2,4p' <<<"$WN_OUT" | awk '{print $1 ":" $2}' | tr '\n' ' ')" \
		"0:$B 1:$A 2:$C " "ready rows"
	expect_eq "$(sed -n '5,8p' <<<"$WN_OUT" | awk '{print $2 ":" $1}' | sort -n | tr '\n' ' ')" \
		"$D:- $E:- $S2:- $S3:- " "waiting rows"
	expect_contains "$(awk -v id="$D" '$2 == id' <<<"$WN_OUT")" "$R" "D's row names its dependency"
	expect_exit 0 wnctl queue show p --ready
	expect_eq "$(wc -l <<<"$WN_OUT" | tr -d ' ')" 4 "--ready rows"
	# job show says the same.
	expect_exit 0 wnctl job show "$E"
	grep -E "^waiting: .*(^|[^0-9])$R([^0-9]|$)" <<<"$WN_OUT" >/dev/null ||
		fail "job show of E does not name $R: $WN_OUT"

	# An archived project hands nothing out; every pending job says so.
	expect_exit 0 wnctl project archive p
	j=$(queue_json)
	expect_eq "$(jq_jobs <<<"$j" | jq -r .id | sort -n | tr '\n' ' ')" \
		"$(printf '%s\n' "$A" "$B" "$C" "$D" "$E" "$S2" "$S3" | sort -n | tr '\n' ' ')" \
		"jobs listed in an archived project"
	expect_eq "$(jq_jobs <<<"$j" | jq -r 'select(.waiting | test("archived") | not) | .id')" "" \
		"jobs of an archived project whose reason does not say so"
	expect_contains "$(wnctl job show "$A")" "archived" "job show in an archived project"
	run_next none
	expect_exit 0 wnctl project unarchive p
	expect_eq "$(ready_ids)" "$B $A $C" "ready again"
}

test_queue_pop_remove_clear_mixed() {
	mixed_queue
	# pop takes the job at a place of the ready order.
	expect_exit 0 wnctl queue pop p 1
	expect_eq "$WN_OUT" "$A" "popped job"
	expect_exit 4 wnctl job show "$A"
	expect_eq "$(ready_ids)" "$B $C" "ready after pop"
	expect_exit 0 wnctl --json queue pop p
	expect_eq "$(jq -r .id <<<"$WN_OUT")" "$B" "popped job"
	expect_fail wnctl queue pop p 1
	expect_eq "$(waiting_ids)" "$D $E $S2 $S3" "waiting after pops"
	# remove by id works on a waiting job too.
	expect_exit 0 wnctl job remove "$S3"
	expect_exit 4 wnctl job show "$S3"
	expect_eq "$(sweep_count "$S" pending)" 1 "pending jobs of the sweep after a removal"
	# clear --task takes every pending job of the task, waiting or not.
	expect_exit 0 wnctl queue clear p --task u
	expect_eq "$WN_OUT" "removed 1 pending job"
	expect_exit 4 wnctl job show "$E"
	expect_eq "$(ready_ids)" "$C" "ready after clear --task"
	expect_eq "$(waiting_ids)" "$D $S2" "waiting after clear --task"
	expect_exit 0 wnctl --json queue clear p
	expect_eq "$(jq -r .removed <<<"$WN_OUT")" 3 "clear"
	expect_eq "$(ready_ids)" "" "ready after clear"
	expect_eq "$(waiting_ids)" "" "waiting after clear"
	expect_statuses "$R running" "$S1 running"
}

test_queue_show_pages_of_an_archived_project() {
	deps_start
	local a b c
	a=$(add a)
	b=$(add b)
	c=$(add c --after "$a")
	expect_exit 0 wnctl queue show p --limit 1
	expect_contains "$WN_ERR" "showing 0 to 0 of 2 pending jobs" "active project, first page"
	expect_contains "$WN_ERR" "showing 0 of 1 job that cannot run now" "active project"
	# Archived, the jobs keep their order without a position: a page of them
	# is still counted among the jobs in line, not among those that wait.
	expect_exit 0 wnctl project archive p
	expect_exit 0 wnctl queue show p --limit 1
	expect_eq "$(awk 'NR == 2 {print $2}' <<<"$WN_OUT")" "$a" "first job of the page"
	expect_contains "$WN_ERR" "showing 0 to 0 of 2 pending jobs" "archived project, first page"
	expect_contains "$WN_ERR" "showing 0 of 1 job that cannot run now" "archived project"
	expect_exit 0 wnctl queue show p --offset 1
	expect_eq "$(awk 'NR > 1 {print $2}' <<<"$WN_OUT" | tr '\n' ' ')" "$b $c " "second page"
	expect_contains "$WN_ERR" "showing 1 to 1 of 2 pending jobs" "archived project, second page"
	expect_not_contains "$WN_ERR" "cannot run now" "every waiting job shown"
}

test_queue_pop_blocks_what_waited_for_the_job() {
	deps_start
	local a ok any notok
	a=$(add a)
	ok=$(add ok --after "$a")
	any=$(add any --after "$a:afterany")
	notok=$(add notok --after "$a:afternotok")
	# Popped, the job is gone as if removed by force: what waited for it
	# afterok or afternotok is blocked and says why, afterany may run.
	expect_exit 0 wnctl queue pop p
	expect_eq "$WN_OUT" "$a" "popped job"
	expect_statuses "$ok blocked" "$notok blocked" "$any pending"
	expect_eq "$(reason_of "$ok")" "dependency job $a was removed" "afterok reason"
	expect_eq "$(reason_of "$notok")" "dependency job $a was removed" "afternotok reason"
	expect_eq "$(ready_ids)" "$any" "ready after the pop"
}

# A sweep capped at two with one job running has one free place: one of its
# waiting jobs is in line ahead of a lower-priority job, the others wait
# behind it and say why (they were counted ahead of it).
test_queue_counts_only_a_capped_sweeps_free_places() {
	deps_start
	local out S S1 attempt A
	out=$(wnctl job sweep p t --grid i=1,2,3,4,5 --max-running 2 --priority 50)
	S=$(sed -E 's/^sweep ([0-9]+):.*/\1/' <<<"$out")
	out=$(wnctl queue fetch p --worker w)
	read -r S1 attempt <<<"$out"
	expect_eq "$S1" "$S" "first job of the sweep handed out"
	A=$(add a)
	expect_eq "$(ready_ids)" "$((S + 1)) $A" "in line: the sweep's one free place, then A"
	expect_eq "$(waiting_ids)" "$((S + 2)) $((S + 3)) $((S + 4))" "behind the free place"
	local j
	j=$(queue_json)
	expect_eq "$(jq -r '"\(.total) \(.waiting_total)"' <<<"$j")" "2 3" "totals"
	expect_eq "$(jq_jobs <<<"$j" | jq -r "select(.id == $A) | .position")" 1 "A's position"
	local why="sweep $S has 1 running (max_running 2); its jobs ahead take the free places"
	expect_eq "$(jq_jobs <<<"$j" | jq -r "select(.id == $((S + 3))) | .waiting")" "$why" \
		"the reason of a job behind the free place"
	expect_exit 0 wnctl job show "$A"
	expect_contains "$WN_OUT" "waiting: waiting for a worker; 1 job ahead in the queue" "job show A"
	expect_exit 0 wnctl job show "$((S + 2))"
	expect_contains "$WN_OUT" "waiting: $why" "job show of a job behind the free place"
	expect_exit 0 wnctl queue pop p 1
	expect_eq "$WN_OUT" "$A" "the job at place 1 popped"
	# the free place taken, the sweep is at its cap: none of it is in line
	out=$(wnctl queue fetch p --worker w)
	expect_eq "${out%% *}" "$((S + 1))" "the sweep's next job handed out"
	expect_eq "$(ready_ids)" "" "nothing in line"
	expect_eq "$(jq_jobs <<<"$(queue_json)" | jq -r "select(.id == $((S + 2))) | .waiting")" \
		"sweep $S has 2 running (max_running 2)" "at the cap"
}
