# wnctl's waiting commands (job wait, job log -f) ride out a server killed
# with kill -9 and started again while their first long poll is parked, as
# they do later ones; a server that was never reached still fails at once
# (exit 3); a followed job removed meanwhile is said to be removed, and a
# job removed while waited on is counted as removed across a restart.
source "${BASH_SOURCE[0]%/*}/lib.sh"
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# lost_setup: wnd (log_level debug, so that parked calls are logged) with
# project p and task t, and no worker: its jobs stay pending.
lost_setup() {
	printf 'log_level: debug\n' >"$WN_TMP/wnd.yaml"
	wn_start --config "$WN_TMP/wnd.yaml"
	mkproject p
	mktask p t
}

# parked N: wnd has parked N long polls of JobService/Wait or Log so far.
parked() { [ "$(grep -c 'request [0-9]* waits up to' "$WN_TMP/wnd.log")" -ge "$1" ]; }

# parked_or_ended N RC: parked N, or the command whose exit status goes to
# file RC has ended.
parked_or_ended() { parked "$1" || [ -e "$2" ]; }

# ctl_bg OUT ARGS...: run `wnctl ARGS` in the background, its stdout in OUT,
# stderr in OUT.err and exit status in OUT.rc.
ctl_bg() {
	local out=$1
	shift
	(
		rc=0
		"$WN_BIN/wnctl" "$@" >"$out" 2>"$out.err" || rc=$?
		# whole when it appears: a reader waits for the file, then reads it
		echo "$rc" >"$out.rc.tmp" && mv "$out.rc.tmp" "$out.rc"
	) &
	bg_track $!
}

# kill9_during_first_poll OUT ARGS...: `wnctl ARGS` parks its first call;
# wnd is killed with kill -9 and started again; the call must be made again
# to the new wnd rather than give up.
kill9_during_first_poll() {
	local out=$1
	shift
	ctl_bg "$out" "$@"
	wait_for 20 "the first call to park" parked 1
	wn_kill9
	wn_start --config "$WN_TMP/wnd.yaml"
	[ ! -e "$out.rc" ] || fail "wnctl $* gave up: exit $(<"$out.rc"): $(<"$out.err")"
	wait_for 20 "the call to park on the new wnd" parked 2
}

test_ctl_wait_rides_out_kill9_during_first_poll() {
	lost_setup
	local id
	id=$(wnctl job add p t)
	kill9_during_first_poll w.out job wait "$id"
	wnctl job cancel "$id" >/dev/null
	wait_for 20 "the wait to end" test -e w.out.rc
	expect_eq "$(<w.out.rc)" 9 "exit of the wait (stderr: $(<w.out.err))"
	expect_contains "$(<w.out)" "1 job: 1 cancelled" "summary"
	expect_contains "$(<w.out.err)" "lost the server" "stderr"
	expect_contains "$(<w.out.err)" "still waiting" "stderr"
	expect_contains "$(<w.out.err)" "the server answers again" "stderr"

	# a server that was never there: exit 3 at once, nothing waited for
	wn_kill9
	expect_exit 3 wnctl job wait "$id"
	expect_contains "$WN_ERR" "cannot connect"
	expect_not_contains "$WN_ERR" "still waiting"
}

test_ctl_log_follow_rides_out_kill9_during_first_poll() {
	lost_setup
	local id
	id=$(wnctl job add p t)
	kill9_during_first_poll l.out job log -f "$id"
	wnctl job cancel "$id" >/dev/null
	wait_for 20 "the follow to end" test -e l.out.rc
	expect_eq "$(<l.out.rc)" 9 "exit of job log -f (stderr: $(<l.out.err))"
	expect_contains "$(<l.out.err)" "still following" "stderr"
	expect_contains "$(<l.out.err)" "the server answers again" "stderr"

	wn_kill9
	expect_exit 3 wnctl job log -f "$id"
	expect_contains "$WN_ERR" "cannot connect"
	expect_not_contains "$WN_ERR" "still following"
}

# A followed job removed meanwhile: wnctl says so (exit 9, the job ended
# without completing), not that there is no such job.
test_ctl_log_follow_of_a_job_removed_meanwhile() {
	lost_setup
	local id
	id=$(wnctl job add p t)
	ctl_bg r.out job log -f "$id"
	wait_for 20 "the follow to park" parked 1
	wnctl job remove "$id" >/dev/null
	wait_for 20 "the follow to end" test -e r.out.rc
	expect_eq "$(<r.out.rc)" 9 "exit of job log -f (stderr: $(<r.out.err))"
	expect_eq "$(<r.out.err)" "wnctl: job $id was removed while it was followed (or its task or project was deleted)"
	expect_eq "$(<r.out)" "" "stdout"
	# a job that is not there at the start: not found
	expect_exit 4 wnctl job log -f "$id"
	expect_eq "$WN_ERR" "wnctl: job $id not found"
}

# A job removed while waited on counts as removed (exit 9) however many
# calls the wait takes: by ids, after a kill -9 the call made again named a
# job that is gone, which wnd refuses (NOT_FOUND): wnctl exited 4 saying the
# job was not found; by a sweep, the removal the answer to a SIGTERM counted
# was dropped with that answer, and the wait ended "1 job: 1 completed" with
# exit 0 as if every job had completed.
test_ctl_wait_counts_a_job_removed_before_a_restart() {
	lost_setup
	local a b s
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	ctl_bg ids.out job wait "$a" "$b"
	wait_for 20 "the wait to park" parked 1
	wnctl job remove "$a" >/dev/null
	wn_kill9
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_for 20 "the wait to park on the new wnd" parked_or_ended 2 ids.out.rc
	wnctl job cancel "$b" >/dev/null
	wait_for 20 "the wait to end" test -e ids.out.rc
	expect_eq "$(<ids.out.rc)" 9 "exit of the wait by ids (stderr: $(<ids.out.err))"
	expect_contains "$(<ids.out)" "2 jobs: 1 cancelled, 1 removed" "summary by ids"

	s=$(wnctl --json job sweep p t --grid k=1,2 | jq -r .sweep_id)
	ctl_bg sweep.out job wait --sweep "$s"
	wait_for 20 "the sweep's wait to park" parked 3
	wnctl job remove "$s" >/dev/null
	wn_stop
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_for 20 "the sweep's wait to park on the new wnd" parked_or_ended 4 sweep.out.rc
	wnctl job cancel "$((s + 1))" >/dev/null
	wait_for 20 "the sweep's wait to end" test -e sweep.out.rc
	expect_eq "$(<sweep.out.rc)" 9 "exit of the wait by sweep (stderr: $(<sweep.out.err))"
	expect_contains "$(<sweep.out)" "2 jobs: 1 cancelled, 1 removed" "summary by sweep"
	expect_contains "$(<sweep.out.err)" "still waiting" "stderr"
}

# A job named by id and removed while wnd was down (or between two long polls)
# is no longer there when the wait asks again: it counts as removed, not as a
# job not found (exit 4).
test_ctl_wait_counts_a_job_removed_before_the_next_poll() {
	lost_setup
	local a b
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	ctl_bg w.out job wait "$a" "$b"
	wait_for 20 "the first call to park" parked 1
	wnctl job remove "$b" >/dev/null
	# the parked call is lost with wnd: no reply counted the removal
	wn_kill9
	wn_start --config "$WN_TMP/wnd.yaml"
	wait_for 20 "the call to park on the new wnd" parked 2
	wnctl job cancel "$a" >/dev/null
	wait_for 20 "the wait to end" test -e w.out.rc
	expect_eq "$(<w.out.rc)" 9 "exit of the wait (stderr: $(<w.out.err))"
	expect_eq "$(head -n 1 w.out)" "2 jobs: 1 cancelled, 1 removed" "summary"
	# every job named removed: the wait ends
	local c
	c=$(wnctl job add p t)
	ctl_bg c.out --json job wait "$c"
	wait_for 20 "the call to park" parked 3
	wnctl job remove "$c" >/dev/null
	wait_for 20 "the wait to end" test -e c.out.rc
	expect_eq "$(<c.out.rc)" 9 "exit of a wait for a removed job"
	expect_eq "$(jq -c '[.done, .total, .removed]' c.out)" "[true,1,1]" "--json"
}

# By sweep, a job removed during a long poll that ended before the others did
# (each lasts 30 s) counts as removed in the summary, as one removed during the
# last poll does, and the jobs counted are all those the sweep had.
test_ctl_wait_sweep_counts_jobs_removed_during_every_poll() {
	lost_setup
	local s ids
	s=$(wnctl job sweep p t --grid x=1,2,3 | grep -o 'sweep [0-9]*' | cut -d' ' -f2)
	mapfile -t ids < <(wnctl job list --sweep "$s" --format id | tail -n +2)
	ctl_bg s.out job wait --sweep "$s"
	wait_for 20 "the first call to park" parked 1
	wnctl job remove "${ids[0]}" >/dev/null
	wait_for 60 "the second long poll" parked 2
	wnctl job remove "${ids[1]}" >/dev/null # during the last poll
	local lease
	lease=$(wnctl queue fetch p --worker w1)
	wnctl queue complete $lease --worker w1 >/dev/null
	wait_for 20 "the wait to end" test -e s.out.rc
	expect_eq "$(<s.out.rc)" 9 "exit: two jobs were removed (stderr: $(<s.out.err))"
	expect_eq "$(<s.out)" "3 jobs: 1 completed, 2 removed" "summary"
}

# hold_options_then_kill9 READY: a lease (F_SETLEASE) on wnd's OPTIONS files,
# which a backup to another file system opens to copy them: the kernel holds
# that open and tells the lease's holder, which then kills wnd with kill -9,
# while the backup has begun. READY appears once the leases are held.
hold_options_then_kill9() {
	python3 - "$WND_PID" "$WN_TMP/data" "$1" <<'PY' &
import fcntl, glob, os, signal, sys
pid, data, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGIO])
fds = [os.open(p, os.O_RDONLY) for p in glob.glob(data + "/OPTIONS-*")]
for fd in fds:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
open(ready, "w").close()
signal.sigwait([signal.SIGIO])
os.kill(pid, signal.SIGKILL)
PY
	bg_track $!
	wait_for 10 "the leases on wnd's OPTIONS files" test -e "$1"
}

# wnd killed during a backup: wnctl said only 'cannot connect to ...:
# Connection refused' (its call sent again found no wnd), as if wnd had not
# been there when the backup was asked for. It now says that wnd went away
# during the backup, that no backup was made and what wnd left (exit 3).
test_ctl_backup_cut_off_by_a_kill9_of_wnd_says_so() {
	wn_start
	mkproject p
	mount_disk 64m
	hold_options_then_kill9 held
	expect_exit 3 wnctl admin backup "$WN_TMP/disk/b1"
	expect_contains "$WN_ERR" "wnctl: wnd went away during the backup (cannot "
	expect_contains "$WN_ERR" "): no backup was made at $WN_TMP/disk/b1, unless wnd finished it just before (a backup appears whole or not at all); a hidden .wn-backup-XXXXXX directory it leaves beside it is removed by the next backup into the same directory"
	expect_eq "$WN_OUT" "" "stdout"
	wait "$WND_PID" 2>/dev/null || true
	local left
	left=$(ls -A disk)
	[[ $left == .wn-backup-?????? ]] || fail "what the backup cut off left: '$left'"
	# a wnd that is not there when the backup is asked for: as before
	expect_exit 3 wnctl admin backup "$WN_TMP/disk/b1"
	expect_contains "$WN_ERR" "wnctl: cannot connect to"
	expect_not_contains "$WN_ERR" "went away"
	# what the message says: the next backup there removes what was left
	wn_start
	touch -d '2 minutes ago' "disk/$left"
	expect_exit 0 wnctl admin backup "$WN_TMP/disk/b2"
	expect_eq "$(ls -A disk)" "b2" "the directory after the next backup"
}

# impostor_start MODE SECONDS: wnimpostor in MODE for SECONDS at
# ipc://$WN_TMP/MODE.sock, its lines in MODE.out, its pid in ipid, once it
# listens.
impostor_start() {
	local i
	"$WN_BIN/wnimpostor" "ipc://$WN_TMP/$1.sock" p t j "$1" "$2" >"$1.out" 2>&1 &
	ipid=$!
	WN_PIDS+=("$ipid")
	for i in $(seq 1 100); do
		[ -S "$WN_TMP/$1.sock" ] && return 0
		sleep 0.05
	done
	fail "wnimpostor does not listen: $(<"$1.out")"
}

# A server that answers every long poll at once with nothing new (one that
# ignores wait_ms; here wnimpostor in mode hasty) is asked again after a
# pause, not in a loop that takes a core: in 2 s, at most one call each
# 100 ms (a slow machine makes fewer, never more).
test_ctl_wait_and_follow_pause_for_a_server_that_does_not_hold_polls() {
	local url=ipc://$WN_TMP/hasty.sock ipid
	impostor_start hasty 4
	expect_exit 10 wnctl --server "$url" job wait 1 --timeout 2s
	expect_contains "$WN_ERR" "timed out"
	local rc=0
	timeout -s INT 2 "$WN_BIN/wnctl" --server "$url" job log -f 1 >log.out 2>&1 || rc=$?
	expect_eq "$rc" 124 "exit status of job log -f, cut by timeout ($(<log.out))"
	wait "$ipid" || fail "wnimpostor: $(<hasty.out)"
	local waits logs
	waits=$(grep -c '^wait$' hasty.out || true)
	logs=$(grep -c '^log$' hasty.out || true)
	[ "$waits" -ge 2 ] && [ "$waits" -le 25 ] || fail "job wait called $waits times in 2 s"
	[ "$logs" -ge 2 ] && [ "$logs" -le 25 ] || fail "job log -f called $logs times in 2 s"
}

# A server that sends more of an artifact than the size it lists (here
# wnimpostor in mode endless: 4 bytes a call, never the end, of a file of
# 10) is not read without end: wnctl stops at the byte past the size and
# writes nothing.
test_ctl_artifact_get_stops_at_the_size_the_server_lists() {
	local url=ipc://$WN_TMP/endless.sock ipid
	impostor_start endless 3
	expect_exit 1 wnctl --server "$url" job artifact get 1 f -o f.bin
	expect_eq "$WN_ERR" "wnctl: artifact f of job 1: the server sent more than its 10 bytes; nothing written"
	[ ! -e f.bin ] || fail "f.bin was written"
	[ -z "$(ls -A | grep -v '^endless' | grep -v '^\.')" ] || fail "files left: $(ls -A)"
	wait "$ipid" || fail "wnimpostor: $(<endless.out)"
	expect_eq "$(grep -c '^get ' endless.out)" 3 "GetArtifact calls"
}
