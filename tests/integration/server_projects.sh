# Projects: create, show, list, update, archive, delete, names.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_project_create_show_list() {
	wn_start
	expect_exit 0 wnctl project create alpha --description "first one"
	expect_exit 0 wnctl project create beta
	local j
	j=$(wnctl --json project show alpha)
	expect_eq "$(jq -r .name <<<"$j")" alpha "name"
	expect_eq "$(jq -r .description <<<"$j")" "first one" "description"
	expect_eq "$(jq -r .status <<<"$j")" active "status"
	[ "$(jq -r '.created_ms // 0' <<<"$j")" -gt 0 ] || fail "created_ms not set: $j"

	expect_eq "$(project_names)" "alpha,beta" "project list"

	# Human output names the project too.
	expect_exit 0 wnctl project show alpha
	expect_contains "$WN_OUT" alpha
	expect_exit 0 wnctl project list
	expect_contains "$WN_OUT" beta

	# Names are unique; the first project is untouched.
	expect_exit 5 wnctl project create alpha --description "second"
	expect_contains "$WN_ERR" "wnctl: "
	expect_eq "$(wnctl --json project show alpha | jq -r .description)" "first one" "description"
	expect_exit 4 wnctl project show gamma
	expect_contains "$WN_ERR" "wnctl: "
}

test_project_update_archive() {
	wn_start
	mkproject p1
	mkproject p2
	expect_exit 0 wnctl project update p1 --description "new text"
	expect_eq "$(wnctl --json project show p1 | jq -r .description)" "new text" "description"

	expect_exit 0 wnctl project archive p1
	expect_eq "$(wnctl --json project show p1 | jq -r .status)" archived "status"
	expect_eq "$(wnctl --json project show p1 | jq -r .description)" "new text" \
		"description after archive"
	expect_eq "$(project_names --status archived)" p1 "archived list"
	expect_eq "$(project_names --status active)" p2 "active list"

	# An archived project takes no new jobs, alone or in a batch, and hands out
	# none of those it has; unarchived, it does.
	mktask p1 t
	expect_exit 6 wnctl job add p1 t
	expect_eq "$WN_ERR" "wnctl: project p1 is archived: it takes no new jobs (unarchive it first)" \
		"job add to an archived project"
	expect_exit 6 wnctl job sweep p1 t --grid a=1,2
	expect_contains "$WN_ERR" "job 1: project p1 is archived" "a sweep into an archived project"
	expect_eq "$(wnctl --json job list --project p1 | jq '.jobs | length')" 0 "jobs refused"
	local id
	wnctl project unarchive p1 >/dev/null
	id=$(wnctl job add p1 t)
	wnctl project archive p1 >/dev/null
	expect_eq "$(fetch_job p1 w1)" "" "fetch from an archived project"
	expect_eq "$(job_status "$id")" pending "job of an archived project"
	expect_exit 0 wnctl project unarchive p1
	expect_eq "$(wnctl --json project show p1 | jq -r .status)" active "status"
	expect_eq "$(fetch_job p1 w1 | jq -r .id)" "$id" "fetch after unarchive"

	expect_exit 4 wnctl project archive nosuch
	expect_exit 4 wnctl project update nosuch --description x
}

test_project_delete() {
	wn_start
	mkproject p
	mktask p t1
	mktask p t2
	local a b c
	a=$(wnctl job add p t1)
	b=$(wnctl job add p t2)
	c=$(wnctl job add p t2)
	mkproject other
	mktask other t1
	local keep
	keep=$(wnctl job add other t1)

	# A RUNNING job blocks deletion unless forced; nothing is removed.
	expect_eq "$(fetch_job p w | jq -r .id)" "$a" "fetched job"
	expect_exit 6 wnctl project delete p
	expect_contains "$WN_ERR" "wnctl: "
	expect_eq "$(job_status "$b")" pending "job after refused delete"
	expect_eq "$(task_names p)" t1,t2 "tasks after refused delete"

	local j
	j=$(wnctl --json project delete p --force)
	expect_eq "$(jq -r '.tasks_removed // 0' <<<"$j")" 2 "tasks_removed"
	expect_eq "$(jq -r '.jobs_removed // 0' <<<"$j")" 3 "jobs_removed"
	expect_exit 4 wnctl project show p
	local id
	for id in "$a" "$b" "$c"; do
		expect_exit 4 wnctl job show "$id"
	done
	expect_exit 4 wnctl task show p t1

	# Other projects are untouched; the name can be used again, empty.
	expect_eq "$(job_status "$keep")" pending "other project's job"
	expect_exit 0 wnctl project create p
	expect_eq "$(task_names p)" "" "tasks of new p"
	expect_eq "$(all_job_ids --project p)" "" "jobs of new p"

	# Without running jobs no force is needed.
	mktask p t1
	wnctl job add p t1 >/dev/null
	expect_exit 0 wnctl project delete p
	expect_exit 4 wnctl project delete p
}

# A project deleted after sweeps, task deletes and clears leaves nothing
# behind that stops the next start, after SIGTERM or kill -9.
test_project_delete_after_sweeps_survives_restart() {
	wn_start
	local how
	for how in term kill; do
		mkproject p
		mktask p t
		mktask p u
		wnctl job sweep p t --grid a=1,2 >/dev/null
		wnctl job sweep p u --grid b=1,2,3 --max-running 1 >/dev/null
		expect_exit 0 wnctl task delete p u
		expect_exit 0 wnctl queue clear p
		wnctl job sweep p t --grid c=1,2 >/dev/null
		expect_exit 0 wnctl project delete p
		expect_contains "$WN_OUT" "deleted project p"
		mkproject keep
		mktask keep t
		local id
		id=$(wnctl job add keep t)
		if [ "$how" = term ]; then wn_stop; else wn_kill9; fi
		wn_start
		expect_eq "$(job_status "$id")" pending "job of the kept project after $how"
		expect_exit 4 wnctl project show p
		expect_eq "$(wnctl --json sweep list | jq -c '[.sweeps[]?] | length')" 0 \
		    "sweeps after $how"
		expect_not_contains "$(<"$WN_TMP/wnd.log")" "left alone" "start-up log"
		expect_exit 0 wnctl project delete keep
	done
}

test_project_names() {
	wn_start
	local long128 long129
	long128=$(printf 'a%.0s' $(seq 1 128))
	long129=${long128}b
	expect_exit 0 wnctl project create "$long128"
	expect_exit 0 wnctl project create 9lives
	expect_exit 0 wnctl project create A.b_c-1
	local bad
	for bad in "$long129" .dot _under "a b" "a/b" "a:b" "naïve" 'x$y'; do
		expect_exit 7 wnctl project create "$bad"
		expect_contains "$WN_ERR" "wnctl: " "message for '$bad'"
	done
	expect_eq "$(wnctl --json project list | jq -r '(.projects // []) | length')" 3 "projects created"
}
