# wnworker: running jobs end to end with the real wnd and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

test_sweep_records_every_result() {
	wn_start
	wnctl project create sweep >/dev/null
	wnctl task create sweep train >/dev/null
	{
		worker_head sweep
		cat <<EOF
slots: 2
tasks:
  train:
    command: [python3, $REPO/examples/train.py, --lr, "{lr}", --epochs, "{epochs}",
              --seconds-per-epoch, "0.01"]
EOF
	} >w.yaml
	local ids=() lr ep
	for lr in 0.001 0.01 0.1 1; do
		for ep in 1 2 3; do
			ids+=("$(wnctl job add sweep train --param lr=$lr --param epochs=$ep \
				--priority $((ep * 10)))")
		done
	done
	expect_eq "${#ids[@]}" 12 "jobs submitted"
	worker_start w1 w.yaml --exit-when-empty
	local p1=$WORKER_PID
	worker_start w2 w.yaml --exit-when-empty
	local p2=$WORKER_PID
	worker_wait "$p1" 60
	worker_wait "$p2" 60
	# id status exit attempts worker, and whether the result line matches the parameters
	local rows
	rows=$(jobs_table sweep "' '.join(map(str, [j['status'], j['exit_code'], j['attempt'], j['worker'] in ('w1', 'w2'), ('result lr=%g epochs=%s loss=' % (float(j['params']['lr']), j['params']['epochs'])) in j['output_tail']]))")
	expect_eq "$(echo "$rows" | sort | uniq -c | sed 's/^ *//')" "12 completed 0 1 True True" "results"
	expect_contains "$(<w1.log)" "finished: exit 0"
	expect_contains "$(<w2.log)" "finished: exit 0"
	# The loss each run reported (examples/train.py writes it to $WN_RESULTS).
	local losses
	losses=$(wnctl job list --project sweep --all --results loss | awk 'NR > 1 && $NF != "-"' | wc -l)
	expect_eq "$losses" 12 "jobs with a loss"
}

test_priority_order_with_one_slot() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$1" >> $WN_TMP/order', sh, "{n}"]
EOF
	} >w.yaml
	wnctl job add p t --param n=low --priority 1 >/dev/null
	wnctl job add p t --param n=high --priority 9 >/dev/null
	wnctl job add p t --param n=mid --priority 5 >/dev/null
	wnctl job add p t --param n=mid2 --priority 5 >/dev/null
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(tr '\n' ' ' <order)" "high mid mid2 low " "run order"
}

test_nonzero_exit_fails_with_the_code() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<'EOF'
tasks:
  t:
    command: [/bin/sh, -c, 'echo about to fail; exit "$1"', sh, "{code}"]
EOF
	} >w.yaml
	local ok bad
	ok=$(wnctl job add p t --param code=0)
	bad=$(wnctl job add p t --param code=3)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$ok" "j['status']")" completed
	expect_eq "$(job_get "$bad" "j['status']")" failed
	expect_eq "$(job_get "$bad" "j['exit_code']")" 3
	expect_eq "$(job_get "$bad" "j['reason']")" "exit status 3"
	expect_contains "$(job_get "$bad" "j['output_tail']")" "about to fail"
	expect_contains "$(<w1.log)" "job $bad: failed: exit 3"
}

test_retries_give_three_attempts() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --retries 2 >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -c, 'echo "attempt \$WN_ATTEMPT" >> $WN_TMP/runs; exit 1']
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed
	expect_eq "$(job_get "$id" "j['attempt']")" 3 "attempts"
	expect_eq "$(tr '\n' ' ' <runs)" "attempt 1 attempt 2 attempt 3 " "runs"
	local a
	for a in 1 2 3; do
		[ -f "logs/p/t/$id.$a.log" ] || fail "no log file for attempt $a"
	done
}

test_output_tail_is_the_end_of_the_output() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<'EOF'
tail_bytes: 200
tasks:
  t:
    command: [/bin/sh, -c, 'i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; echo "to stderr" >&2; echo last line']
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	local tail
	tail=$(job_get "$id" "j['output_tail']")
	expect_contains "$tail" "line 499"
	expect_contains "$tail" "to stderr"
	expect_contains "$tail" "last line"
	expect_not_contains "$tail" "line 1"$'\n'
	[ "${#tail}" -le 200 ] || fail "tail is ${#tail} bytes, over tail_bytes 200"
	# The whole output is in the job's log file.
	expect_contains "$(head -1 "logs/p/t/$id.1.log")" "line 0"
}

test_missing_parameter_fails_and_runs_nothing() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [touch, "$WN_TMP/ran-{lr}-{epochs}"]
EOF
	} >w.yaml
	local id
	id=$(wnctl job add p t --param lr=0.1)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed
	expect_eq "$(job_get "$id" "j['reason']")" "missing parameter 'epochs'"
	[ -z "$(ls "$WN_TMP" | grep '^ran-' || true)" ] || fail "the command ran"
	expect_contains "$(<w1.log)" "job $id: not run: missing parameter 'epochs'"
}

test_shell_metacharacters_arrive_literally() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [python3, -c, 'import sys, json; open(sys.argv[1], "w").write(json.dumps(sys.argv[2:]))',
              "$WN_TMP/argv-{job.id}.json", "{v}", "--x={v}", "{{v}}", "{job.name}"]
EOF
	} >w.yaml
	local evil='$(touch '"$WN_TMP"'/pwned) ; rm -rf ~ `touch '"$WN_TMP"'/pwned2` | cat > '"$WN_TMP"'/pwned3 & "dq" '"'sq'"' {lr} \n *'
	local id
	id=$(wnctl job add p t --name odd.name-1 --param "v=$evil")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed
	local got want
	got=$(<"argv-$id.json")
	want=$(python3 -c 'import sys, json; print(json.dumps(sys.argv[1:]))' "$evil" "--x=$evil" "{v}" "odd.name-1")
	expect_eq "$got" "$want" "argv"
	[ ! -e pwned ] && [ ! -e pwned2 ] && [ ! -e pwned3 ] || fail "a shell interpreted a value"
}

# A value put into the code of a shell's -c is quoted for the place it lands
# in, as in a SLURM script: it stays one piece of text and never runs; one
# that cannot go where it stands is a configuration error.
test_values_in_the_code_of_sh_c_never_run() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, -ec, 'printf "%s\n" {v} "[{v}]" {v}.x > out-{job.id} # {v}']
    workdir: $WN_TMP
EOF
	} >w.yaml
	local evil='$(touch pwned) ; touch pwned2 `touch pwned3` | cat > pwned4 & "dq" '"'sq'"' {lr} \n *'
	local id
	id=$(wnctl job add p t --param "v=$evil")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(<"out-$id")" "$(printf '%s\n' "$evil" "[$evil]" "$evil.x")" "the output"
	local f
	for f in pwned pwned2 pwned3 pwned4; do
		[ ! -e "$f" ] || fail "a shell ran a value ($f)"
	done
	printf 'projects: p\ntasks:\n  t:\n    command: [bash, -c, "echo $((1 + {n}))"]\n' >arith.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config arith.yaml --check
	expect_eq "$WN_ERR" "wnworker: arith.yaml:4:25: 'command' runs bash -c, whose code cannot take a value there: a value inside arithmetic ((( ... )) or \$(( ... ))); pass values as arguments after the code instead: [sh, -c, 'echo \"\$1\"', sh, \"{v}\"]"
}

# A line break written into a slurm option goes on an #SBATCH line, which it
# would end: every job would fail, so the configuration is refused, naming
# the line (a value's line break fails its job alone).
test_a_slurm_option_with_a_line_break_is_a_config_error() {
	local key
	for key in partition job_name output 'extra: ["--x\nid", --y]'; do
		{
			printf 'projects: p\ntasks:\n  t:\n    formatter: slurm\n    script: echo hi\n'
			printf '    sbatch: /bin/true\n    squeue: /bin/true\n    sacct: /bin/true\n'
			printf '    scancel: /bin/true\n'
			case $key in
			extra*) printf '    %s\n' "$key" ;;
			*) printf '    %s: "gpu\\n#SBATCH --wrap=id"\n' "$key" ;;
			esac
		} >s.yaml
		expect_exit 2 "$WN_BIN/wnworker" --config s.yaml --check
		key=${key%%:*}
		expect_contains "$WN_ERR" "wnworker: s.yaml:10:" "the error for $key"
		expect_contains "$WN_ERR" "'$key' holds a line break: it goes on one #SBATCH line"
	done
}

# An option is taken by its whole name only: a beginning of one would change
# meaning once another option begins the same way.
test_an_option_not_spelled_in_full_is_refused() {
	printf 'projects: p\ntasks:\n  t:\n    command: [/bin/true]\n' >w.yaml
	expect_exit 2 "$WN_BIN/wnworker" --conf w.yaml --check
	expect_eq "$WN_ERR" "wnworker: option '--conf' is not spelled in full (wnworker takes an option by its whole name only): did you mean '--config'?"
	expect_exit 2 "$WN_BIN/wnworker" --config w.yaml --c
	expect_eq "$WN_ERR" "wnworker: option '--c' is not spelled in full (wnworker takes an option by its whole name only): did you mean '--config' or '--check'?"
	# a value that begins with -- is a value, after a short or a long option
	expect_exit 2 "$WN_BIN/wnworker" -c --conf --check
	expect_contains "$WN_ERR" "--conf" "the file named"
	expect_not_contains "$WN_ERR" "spelled in full" "a value taken for an option"
	expect_exit 0 "$WN_BIN/wnworker" --config=w.yaml --check
}

# A RUNAI workload name without the job's id would be one name for several
# jobs: a later attempt of one would follow, or delete, another's workload.
test_a_runai_name_without_the_job_id_is_a_config_error() {
	local name
	for name in "wn-{project}-{attempt}" "---" "{job.name}" "{{job.id}}"; do
		printf 'projects: p\ntasks:\n  t:\n    formatter: runai\n    runai: /bin/true\n' >r.yaml
		printf '    project: team\n    image: img\n    name: "%s"\n' "$name" >>r.yaml
		expect_exit 2 "$WN_BIN/wnworker" --config r.yaml --check
		expect_eq "$WN_ERR" "wnworker: r.yaml:8:11: 'name' must hold {job.id}: without it jobs of the task share a workload name, and one would follow, or delete, the workload of another"
	done
	sed -i 's/name: .*/name: "run-{job.id}"/' r.yaml
	expect_exit 0 "$WN_BIN/wnworker" --config r.yaml --check
}

# Runs at once would write one log (and one results file beside it): with
# several slots, a run's own file must be named after its job.
test_a_log_shared_by_runs_at_once_is_a_config_error() {
	local prog='    sbatch: /bin/true\n    squeue: /bin/true\n    sacct: /bin/true\n    scancel: /bin/true\n'
	printf 'projects: p\nslots: 2\ntasks:\n  t:\n    command: [echo]\n    log: "{task}.log"\n' >l.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config l.yaml --check
	expect_eq "$WN_ERR" "wnworker: l.yaml:6:10: 'log' must hold {job.id} when the worker runs several jobs at once (slots: 2): their runs would share one file"
	sed -i 's/^slots: 2/slots: 1/' l.yaml # one run at a time: its own
	expect_exit 0 "$WN_BIN/wnworker" --config l.yaml --check
	printf "projects: p\nslots: 8\ntasks:\n  t:\n    formatter: slurm\n    script: echo hi\n$prog    output: all.out\n" >s.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config s.yaml --check
	expect_contains "$WN_ERR" "s.yaml:11:13: 'output' must hold {job.id} when the worker runs several jobs at once (slots: 8)"
	printf 'projects: p\nslots: 3\ntasks:\n  t:\n    formatter: runai\n    runai: /bin/true\n    project: team\n    image: img\n    log: "{project}/last.log"\n' >r.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config r.yaml --check
	expect_contains "$WN_ERR" "r.yaml:9:10: 'log' must hold {job.id} when the worker runs several jobs at once (slots: 3)"
}

test_environment_and_builtins() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p train >/dev/null
	{
		worker_head
		cat <<'EOF'
tasks:
  train:
    command: [/bin/sh, -c, 'echo "$WN_JOB_ID|$WN_JOB_NAME|$WN_PROJECT|$WN_TASK|$WN_ATTEMPT|$WN_WORKER|$SEED|$1|$(pwd)"', sh,
              "{job.id}/{job.name}/{project}/{task}/{attempt}/{worker}/{job.priority}"]
    workdir: "{project}-dir"
    env: {SEED: "seed-{seed}"}
EOF
	} >w.yaml
	mkdir p-dir
	local id
	id=$(wnctl job add p train --name first --param seed=42 --priority 7)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed
	expect_eq "$(job_get "$id" "j['output_tail']")" \
		"$id|first|p|train|1|w1|seed-42|$id/first/p/train/1/w1/7|$WN_TMP/p-dir"
	expect_contains "$(<"logs/p/train/$id.1.log")" "seed-42"
}

test_command_that_cannot_start_fails_with_the_reason() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p missing >/dev/null
	wnctl task create p noexec >/dev/null
	printf '#!/bin/sh\necho hi\n' >script.sh
	{
		worker_head
		cat <<EOF
tasks:
  missing:
    command: [no-such-program-for-wn, x]
  noexec:
    command: [$WN_TMP/script.sh]
  nodir:
    command: [/bin/true]
    workdir: $WN_TMP/no-such-dir
  interp:
    command: [$WN_TMP/interp.sh]
EOF
	} >w.yaml
	printf '#!/no/such/python9 -u\nprint(1)\n' >interp.sh
	chmod +x interp.sh
	wnctl task create p nodir >/dev/null
	wnctl task create p interp >/dev/null
	local a b c d
	a=$(wnctl job add p missing)
	b=$(wnctl job add p noexec)
	c=$(wnctl job add p nodir)
	d=$(wnctl job add p interp)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$a" "j['status']")" failed
	expect_eq "$(job_get "$a" "j['reason']")" "cannot start no-such-program-for-wn: not found in PATH"
	expect_eq "$(job_get "$a" "j['exit_code']")" 127
	expect_eq "$(job_get "$b" "j['status']")" failed
	expect_contains "$(job_get "$b" "j['reason']")" "cannot start $WN_TMP/script.sh: not executable"
	expect_eq "$(job_get "$b" "j['exit_code']")" 126
	# nothing ran: -1, not a shell's code
	expect_eq "$(job_get "$c" "j['status']")" failed
	expect_contains "$(job_get "$c" "j['reason']")" "cannot change to directory $WN_TMP/no-such-dir"
	expect_eq "$(job_get "$c" "j['exit_code']")" -1
	# the script is there, the program of its #! line is not
	expect_eq "$(job_get "$d" "j['status']")" failed
	expect_eq "$(job_get "$d" "j['reason']")" "cannot start $WN_TMP/interp.sh: its interpreter /no/such/python9 (its #! line) is not found"
}

# A reason longer than the server takes (a long value in it) is cut, so that
# the job still fails with it rather than running on until its lease ends.
test_a_long_reason_is_cut_and_the_job_fails() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: ["{prog}"]
EOF
	} >w.yaml
	local long id reason
	long=$(printf 'x%.0s' $(seq 1 5000))
	id=$(wnctl job add p t --param "prog=$long")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed
	reason=$(job_get "$id" "j['reason']")
	expect_contains "$reason" "cannot start xxxx"
	expect_eq "${#reason}" 4096 "the reason's length"
	expect_eq "${reason: -3}" "..." "the reason's end"
}

# A parameter with a line break and a terminal escape in it, named in the
# worker's log (a program that is not found), stays on its one line there,
# its control characters written out: no line of the log can be forged.
test_control_characters_of_a_parameter_stay_on_one_log_line() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: ["{prog}"]
EOF
	} >w.yaml
	local prog id
	prog=$(printf 'nope\n2026-01-01T00:00:00.000Z wnworker info: job 99: forged\033[31m')
	id=$(wnctl job add p t --param "prog=$prog")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" failed
	expect_contains "$(<w1.log)" 'cannot start nope\n2026-01-01T00:00:00.000Z wnworker info: job 99: forged\x1b[31m: not found in PATH'
	if grep -q '^2026-01-01T' w1.log; then fail "a log line was forged: $(<w1.log)"; fi
	if grep -q "$(printf '\033')" w1.log; then fail "an escape reached the log"; fi
}

test_once_runs_one_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		printf 'tasks:\n  t:\n    command: [/bin/true]\n'
	} >w.yaml
	local a b
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	worker_start w1 w.yaml --once
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$a" "j['status']")" completed
	expect_eq "$(job_get "$b" "j['status']")" pending
}

test_once_waits_for_a_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		printf 'tasks:\n  t:\n    command: [/bin/true]\n'
	} >w.yaml
	worker_start w1 w.yaml --once
	local pid=$WORKER_PID
	wait_until 10 "the worker to wait for jobs" log_has w1.log "serving project p"
	local id
	id=$(wnctl job add p t)
	worker_wait "$pid"
	expect_eq "$(job_get "$id" "j['status']")" completed
}

test_tasks_missing_from_the_project_are_skipped() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p real >/dev/null
	{
		worker_head
		printf 'tasks:\n  real:\n    command: [/bin/true]\n  elsewhere:\n    command: [/bin/false]\n'
	} >w.yaml
	local id
	id=$(wnctl job add p real)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$id" "j['status']")" completed
}

test_several_projects_are_served() {
	wn_start
	wnctl project create a >/dev/null
	wnctl project create b >/dev/null
	wnctl task create a t >/dev/null
	wnctl task create b t >/dev/null
	{
		worker_head a
		printf 'tasks:\n  t:\n    command: [/bin/true]\n'
	} >w.yaml
	local x y
	x=$(wnctl job add a t)
	y=$(wnctl job add b t)
	worker_start w1 w.yaml --exit-when-empty --project a --project b
	worker_wait "$WORKER_PID"
	expect_eq "$(job_get "$x" "j['status']")" completed
	expect_eq "$(job_get "$y" "j['status']")" completed
}

test_two_workers_never_run_the_same_job() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF
slots: 3
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$WN_JOB_ID \$WN_WORKER" >> $WN_TMP/runs']
EOF
	} >w.yaml
	local i ids=()
	for i in $(seq 1 30); do
		ids+=("$(wnctl job add p t)")
	done
	worker_start w1 w.yaml --exit-when-empty
	local p1=$WORKER_PID
	worker_start w2 w.yaml --exit-when-empty
	local p2=$WORKER_PID
	worker_wait "$p1" 60
	worker_wait "$p2" 60
	expect_eq "$(wc -l <runs | tr -d ' ')" 30 "runs"
	expect_eq "$(cut -d' ' -f1 runs | sort -u | wc -l | tr -d ' ')" 30 "distinct jobs run"
	# Each job ran once, completed, and by the worker the server recorded.
	local rows
	rows=$(jobs_table p "f\"{j['id']} {j['worker']} {j['status']} {j['attempt']}\"")
	expect_eq "$(echo "$rows" | awk '{print $3, $4}' | sort | uniq -c | sed 's/^ *//')" \
		"30 completed 1" "statuses"
	expect_eq "$(awk '{print $1, $2}' <<<"$rows" | sort)" "$(sort runs)" "who ran what"
}

test_usage_and_config_errors() {
	expect_exit 0 "$WN_BIN/wnworker" --help
	expect_contains "$WN_OUT" "usage: wnworker"
	expect_contains "$WN_OUT" "--exit-when-empty"
	# the order the address is taken in: --server, $WN_SERVER, the config's
	expect_contains "$(tr -s ' \n' ' ' <<<"$WN_OUT")" \
		"(default: \$WN_SERVER, then the config's 'server', then tcp://127.0.0.1:7640)"
	expect_exit 0 "$WN_BIN/wnworker" --version
	# the same version as wnd and wnctl, and as the worker announces when it joins
	local v
	v=$("$WN_BIN/wnd" --version | awk '{print $2}')
	[[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "wnd --version: no version number in '$v'"
	expect_eq "$WN_OUT" "wnworker $v (protocol 1)"
	expect_exit 0 wnctl --version
	expect_eq "$WN_OUT" "wnctl $v (protocol 1)"
	expect_exit 2 "$WN_BIN/wnworker" --bogus
	expect_exit 2 "$WN_BIN/wnworker"
	expect_contains "$WN_ERR" "no configuration: pass --config FILE"
	expect_exit 2 "$WN_BIN/wnworker" --config nope.yaml
	expect_eq "$WN_ERR" "wnworker: cannot open nope.yaml: No such file or directory"
	printf 'projects: p\ntasks:\n  t:\n    command: [echo, "{x"]\n' >bad.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config bad.yaml
	expect_eq "$WN_ERR" "wnworker: bad.yaml:4:21: bad template in 'command': unclosed '{' at column 1 (write '{{' for a literal brace)"
	printf 'projects: p\ntasks:\n  t:\n    command: [echo, "{job.idd}"]\n' >field.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config field.yaml --check
	expect_eq "$WN_ERR" "wnworker: field.yaml:4:21: bad template in 'command': unknown field {job.idd} (a job's fields are {job.id}, {job.name} and {job.priority})"
	# a placeholder naming a parameter no job can have (names start with a
	# letter or digit): every job would fail, missing it
	printf 'projects: p\ntasks:\n  t:\n    command: [echo, "{_seed}"]\n' >pname.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config pname.yaml --check
	expect_eq "$WN_ERR" "wnworker: pname.yaml:4:21: bad template in 'command': {_seed} names no parameter a job can have (a parameter's name must start with a letter or digit)"
	printf 'projects: p\ntasks:\n  t:\n    command: [echo, "{param.}"]\n' >pname.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config pname.yaml --check
	expect_contains "$WN_ERR" "{param.} names no parameter a job can have (a parameter's name is empty)"
	printf 'projects: p\ntasks:\n  t:\n    command: [python4, x.py]\n' >prog.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config prog.yaml --check
	expect_eq "$WN_ERR" "wnworker: prog.yaml: task t: program python4 is not on PATH"
	# programs found as the run starts: in the task's workdir, on its PATH
	mkdir -p proj && printf '#!/bin/sh\n' >proj/run.sh && chmod +x proj/run.sh
	cp proj/run.sh proj/mytool
	printf 'projects: p\ntasks:\n  t:\n    command: [./run.sh]\n    workdir: %s/proj\n  u:\n    command: [mytool]\n    env:\n      PATH: "%s/proj:/usr/bin:/bin"\n' "$PWD" "$PWD" >found.yaml
	expect_exit 0 "$WN_BIN/wnworker" --config found.yaml --check
	# a directory is no program, nor is an empty name
	printf 'projects: p\ntasks:\n  t:\n    command: [%s]\n' "$PWD/proj" >dir.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config dir.yaml --check
	expect_eq "$WN_ERR" "wnworker: dir.yaml: task t: program $PWD/proj is not an executable file"
	printf 'projects: p\ntasks:\n  t:\n    command: ["", x]\n' >empty.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config empty.yaml
	expect_eq "$WN_ERR" "wnworker: empty.yaml:4:15: the program (the first item of 'command') must not be empty"
	printf 'projects: p\ntasks:\n  t:\n    command: [sh, -c, "echo ${N:-0}"]\n' >shell.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config shell.yaml --check
	expect_contains "$WN_ERR" "a shell's \${...} is written \${{...}}, its braces doubled"
	printf 'projects: p\ntasks:\n  t:\n    command: [echo\n' >bad2.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config bad2.yaml
	expect_contains "$WN_ERR" "wnworker: bad2.yaml:5:1:"
	printf 'tasks:\n  t:\n    command: [echo]\n' >noproj.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config noproj.yaml
	expect_contains "$WN_ERR" "no project to serve"
	expect_exit 0 "$WN_BIN/wnworker" --config noproj.yaml --project p --check
	expect_eq "$WN_OUT" "noproj.yaml: ok (1 task, 1 project, 1 slot)"
	expect_exit 2 "$WN_BIN/wnworker" --config noproj.yaml --project 'bad name'
	expect_contains "$WN_ERR" "invalid project name 'bad name'"
	# A server address that is none is a configuration error, from the file,
	# --server or $WN_SERVER alike, and --check finds it.
	printf 'server: 127.0.0.1:7640\nprojects: p\ntasks:\n  t:\n    command: [echo]\n' >addr.yaml
	expect_exit 2 "$WN_BIN/wnworker" --config addr.yaml --check
	expect_eq "$WN_ERR" "wnworker: bad server address 127.0.0.1:7640: unsupported address (use tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)"
	expect_exit 2 "$WN_BIN/wnworker" --config addr.yaml --name w1
	# $WN_SERVER and --server replace the file's address, as --help says
	WN_SERVER=ipc://$PWD/w.sock expect_exit 0 "$WN_BIN/wnworker" --config addr.yaml --check
	expect_exit 0 "$WN_BIN/wnworker" --config addr.yaml --server ipc://w.sock --check
	expect_exit 2 "$WN_BIN/wnworker" --config noproj.yaml --project p --server tcp://localhost
	expect_contains "$WN_ERR" "bad server address tcp://localhost: the address needs a port"
	WN_SERVER=localhost:7640 expect_exit 2 "$WN_BIN/wnworker" --config noproj.yaml --project p --check
	# The shipped examples are valid.
	expect_exit 0 "$WN_BIN/wnworker" --config "$REPO/config/worker.yaml" --check
	expect_exit 0 "$WN_BIN/wnworker" --config "$REPO/examples/sweep.yaml" --check
}
