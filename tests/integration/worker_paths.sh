# wnworker keeps the files a job names inside their roots: a parameter
# cannot take a log file or working directory above the directory its
# template starts in, a symbolic link planted where a log goes is not
# followed, a file of another user is not emptied, and names a server (or
# something answering as one) sends are checked as the server checks them
# before they go into any path. Each refusal fails the job with its reason.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# paths_setup: wnd, project p, task t running `echo ran` with the log
# template "{exp}/{job.id}.log" and the working directory "run/{wd}" (a
# relative workdir is relative to the worker's current directory, $WN_TMP).
paths_setup() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	mkdir -p "$WN_TMP/cfg" "$WN_TMP/run/a"
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, "echo ran; pwd"]
    log: "{exp}/{job.id}.log"
    workdir: "run/{wd}"
EOF
	} >"$WN_TMP/cfg/w.yaml"
}

test_parameters_cannot_leave_the_log_dir_or_workdir() {
	paths_setup
	echo "precious" >"$WN_TMP/victim"
	local up down abs wd ok
	local out=$(basename "$WN_TMP")-up # ../../$out is beside $WN_TMP
	up=$(wnctl job add p t --param "exp=../../$out" --param wd=a)
	down=$(wnctl job add p t --param "exp=a/../../victim-dir" --param wd=a)
	abs=$(wnctl job add p t --param "exp=$WN_TMP" --param wd=a)
	wd=$(wnctl job add p t --param exp=e --param "wd=../../..")
	ok=$(wnctl job add p t --param "exp=a/../b" --param wd=a)
	worker_start w1 "$WN_TMP/cfg/w.yaml" --exit-when-empty
	worker_wait "$WORKER_PID" 30
	local id
	for id in "$up" "$down" "$abs"; do
		expect_eq "$(job_get "$id" "j['status']")" failed "job $id"
		expect_contains "$(job_get "$id" "j['reason']")" "is outside $WN_TMP/logs"
	done
	expect_eq "$(job_get "$wd" "j['status']")" failed "job $wd"
	expect_contains "$(job_get "$wd" "j['reason']")" \
		"the working directory $WN_TMP/run/../../.. is outside $WN_TMP/run"
	# nothing was written where those would have gone, and the victim is whole
	local where
	for where in "$(dirname "$WN_TMP")/$out/$up.log" "$WN_TMP/victim-dir/$down.log" "$WN_TMP/$abs.log"; do
		[ ! -e "$where" ] || fail "a job wrote $where"
	done
	expect_eq "$(<"$WN_TMP/victim")" precious "the victim file"
	# a value that stays inside is fine
	expect_eq "$(job_get "$ok" "j['status']")" completed "job $ok"
	expect_eq "$(<"$WN_TMP/logs/b/$ok.log")" "ran
$WN_TMP/run/a" "its log"
}

# A value whose log file name fits but whose results file beside it (the
# name with .results for .log) would not, fails the job before it runs: it
# used to run, then fail for a results file the worker could not open, and
# run again on each retry.
test_a_value_too_long_for_the_results_file_fails_before_the_run() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --retries 1 >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, 'echo ran >> $WN_TMP/runs']
    log: "{exp}.log"
EOF
	} >w.yaml
	local long id fine
	long=$(printf 'a%.0s' $(seq 1 250)) # 254 bytes with .log, 258 with .results
	id=$(wnctl job add p t --param "exp=$long")
	fine=$(wnctl job add p t --param "exp=$(printf 'b%.0s' $(seq 1 240))")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "job $id"
	expect_contains "$(job_get "$id" "j['reason']")" \
		"the name of the results file is 258 bytes long: at most 255 can be opened ($WN_TMP/logs/$long.results)"
	expect_eq "$(job_get "$fine" "j['status']")" completed "job $fine"
	expect_eq "$(<runs)" ran "the runs"
}

# The same for the files a SLURM job has beside its output (its batch script,
# its results) and a RUNAI workload's log: the job fails before anything is
# submitted.
test_a_value_too_long_for_a_cluster_job_s_files_fails_before_the_submission() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p s >/dev/null
	wnctl task create p r >/dev/null
	printf '#!/bin/sh\necho "$0 $*" >> %s/called\nexit 1\n' "$WN_TMP" >submit
	chmod +x submit
	{
		worker_head
		cat <<EOF
tasks:
  s:
    formatter: slurm
    script: echo hi
    output: "{exp}.out"
    sbatch: $WN_TMP/submit
    squeue: /bin/true
    sacct: /bin/true
    scancel: /bin/true
  r:
    formatter: runai
    runai: $WN_TMP/submit
    project: team-a
    image: img
    log: "{exp}.log"
EOF
	} >w.yaml
	local long s r
	long=$(printf 'a%.0s' $(seq 1 250)) # the output 254 bytes, the script 257
	s=$(wnctl job add p s --param "exp=$long")
	r=$(wnctl job add p r --param "exp=${long}xx") # the log 256 bytes
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$s" "j['status']") $(job_get "$r" "j['status']")" "failed failed" \
		"jobs $s and $r"
	expect_contains "$(job_get "$s" "j['reason']")" \
		"the name of the batch script is 257 bytes long: at most 255 can be opened"
	expect_contains "$(job_get "$r" "j['reason']")" \
		"the name of the log file is 256 bytes long: at most 255 can be opened"
	[ ! -e called ] || fail "submitted: $(<called)"
}

test_a_planted_symbolic_link_is_not_followed() {
	paths_setup
	echo "precious" >"$WN_TMP/victim"
	mkdir -p "$WN_TMP/logs/e" "$WN_TMP/elsewhere"
	# the job's own log file, and a directory on its way, are links
	local file dir
	file=$(wnctl job add p t --param exp=e --param wd=a)
	ln -s "$WN_TMP/victim" "$WN_TMP/logs/e/$file.log"
	ln -s "$WN_TMP/elsewhere" "$WN_TMP/logs/d"
	dir=$(wnctl job add p t --param exp=d --param wd=a)
	worker_start w1 "$WN_TMP/cfg/w.yaml" --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$file" "j['status']")" failed "job $file"
	expect_contains "$(job_get "$file" "j['reason']")" \
		"cannot open log file: cannot open $WN_TMP/logs/e/$file.log: it is a symbolic link"
	expect_eq "$(job_get "$dir" "j['status']")" failed "job $dir"
	expect_contains "$(job_get "$dir" "j['reason']")" \
		"cannot open directory $WN_TMP/logs/d: it is a symbolic link or not a directory"
	expect_eq "$(<"$WN_TMP/victim")" precious "the victim file"
	expect_eq "$(ls -A "$WN_TMP/elsewhere")" "" "the linked directory"
}

test_a_log_file_of_another_user_is_not_emptied() {
	id nobody >/dev/null 2>&1 || fail "no user 'nobody' on this machine"
	[ "$(id -u)" = 0 ] || fail "this test gives a file to another user: it runs as root"
	paths_setup
	mkdir -p "$WN_TMP/logs/e"
	local id
	id=$(wnctl job add p t --param exp=e --param wd=a)
	echo "theirs" >"$WN_TMP/logs/e/$id.log"
	chown nobody "$WN_TMP/logs/e/$id.log"
	worker_start w1 "$WN_TMP/cfg/w.yaml" --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "job $id"
	expect_contains "$(job_get "$id" "j['reason']")" "it belongs to another user"
	expect_eq "$(<"$WN_TMP/logs/e/$id.log")" theirs "their file"
}

test_names_from_the_server_are_checked() {
	# an impostor hands the worker a job whose project or job name the server
	# would never accept: a project it does not serve goes back, a job name
	# fails the job before it goes into any path
	local url=ipc://$WN_TMP/impostor.sock name where
	local bad=("../../../../$WN_TMP/x" "ok/../../x" $'p\nq')
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [sh, -c, "echo ran"]
EOF
	} >w.yaml
	for where in project job; do
		for name in "${bad[@]}"; do
			local p=p j=j1 want
			case $where in
			project)
				p=$name
				want="release reason=worker w1: the worker does not serve the job's project"
				;;
			job) j=$name want="complete success=0 reason=refused: the server sent an invalid job name" ;;
			esac
			"$WN_BIN/wnimpostor" "$url" "$p" t "$j" >"$WN_TMP/impostor.out" 2>&1 &
			local ipid=$!
			WN_PIDS+=("$ipid")
			WN_SERVER=$url worker_start w1 w.yaml --once --server "$url"
			wait_until 20 "the impostor to hear how the job ended" proc_gone "$ipid"
			expect_contains "$(<"$WN_TMP/impostor.out")" "$want"
			kill "$WORKER_PID" 2>/dev/null
			wait "$WORKER_PID" 2>/dev/null
			expect_eq "$(find "$WN_TMP/logs" -type f 2>/dev/null | wc -l)" 0 "log files"
		done
	done
	[ ! -e "$WN_TMP/x" ] || fail "the worker wrote at $WN_TMP/x"
}

# The worker's own working directory, where a command without a workdir
# runs, removed while the worker runs: the job is not failed for it (its
# command would find no directory to write in) but handed back, and another
# worker runs it.
test_a_removed_working_directory_of_the_worker_hands_the_job_back() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo ran > made-by-\$WN_JOB_ID && echo made']
EOF
	} >w.yaml
	mkdir wd
	(cd wd && exec "$WN_BIN/wnworker" --config "$WN_TMP/w.yaml" --name w1 >>"$WN_TMP/w1.log" 2>&1) &
	local w1=$!
	WN_PIDS+=("$w1")
	local a b
	a=$(wnctl job add p t)
	wait_status "$a" completed
	rm -rf wd
	b=$(wnctl job add p t)
	wait_until 10 "the job to be handed back" log_has w1.log "job $b: not run: cannot start /bin/sh: the worker's working directory was removed"
	worker_start w2 w.yaml
	wait_status "$b" completed
	expect_eq "$(job_get "$b" "j['worker']")" w2
	expect_eq "$(<"made-by-$b")" ran
}
