# Artifacts: the files a job's run produced, found by the worker after the
# run, uploaded to wnd, listed and fetched back with wnctl (docs/server.md,
# "Artifacts"; docs/worker.md, "Artifacts").
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# art_field ID PATH EXPR: EXPR over the entries `a` of artifact PATH of job
# ID ("absent" when there is none).
art_field() {
	wnctl --json job artifacts "$1" | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin) if x["path"] == sys.argv[1]]
print(eval(sys.argv[2]) if a else "absent")' "$2" "$3"
}

# art_count ID: the entries of job ID's artifacts.
art_count() {
	wnctl --json job artifacts "$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# usage PROJECT: the artifact bytes wnd stores for PROJECT.
usage() { jget "$(wnctl --json queue stats "$1")" "j['projects'][0]['artifact_bytes']"; }

# check_data WHAT: wnd (stopped) finds the data directory clean; its report
# is left in check.txt.
check_data() {
	"$WN_BIN/wnd" --check --data "$WN_TMP/data" >check.txt 2>&1 ||
		fail "wnd --check $1: $(<check.txt)"
}

test_artifacts_listed_uploaded_fetched_and_freed() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'mkdir -p out/sub && head -c 2500000 /dev/urandom >out/model.bin &&
              echo hi >out/sub/a.txt && ln -s /etc/passwd out/link && echo 1 >m-\$WN_JOB_ID.json &&
              ln -s /etc etc']
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts:
      paths: [out, "m-{job.id}.json", "missing-*.txt", "etc/*"]
      upload: true
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	local wd=$WN_TMP/wd/$id sum
	sum=$(sha256sum "$wd/out/model.bin" | cut -d' ' -f1)
	expect_eq "$(art_field "$id" out/model.bin "(a[0]['sha256'], a[0]['size'], a[0]['stored'])")" \
		"('$sum', 2500000, True)" "the model's entry"
	expect_eq "$(art_field "$id" out/sub/a.txt "a[0]['stored']")" True "a file below a directory"
	expect_eq "$(art_field "$id" "m-$id.json" "a[0]['stored']")" True "a templated path"
	expect_contains "$(art_field "$id" out/link "a[0]['note']")" "symbolic link" "the link's note"
	expect_eq "$(art_field "$id" "missing-*.txt" "a[0]['note']")" "no file matched"
	expect_contains "$(art_field "$id" etc "a[0]['note']")" "symbolic link" "a link to a directory"
	expect_eq "$(art_count "$id")" 6 "entries: 3 files, 2 links, 1 glob with no match"
	local list
	list=$(wnctl job artifacts "$id")
	expect_contains "$list" "out/model.bin"
	expect_contains "$list" "$sum"
	# fetched whole and checked; a file is replaced only with --force
	wnctl job artifact get "$id" out/model.bin -o got.bin >out.txt
	cmp got.bin "$wd/out/model.bin" || fail "the fetched model differs"
	expect_contains "$(<out.txt)" "sha256 $sum"
	expect_exit 1 wnctl job artifact get "$id" out/model.bin -o got.bin
	expect_contains "$WN_ERR" "--force"
	wnctl job artifact get "$id" out/sub/a.txt -o got.bin --force 2>/dev/null
	expect_eq "$(<got.bin)" hi "replaced with --force"
	expect_eq "$(wnctl job artifact get "$id" out/model.bin -o - | sha256sum | cut -d' ' -f1)" \
		"$sum" "to stdout"
	expect_exit 6 wnctl job artifact get "$id" out/link -o x
	expect_contains "$WN_ERR" "not stored"
	expect_exit 4 wnctl job artifact get "$id" nothing/here -o x
	[ ! -e x ] || fail "a failed fetch left a file"
	expect_eq "$(ls -a | grep -c wnctl-)" 0 "temporary files left"
	# the bytes stored count for the project, across a restart, until removed
	local total=$((2500000 + 3 + 2))
	expect_eq "$(usage p)" "$total" "bytes stored"
	wn_stop
	check_data "with artifacts"
	expect_contains "$(<check.txt)" "key(s) of artifacts (b/): clean"
	wn_start
	expect_eq "$(usage p)" "$total" "bytes stored after a restart"
	local before after i
	before=$(du -sb "$WN_TMP/data" | cut -f1)
	wnctl job remove "$id" >/dev/null
	expect_eq "$(usage p)" 0 "bytes stored once the job is removed"
	# and the disk gets the space back (the model's 2.5 MB do not compress)
	WN_PAUSE_MS=0
	for i in $(seq 1 100); do
		after=$(du -sb "$WN_TMP/data" | cut -f1)
		[ $((before - after)) -gt 2000000 ] && break
		wn_poll_pause
	done
	[ $((before - after)) -gt 2000000 ] ||
		fail "the data directory went from $before to $after bytes after the removal"
	wn_stop
	check_data "after the removal"
	expect_not_contains "$(<check.txt)" "of artifacts" "keys left after the removal"
}

test_artifact_bounds_give_notes_and_the_job_completes() {
	printf 'artifact_max_project_mb: 3\n' >wnd.yaml
	wn_start --config wnd.yaml
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	cat >gen.py <<'EOF'
import os
os.makedirs("many")
for i in range(10000):
    open("many/f%05d" % i, "w").write(str(i))
for name, size in (("big", 2500000), ("mid", 1500000), ("top", 1700000)):
    open(name, "wb").write(os.urandom(size))
EOF
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [python3, "$WN_TMP/gen.py"]
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts:
      paths: [big, mid, top, "{escape}", "many/*"]
      upload: true
      max_files: 300
      max_file_size: 2M
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t --param escape=../../etc/passwd)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	expect_eq "$(art_count "$id")" 302 "entries: 3 files, 1 refusal, 297 files, a note on the rest"
	expect_eq "$(art_field "$id" 'many/*' "a[0]['note']")" \
		"9703 more files matched: at most 300 are recorded (artifacts max_files)"
	expect_eq "$(art_field "$id" many/f00296 "a[0]['stored']")" True "the last file recorded"
	expect_eq "$(art_field "$id" many/f00297 "a")" absent "the first file past the bound"
	expect_contains "$(art_field "$id" big "a[0]['note']")" "larger than max_file_size (2M)"
	expect_eq "$(art_field "$id" mid "a[0]['stored']")" True "a file within the project's limit"
	expect_contains "$(art_field "$id" top "a[0]['note']")" "artifact_max_project_mb" \
		"a file past the project's limit"
	expect_eq "$(art_field "$id" top "len(a[0]['sha256'])")" 64 "its sha256 is recorded all the same"
	expect_eq "$(art_field "$id" ../../etc/passwd "a[0]['note']")" \
		"refused: the path leaves the working directory"
	local bytes
	bytes=$(wnctl --json job artifacts "$id" | python3 -c 'import json, sys
print(sum(int(a["size"]) for a in json.load(sys.stdin) if a["stored"]))')
	expect_eq "$(usage p)" "$bytes" "bytes stored: the stored files' sizes"
	wnctl project delete p --force >/dev/null
	wn_stop
	check_data "after the project's delete"
	expect_not_contains "$(<check.txt)" "of artifacts" "keys left after the project's delete"
}

# few_fds ARGS...: wnctl ARGS with descriptors 0 to 3 only (ulimit -n 4), every
# descriptor past stderr that the test inherited closed. In a sanitizer
# build the leak check at exit needs descriptors of its own: it is off.
few_fds() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -le 2 ] || eval "exec $n>&-"; done
		ulimit -n 4 && exec "$0" "$@"' "$WN_BIN/wnctl" "$@"
}

test_an_upload_the_servers_disk_has_no_room_for_is_refused() {
	# a file larger than the room on wnd's disk is refused with a note, a
	# small one beside it is stored, and wnd goes on taking changes (it
	# used to take the upload until the disk was full, then refuse every
	# change, and the job's end with it)
	mount_disk 80m
	wn_start --data "$WN_TMP/disk/data"
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'mkdir -p out && head -c 60000000 /dev/zero >out/big &&
              head -c 100000 /dev/zero >out/small']
    workdir: "$WN_TMP/wd"
    artifacts:
      paths: [out]
      upload: true
EOF
	} >w.yaml
	mkdir -p wd
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	expect_eq "$(art_field "$id" out/big "(a[0]['size'], a[0]['stored'])")" "(60000000, False)" \
		"the big file's entry"
	expect_contains "$(art_field "$id" out/big "a[0]['note']")" \
		"not uploaded: artifact out/big (60000000 bytes): the server's disk has only "
	expect_contains "$(art_field "$id" out/big "a[0]['note']")" \
		"MiB free; storing it needs twice the bytes still to come plus 64 MiB to spare"
	expect_eq "$(art_field "$id" out/small "a[0]['stored']")" True "the small file stored"
	expect_exit 6 wnctl job artifact get "$id" out/big -o big
	expect_contains "$WN_ERR" "is not stored on the server: not uploaded: artifact out/big"
	wnctl job add p t --name after >/dev/null
	wn_stop
	"$WN_BIN/wnd" --check --data "$WN_TMP/disk/data" >check.txt 2>&1 ||
		fail "wnd --check: $(<check.txt)"
	expect_contains "$(<check.txt)" ": clean"
}

test_artifact_get_mode_and_bad_output() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo hi >a.txt']
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts:
      paths: [a.txt]
      upload: true
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	# the file gets the mode of a file the user creates: 0666 less the umask
	local mask
	for mask in 022 002 077; do
		(umask "$mask" && wnctl job artifact get "$id" a.txt -o "m$mask" >/dev/null)
		expect_eq "$(<"m$mask")" hi "the content (umask $mask)"
	done
	expect_eq "$(stat -c %a m022 m002 m077 | tr '\n' ' ')" "644 664 600 " "the modes"
	(umask 002 && wnctl job artifact get "$id" a.txt -o m022 --force >/dev/null)
	expect_eq "$(stat -c %a m022)" 664 "a file replaced with --force"
	# -o with no file: a usage error naming the option, nothing asked or written
	expect_exit 2 wnctl job artifact get "$id" a.txt -o ''
	expect_contains "$WN_ERR" "-o/--output ''"
	expect_exit 2 wnctl job artifact get "$id" a.txt --output=
	# --force replaces a file, never a FIFO or a device (-o /dev/null run as
	# root), nor a directory: refused before anything is fetched
	mkfifo fifo
	mkdir dir
	expect_exit 1 wnctl job artifact get "$id" a.txt -o fifo --force
	expect_eq "$WN_ERR" "wnctl: fifo is not a regular file: --force replaces only a file (write to it with -o - > fifo)"
	[ -p fifo ] || fail "the FIFO was replaced"
	expect_exit 1 wnctl job artifact get "$id" a.txt -o dir --force
	expect_eq "$WN_ERR" "wnctl: dir is a directory: name the file with -o DIR/FILE"
	# a fetch ended by a signal leaves no temporary file behind
	local sig pid rc
	kill -STOP "$WND_PID"
	for sig in TERM HUP; do
		"$WN_BIN/wnctl" --timeout 60000 job artifact get "$id" a.txt -o sig.txt 2>/dev/null &
		pid=$!
		wait_until 10 "the temporary file" compgen -G '.sig.txt.wnctl-*'
		kill -"$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -gt 128 ] || fail "wnctl after SIG$sig: exit $rc"
		expect_eq "$(find . -maxdepth 1 -name '*wnctl-*')" "" "temporary files left after SIG$sig"
	done
	kill -CONT "$WND_PID"
	[ ! -e sig.txt ] || fail "sig.txt written"
	# out of descriptors here: a local failure (exit 1), not an unreachable server
	expect_exit 1 few_fds job artifact get "$id" a.txt -o fd.txt
	expect_contains "$WN_ERR" "Too many open files (a local failure on this machine"
	[ "$(printf '%s\n' "$WN_ERR" | wc -l)" -eq 1 ] || fail "not one line: $WN_ERR"
	[ ! -e fd.txt ] || fail "fd.txt written"
	expect_eq "$(find . -maxdepth 1 -name '*wnctl-*')" "" "temporary files left"
}

test_artifacts_config_refuses_escaping_paths() {
	local bad
	for bad in '["../up"]' '["/abs/*"]' '[""]' '{paths: [x], max_file_size: lots}' '{paths: [x], upload: maybe}'; do
		{
			worker_head
			printf 'tasks:\n  t:\n    command: [/bin/true]\n    artifacts: %s\n' "$bad"
		} >w.yaml
		expect_fail "$WN_BIN/wnworker" --config w.yaml --once
		expect_contains "$WN_ERR" "w.yaml:" "a positioned message for $bad"
	done
	expect_contains "$WN_ERR" "upload"
}

# "." is the working directory, which stands for every file below it, as
# any directory does ("./out" is "out").
test_dot_records_every_file_of_the_working_directory() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'mkdir -p sub && echo a >a.txt && echo b >sub/b.txt']
    workdir: "$WN_TMP/wd"
    artifacts: [".", ./sub]
EOF
	} >w.yaml
	mkdir wd
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(art_field "$id" a.txt "a[0]['size']")" 2 "a.txt"
	expect_eq "$(art_field "$id" sub/b.txt "a[0]['size']")" 2 "sub/b.txt"
	expect_eq "$(art_field "$id" . "a[0]['note']")" absent "a note for '.'"
}

test_names_the_server_refuses_are_notes_and_the_job_completes() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# a control character, bytes that are not UTF-8, a directory so named,
	# and a path past the server's 1024 bytes
	python3 -c 'print("/".join(["l" * 250] * 5))' >long.txt
	cat >gen.sh <<'EOF'
mkdir -p out/ok "out/$(printf 'd\033')" "out/$(cat "$1")"
echo a >out/ok/a.txt
echo b >"out/$(printf 'e\033[2Jx')"
echo c >"out/$(printf '\377bad')"
echo d >"out/$(printf 'd\033')/f"
echo e >"out/$(cat "$1")/f"
echo done
exit 3
EOF
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, "$WN_TMP/gen.sh", "$WN_TMP/long.txt"]
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts:
      paths: [out]
      upload: true
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "(j['status'], j['exit_code'], j['reason'], j['output_tail'].strip())")" \
		"('failed', 3, 'exit status 3', 'done')" "the run's end"
	expect_eq "$(art_field "$id" out/ok/a.txt "a[0]['stored']")" True "the other file"
	expect_eq "$(art_field "$id" 'out/e\x1b[2Jx' "(a[0]['sha256'], a[0]['note'])")" \
		"('', 'refused: the name holds a control character (shown escaped)')" "the ESC"
	expect_eq "$(art_field "$id" 'out/\xffbad' "a[0]['note']")" \
		"refused: the name is not valid UTF-8 (shown escaped)" "the bytes not UTF-8"
	expect_eq "$(art_field "$id" 'out/d\x1b' "a[0]['note']")" \
		"refused: the name holds a control character (shown escaped)" "the directory"
	expect_eq "$(wnctl --json job artifacts "$id" | python3 -c 'import json, sys
print([(len(a["path"]), a["path"][-8:], a["note"]) for a in json.load(sys.stdin) if a["path"].startswith("out/l")])')" \
		"[(1024, 'lllll...', 'refused: the path is longer than 1024 bytes (shown cut)')]" "the long path"
	expect_eq "$(art_count "$id")" 5 "entries: 1 file, 4 refused"
	expect_eq "$(tr -d -c '\033' <w1.log | wc -c)" 0 "ESC bytes in the worker's log"
}

# art_lines ID: job ID's artifacts, PATH:NOTE each, on one line.
art_lines() {
	wnctl --json job artifacts "$1" | python3 -c 'import json, sys
print(" ".join(a["path"] + ":" + a["note"] for a in json.load(sys.stdin)))'
}

test_the_walk_reads_each_directory_once() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# read once for each level above it, d18 would be read 2^18 times
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, 'p=out; for i in \$(seq 1 18); do p=\$p/d\$i; done;
              mkdir -p \$p; echo 1 >out/top; echo 2 >\$p/x']
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts: [out]
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	expect_eq "$(art_lines "$id")" "out/$(seq -f 'd%g' -s / 1 18)/x: out/top:" "the entries"
}

test_a_directory_that_cannot_be_read_gets_a_note() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, 'mkdir -p out/locked locked && echo 1 >out/a && echo 2 >out/locked/b &&
              chmod 000 out/locked locked']
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts: [out, locked]
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	# root reads any directory: its worker runs without that power
	local drop=()
	[ "$(id -u)" != 0 ] || drop=(setpriv --bounding-set -dac_override,-dac_read_search)
	"${drop[@]}" "$WN_BIN/wnworker" --config w.yaml --name w1 --exit-when-empty >>w1.log 2>&1 &
	WORKER_PID=$!
	WN_PIDS+=("$WORKER_PID")
	worker_wait "$WORKER_PID" 30
	chmod 755 "wd/$id/out/locked" "wd/$id/locked"
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	local no="cannot read the directory: Permission denied"
	expect_eq "$(art_lines "$id")" "out/a: out/locked:$no locked:$no" "the entries"
}

test_a_list_the_server_refuses_leaves_a_note_and_the_job_ends() {
	# a server that takes no file of the list: the worker reports the job's
	# end again without them
	local url=ipc://$WN_TMP/impostor.sock
	"$WN_BIN/wnimpostor" "$url" p t j artlist 4 >impostor.out 2>&1 &
	local ipid=$!
	WN_PIDS+=("$ipid")
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, 'mkdir -p out && echo 1 >out/a']
    workdir: "$WN_TMP/wd"
    artifacts: [out]
EOF
	} >w.yaml
	mkdir wd
	worker_start w1 w.yaml --server "$url"
	wait_until 14 "the impostor to end" proc_gone "$ipid"
	kill "$WORKER_PID" 2>/dev/null
	wait "$WORKER_PID" 2>/dev/null || true
	expect_eq "$(grep '^complete' impostor.out)" \
		"complete 1.1 success=1 reason= artifact=out/a:
complete 1.1 success=1 reason= artifact=.:not recorded: the server refused the list: artifact 1 (e\x1bx): refused by this server" \
		"the Completes"
	expect_contains "$(<w1.log)" "reporting it again without them"
	expect_eq "$(tr -d -c '\033' <w1.log | wc -c)" 0 "ESC bytes in the worker's log"
}

test_a_cancel_during_the_uploads_says_the_job_was_cancelled() {
	# the job is cancelled while it runs: its worker stops the run, finds
	# its files and the server takes none of them. Each file's note says the
	# job was cancelled, not that a lease was lost.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo 1 >a.txt && echo 2 >b.txt && echo 3 >c.txt && touch ready && sleep 600']
    workdir: "$WN_TMP/wd"
    artifacts:
      paths: [a.txt, b.txt, c.txt]
      upload: true
EOF
	} >w.yaml
	mkdir -p wd
	local id p
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the run's files" test -f wd/ready
	wnctl job cancel "$id" >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "job status"
	expect_eq "$(art_count "$id")" 3 "the files listed"
	for p in a.txt b.txt c.txt; do
		expect_eq "$(art_field "$id" "$p" "(a[0]['stored'], a[0]['note'])")" \
			"(False, 'not uploaded: job $id was cancelled')" "the note of $p"
	done
}

test_a_file_two_paths_match_is_recorded_once_without_a_note() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF2
tasks:
  t:
    command: [/bin/sh, -c, 'mkdir -p out && echo a >out/a']
    workdir: "$WN_TMP/wd"
    artifacts: [out, "out/*", out/a, "nothing-*"]
EOF2
	} >w.yaml
	mkdir wd
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(art_field "$id" out/a "(len(a), a[0]['size'], a[0].get('note', ''))")" \
		"(1, 2, '')" "out/a: one entry, no note"
	expect_eq "$(art_field "$id" "out/*" "a[0]['note']")" absent "an entry for out/*"
	expect_eq "$(art_field "$id" "nothing-*" "a[0]['note']")" "no file matched"
	expect_eq "$(art_count "$id")" 2 "entries: out/a and nothing-*"
}
