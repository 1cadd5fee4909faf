# wnctl for daily use: confirmation of destructive commands, "did you mean",
# grid ranges, --format, plurals, what goes to stdout and stderr.
source "${BASH_SOURCE[0]%/*}/lib.sh"

# on_tty ANSWER CMD...: run CMD with a terminal as its stdin, ANSWER typed on
# it (nothing typed but end-of-file when ANSWER is empty); stdout and stderr
# as they are.
on_tty() {
	python3 - "$@" <<'PY'
import os, subprocess, sys
answer, cmd = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
os.write(master, answer.encode() + b"\n" if answer else b"\x04")
rc = subprocess.run(cmd, stdin=slave).returncode
sys.exit(rc)
PY
}

test_ctl_confirm() {
	wn_start
	wnctl project create p1 >/dev/null
	wnctl task create p1 t >/dev/null
	wnctl job add p1 t >/dev/null

	# On a terminal: asked; anything but y/yes changes nothing (exit 1).
	local a
	for a in n no "" "yes please"; do
		expect_exit 1 on_tty "$a" "$WN_BIN/wnctl" project delete p1
		expect_contains "$WN_ERR" "delete project p1 with all its tasks and jobs? [y/N]" "prompt"
		expect_contains "$WN_ERR" "wnctl: not confirmed: nothing changed" "refusal"
		expect_eq "$WN_OUT" "" "stdout when refused"
	done
	expect_exit 1 on_tty n "$WN_BIN/wnctl" queue clear p1
	expect_contains "$WN_ERR" "remove every pending job of project p1? [y/N]"
	expect_exit 1 on_tty n "$WN_BIN/wnctl" queue clear p1 --task t
	expect_contains "$WN_ERR" "remove the pending jobs of task p1/t? [y/N]"
	expect_exit 1 on_tty n "$WN_BIN/wnctl" task delete p1 t
	expect_contains "$WN_ERR" "delete task p1/t with all its jobs? [y/N]"
	expect_exit 1 on_tty n "$WN_BIN/wnctl" token revoke someone
	expect_contains "$WN_ERR" "revoke token someone: every call with it is refused from now on? [y/N]"
	expect_exit 0 wnctl job show 1

	# y (or yes) goes ahead; --yes and -y ask nothing.
	expect_exit 0 on_tty Y "$WN_BIN/wnctl" queue clear p1 --task t
	expect_contains "$WN_OUT" "removed 1 pending job"
	wnctl job add p1 t >/dev/null
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" queue clear p1 --yes
	expect_not_contains "$WN_ERR" "[y/N]" "--yes"
	wnctl job add p1 t >/dev/null
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" queue clear -y p1
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" task delete --yes p1 t
	expect_exit 0 on_tty yes "$WN_BIN/wnctl" project delete p1
	expect_contains "$WN_OUT" "deleted project p1"

	# Not a terminal (a script, a pipe): no question, as before.
	wnctl project create p2 >/dev/null
	expect_exit 0 wnctl project delete p2 </dev/null
	expect_eq "$WN_ERR" "" "stderr off a terminal"
	# --yes belongs to the commands that ask, and their usage names it.
	expect_exit 2 wnctl project list --yes
	local cmd
	for cmd in "project delete" "task delete" "queue clear" "sweep cancel" "token revoke"; do
		# shellcheck disable=SC2086
		expect_exit 0 wnctl $cmd --help
		expect_contains "$(head -n 1 <<<"$WN_OUT")" "[--yes]" "usage of $cmd"
	done
	# the commands that never ask take --yes, and their help says they ask nothing
	wnctl project create p3 >/dev/null
	wnctl task create p3 t >/dev/null
	wnctl job add p3 t >/dev/null
	for cmd in retry priority hold release; do
		expect_exit 0 wnctl job "$cmd" --help
		expect_contains "$WN_OUT" "this command asks nothing" "help of job $cmd"
		expect_not_contains "$WN_OUT" "do not ask for confirmation" "help of job $cmd"
	done
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" job hold --project p3 --yes
	expect_not_contains "$WN_ERR" "[y/N]" "job hold"
	expect_exit 0 wnctl job cancel --help
	expect_contains "$WN_OUT" "do not ask for confirmation on a terminal" "help of job cancel"
}

# sweep_params PROJECT SWEEP: the parameters of the sweep's jobs, one job a
# line, "k=v k=v" in the job's order.
sweep_params() {
	wnctl --json job list --project "$1" --sweep "$2" --all | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    print(" ".join(k + "=" + v for k, v in sorted(j.get("params", {}).items())))'
}

test_ctl_grid_ranges() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_exit 0 wnctl job sweep p t --grid seed=1..3 --grid 'lr=log:1e-4..1e-1:4'
	expect_contains "$WN_OUT" "12 jobs"
	local got
	got=$(sweep_params p 1 | tr '\n' ';')
	expect_eq "$got" "lr=0.0001 seed=1;lr=0.001 seed=1;lr=0.01 seed=1;lr=0.1 seed=1;lr=0.0001 seed=2;lr=0.001 seed=2;lr=0.01 seed=2;lr=0.1 seed=2;lr=0.0001 seed=3;lr=0.001 seed=3;lr=0.01 seed=3;lr=0.1 seed=3;" "seed x log lr"

	# Ranges among values, counting down, linear with a count, blanks trimmed,
	# and what only looks like a range is a value.
	expect_exit 0 wnctl job sweep p t --grid ' x = 3..1, 7 ' --grid 'y=0..1:5,../d,a..b'
	got=$(sweep_params p 13 | awk '{print $1}' | uniq | tr '\n' ' ')
	expect_eq "$got" "x=3 x=2 x=1 x=7 " "x values"
	got=$(sweep_params p 13 | awk 'NR <= 7 {print $2}' | tr '\n' ' ')
	expect_eq "$got" "y=0 y=0.25 y=0.5 y=0.75 y=1 y=../d y=a..b " "y values"

	# In a sweep file: a scalar range and a range in a list.
	printf 'grid:\n  seed: 1..2\n  lr: [0.5, "log:1e-3..1e-1:3"]\n' >s.yaml
	expect_exit 0 wnctl job sweep p t --file s.yaml --dry-run
	expect_eq "$(echo "$WN_OUT" | awk 'NR>1 {print $1}' | tr '\n' ' ')" \
		"seed=1,lr=0.5 seed=1,lr=0.001 seed=1,lr=0.01 seed=1,lr=0.1 seed=2,lr=0.5 seed=2,lr=0.001 seed=2,lr=0.01 seed=2,lr=0.1 " "file ranges"

	# Bad ranges, empty values and empty parameters: usage errors, nothing sent.
	local g
	for g in 'x=1..1O' 'x=log:1..2' 'x=log:0..1:3' 'x=1..2:1' 'x=1..1000000' 'x=1.5..3' \
		'x=1, ,2' ' =1' 'x=log:a..b:3'; do
		expect_exit 2 wnctl job sweep p t --grid "$g"
		expect_contains "$WN_ERR" "wnctl: invalid --grid" "--grid '$g'"
	done
	expect_contains "$(wnctl job sweep p t --grid x=1..1O 2>&1 || true)" "invalid range '1..1O': A..B without a count takes integers"
	printf 'grid:\n  seed: 1..x\n' >b.yaml
	expect_exit 2 wnctl job sweep p t --file b.yaml
	expect_contains "$WN_ERR" "b.yaml:2:9: 'grid.seed': invalid range '1..x'"
	expect_exit 2 wnctl job add p t --param lr=
	expect_contains "$WN_ERR" "invalid --param 'lr=': empty value"
	expect_exit 2 wnctl job sweep p t --grid x=1,2 --param lr=
	expect_exit 0 wnctl --json job list --project p --all
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 40 "no job added by the refusals"
}

test_ctl_plurals_and_streams() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job add p t >/dev/null
	expect_exit 0 wnctl job sweep p t --grid x=1
	expect_eq "$WN_OUT" "sweep 2: 1 job (id 2)"
	expect_exit 0 wnctl job sweep p t --grid x=1,2
	expect_eq "$WN_OUT" "sweep 3: 2 jobs (ids 3-4)"
	printf '{"name": "a"}\n' >one.json
	expect_exit 0 wnctl job batch one.json --project p --task t --sweep s
	expect_eq "$WN_OUT" 5 "batch ids on stdout"
	expect_eq "$WN_ERR" "wnctl: sweep 5: 1 job" "batch sweep note"
	# A job that reported nothing: the answer is on stdout, stderr stays empty.
	expect_exit 0 wnctl job history 1
	expect_eq "$WN_OUT" "job 1 attempt 0 reported no numbers"
	expect_eq "$WN_ERR" ""
	expect_exit 0 wnctl job history 1 --key loss --key acc
	expect_eq "$WN_OUT" "job 1 attempt 0 reported no numbers under keys loss, acc"
	expect_exit 0 wnctl queue clear p --task t --yes
	expect_eq "$WN_OUT" "removed 5 pending jobs"
	wnctl job add p t >/dev/null
	expect_exit 0 wnctl queue clear p --yes
	expect_eq "$WN_OUT" "removed 1 pending job"
	wnctl task create p u >/dev/null
	wnctl job add p u >/dev/null
	expect_exit 0 wnctl task delete p u --yes
	expect_eq "$WN_OUT" "deleted task p/u (1 job removed)"
	expect_exit 0 wnctl project delete p --yes
	expect_eq "$WN_OUT" "deleted project p (1 task, 0 jobs removed)"
}

# A batch file is read up to a bound: an input that does not end (a device,
# a pipe) is refused rather than read until memory runs out.
test_ctl_batch_input_is_bounded() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local rc=0
	head -c 300000000 /dev/zero | tr '\0' ' ' | wnctl job batch - --project p --task t \
		2>err.txt || rc=$?
	expect_eq "$rc" 1 "exit status"
	expect_eq "$(<err.txt)" "wnctl: cannot read stdin: larger than 268435456 bytes (a batch is sent in one request of at most 16777216 bytes)"
	expect_eq "$(wnctl job list --format id)" "ID" "jobs"
}

# A request larger than the server takes is refused before it is sent, the
# same way whatever its size (past 64 MiB the server would drop the
# connection, which looks like a server out of reach).
test_ctl_oversized_request_is_not_sent() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	python3 -c '
import json
v = "x" * 900000
for i in range(80):
    print(json.dumps({"name": "b%d" % i, "params": {"v": v}}))' >big.json
	expect_exit 7 wnctl job batch big.json --project p --task t
	expect_contains "$WN_ERR" "wnctl: request of 720"
	expect_contains "$WN_ERR" "bytes exceeds the limit of 16777216 bytes"
	expect_eq "$(wnctl job list --format id)" "ID" "jobs"
}

# An empty filter (a script's unset variable) is a usage error, never "every
# job": the command it narrows changes nothing.
test_ctl_empty_filter_is_refused() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p a >/dev/null
	wnctl task create p b >/dev/null
	wnctl job add p a >/dev/null
	wnctl job add p b >/dev/null
	expect_exit 2 wnctl queue clear p --task '' --yes
	expect_eq "$WN_ERR" "wnctl: invalid --task '': an empty value (leave --task out for all) (see 'wnctl queue clear --help')"
	expect_exit 2 wnctl job cancel --project p --task '' --yes
	expect_exit 2 wnctl job hold --project p --name ''
	expect_exit 2 wnctl job list --task ''
	expect_exit 2 wnctl job list --submitter ''
	expect_exit 2 wnctl sweep list ''
	expect_exit 2 wnctl queue stats ''
	expect_exit 2 wnctl job wait --project ''
	expect_eq "$(wnctl job list --format id,status | tr -s ' ' | tr '\n' ';')" \
		"ID STATUS;1 pending;2 pending;" "the jobs"
	expect_eq "$(wnctl job show 1 | grep -c held)" 0 "job 1 held"
}

# one_line WHAT: $WN_ERR is exactly one line (no line break inside it).
one_line() {
	[ "$(printf '%s\n' "$WN_ERR" | wc -l)" -eq 1 ] || fail "$1: not one line: $WN_ERR"
}

test_ctl_error_messages_are_one_line() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# the server's message quotes the name: its line break, tab and CR are escaped
	expect_exit 7 wnctl project create $'a\nb'
	one_line "project create"
	expect_contains "$WN_ERR" 'wnctl: invalid project name "a\x0ab"'
	expect_exit 7 wnctl job add p t --name $'n\nm\t\r'
	one_line "job add --name"
	expect_contains "$WN_ERR" 'invalid job name "n\x0am\x09\x0d"'
	expect_exit 7 wnctl job add p $'t\n\e[2J'
	one_line "job add TASK"
	expect_contains "$WN_ERR" '"t\x0a\x1b[2J"'
	# with --json too: the message is on stderr, not JSON
	expect_exit 7 wnctl --json project create $'a\nb'
	one_line "--json project create"
	expect_contains "$WN_ERR" '"a\x0ab"'
	# an argument quoted in a usage error
	expect_exit 2 wnctl job show $'1\n2'
	one_line "job show"
	expect_contains "$WN_ERR" "invalid job id '1\x0a2'"
}

test_ctl_id_out_of_range() {
	# Every command's ids: one past the largest is said to be out of range.
	local big=18446744073709551616 max=18446744073709551615
	expect_exit 2 wnctl job show "$big"
	expect_contains "$WN_ERR" "invalid job id '$big': out of range (at most $max)"
	expect_not_contains "$WN_ERR" "positive integer"
	expect_exit 2 wnctl job cancel 1 "99$big"
	expect_contains "$WN_ERR" "out of range (at most $max)"
	expect_exit 2 wnctl job wait --sweep "$big"
	expect_contains "$WN_ERR" "invalid sweep id '$big': out of range"
	expect_exit 2 wnctl sweep show "$big"
	expect_contains "$WN_ERR" "out of range"
	expect_exit 2 wnctl job add p t --after "$big:afterany"
	expect_contains "$WN_ERR" "invalid --after '$big:afterany': job id out of range (at most $max)"
	expect_exit 2 wnctl job list --after "$big"
	expect_contains "$WN_ERR" "invalid --after '$big': out of range (at most $max)"
	# what is not a number still says so
	expect_exit 2 wnctl job show "${big}x"
	expect_contains "$WN_ERR" "must be a positive integer"
	expect_exit 2 wnctl job list --after -1
	expect_contains "$WN_ERR" "invalid --after '-1': must be a non-negative integer"
	# the largest id is one: the server is asked
	wn_start
	expect_exit 4 wnctl job show "$max"
	expect_contains "$WN_ERR" "$max"
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	expect_exit 7 wnctl job add p t --after "$max"
	expect_contains "$WN_ERR" "dependency on unknown job $max"
	# past every id, a page is empty; from 0, it holds the job
	expect_eq "$(jget "$(wnctl --json job list --after "$max")" 'len(j["jobs"])')" 0 \
		"a page after the largest id"
	expect_eq "$(jget "$(wnctl --json job list --after 0)" 'j["jobs"][0]["id"]')" "$id" \
		"a page from 0"
}

test_ctl_did_you_mean() {
	# Usage errors: found before any connection, so no server is needed.
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 2 wnctl jbo list
	expect_eq "$WN_ERR" "wnctl: unknown command 'jbo' (did you mean 'job'?) (see 'wnctl --help')"
	expect_exit 2 wnctl help porject
	expect_contains "$WN_ERR" "(did you mean 'project'?)"
	expect_exit 2 wnctl job lsit
	expect_eq "$WN_ERR" "wnctl: unknown job command 'lsit' (did you mean 'list'?) (see 'wnctl job --help')"
	expect_exit 2 wnctl help sweep reslts
	expect_contains "$WN_ERR" "(did you mean 'results'?)"
	expect_exit 2 wnctl job list --stauts failed
	expect_contains "$WN_ERR" "unknown option '--stauts' (did you mean '--status'?)"
	expect_exit 2 wnctl job list --lmit=3
	expect_contains "$WN_ERR" "(did you mean '--limit'?)"
	expect_exit 2 wnctl --sever x status
	expect_contains "$WN_ERR" "(did you mean '--server'?)"
	expect_exit 2 wnctl job list --a
	expect_contains "$WN_ERR" "ambiguous option '--a': --after, --all"
	# a column as the table heads it
	expect_exit 2 wnctl job list --format ID,NAME
	expect_eq "$WN_ERR" "wnctl: invalid --format: unknown column 'ID' (did you mean 'id'?) (see 'wnctl job list --help')"
	# Nothing near: no guess.
	expect_exit 2 wnctl frobnicate
	expect_eq "$WN_ERR" "wnctl: unknown command 'frobnicate' (see 'wnctl --help')"
	expect_exit 2 wnctl job list --zzzzzzzz
	expect_not_contains "$WN_ERR" "did you mean"

	# Batch files: a mistyped field names the field meant.
	printf '{"name": "a", "prioity": 3}\n' >b1.json
	expect_exit 2 wnctl job batch b1.json --project p --task t
	expect_contains "$WN_ERR" 'unknown field "prioity" (did you mean "priority"?)'
	printf '{"name": "a", "after": [{"jbo_id": 1}]}\n' >b2.json
	expect_exit 2 wnctl job batch b2.json --project p --task t
	expect_contains "$WN_ERR" '"after": unknown field "jbo_id" (did you mean "job_id"?)'
	printf '{"sweep": {"max_runing": 2}, "jobs": [{"name": "a"}]}\n' >b3.json
	expect_exit 2 wnctl job batch b3.json --project p --task t
	expect_contains "$WN_ERR" '"sweep": unknown field "max_runing" (did you mean "max_running"?)'
	printf '{"jobs": [{"name": "a"}], "swep": {}}\n' >b4.json
	expect_exit 2 wnctl job batch b4.json --project p --task t
	expect_contains "$WN_ERR" 'unknown field "swep" (did you mean "sweep"?'
}

test_ctl_job_list() {
	wn_start
	wnctl project create p >/dev/null
	wnctl project create q >/dev/null
	wnctl project create r >/dev/null
	wnctl task create p t >/dev/null
	wnctl task create q t >/dev/null
	wnctl task create r t >/dev/null
	wnctl job sweep p t --grid seed=1..3 --grid lr=0.1,0.2 >/dev/null # ids 1-6
	wnctl job add q t --name other --param x=1 >/dev/null            # id 7
	wnctl job add r t --name elsewhere >/dev/null                    # id 8
	wnctl job cancel 3 >/dev/null
	wnctl job cancel 7 >/dev/null

	# --last N: the newest first, of what the filters select; no "more" note.
	expect_exit 0 wnctl job list --last 3
	expect_eq "$(awk 'NR>1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "8 7 6 " "--last 3"
	expect_eq "$WN_ERR" "" "--last: no note"
	expect_exit 0 wnctl job list --last 2 --project p
	expect_eq "$(awk 'NR>1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "6 5 " "--last 2 --project p"
	expect_exit 0 wnctl --json job list --last 1
	expect_eq "$(jget "$WN_OUT" '[x["id"] for x in j["jobs"]]')" '[8]' "--json --last 1"

	# Several states and projects, repeated or with commas, and a name glob.
	expect_exit 0 wnctl job list --status cancelled,failed
	expect_eq "$(awk 'NR>1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "3 7 " "two states"
	expect_exit 0 wnctl job list --status cancelled --status pending --project q --project r
	expect_eq "$(awk 'NR>1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "7 8 " "states x projects"
	expect_exit 0 wnctl job list --project p,q --name 'seed=2*'
	expect_eq "$(awk 'NR>1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "3 4 " "name glob"

	# --format: chosen columns, parameters, times.
	expect_exit 0 wnctl job list --project p,q --format 'id, param.lr,params,status' --status cancelled
	expect_eq "$WN_OUT" "ID  lr   PARAMS         STATUS
3   0.1  seed=2 lr=0.1  cancelled
7   -    x=1            cancelled" "--format"
	wnctl job hold 2 >/dev/null
	expect_exit 0 wnctl job list --project p --status pending --format id,held --last 5
	expect_eq "$(awk 'NR>1' <<<"$WN_OUT" | tr -s " " | tr "\n" ";")" "6 -;5 -;4 -;2 held;1 -;" "held column"
	expect_exit 0 wnctl job list --last 1 --format id,created,started,wait,duration
	expect_contains "$WN_OUT" "ID  CREATED"
	[[ $(tail -1 <<<"$WN_OUT") =~ ^8\ +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[-+][0-9:]{5}\ +-\ +[0-9]+s\ +-$ ]] ||
		fail "times: $WN_OUT"

	# Bad input: usage errors, before anything is sent.
	expect_exit 2 wnctl job list --format id,stauts
	expect_contains "$WN_ERR" "unknown column 'stauts' (did you mean 'status'?)"
	expect_exit 2 wnctl job list --format 'id,,name'
	expect_exit 2 wnctl job list --last 2 --all
	expect_contains "$WN_ERR" "--last N goes alone"
	expect_exit 2 wnctl job list --last 0
	expect_exit 2 wnctl job list --status pending,nope
	expect_contains "$WN_ERR" "invalid --status 'nope'"
	expect_exit 2 wnctl job list --project p,
}

# complete WORD...: what bash offers after `wnctl WORD...` (the last word being
# completed) with completion/wnctl.bash loaded, one a line, sorted.
complete_words() {
	local script
	script=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/completion/wnctl.bash
	PATH=$WN_BIN:$PATH bash -c 'source "$1"; shift
		COMP_WORDS=(wnctl "$@"); COMP_CWORD=$#; _wnctl
		printf "%s\n" "${COMPREPLY[@]}" | sort' complete "$script" "$@"
}

test_ctl_completion() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # completion needs no server
	expect_eq "$(complete_words jo)" "job"
	expect_eq "$(complete_words job li)" "list"
	expect_eq "$(complete_words job l | tr '\n' ' ')" "list log "
	expect_eq "$(complete_words --server tcp://127.0.0.1:1 job list --la)" "--last"
	expect_eq "$(complete_words job list --status fa)" "failed"
	expect_eq "$(complete_words project list --status '' | tr '\n' ' ')" "active archived "
	expect_eq "$(complete_words worker list --state '' | tr '\n' ' ')" "active gone lost "
	# --status=fa: bash makes the '=' a word of its own, after the option
	expect_eq "$(complete_words job list --status = fa)" "failed"
	expect_eq "$(complete_words job list --status = | tr '\n' ' ')" \
		"blocked cancelled completed failed pending running " "right after '='"
	expect_eq "$(complete_words project list --status = ar)" "archived"
	# a list of states completes its last item, never one it holds
	expect_eq "$(complete_words job list --status pending,fa)" "pending,failed"
	expect_eq "$(complete_words job cancel --status running,pending, | tr '\n' ' ')" \
		"running,pending,blocked running,pending,cancelled running,pending,completed running,pending,failed "
	expect_eq "$(complete_words token create x --role '' | tr '\n' ' ')" "admin reader user worker "
	expect_eq "$(complete_words sweep results 1 --format '' | tr '\n' ' ')" "csv json table "
	expect_eq "$(complete_words sweep results 1 --format = c)" "csv"
	expect_eq "$(complete_words job list --status pending --fo)" "--format"
	# between the noun and its verb: the options of its verbs, and their values
	expect_eq "$(complete_words job --status pe)" "pending"
	expect_eq "$(complete_words job --status pending li)" "list"
	expect_eq "$(complete_words job --las)" "--last"
	expect_eq "$(complete_words project delete --y)" "--yes"
	expect_eq "$(complete_words status --js)" "--json"
	expect_eq "$(complete_words help sw)" "sweep"
	# the word before a command's arguments, and no option the command refuses
	expect_eq "$(complete_words job artifact '')" "get"
	expect_eq "$(complete_words job artifact get '')" ""
	expect_eq "$(complete_words --v)" "--version"
	expect_eq "$(complete_words job list --v)" ""
	expect_eq "$(wnctl __complete task create --ti)" "--timeout"
	# every noun, and help, at the start
	expect_eq "$(complete_words '' | tr '\n' ' ')" "admin help job project queue status sweep task token worker "
	# every command of `wnctl --help` completes: each noun's verbs
	local noun want help
	help=$(wnctl --help)
	for noun in project task job queue sweep worker admin token; do
		want=$(awk -v n="$noun" '$1 == "wnctl" && $2 == n {print $3}' <<<"$help" | sort -u)
		expect_eq "$(wnctl __complete "$noun" '' | sort)" "$want" "verbs of $noun"
	done
	# nothing known: bash falls back to file names (no candidates from wnctl)
	expect_eq "$(wnctl __complete nope '')" ""
}

# status shows the sweeps still going and the newest finished ones; --all and
# --json every one.
test_ctl_status_sweeps() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local i id attempt
	for i in 1 2 3 4 5 6 7; do
		wnctl job sweep p t --grid a="$i" >/dev/null
		read -r id attempt < <(wnctl queue fetch p --worker w)
		wnctl queue complete "$id" "$attempt" --worker w --fail >/dev/null
	done
	wnctl job sweep p t --grid a=1,2 >/dev/null # sweep 8, pending
	# sweep 1 goes on: one of its jobs is retried
	wnctl job retry 1 >/dev/null
	expect_exit 0 wnctl status
	expect_eq "$(awk '/^SWEEP/ {on = 1; next} on && /^[0-9]/ {printf "%s ", $1}' <<<"$WN_OUT")" \
		"1 3 4 5 6 7 8 " "the sweeps shown"
	expect_eq "$(tail -n 1 <<<"$WN_OUT")" \
		"(1 older finished sweep not shown: wnctl status --all, or wnctl sweep list)" "the last line"

	expect_exit 0 wnctl status --all
	expect_eq "$(awk '/^SWEEP/ {on = 1; next} on && /^[0-9]/ {printf "%s ", $1}' <<<"$WN_OUT")" \
		"1 2 3 4 5 6 7 8 " "the sweeps shown with --all"
	expect_not_contains "$WN_OUT" "not shown" "status --all"
	expect_eq "$(wnctl --json status | jq -c '[.sweeps[].id | tonumber]')" "[1,2,3,4,5,6,7,8]" \
		"status --json"
	expect_exit 2 wnctl status --al1
}

# An empty parameter value is refused alike by job add, job update, job
# sweep and job batch (a template would put an empty word where the value
# goes); nothing is stored.
test_ctl_empty_parameter_value_is_refused_everywhere() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_exit 2 wnctl job add p t --param lr=
	expect_exit 2 wnctl job sweep p t --grid lr=0.1, --grid seed=1
	echo '{"params": {"lr": 0.1}}
{"params": {"lr": ""}}' >b.json
	expect_exit 2 wnctl job batch b.json --project p --task t
	expect_eq "$WN_ERR" "wnctl: b.json line 2: parameter \"lr\" has an empty value (a parameter needs a value) (see 'wnctl job batch --help')"
	echo '[{"params": {"seed": 1, "tag": ""}}]' >a.json
	expect_exit 2 wnctl job batch a.json --project p --task t
	expect_contains "$WN_ERR" "parameter \"tag\" has an empty value"
	expect_eq "$(wnctl job list --format id)" "ID" "jobs"
	# a value of blanks is a value
	expect_exit 0 wnctl job batch - --project p --task t <<<'{"params": {"lr": " "}}'
	expect_eq "$WN_OUT" 1 "the id"
}

# col_starts LINE...: the display column where each line's last word starts
# (wide characters such as 日 take two columns, combining marks none).
col_starts() {
	python3 -c '
import sys, unicodedata
def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
for line in sys.stdin.read().splitlines():
    print(width(line[:line.rstrip().rfind(" ") + 1]))'
}

# Tables line up on a terminal whatever the values: a wide character (CJK)
# takes two columns, a combining accent none.
test_ctl_tables_align_wide_and_combining_characters() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job add p t --param k=日本語 --param e=$'e\xcc\x81x' >/dev/null
	wnctl job add p t --param k=abc --param e=x >/dev/null
	local out
	out=$(wnctl job list --format id,param.k,param.e,status)
	expect_eq "$(col_starts <<<"$out" | sort -u | wc -l)" 1 "where the last column starts: $out"
	out=$(wnctl job list --format id,params,status)
	expect_eq "$(col_starts <<<"$out" | sort -u | wc -l)" 1 "where the last column starts: $out"
}

# A job named twice to job wait counts once, in the summary and in the
# list of those that did not complete, however many ids there are.
test_ctl_wait_counts_a_job_named_twice_once() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid k=1..1001 >/dev/null
	wnctl job cancel --sweep 1 --yes >/dev/null
	expect_exit 9 wnctl job wait 2 1 2
	expect_eq "$WN_OUT" "2 jobs: 2 cancelled
ID  NAME  STATE      REASON
2   k=2   cancelled  cancelled by user
1   k=1   cancelled  cancelled by user" "job wait 2 1 2"
	# past the ids one request takes (1000), the same
	expect_exit 9 wnctl job wait $(seq 1 1001) 1
	expect_eq "$(head -1 <<<"$WN_OUT")" "1001 jobs: 1001 cancelled" "job wait 1..1001 1"
}

# The filters of job list select the same jobs in job cancel, retry, hold,
# release and remove: --status and --project take lists separated by commas
# there too, so that a list previewed is the list acted on.
test_ctl_bulk_filters_take_lists_as_job_list_does() {
	wn_start
	local p
	for p in p q r; do
		wnctl project create "$p" >/dev/null
		wnctl task create "$p" t >/dev/null
		wnctl job add "$p" t >/dev/null
		wnctl job add "$p" t >/dev/null
	done
	# jobs 1-6: p 1 2, q 3 4, r 5 6
	wnctl job cancel 1 3 5 --yes >/dev/null
	expect_eq "$(wnctl job list --project p,q --status cancelled,pending --format id | tr '\n' ' ')" \
		"ID 1 2 3 4 " "job list"
	expect_exit 0 wnctl job hold --project p,q --status pending,blocked
	expect_eq "$WN_OUT" "held 2 jobs: 2, 4"
	expect_exit 0 wnctl job retry --project p,q --status failed,cancelled
	expect_eq "$WN_OUT" "retried 2 jobs: 1, 3"
	expect_exit 0 wnctl job cancel --project p,q --status pending --yes
	expect_eq "$WN_OUT" "cancelled 4 jobs: 1, 2, 3, 4"
	expect_eq "$(wnctl job list --status pending --format id | tr '\n' ' ')" "ID 6 " "pending after"
	# an empty item is a usage error, as in job list
	expect_exit 2 wnctl job remove --project p, --yes
	expect_eq "$WN_ERR" "wnctl: invalid --project 'p,': an empty item (see 'wnctl job remove --help')"
	expect_exit 2 wnctl job retry --status ,failed
	expect_eq "$(wnctl job list --format id | wc -l)" 7 "jobs after the refused ones"
}

# A parameter name the server refuses (_x, 日本) is a usage error of job
# sweep before anything is sent, --dry-run included: a preview that passes
# is a sweep the server takes.
test_ctl_sweep_refuses_parameter_names_the_server_refuses() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_exit 2 wnctl job sweep p t --grid _x=1,2 --dry-run
	expect_eq "$WN_ERR" "wnctl: invalid parameter name '_x': name must start with a letter or digit (see 'wnctl job sweep --help')"
	expect_exit 2 wnctl job sweep p t --grid x=1,2 --param 日本=1
	expect_contains "$WN_ERR" "invalid parameter name '日本'"
	printf 'list:\n  - {"a b": 1}\n  - {"a b": 2}\n' >s.yaml
	expect_exit 2 wnctl job sweep p t --file s.yaml --dry-run
	expect_contains "$WN_ERR" "invalid parameter name 'a b'"
	expect_eq "$(wnctl job list --format id)" "ID" "jobs"
	# names the server takes still pass
	expect_exit 0 wnctl job sweep p t --grid x.y-z=1,2 --param 9lives=1
	expect_eq "$WN_OUT" "sweep 1: 2 jobs (ids 1-2)"
}

# job priority takes the jobs, then the priority: a lone argument is said
# to be a priority with no job, and changes nothing.
test_ctl_priority_with_one_argument_says_what_is_missing() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job add p t >/dev/null
	expect_exit 2 wnctl job priority 1
	expect_eq "$WN_ERR" "wnctl: missing the jobs or the priority: job priority ID... N takes the jobs, then the new priority ('1' alone is the priority of no job) (see 'wnctl job priority --help')"
	expect_eq "$(wnctl job list --format prio)" "PRIO
   0" "priority"
	expect_exit 0 wnctl job priority 1 5
	expect_eq "$WN_OUT" "job 1: priority 5"
}

test_ctl_sweep_refuses_a_row_given_twice() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# Two rows of a file's list with the same parameters, in any order,
	# would run the same job twice: refused, nothing is sent.
	printf 'list:\n  - {model: a, bs: 1}\n  - {model: b, bs: 1}\n  - {bs: 1, model: a}\n' >r.yaml
	expect_exit 2 wnctl job sweep p t --file r.yaml
	expect_contains "$WN_ERR" "rows 1 and 3 of the list are the same" "rows message"
	printf 'list:\n  - {model: a, bs: 1}\n  - {model: a, bs: 11}\n  - {model: a1, bs: 1}\n' >r2.yaml
	expect_exit 0 wnctl job sweep p t --file r2.yaml --dry-run
	expect_eq "$(wnctl --json job list --project p | jq '.jobs | length')" 0 "jobs stored"
}
