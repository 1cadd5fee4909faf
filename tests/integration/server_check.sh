# wnd --check and --repair: a data directory after real use checks clean and
# is left untouched; damaged stores (crafted with wnstore) give one line per
# finding and exit 1; --repair fixes them without dropping a job, a second
# check is clean and wnd serves every job again.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

wnstore() { "$WN_BIN/wnstore" "$WN_TMP/data" "$@"; }

# check_data [ARGS...]: wnd --check on the test's data directory.
check_data() { "$WN_BIN/wnd" --check --data "$WN_TMP/data" "$@"; }

# tree_state DIR: every file of DIR with its size, time and checksum.
tree_state() {
	(cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec md5sum {} + | sort)
}

# state: snapshot without the lease expiries (leases restart with wnd).
state() { snapshot | grep -v '"lease_expires_ms"'; }

# expect_clean: wnd --check finds nothing.
expect_clean() {
	expect_exit 0 check_data
	expect_contains "$WN_OUT" ": clean" "check output"
}

# expect_finding KEY TEXT: the last check output has a line "KEY: ...TEXT...".
expect_finding() {
	grep -qF -- "$1: " <<<"$WN_OUT" || fail "no finding for $1 in: $WN_OUT"
	grep -F -- "$1: " <<<"$WN_OUT" | grep -qF -- "$2" || fail "finding for $1 lacks '$2': $WN_OUT"
}

# ids_of JSON_LINES: the ids of `job batch` style output, space-separated.
job_ids_sorted() { all_job_ids | sort -n | tr '\n' ' '; }

# pb_job ID PROJECT TASK STATUS [EXTRA]: hex of a Job record; EXTRA is more
# (field, value) pairs as Python, e.g. ', (9, "w1"), (8, 1)'.
pb_job() { pbhex "[(1, $1), (2, \"$2\"), (3, \"$3\"), (4, \"crafted-$1\"), (7, $4), (12, 1700000000000)${5:-}]"; }

# req_hex METHOD BODYHEX: the value of an i/ record (time, method, NUL, reply).
req_hex() {
	python3 -c 'import struct,sys,time; print((struct.pack("<q", int(time.time()*1000)) + sys.argv[1].encode() + b"\0").hex() + sys.argv[2])' "$1" "$2"
}

# real_use: projects, tasks, sweeps, dependencies, a joined worker, fetches and
# completions, cancel, retry, remove, clear, task and project delete.
real_use() {
	mkproject p
	mktask p t
	mktask p u --max-attempts 2
	mkproject q
	mktask q t
	wnctl job sweep p t --grid a=1,2,3 --max-running 2 >/dev/null
	wnctl job sweep p u --grid b=1,2 >/dev/null
	local a b c d e
	a=$(wnctl job add q t --name a)
	b=$(wnctl job add q t --name b --after "$a")
	c=$(wnctl job add q t --name c --after "$a:afternotok")
	d=$(wnctl job add q t --name d --after "$b:afterany")
	e=$(wnctl job add q t --name e)
	# a fails: b and its dependent d are BLOCKED, c runs
	local got
	got=$(fetch_job q w1)
	expect_eq "$(jq -r .id <<<"$got")" "$a" "first fetch"
	expect_exit 0 wnctl queue complete "$a" 1 --worker w1 --fail --exit-code 3
	expect_eq "$(job_status "$b")" blocked "b after a failed"
	got=$(fetch_job q w2)
	expect_exit 0 wnctl queue complete "$(jq -r .id <<<"$got")" 1 --worker w2
	expect_exit 0 wnctl job cancel "$e"
	expect_exit 0 wnctl job retry "$e"
	expect_exit 0 wnctl job remove "$e"
	# a worker that joins, holds two jobs and leaves
	"$WN_BIN/wnfetch" "$WN_SERVER" --worker w3 --project p --count 1 --warmup 1 >/dev/null
	wnctl job add p t --name f >/dev/null
	expect_exit 0 wnctl queue clear p --task t
	expect_exit 0 wnctl task delete p u --force
	wnctl job sweep q t --grid z=1,2 >/dev/null
	mkproject gone
	mktask gone t
	wnctl job sweep gone t --grid a=1,2 >/dev/null
	wnctl job add gone t >/dev/null
	expect_exit 0 wnctl project delete gone
}

test_check_clean_after_real_use() {
	wn_start
	real_use
	local before
	before=$(state)
	wn_stop
	local state
	state=$(tree_state "$WN_TMP/data")
	expect_clean
	expect_contains "$WN_OUT" "checked $WN_TMP/data: " "summary"
	expect_eq "$(wc -l <<<"$WN_OUT")" 1 "lines of a clean check"
	expect_eq "$(tree_state "$WN_TMP/data")" "$state" "data directory after --check"
	# --repair on a clean directory writes nothing either
	expect_exit 0 check_data --repair
	expect_eq "$(tree_state "$WN_TMP/data")" "$state" "data directory after --repair"

	# the same after more use and kill -9 (the log holds what was written)
	wn_start
	expect_eq "$(state)" "$before" "state after restart"
	real_use_more() {
		mkproject r
		mktask r t
		wnctl job sweep r t --grid k=1,2,3,4 >/dev/null
		fetch_job r w9 >/dev/null
		wnctl project delete p --force >/dev/null
	}
	real_use_more
	before=$(state)
	wn_kill9
	state=$(tree_state "$WN_TMP/data")
	expect_clean
	expect_eq "$(tree_state "$WN_TMP/data")" "$state" "data directory after --check (kill -9)"
	wn_start
	expect_eq "$(state)" "$before" "state after kill -9 and check"
}

test_check_refuses_a_running_server() {
	wn_start
	mkproject p
	local files
	files=$(ls "$WN_TMP/data")
	expect_exit 2 check_data
	expect_contains "$WN_ERR" "wnd: data directory $WN_TMP/data is in use by another wnd (process $WND_PID)"
	expect_eq "$WN_OUT" "" "output of a refused check"
	expect_exit 2 check_data --repair
	expect_contains "$WN_ERR" "in use by another wnd"
	# nothing of the running server's directory changed (its LOG included)
	expect_eq "$(ls "$WN_TMP/data")" "$files" "files of the data directory"
	expect_serving
	wn_stop
	expect_clean
}

test_check_usage_errors() {
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/nosuch"
	expect_contains "$WN_ERR" "wnd: cannot check $WN_TMP/nosuch: No such file or directory"
	mkdir "$WN_TMP/empty"
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/empty"
	expect_contains "$WN_ERR" "not a data directory"
	expect_eq "$(ls -A "$WN_TMP/empty")" "" "an empty directory after --check"
	expect_exit 2 "$WN_BIN/wnd" --repair --data "$WN_TMP/empty"
	expect_contains "$WN_ERR" "--repair goes with --check"
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/empty" extra
	expect_contains "$WN_ERR" "unexpected argument"
	expect_exit 0 "$WN_BIN/wnd" --help
	expect_contains "$WN_OUT" "--check"
	expect_contains "$WN_OUT" "--repair"
	expect_contains "$WN_OUT" "SIGHUP"
}

test_check_takes_data_from_config() {
	wn_start --data "$WN_TMP/elsewhere"
	mkproject p
	wn_stop
	printf 'data: %s\n' "$WN_TMP/elsewhere" >wnd.yaml
	expect_exit 0 "$WN_BIN/wnd" --check --config wnd.yaml
	expect_contains "$WN_OUT" "checked $WN_TMP/elsewhere: "
	expect_contains "$WN_OUT" "1 project(s)"
}

# Orphans and broken references: every job stays, and what they name is
# recreated where a user sees it.
test_repair_orphans_and_references() {
	wn_start
	mkproject p
	mktask p t
	mkproject q
	mktask q t
	local sweep ids x y
	sweep=$(wnctl --json job sweep p t --grid a=1,2 | jq -r .sweep_id)
	x=$(wnctl job add q t)
	y=$(wnctl job add q t)
	expect_exit 0 wnctl job remove "$y"
	wn_stop
	# the jobs of p/t lose their task; q loses its project record
	wnstore del t/p/t
	wnstore del p/q
	# records whose project is gone, no job naming them
	wnstore put s/900 "$(pbhex '[(1, 900), (2, "gone"), (3, "old"), (6, 2)]')"
	wnstore put t/gone/t "$(pbhex '[(1, "gone"), (2, "t"), (5, 3)]')"
	# a job of a project that never was, a RUNNING job no worker holds, a
	# PENDING job waiting on a removed job, a job outside its sweep
	wnstore put j/50 "$(pb_job 50 ghost g 1)"
	wnstore put j/51 "$(pb_job 51 q t 2 ', (8, 1)')"
	wnstore put j/52 "$(pb_job 52 q t 1 ", (23, [(1, $y)])")"
	wnstore put j/53 "$(pb_job 53 p t 1 ", (24, $sweep)")"
	# ids handed out must stay above every id in use
	wnstore put-text m/next_id 3
	# a kept reply that is not one
	wnstore put i/77 "$(req_hex /whatsnext.v1.JobService/Submit 0a03ffffff)"

	expect_exit 1 check_data
	expect_finding "t/gone/t" 'project "gone" does not exist'
	expect_finding "s/900" 'project "gone" does not exist'
	expect_finding "j/$sweep" 'task "t" does not exist in project "p"'
	expect_finding "j/$x" 'project "q" does not exist'
	expect_finding "j/50" 'project "ghost" does not exist'
	expect_finding "j/50" 'task "g" does not exist in project "ghost"'
	expect_finding "j/51" "RUNNING, but no worker holds it"
	expect_finding "j/52" "dependency job $y was removed"
	expect_finding "j/53" "names sweep $sweep, whose jobs are $sweep to $((sweep + 1))"
	expect_finding "m/next_id" "3 is not above id 901 (s/900)"
	expect_finding "i/77" "reply is not a SubmitResponse"
	expect_contains "$WN_OUT" "finding(s)" "summary"

	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired s/900: deleted"
	expect_contains "$WN_OUT" "repaired t/gone/t: deleted"
	expect_contains "$WN_OUT" "repaired p/q: project recreated, archived"
	expect_contains "$WN_OUT" "repaired p/ghost: project recreated"
	expect_contains "$WN_OUT" "repaired t/p/t: task recreated"
	expect_contains "$WN_OUT" "repaired m/next_id: set to 902"
	expect_contains "$WN_OUT" "clean now"
	expect_clean

	wn_start
	expect_eq "$(job_ids_sorted)" "$sweep $((sweep + 1)) $x 50 51 52 53 " "every job after repair"
	expect_eq "$(wnctl --json project show q | jq -r .status)" archived "recreated project"
	expect_eq "$(wnctl --json project show ghost | jq -r .status)" archived "recreated project"
	expect_eq "$(task_names ghost)" g "recreated task"
	expect_eq "$(job_status 51)" pending "RUNNING job without a worker"
	expect_eq "$(job_status 52)" blocked "job waiting on a removed job"
	expect_contains "$(job_field 52 .reason)" "dependency job $y was removed"
	expect_eq "$(job_field 53 '.sweep_id // 0')" 0 "job outside its sweep"
	expect_eq "$(job_status "$sweep")" pending "sweep job"
	local next
	next=$(wnctl job add p t)
	[ "$next" -gt 900 ] || fail "new job id $next is not above 900"
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "left alone" "start-up log"
}

# Records that cannot be read: set aside under x/, never deleted; a job's
# place is taken by a FAILED job of project lost-and-found.
test_repair_unreadable_records() {
	wn_start
	mkproject p
	mktask p t
	local a b
	a=$(wnctl job add p t)
	b=$(wnctl job add p t --after "$a")
	wn_stop
	wnstore put "j/$a" ffff0102
	wnstore put p/p 0a
	wnstore put w/w1 ff
	expect_exit 1 check_data
	expect_finding "j/$a" "record does not unpack as a Job"
	expect_finding "p/p" "record does not unpack as a Project"
	expect_finding "w/w1" "record does not unpack as a Worker"
	# such a store is refused at start, with what to run
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/x.sock"
	expect_contains "$WN_ERR" "wnd --check"

	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired j/$a: unreadable record kept under x/j/$a"
	expect_contains "$WN_OUT" "repaired j/$a: replaced by a FAILED job of project lost-and-found"
	expect_contains "$WN_OUT" "repaired w/w1: deleted"
	expect_eq "$(wnstore get "x/j/$a")" ffff0102 "bytes set aside"
	expect_eq "$(wnstore get x/p/p)" 0a "bytes set aside"
	expect_exit 0 check_data
	expect_contains "$WN_OUT" "3 record(s) set aside by --repair"

	wn_start
	expect_eq "$(job_ids_sorted)" "$a $b " "every job after repair"
	expect_eq "$(job_status "$a")" failed "the unreadable job"
	expect_eq "$(job_field "$a" .project)" lost-and-found "its project"
	expect_contains "$(job_field "$a" .reason)" "x/j/$a"
	# its dependent waited on it: it can never run now
	expect_eq "$(job_status "$b")" blocked "its dependent"
	expect_eq "$(wnctl --json project show p | jq -r .status)" archived "rewritten project"
	expect_exit 0 wnctl job remove "$a"
}

# Dependencies that cannot hold: the PENDING jobs become BLOCKED with the
# reason, and so do their PENDING dependents.
test_repair_dependency_faults() {
	wn_start
	mkproject p
	mktask p t
	mkproject q
	mktask q t
	local a b c d other
	a=$(wnctl job add p t)
	b=$(wnctl job add p t --after "$a")
	c=$(wnctl job add p t --after "$b")
	other=$(wnctl job add q t)
	local got
	got=$(fetch_job p w1)
	expect_exit 0 wnctl queue complete "$(jq -r .id <<<"$got")" 1 --worker w1 --fail
	expect_eq "$(job_status "$b")" blocked "b after a failed"
	d=$(wnctl job add p t)
	wn_stop
	# b back to PENDING (as a lost write could leave it), a self-dependency,
	# a cycle of two PENDING jobs, a dependency across projects, a repeated one
	wnstore put "j/$b" "$(pb_job "$b" p t 1 ", (23, [(1, $a)])")"
	wnstore put "j/$c" "$(pb_job "$c" p t 1 ", (23, [(1, $b)])")"
	wnstore put j/60 "$(pb_job 60 p t 1 ', (23, [(1, 60)])')"
	wnstore put j/61 "$(pb_job 61 p t 1 ', (23, [(1, 62)])')"
	wnstore put j/62 "$(pb_job 62 p t 1 ', (23, [(1, 61)])')"
	wnstore put j/63 "$(pb_job 63 p t 1 ", (23, [(1, $other)])")"
	wnstore put j/64 "$(pb_job 64 p t 1 ", (23, [(1, $d)]), (23, [(1, $d)])")"
	wnstore put-text m/next_id 1000
	expect_exit 1 check_data
	expect_finding "j/$b" "dependency job $a is FAILED (afterok): it can never run"
	expect_finding "j/60" "depends on itself"
	expect_finding "j/61" "waits on a dependency cycle"
	expect_finding "j/62" "waits on a dependency cycle"
	expect_finding "j/63" "depends on job $other of project \"q\""
	expect_finding "j/64" "names dependency job $d twice"
	# c waits on b, which is PENDING in the store: no finding of its own
	grep -q "^j/$c: " <<<"$WN_OUT" && fail "finding for j/$c: $WN_OUT"

	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired j/$c: BLOCKED: dependency job $b is BLOCKED (afterok)"
	expect_clean
	wn_start
	local j
	for j in "$b" "$c" 60 61 62 63; do
		expect_eq "$(job_status "$j")" blocked "job $j"
	done
	expect_contains "$(job_field "$b" .reason)" "dependency job $a is FAILED"
	# the one with a dependency named twice keeps it once, and waits on it
	expect_eq "$(job_status 64)" pending "job 64"
	expect_eq "$(job_field 64 '[.deps[].job_id | tostring] | join(",")')" "$d" "deps of job 64"
	# a blocked job whose bad dependency was dropped runs once retried
	expect_exit 0 wnctl job retry 63
	expect_eq "$(job_status 63)" pending "job 63 retried"
}

# Counts and lists kept in records agree with the jobs; kept replies agree
# with what exists.
test_repair_counts_and_replies() {
	wn_start
	mkproject p
	mktask p t
	local sweep first id
	sweep=$(wnctl --json job sweep p t --grid a=1,2,3 | jq -r .sweep_id)
	got=$(fetch_job p w1)
	first=$(jq -r .id <<<"$got")
	id=$(wnctl job add p t)
	wn_stop
	local req=4242
	wnstore put "j/$id" "$(pb_job "$id" p t 1 ", (25, $req)")"
	# a sweep record with counts its jobs do not have
	wnstore put "s/$sweep" "$(pbhex "[(1, $sweep), (2, \"p\"), (3, \"sw\"), (6, 3), (7, 9), (8, 9)]")"
	# a worker record listing jobs it does not hold
	wnstore put w/w1 "$(pbhex "[(1, \"w1\"), (6, 1), (9, 999)]")"
	# the kept reply of a removed Submit, while the job is there
	wnstore put "i/$req" "$(req_hex /whatsnext.v1.JobService/Submit "$(pbhex "[(1, [(1, $id), (7, 1)])]")")"
	# a kept reply to another method
	wnstore put i/43 "$(req_hex /whatsnext.v1.JobService/Remove 0801)"
	expect_exit 1 check_data
	expect_finding "s/$sweep" "record holds counts (pending 9, running 9"
	expect_finding "s/$sweep" "its jobs' records say pending 2, running 1"
	expect_finding "w/w1" "record lists 1 held job(s), while 1 RUNNING job(s) name it"
	expect_finding "i/$req" "keeps the reply to the Submit of job $id as removed"
	expect_finding "i/43" "which is not Submit or SubmitBatch"
	expect_exit 0 check_data --repair
	expect_clean
	wn_start
	expect_eq "$(wnctl --json sweep show "$sweep" | jq -r '.pending, .running' | tr '\n' ' ')" \
		"2 1 " "sweep counts"
	expect_eq "$(job_status "$first")" running "held job"
	expect_eq "$(job_ids_sorted)" "$sweep $((sweep + 1)) $((sweep + 2)) $id " "every job"
}

test_check_layout_version() {
	wn_start
	mkproject p
	wn_stop
	wnstore del m/version
	expect_exit 1 check_data
	expect_finding m/version missing
	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired m/version: set to 1"
	expect_clean
	wnstore put-text m/version 99
	expect_exit 1 check_data
	expect_finding m/version "data layout version 99 is newer than this wnd knows (1)"
	expect_exit 2 check_data --repair
	expect_contains "$WN_ERR" "its data layout is not one this wnd knows"
	expect_eq "$(wnstore get-text m/version)" 99 "version after a refused repair"
}

# A key wnd does not know is reported and left alone: it may be a newer
# wnd's. The rest is repaired, and wnd still starts.
test_check_unknown_key_is_left() {
	wn_start
	mkproject p
	mktask p t
	local id
	id=$(wnctl job add p t)
	wn_stop
	wnstore put-text 'zz/one' hello
	wnstore del t/p/t
	expect_exit 1 check_data
	expect_finding zz/one "unknown key"
	expect_exit 1 check_data --repair
	expect_contains "$WN_OUT" "repaired t/p/t: task recreated"
	expect_contains "$WN_OUT" "left zz/one: unknown key"
	expect_contains "$WN_OUT" "1 finding(s) left that --repair cannot fix"
	expect_eq "$(wnstore get-text zz/one)" hello "unknown key after repair"
	wn_start
	expect_eq "$(job_status "$id")" pending "job after repair"
}

# A table file whose bytes changed: the check says it cannot read every key
# (exit 2), rather than check what it could read.
test_check_reports_a_damaged_table_file() {
	mkdir "$WN_TMP/backups"
	wn_start --backup-dir "$WN_TMP/backups"
	mkproject p
	mktask p t
	gen_batch jobs.json p t 200
	wnctl job batch jobs.json >/dev/null
	# the backup, then the clean stop, which flushes the memtable into table files
	expect_exit 0 wnctl admin backup "$WN_TMP/backups/b1"
	wn_stop
	expect_clean
	local sst
	sst=$(ls "$WN_TMP"/data/*.sst | head -n 1)
	[ -n "$sst" ] || fail "no table file in the data directory"
	# a new file in its place: the backup keeps its link to the old one
	python3 -c 'import os, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(16, 48):
    b[i] ^= 0xff
open(p + ".new", "wb").write(b)
os.replace(p + ".new", p)' "$sst"
	expect_exit 2 check_data
	expect_contains "$WN_ERR" "wnd: cannot read every key of $WN_TMP/data: Corruption"
	expect_exit 2 check_data --repair
	expect_contains "$WN_ERR" "Corruption"
	# nor does wnd start and serve part of the jobs
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/other.sock"
	expect_contains "$WN_ERR" "cannot read every record of $WN_TMP/data: Corruption"
	# the backup is whole
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/backups/b1"
	expect_contains "$WN_OUT" "200 job(s)"
}

# A log damaged in its middle (not a torn tail): the check and the start
# refuse it, as they do a damaged table file, rather than replay up to the
# damage and drop every acknowledged job after it, the later logs' too.
test_check_reports_a_log_damaged_in_its_middle() {
	wn_start
	mkproject p
	mktask p t
	gen_batch jobs.json p t 200
	wnctl job batch jobs.json >/dev/null
	wn_kill9
	wn_start
	wnctl job batch jobs.json >/dev/null
	wn_kill9
	expect_clean
	expect_contains "$WN_OUT" "400 job(s)"
	local logs
	logs=$(ls "$WN_TMP"/data/*.log | sort)
	[ "$(wc -l <<<"$logs")" -ge 2 ] || fail "one log only: $logs"
	python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 2, len(b) // 2 + 4):
    b[i] ^= 0xff
open(p, "wb").write(b)' "$(head -n 1 <<<"$logs")"
	expect_exit 2 check_data
	expect_contains "$WN_ERR" "Corruption"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/other.sock"
	expect_contains "$WN_ERR" "Corruption"
}

# A data directory whose CURRENT file is lost (a careless copy, a damaged
# file system) still holds the database's table files and manifest: the check
# and the start refuse it, rather than take it for no database, start empty
# and delete those files. Written again, CURRENT brings every job back.
test_check_and_start_refuse_a_lost_current_file() {
	wn_start
	mkproject p
	mktask p t
	gen_batch jobs.json p t 50
	wnctl job batch jobs.json >/dev/null
	wn_stop
	local manifest
	manifest=$(cd "$WN_TMP/data" && ls MANIFEST-*)
	rm "$WN_TMP/data/CURRENT" "$WN_TMP"/data/*.log
	ls "$WN_TMP"/data/*.sst >/dev/null || fail "no table file after a clean stop"
	expect_exit 2 check_data
	expect_contains "$WN_ERR" "its CURRENT file is missing, while"
	expect_exit 2 check_data --repair
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/other.sock"
	expect_contains "$WN_ERR" "cannot open store $WN_TMP/data: Corruption: its CURRENT file is missing"
	expect_contains "$WN_ERR" "restore a backup"
	echo "$manifest" >"$WN_TMP/data/CURRENT"
	expect_clean
	expect_contains "$WN_OUT" "50 job(s)"
	# an empty directory is still a new data directory
	mkdir "$WN_TMP/empty"
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/empty"
	expect_contains "$WN_ERR" "not a data directory (no database in it)"
}

# A job at id 2^64 - 1 leaves no id to hand out: the check says so and
# --repair does not wrap m/next_id round to 0; wnd starts, refuses new jobs
# rather than give out the ids of jobs it holds, and keeps them all.
test_check_last_job_id() {
	wn_start
	mkproject p
	mktask p t
	wnctl job sweep p t --grid a=1,2 >/dev/null
	wn_stop
	wnstore put j/18446744073709551615 "$(pb_job 18446744073709551615 p t 1)"
	expect_exit 1 check_data --repair
	expect_contains "$WN_OUT" "left m/next_id: j/18446744073709551615 holds id 18446744073709551615, the last"
	expect_contains "$WN_OUT" "0 change(s) written"
	wn_start
	expect_fail wnctl job add p t --name late
	expect_contains "$WN_ERR" "no job ids are left"
	expect_fail wnctl job sweep p t --grid b=1,2
	expect_eq "$(job_field 1 .name)" "a=1" "job 1 after refused submits"
	expect_eq "$(job_field 2 .name)" "a=2" "job 2 after refused submits"
	expect_eq "$(all_job_ids | wc -l | tr -d ' ')" 3 "jobs after refused submits"
}

# A job record at key j/0, or one whose id is not its key's: wnd leaves both
# alone with a warning rather than hand out job 0 or serve a second job 2
# whose changes would overwrite the first; --repair sets them right.
test_check_job_id_zero_and_foreign_id() {
	wn_start
	mkproject p
	mktask p t
	wnctl job sweep p t --grid a=1,2 >/dev/null
	wn_stop
	wnstore put j/0 "$(pb_job 0 p t 1 ', (6, 100)')"
	wnstore put j/20 "$(pb_job 2 p t 1 ', (6, 100)')"
	expect_exit 1 check_data
	expect_finding j/0 "id 0 is not one wnd hands out"
	expect_finding j/20 "record holds another id than its key"
	wn_start
	expect_contains "$(<"$WN_TMP/wnd.log")" "job record 0 holds id 0; left alone"
	expect_contains "$(<"$WN_TMP/wnd.log")" "job record 20 holds id 2; left alone"
	expect_eq "$(wnctl queue fetch p --worker w1)" "1 1" "fetch skips the records left alone"
	wn_stop
	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired j/0: deleted (not a job id)"
	expect_contains "$WN_OUT" "repaired j/20: id set to its key's"
	expect_eq "$(wnstore get-text x/j/0 | grep -c crafted-0)" 1 "bytes of j/0 kept"
	expect_clean
	wn_start
	expect_eq "$(job_field 20 .priority)" 100 "job 20 after repair"
	expect_eq "$(job_field 2 '.priority // 0')" 0 "job 2 after repair"
}

# A project or task key that names no valid project (p/, t/p): wnd refuses
# to start on it and says to run the check; --repair sets it aside, and wnd
# then starts.
test_repair_invalid_project_and_task_keys() {
	wn_start
	mkproject p
	mktask p t
	local id
	id=$(wnctl job add p t)
	wn_stop
	wnstore put-text 'p/' x
	wnstore put-text 't/p' x
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/other.sock"
	expect_contains "$WN_ERR" "run 'wnd --check --data"
	expect_exit 1 check_data
	expect_finding 'p/' "key does not name a valid project"
	expect_finding 't/p' "key does not name a valid project and task"
	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired p/: deleted"
	expect_eq "$(wnstore get-text 'x/t/p')" x "bytes of t/p kept"
	expect_clean
	wn_start
	expect_eq "$(job_status "$id")" pending "job after repair"
}

# A worker record whose task list could not have come from a Join: the
# repair drops the list (the worker names its tasks when it joins again).
test_repair_worker_tasks() {
	wn_start
	wn_stop
	wnstore put w/w1 "$(pbhex '[(1, "w1"), (6, 2), (14, "train"), (14, "bad task")]')"
	wnstore put w/w2 "$(pbhex '[(1, "w2"), (6, 2), (14, "train")]')"
	expect_exit 1 check_data
	expect_finding w/w1 "its task list has an invalid name or more than 1024"
	expect_not_contains "$WN_OUT" "w/w2" "a worker record with valid tasks"
	expect_exit 0 check_data --repair
	expect_contains "$WN_OUT" "repaired w/w1: record rewritten"
	expect_clean
	wn_start
	expect_eq "$(wnctl --json worker show w1 | jq -c '.tasks // []')" "[]" "w1's tasks"
	expect_eq "$(wnctl --json worker show w2 | jq -c '.tasks')" '["train"]' "w2's tasks"
}
