# Store faults: a failed write or sync (injected through WN_STORE_FAULTS, or
# real: a full disk, no file descriptors left) answers UNAVAILABLE, acknowledges
# nothing that is not on disk, and wnd recovers by itself when the fault
# clears, its memory equal to its disk; a start on a nearly full disk works or
# says why not; a second wnd leaves a data directory in use untouched.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# add_until_refused PROJECT TASK MAX [PARAM_FILE]: submit jobs f1, f2, ... one
# by one (with parameter v read from PARAM_FILE, if given) until one is
# refused; appends acknowledged ids to `acked`, leaves the refusal in
# $REFUSAL and the refused job's name in $REFUSED. Fails if all MAX were taken
# (with ADD_ALL_OK=1: returns 1, $REFUSAL empty).
add_until_refused() {
	local i id param=()
	[ -n "${4:-}" ] && param=(--param "v=$(<"$4")")
	for i in $(seq 1 "$3"); do
		if id=$(wnctl job add "$1" "$2" --name "f$i" "${param[@]}" 2>"$WN_TMP/.err"); then
			echo "$id" >>acked
		else
			REFUSAL=$(<"$WN_TMP/.err")
			REFUSED=f$i
			return 0
		fi
	done
	REFUSAL=
	[ "${ADD_ALL_OK:-0}" = 1 ] && return 1
	fail "all $3 submits were taken; none refused"
}

# add_until_taken PROJECT TASK NAME SECS: submit NAME until wnd takes it
# (refusals meanwhile must be UNAVAILABLE's "retry later"); appends its id to
# `acked`.
add_until_taken() {
	local deadline=$(($(date +%s) + $4)) id
	while ! id=$(wnctl job add "$1" "$2" --name "$3" 2>"$WN_TMP/.err"); do
		expect_contains "$(<"$WN_TMP/.err")" "retry later" "refusal while recovering"
		[ "$(date +%s)" -lt "$deadline" ] ||
			fail "wnd took no change within $4 s: $(<"$WN_TMP/.err")"
		sleep 0.1
	done
	echo "$id" >>acked
}

# expect_acked_present IDS: every id in `acked` is among IDS.
expect_acked_present() {
	local missing
	missing=$(missing_from <(sort -n acked) <(echo "$1") | head -n 5 | tr '\n' ' ')
	expect_eq "$missing" "" "acknowledged jobs missing (of $(wc -l <acked))"
}

# job_names: "id name status" of every job of project p, in id order.
job_names() {
	local out
	out=$(wnctl job list --all --project p) || fail "job list failed"
	awk 'NR > 1 { print $1, $4, $6 }' <<<"$out"
}

# fill_disk KIB: a ballast file that leaves about KIB KiB of the disk free.
fill_disk() {
	local avail
	avail=$(df -k --output=avail "$WN_TMP/disk" | tail -n 1 | tr -d ' ')
	[ "$avail" -gt "$1" ] || return 0
	dd if=/dev/zero of="$WN_TMP/disk/ballast$RANDOM" bs=1k count=$((avail - $1)) status=none
}

test_bad_fault_settings_refuse_to_start() {
	local v
	for v in "" bogus "write:after=x" "write:count=0" "sync:error=ENOENT" "write:count= 1" \
		"sync:error=EIO:error=ENOSPC" "write:after=1:after=2" "write,write"; do
		WN_STORE_FAULTS=$v expect_exit 2 "$WN_BIN/wnd" --data "$WN_TMP/data" \
			--listen "ipc://$WN_TMP/x.sock"
		expect_contains "$WN_ERR" "wnd: WN_STORE_FAULTS: " "message for '$v'"
	done
	expect_contains "$WN_ERR" "operation write is named twice"
	WN_ROCKSDB_LOG=$WN_TMP/nowhere expect_exit 2 "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/x.sock"
	expect_eq "$WN_ERR" "wnd: WN_ROCKSDB_LOG: \"$WN_TMP/nowhere\" is not a directory"
	[ ! -e "$WN_TMP/data" ] || fail "a refused start created the data directory"
	expect_contains "$("$WN_BIN/wnd" --help)" "WN_STORE_FAULTS=SPEC"
}

test_failed_writes_are_refused_and_recover_without_restart() {
	# the 31st write fails, and so do the writes of two recovery attempts
	WN_STORE_FAULTS=write:after=30:count=3 wn_start
	mkproject p
	mktask p t
	add_until_refused p t 100
	expect_contains "$REFUSAL" "wnctl: cannot write to the store: IO error: No space left on device (injected fault); "
	[ "$(wc -l <acked)" -ge 1 ] || fail "no submit was taken before the fault"
	# service comes back by itself
	add_until_taken p t after 15
	expect_serving
	local live
	live=$(job_names)
	expect_acked_present "$(cut -d' ' -f1 <<<"$live")"
	# memory and disk agree: a restart shows the same jobs
	wn_stop
	wn_start
	expect_eq "$(job_names)" "$live" "jobs after a restart"
	expect_contains "$(<"$WN_TMP/wnd.log")" "store recovered from"
}

test_a_failed_sync_is_never_acknowledged() {
	WN_STORE_FAULTS=sync:after=20:count=always:error=EIO wn_start
	mkproject p
	mktask p t
	add_until_refused p t 100
	# the submit whose sync failed was held back and answered UNAVAILABLE
	expect_contains "$REFUSAL" "wnctl: cannot write to the store: IO error: Input/output error (injected fault); the change is not acknowledged, retry later"
	# later changes are refused before they are made
	expect_fail wnctl job add p t --name later
	expect_contains "$WN_ERR" "(injected fault); retry later"
	expect_not_contains "$WN_ERR" "not acknowledged"
	# a crash loses nothing acknowledged, and a refused change never happened
	# ($REFUSED, not acknowledged either, may or may not be there)
	wn_kill9
	wn_start
	local live
	live=$(job_names)
	expect_acked_present "$(cut -d' ' -f1 <<<"$live")"
	[ "$(wc -l <<<"$live")" -le "$(($(wc -l <acked) + 1))" ] || fail "jobs nobody submitted: $live"
	expect_not_contains "$live" " later " "jobs after the crash"
	wnctl job add p t --name fine >/dev/null
}

# A heartbeat writes (a job's live output, its results, when its worker was
# last seen): after a failed sync it is refused before it is made, like any
# change, and reads go on. It used to be taken, stored in memory only and
# answered "not acknowledged", which then refused every read until recovery.
test_a_heartbeat_after_a_failed_sync_is_refused_and_reads_go_on() {
	WN_STORE_FAULTS=sync:after=10:count=always:error=EIO wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name run >/dev/null
	local id
	id=$(fetch_job p w1 | jq -r .id)
	add_until_refused p t 20
	expect_contains "$REFUSAL" "the change is not acknowledged"
	raw_call "$M_QUEUE/Heartbeat" \
		"$(pbhex '[(1, "w1"), (2, [(1, int(A[0])), (2, 1)]), (3, [(1, int(A[0])), (2, 1), (4, "out\n")])]' "$id")"
	expect_raw UNAVAILABLE "heartbeat with output while the store cannot sync"
	expect_contains "$(raw_message)" "(injected fault); retry later"
	expect_not_contains "$(raw_message)" "not acknowledged"
	# reads are still served: the heartbeat changed nothing
	wnctl job show "$id" >/dev/null || fail "job show refused after the heartbeat"
	expect_eq "$(job_status "$id")" running "status of the leased job"
}

# full_disk_round DURABILITY: fill a 16 MiB disk under wnd with jobs until it
# refuses one, check what users see, free the disk, check that wnd serves
# again and that every acknowledged job is there, before and after a restart.
full_disk_round() {
	mount_disk 16m
	wn_start --data "$WN_TMP/disk/data" --durability "$1"
	mkproject p
	mktask p t
	printf '%060000d' 7 >param
	fill_disk 400
	add_until_refused p t 200 param
	expect_contains "$REFUSAL" "wnctl: cannot write to the store: IO error: No space left on device"
	expect_contains "$REFUSAL" "retry later"
	# no abort, reads go on, changes are refused while the disk is full
	expect_serving
	wnctl job show "$(tail -n 1 acked)" >/dev/null
	expect_fail wnctl job add p t --name still-full
	expect_contains "$WN_ERR" "No space left on device"
	rm -f "$WN_TMP/disk"/ballast*
	add_until_taken p t after 15
	local live
	live=$(job_names)
	expect_acked_present "$(cut -d' ' -f1 <<<"$live")"
	wn_stop
	wn_start --data "$WN_TMP/disk/data" --durability "$1"
	expect_eq "$(job_names)" "$live" "jobs after a restart"
}

test_a_full_disk_answers_unavailable_and_recovers_when_space_returns() {
	full_disk_round sync
}

test_a_full_disk_in_relaxed_mode_answers_unavailable_and_recovers() {
	full_disk_round relaxed
}

test_a_start_on_a_nearly_full_disk() {
	mount_disk 16m
	wn_start --data "$WN_TMP/disk/data"
	mkproject p
	mktask p t
	local i
	for i in 1 2 3; do wnctl job add p t --name "j$i" >>acked; done
	wn_kill9
	local live
	fill_disk 0
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/disk/data" --listen "ipc://$WN_TMP/x.sock"
	expect_contains "$WN_ERR" "wnd: cannot open store $WN_TMP/disk/data: only "
	expect_contains "$WN_ERR" "KiB free on the disk of $WN_TMP/disk/data, 1024 KiB needed to start; free some space"
	# 1.5 MiB free is enough (a start uses about 80 KiB of it)
	rm -f "$WN_TMP/disk"/ballast*
	fill_disk 1536
	wn_start --data "$WN_TMP/disk/data"
	live=$(job_names)
	expect_eq "$(cut -d' ' -f1 <<<"$live" | tr '\n' ' ')" "$(tr '\n' ' ' <acked)" "jobs"
	wnctl job add p t --name j4 >/dev/null
	wn_stop
}

# Logs past one memtable (the memtable's write to a table file failed on a
# full disk) are written out as table files while a start replays them: with
# less room than that, the start says how much it needs instead of failing on
# RocksDB's own error, and with the room it starts with every job.
# test-tier: long
test_a_start_with_more_than_a_memtable_of_logs_says_the_room_it_needs() {
	mount_disk 80m
	wn_start --data "$WN_TMP/disk/data"
	mkproject p
	mktask p t
	printf '%0100000d' 7 >param
	local i
	for i in $(seq 1 290); do wnctl job add p t --param "v=$(<param)" >>acked; done
	fill_disk 6000
	add_until_refused p t 300 param
	wn_kill9
	rm -f "$WN_TMP/disk"/ballast*
	fill_disk 3500
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/disk/data" --listen "ipc://$WN_TMP/x.sock"
	expect_contains "$WN_ERR" "KiB free on the disk of $WN_TMP/disk/data, "
	expect_contains "$WN_ERR" "KiB needed to start; free some space"
	expect_not_contains "$WN_ERR" "While appending"
	rm -f "$WN_TMP/disk"/ballast*
	wn_start --data "$WN_TMP/disk/data"
	expect_acked_present "$(job_names | cut -d' ' -f1)"
}

# test-tier: long
test_descriptor_exhaustion_recovers_when_descriptors_return() {
	wn_start
	mkproject p
	mktask p t
	# 36 MiB of jobs: RocksDB's memtable is full, and the next write opens files
	python3 -c '
import json
v = "x" * (1 << 20)
for k in range(9):
    with open("b%d.json" % k, "w") as f:
        for i in range(12):
            f.write(json.dumps({"project": "p", "task": "t", "name": "big%d-%d" % (k, i), "params": {"v": v}}) + "\n")
'
	local k
	for k in 0 1 2; do wnctl job batch "b$k.json" >>acked; done
	sleep 1 # the connections of the batches close
	local n hard
	n=$(ls "/proc/$WND_PID/fd" | wc -l)
	hard=$(prlimit --pid "$WND_PID" --nofile --output HARD --noheadings | tr -d ' ')
	# one descriptor left: enough for a client's connection, not for RocksDB;
	# should RocksDB take it first in the background (a flush opens a file),
	# the connection itself is closed unserved: count again and retry
	# should a write of wnd's own have made RocksDB start a new memtable
	# before the limit (the submits then need no file), fill one again
	local try
	for try in 1 2 3; do
		n=$(ls "/proc/$WND_PID/fd" | wc -l)
		prlimit --pid "$WND_PID" --nofile="$((n + 1)):$hard"
		ADD_ALL_OK=1 add_until_refused p t 5 || true
		[ -z "$REFUSAL" ] || [[ $REFUSAL == *"cannot connect"* ]] || break
		if [ -z "$REFUSAL" ] && [ "$try" -lt 3 ]; then
			prlimit --pid "$WND_PID" --nofile="1024:$hard"
			for k in 0 1 2; do wnctl job batch "b$((3 * try + k)).json" >>acked; done
			sleep 1
		fi
	done
	expect_contains "$REFUSAL" "Too many open files"
	expect_contains "$REFUSAL" "retry later"
	prlimit --pid "$WND_PID" --nofile="1024:$hard"
	add_until_taken p t after 15
	expect_serving
	local live
	live=$(job_names)
	expect_acked_present "$(cut -d' ' -f1 <<<"$live")"
	wn_stop
	wn_start
	expect_eq "$(job_names)" "$live" "jobs after a restart"
}

test_a_second_wnd_leaves_a_directory_in_use_untouched() {
	wn_start
	mkproject p
	local before after
	before=$(ls -l --time-style=full-iso "$WN_TMP/data")
	expect_contains "$before" " LOG"$'\n' "files of the data directory"
	mkdir rlog
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/second.sock"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/data is in use by another wnd (pid $WND_PID)"
	WN_ROCKSDB_LOG=$WN_TMP/rlog expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/second.sock"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/data is in use by another wnd (pid $WND_PID)"
	after=$(ls -l --time-style=full-iso "$WN_TMP/data")
	expect_eq "$after" "$before" "the data directory after the second starts"
	expect_eq "$(ls rlog)" "" "files in the LOG directory of the refused start"
	expect_serving
	wn_stop
	# WN_ROCKSDB_LOG takes RocksDB's LOG out of the data directory
	WN_ROCKSDB_LOG=$WN_TMP/rlog wn_start --data "$WN_TMP/data2"
	mkproject q
	ls rlog | grep -q '_LOG$' || fail "no LOG in the WN_ROCKSDB_LOG directory: $(ls rlog)"
	[ ! -e "$WN_TMP/data2/LOG" ] || fail "a LOG in the data directory despite WN_ROCKSDB_LOG"
	wn_stop
}

# A retention pass that deletes a job kept for another (a cancelled job's
# completed dependency) walks the keys again; when its write fails, the
# database still holds what it deleted in memory. It used to read those jobs
# back and delete them again, walking for ever until a request recovered the
# store (on a full disk, for as long as it stayed full): the request that ran
# the pass did not come back, wnd's memory grew and SIGTERM did not stop it.
# The pass now ends with the store failed, and the one after its recovery
# goes on.
test_a_failed_write_during_a_retention_pass_ends_the_pass() {
	echo 0 >clock
	# the 9th write, the retention pass's, fails: the 8 before it are the
	# store's own and the 7 calls below
	WN_STORE_FAULTS=write:after=8:count=1 wn_start --retention-ms 60000 --test-clock "$WN_TMP/clock"
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	wnctl queue fetch p --worker w1 >/dev/null
	wnctl queue complete 1 1 --worker w1 >/dev/null
	wnctl job cancel 2 >/dev/null
	echo 120000 >clock.new && mv clock.new clock
	# the pass runs before this request, which is answered
	wnctl --timeout 20000 job list --all >/dev/null 2>&1 || true
	add_until_taken p t after 15
	expect_contains "$(cat "$WN_TMP/wnd.log")" "store recovered from"
	# the next pass deletes the job that was kept for the cancelled one
	echo 240000 >clock.new && mv clock.new clock
	expect_eq "$(job_names)" "3 after pending" "jobs after the passes"
	# each job was deleted once: the cancelled one by the pass whose write
	# failed, which ended there, the other by the next
	expect_eq "$(awk '/ deleted [0-9]+ finished job\(s\) past the retention time$/ { print $(NF - 6) }' \
		"$WN_TMP/wnd.log" | tr '\n' ' ')" "1 1 " "jobs deleted by each pass, as wnd logs them"
	local stats
	stats=$(wnctl --json queue stats p)
	expect_eq "$(jget "$stats" "[j['projects'][0][k] for k in ('pending', 'completed', 'cancelled')]")" \
		"[1, 0, 0]" "the counts of project p"
	wn_stop
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >check.txt 2>&1 || fail "wnd --check: $(cat check.txt)"
	wn_start
	expect_eq "$(job_names)" "3 after pending" "jobs after a restart"
}

# A record wnd cannot read (a read of the store that fails: a bad sector, no
# descriptor left to open a table file) is not taken as absent: a job that
# cannot be read is not "not found", a dependency on it is not "unknown", and
# a submit sent again whose first answer cannot be read is not run a second
# time; each answers UNAVAILABLE and changes nothing. A start that cannot
# read the bound of the ids handed out stops, rather than hand them out again.
test_a_record_that_cannot_be_read_is_unavailable_not_absent() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job cancel 1 >/dev/null
	local batch first
	batch=$(pbhex '[(1, [(1, "p"), (2, "t"), (3, "b1")])]')
	raw_call $M_JOB/SubmitBatch "$batch" --id 4242
	expect_raw OK "first batch"
	first=$(raw_bodies)
	wn_stop
	# the first read of a start is the layout version's, the second the bound's
	local rc=0
	WN_STORE_FAULTS=read:after=1:count=always timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/data" \
		--listen "ipc://$WN_TMP/other.sock" >start.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd started without its id bound (exit $rc)"
	expect_contains "$(cat start.log)" "cannot read the bound of the job ids handed out"
	WN_STORE_FAULTS=read:after=2:count=always wn_start
	rc=0
	wnctl job show 1 >show.txt 2>&1 || rc=$?
	expect_eq "$rc" 3 "exit status of job show of a job that cannot be read"
	expect_contains "$(cat show.txt)" "cannot read job 1 (wnd's log says why)"
	rc=0
	wnctl job add p t --name c --after 1 >add.txt 2>&1 || rc=$?
	expect_eq "$rc" 3 "exit status of a job add depending on a job that cannot be read"
	expect_contains "$(cat add.txt)" "retry later"
	raw_call $M_JOB/SubmitBatch "$batch" --id 4242
	expect_raw UNAVAILABLE "batch sent again while its first answer cannot be read"
	wn_stop
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >check.txt 2>&1 || fail "wnd --check: $(cat check.txt)"
	wn_start
	expect_eq "$(job_names | tr '\n' ' ')" "1 a cancelled 2 b1 pending " "jobs after the reads came back"
	raw_call $M_JOB/SubmitBatch "$batch" --id 4242
	expect_raw OK "batch sent again once its first answer can be read"
	expect_eq "$(raw_bodies)" "$first" "answer to the batch sent again"
	expect_eq "$(job_names | tr '\n' ' ')" "1 a cancelled 2 b1 pending " "jobs after the batch was sent again"
}

# Retention keeps a finished job while a job that may depend on it cannot be
# read: a blocked dependent, waiting for it to be retried, taken for absent
# lost it for good.
test_retention_keeps_a_job_whose_dependent_cannot_be_read() {
	echo 0 >clock
	wn_start --retention-ms 60000 --test-clock "$WN_TMP/clock"
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wnctl job add p t --name b --after 1 >/dev/null
	wnctl job cancel 1 >/dev/null
	expect_eq "$(job_names | tr '\n' ' ')" "1 a cancelled 2 b blocked " "jobs before the pass"
	wn_stop
	WN_STORE_FAULTS=read:after=2:count=always wn_start --retention-ms 60000 --test-clock "$WN_TMP/clock"
	echo 120000 >clock.new && mv clock.new clock
	# the pass runs before this request
	wnctl --timeout 20000 project list >/dev/null 2>&1 || true
	expect_contains "$(cat "$WN_TMP/wnd.log")" "store read failed"
	wn_stop
	wn_start --retention-ms 60000 --test-clock "$WN_TMP/clock"
	expect_eq "$(job_names | tr '\n' ' ')" "1 a cancelled 2 b blocked " "jobs after the pass"
	wnctl job retry 1 >/dev/null
	expect_eq "$(job_names | tr '\n' ' ')" "1 a pending 2 b pending " "jobs after job a was retried"
}

# A token limited to some projects is not let through when the job it names
# cannot be read to find its project: a read that works again in the method
# itself changed a job of another project.
test_a_job_that_cannot_be_read_does_not_pass_a_tokens_projects() {
	printf 'admin-secret-for-the-tests-0123456789\n' >admin.token
	chmod 600 admin.token
	export WN_TOKEN=admin-secret-for-the-tests-0123456789
	wn_start --admin-token-file admin.token
	local alice
	alice=$(wnctl token create alice --role user --project pa 2>/dev/null)
	mkproject pa
	mkproject pb
	mktask pb t
	wnctl job add pb t --name a >/dev/null
	wnctl job cancel 1 >/dev/null
	wn_stop
	# reads 1 and 2 are the start's, the third the job's for alice's projects
	WN_STORE_FAULTS=read:after=2:count=1 wn_start --admin-token-file admin.token
	local rc=0
	WN_TOKEN=$alice wnctl job retry 1 >retry.txt 2>&1 || rc=$?
	expect_eq "$rc" 3 "exit status of alice's retry of a job of pb that could not be read"
	expect_contains "$(cat retry.txt)" "retry later"
	expect_eq "$(job_status 1)" cancelled "job 1 after alice's retry"
	rc=0
	WN_TOKEN=$alice wnctl job retry 1 >retry.txt 2>&1 || rc=$?
	expect_eq "$rc" 8 "exit status of alice's retry once the job can be read"
	expect_eq "$(job_status 1)" cancelled "job 1 after alice's second retry"
}

# A pending job whose record cannot be read when a worker fetches stays in
# line: it was dropped from the queue as if it were gone, and waited, never
# handed out, until wnd was started again.
test_a_pending_job_that_cannot_be_read_stays_in_line() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name a >/dev/null
	wn_stop
	# the start reads twice; the third read, the job's at the first fetch, fails
	WN_STORE_FAULTS=read:after=2:count=1 wn_start
	local rc=0
	wnctl queue fetch p --worker w1 >fetch.txt 2>&1 || rc=$?
	expect_eq "$(job_status 1)" pending "job 1 after a fetch that could not read it (exit $rc: $(cat fetch.txt))"
	wnctl queue fetch p --worker w1 >fetch.txt 2>&1 || fail "second fetch: $(cat fetch.txt)"
	expect_eq "$(job_status 1)" running "job 1 after the second fetch"
	expect_not_contains "$(cat "$WN_TMP/wnd.log")" "dropped"
}
