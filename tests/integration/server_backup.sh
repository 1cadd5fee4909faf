# Online backup and restore: `wnctl admin backup` while clients submit, fetch
# and complete, a restore into a second server, and the destinations a backup
# refuses.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# backup_submit_loop: submit jobs to p/t one by one until the file `stop`
# exists, appending the id of every acknowledged submit to `acked`.
backup_submit_loop() {
	local i=0 id
	while [ ! -e stop ] && [ "$i" -lt 100000 ]; do
		i=$((i + 1))
		if id=$("$WN_BIN/wnctl" --timeout 5000 job add p t --name "k$i" 2>/dev/null); then
			echo "$id" >>acked
		fi
	done
}

# backup_work_loop: fetch jobs of p as worker w1 and complete them until the
# file `stop` exists; each leased job's id goes to `fetched`, then, once its
# completion is acknowledged, to `completed`.
backup_work_loop() {
	local out id attempt
	while [ ! -e stop ]; do
		out=$("$WN_BIN/wnctl" --timeout 5000 --json queue fetch p --worker w1 --wait 200 \
			2>/dev/null) || continue
		id=$(jq -r '.job.id // empty' <<<"$out")
		[ -n "$id" ] || continue
		attempt=$(jq -r '.job.attempt' <<<"$out")
		echo "$id" >>fetched
		if "$WN_BIN/wnctl" --timeout 5000 queue complete "$id" "$attempt" --worker w1 \
			>/dev/null 2>&1; then
			echo "$id" >>completed
		fi
	done
}

# wait_lines FILE N: wait until FILE has at least N lines.
wait_lines() {
	wait_for 60 "$2 lines in $1" bash -c '[ -f "$0" ] && [ "$(wc -l <"$0")" -ge "$1" ]' "$1" "$2"
}

# expect_check_clean DIR: `wnd --check` finds nothing wrong in data directory DIR.
expect_check_clean() {
	local rc=0 out
	out=$("$WN_BIN/wnd" --check --data "$1" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "wnd --check --data $1 exited $rc: $out"
}

# start_restored DIR SOCKET [wnd args...]: start a second wnd on data
# directory DIR at ipc://SOCKET and aim wnctl at it; the first server's
# address stays in LIVE_SERVER.
start_restored() {
	local dir=$1 sock=$2
	shift 2
	LIVE_SERVER=$WN_SERVER
	LIVE_PID=$WND_PID
	export WN_SERVER=ipc://$sock
	wn_start --data "$dir" "$@"
}

# statuses: "ID STATUS" of every job of p, sorted by id.
statuses() {
	wnctl --json job list --all --project p | jq_jobs | jq -r '"\(.id) \(.status)"' | sort -n
}

# ids_with STATUSFILE REGEX: ids whose status matches REGEX.
ids_with() { awk -v re="^($2)\$" '$2 ~ re {print $1}' "$1" | sort -n; }

# backup_under_load [wnd args...]: a backup while one client submits and
# another fetches and completes; the restored copy holds every job
# acknowledged before the backup began, each with the status acknowledged
# then or a later one.
backup_under_load() {
	wn_start "$@"
	mkproject p
	mktask p t
	backup_submit_loop &
	bg_track "$!"
	local sub=$!
	backup_work_loop &
	bg_track "$!"
	local work=$!
	wait_lines acked 40
	wait_lines completed 10

	# What was acknowledged before the backup began.
	cp acked acked_before
	cp fetched fetched_before
	cp completed completed_before
	local reply
	reply=$(wnctl --json admin backup "$WN_TMP/bk")
	# The server kept serving: the loops go on past the backup.
	wait_lines acked $(($(wc -l <acked_before) + 20))
	wait_lines completed $(($(wc -l <completed_before) + 5))
	touch stop
	wait "$sub" "$work"

	expect_eq "$(jq -r .dir <<<"$reply")" "$WN_TMP/bk" "backup directory in the reply"
	[ "$(jq -r .files <<<"$reply")" -ge 3 ] || fail "backup has too few files: $reply"
	[ "$(jq -r .bytes <<<"$reply")" -gt 0 ] || fail "backup is empty: $reply"
	local last
	last=$(jq -r .last_job_id <<<"$reply")
	[ "$last" -ge "$(sort -n acked_before | tail -n 1)" ] ||
		fail "backup's last job $last is below an id acknowledged before it"
	expect_eq "$(stat -c %a "$WN_TMP/bk")" 700 "backup directory mode"
	expect_eq "$(find "$WN_TMP" -maxdepth 1 -name '.wn-backup-*' | wc -l)" 0 "staging left behind"

	# Restore: a copy of the backup, checked, then served by a second server.
	cp -a bk restored
	expect_check_clean "$WN_TMP/restored"
	start_restored "$WN_TMP/restored" "$WN_TMP/restored.sock"
	statuses >restored_status
	local missing
	missing=$(missing_from <(sort -n acked_before) <(awk '{print $1}' restored_status) | head -n 5)
	expect_eq "$missing" "" "jobs acknowledged before the backup missing from it"
	missing=$(missing_from <(sort -n completed_before) <(ids_with restored_status completed) |
		head -n 5)
	expect_eq "$missing" "" "completions acknowledged before the backup not completed in it"
	missing=$(missing_from <(sort -n fetched_before) \
		<(ids_with restored_status 'running|completed') | head -n 5)
	expect_eq "$missing" "" "jobs leased before the backup neither running nor completed in it"
	expect_eq "$(ids_with restored_status 'pending|running|completed' | wc -l)" \
		"$(wc -l <restored_status)" "jobs in the backup with another status"
	expect_eq "$(awk '$1 > '"$last" restored_status)" "" "jobs above the backup's last job id"
	# Everything in the backup was acknowledged or in flight: no job the
	# clients never asked for.
	[ "$(wc -l <restored_status)" -le "$(($(wc -l <acked) + 2))" ] ||
		fail "the backup holds more jobs than were submitted"

	# The restored server takes new work with new ids; the live one goes on.
	local next
	next=$(wnctl job add p t)
	[ "$next" -gt "$last" ] || fail "restored server reused id $next (backup up to $last)"
	expect_eq "$(wnctl --server "$LIVE_SERVER" --json job show "$(tail -n 1 acked)" |
		jq -r .project)" p "live server after the backup"
	kill -0 "$LIVE_PID" || fail "the live server stopped"
}

# test-tier: long
test_backup_under_load_restores_every_acknowledged_job() { backup_under_load; }

# In relaxed mode an acknowledged change is in the operating system's hands,
# and the backup, which reads through it, has it too.
# test-tier: long
test_backup_under_load_relaxed() { backup_under_load --durability relaxed; }

test_restore_brings_back_running_jobs_with_fresh_leases() {
	wn_start
	mkproject p
	mktask p t
	local a b c
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t)
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$a" "first fetch"
	expect_eq "$(fetch_job p w2 | jq -r .id)" "$b" "second fetch"
	wnctl admin backup "$WN_TMP/bk" >backup.out
	expect_contains "$(<backup.out)" "backup: $WN_TMP/bk" "backup output"
	expect_contains "$(<backup.out)" "last_job_id: $c" "backup output"
	expect_contains "$(<backup.out)" "cp -a $WN_TMP/bk COPY && wnd --check --data COPY" \
		"backup output says how to restore"
	# Changes after the backup are not in it.
	wnctl queue complete "$a" 1 --worker w1 >/dev/null
	wnctl job cancel "$c" >/dev/null

	cp -a bk restored
	expect_check_clean "$WN_TMP/restored"
	start_restored "$WN_TMP/restored" "$WN_TMP/restored.sock" --lease-ms 60000 \
		--test-clock "$WN_TMP/clock"
	expect_eq "$(job_field "$a" '"\(.status) \(.attempt) \(.worker)"')" "running 1 w1" "job a"
	expect_eq "$(job_field "$b" '"\(.status) \(.attempt) \(.worker)"')" "running 1 w2" "job b"
	expect_eq "$(job_status "$c")" pending "job c"
	# Its worker can still finish a job it held: the lease restarted.
	expect_exit 0 wnctl queue complete "$b" 1 --worker w2
	expect_eq "$(job_status "$b")" completed "job b completed after the restore"
	# A job nobody heartbeats goes back to the queue when its lease runs out.
	expect_eq "$(job_status "$a")" running "job a within its lease"
	echo 61000 >"$WN_TMP/clock.new" && mv "$WN_TMP/clock.new" "$WN_TMP/clock"
	expect_eq "$(job_status "$a")" pending "job a after its lease ran out"
	expect_contains "$(job_field "$a" '.reason // ""')" "lease" "reason of job a"
}

test_backup_bad_input_changes_nothing() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t >/dev/null
	mkdir taken
	echo keep >taken/keep
	local before data_before snap
	before=$(ls -A "$WN_TMP" | grep -v '^\.err$')
	data_before=$(ls -A "$WN_TMP/data")
	snap=$(snapshot)

	expect_exit 7 wnctl admin backup relative/bk
	expect_contains "$WN_ERR" "not an absolute path" "relative path"
	expect_eq "$(wc -l <<<"$WN_ERR")" 1 "lines of the error message"
	expect_exit 5 wnctl admin backup "$WN_TMP/taken"
	expect_contains "$WN_ERR" "already exists" "existing directory"
	expect_exit 5 wnctl admin backup "$WN_TMP/taken/"
	expect_exit 7 wnctl admin backup "$WN_TMP/data/inside"
	expect_contains "$WN_ERR" "inside the server's data directory" "inside the data directory"
	expect_exit 4 wnctl admin backup "$WN_TMP/nope/bk"
	expect_contains "$WN_ERR" "does not exist" "missing parent"
	# a file where a directory goes, a name too long: bad input (7), not a
	# directory gone (4) or a failure of the server (1)
	expect_exit 7 wnctl admin backup "$WN_TMP/taken/keep/bk"
	expect_eq "$WN_ERR" "wnctl: cannot back up to $WN_TMP/taken/keep/bk: a part of its path is a file, not a directory"
	expect_exit 7 wnctl admin backup "$WN_TMP/$(printf 'a%.0s' $(seq 1 300))"
	expect_contains "$WN_ERR" ": a name in it is longer than its file system takes (File name too long)"
	expect_exit 2 wnctl admin backup
	expect_contains "$WN_ERR" "missing arguments" "missing argument"
	expect_exit 2 wnctl admin backup "$WN_TMP/x" "$WN_TMP/y"
	expect_exit 2 wnctl admin
	expect_exit 2 wnctl admin restore "$WN_TMP/x"
	expect_contains "$WN_ERR" "unknown admin command" "unknown verb"
	# Through the raw protocol: an empty path, a body that is not a BackupRequest.
	raw_call /whatsnext.v1.AdminService/Backup ""
	expect_raw INVALID_ARGUMENT "empty BackupRequest"
	expect_contains "$(raw_message)" "missing backup directory" "empty BackupRequest"
	raw_call /whatsnext.v1.AdminService/Backup "$(pbhex '[(9, "x")]')"
	expect_raw INVALID_ARGUMENT "BackupRequest with an unknown field"

	expect_eq "$(ls -A "$WN_TMP" | grep -v '^\.err$')" "$before" "files next to the data directory"
	expect_eq "$(ls -A "$WN_TMP/data")" "$data_before" "files of the data directory"
	expect_eq "$(ls -A taken) $(<taken/keep)" "keep keep" "existing directory"
	expect_eq "$(snapshot)" "$snap" "server state"
	expect_serving

	expect_exit 0 wnctl admin backup --help
	expect_contains "$WN_OUT" "wnctl admin backup DIR" "backup --help"
	expect_contains "$WN_OUT" "absolute path" "backup --help"
	expect_exit 0 wnctl admin --help
	expect_contains "$WN_OUT" "backup DIR" "admin --help"
}

test_backup_dir_confines_backups() {
	mkdir vault
	wn_start --backup-dir "$WN_TMP/vault"
	expect_exit 7 wnctl admin backup "$WN_TMP/elsewhere"
	expect_contains "$WN_ERR" "keeps backups inside $WN_TMP/vault" "backup outside backup_dir"
	[ ! -e elsewhere ] || fail "a refused backup left $WN_TMP/elsewhere"
	expect_exit 0 wnctl admin backup "$WN_TMP/vault/b1"
	[ -f vault/b1/CURRENT ] || fail "no backup in vault/b1"
	expect_not_contains "$(<wnd.log)" "backup_dir" "a start with a backup_dir that exists"
	# a backup_dir mistyped is said at start, not only at the first backup
	wn_stop
	wn_start --backup-dir "$WN_TMP/valut"
	expect_contains "$(<wnd.log)" \
		"backup_dir $WN_TMP/valut: No such file or directory: every wnctl admin backup is refused until it exists"
	expect_exit 4 wnctl admin backup "$WN_TMP/valut/b2"
	# and so is one inside the data directory, where no backup may go
	wn_stop
	mkdir data/backups
	wn_start --backup-dir "$WN_TMP/data/backups"
	expect_contains "$(<wnd.log)" \
		"backup_dir $WN_TMP/data/backups is inside the data directory $WN_TMP/data, where no backup may go: every wnctl admin backup is refused"
	expect_exit 7 wnctl admin backup "$WN_TMP/data/backups/b3"
}

# A backup's files copied over a data directory that holds newer logs (not
# into a new directory, as the restore steps say): RocksDB would replay those
# logs on top of the backup and serve a mix of both states (here a job of a
# project that the mix does not have). The check and the start refuse it and
# change nothing; the backup restored into a new directory serves its state.
test_a_backup_copied_over_newer_data_is_refused() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name before >/dev/null
	wnctl admin backup "$WN_TMP/b1" >/dev/null
	wn_stop
	# newer changes: one written out as a table file, then one left in a log
	wn_start
	mkproject q
	mktask q t
	wn_stop
	wn_start
	wnctl job add q t --name after-q >/dev/null
	wnctl job add p t --name after-p >/dev/null
	wn_kill9
	cp -a "$WN_TMP/b1/." "$WN_TMP/data/"
	local before
	before=$(cd "$WN_TMP/data" && ls -l --time-style=+%s.%N -- *.log *.sst CURRENT MANIFEST-*)
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_ERR" "does not follow on from log"
	expect_contains "$WN_ERR" "restore the backup into a new, empty directory"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/other.sock"
	expect_contains "$WN_ERR" "cannot open store $WN_TMP/data: log "
	expect_eq "$(cd "$WN_TMP/data" && ls -l --time-style=+%s.%N -- *.log *.sst CURRENT MANIFEST-*)" \
		"$before" "the database's files after the refusals"
	# the documented restore
	cp -a "$WN_TMP/b1" "$WN_TMP/restored"
	expect_check_clean "$WN_TMP/restored"
	start_restored "$WN_TMP/restored" "$WN_TMP/restored.sock"
	expect_eq "$(project_names)" p "projects of the restored backup"
	expect_eq "$(wnctl --json job list --all | jq_jobs | jq -r .name | tr '\n' ' ')" "before " \
		"jobs of the restored backup"
}

# A backup onto a disk too small for it fails as RESOURCE_EXHAUSTED, saying
# so, with nothing of it left there; the server goes on, and the next backup
# to a disk with room is whole.
test_a_backup_onto_a_full_disk_says_so_and_leaves_nothing() {
	wn_start
	mkproject p
	mktask p t
	local big i
	big=$(head -c 4000 /dev/zero | tr '\0' x)
	for i in $(seq 1 100); do wnctl job add p t --param "k=$big" >/dev/null; done
	mount_disk 256k
	expect_exit 7 wnctl admin backup "$WN_TMP/disk/bk"
	expect_contains "$WN_ERR" "wnctl: cannot back up to $WN_TMP/disk/bk: no space left on its disk (nothing of the backup is left there): "
	expect_eq "$(ls -A disk)" "" "what the failed backup left on its disk"
	expect_exit 0 wnctl admin backup "$WN_TMP/bk"
	expect_check_clean "$WN_TMP/bk"
	expect_eq "$(wnctl --json job list --all --project p | jq_jobs | wc -l)" 100 "jobs served"
}

# What a backup cut off by a kill of wnd leaves next to its place (its hidden
# staging directory, a whole copy when it goes to another disk) is removed by
# the next backup into the same directory, once no backup holds it and it has
# been left a minute; a backup's own, others' files and one held are kept.
test_a_backup_removes_what_a_backup_cut_off_left() {
	wn_start
	mkproject p
	mkdir -p vault/.wn-backup-Ab12Cd/data vault/.wn-backup-held00 vault/.wn-backup-fresh0 \
		vault/.wn-backup-long-name
	echo x >vault/.wn-backup-Ab12Cd/data/000004.log
	touch -d '2 minutes ago' vault/.wn-backup-Ab12Cd vault/.wn-backup-held00 \
		vault/.wn-backup-long-name
	echo keep >vault/.wn-backup-notadir
	touch -d '2 minutes ago' vault/.wn-backup-notadir
	flock vault/.wn-backup-held00 sleep 60 &
	bg_track "$!"
	wait_for 10 "the lock of .wn-backup-held00" \
		bash -c '! flock -n "$0" true' vault/.wn-backup-held00
	expect_exit 0 wnctl admin backup "$WN_TMP/vault/b1"
	expect_eq "$(ls -A vault | tr '\n' ' ')" \
		".wn-backup-fresh0 .wn-backup-held00 .wn-backup-long-name .wn-backup-notadir b1 " \
		"what the backup left in its directory"
	expect_contains "$(<wnd.log)" \
		"backup: removed $WN_TMP/vault/.wn-backup-Ab12Cd, left by a backup that was cut off"
	expect_check_clean "$WN_TMP/vault/b1"
}
