# wnctl for daily use, continued: messages that say what is wrong, columns,
# states as wnctl prints them, help texts, output into a pipe.
source "${BASH_SOURCE[0]%/*}/lib.sh"

test_ctl_grid_number_out_of_range() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local g
	for g in 'k=1..1e400:3' 'k=0..1e-320:3' 'k=log:1e-400..1:3'; do
		expect_exit 2 wnctl job sweep p t --grid "$g"
		expect_contains "$WN_ERR" "is out of range: a number other than 0 must be from 2.2e-308 to 1.8e+308 in size" "--grid '$g'"
		expect_not_contains "$WN_ERR" "must be numbers" "--grid '$g'"
	done
	expect_exit 2 wnctl job sweep p t --grid 'k=1..99999999999999999999'
	expect_contains "$WN_ERR" "invalid range '1..99999999999999999999': B is out of range: integers go from -9223372036854775808 to 9223372036854775807"
	expect_exit 2 wnctl job sweep p t --grid 'k=1..x:3'
	expect_contains "$WN_ERR" "A and B must be numbers" "not a number"
	expect_exit 0 wnctl --json job list --project p --all
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 0 "no job added by the refusals"
}

test_ctl_server_messages_name_states_in_lower_case() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local a b c
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t --after "$b")
	wnctl job cancel "$a" >/dev/null

	# an error from wnd, as wnctl prints it
	expect_exit 6 wnctl job cancel "$a"
	expect_eq "$WN_ERR" "wnctl: job $a is already cancelled" "cancel twice"
	# a job left as it was
	expect_exit 6 wnctl job retry "$b" "$a"
	expect_contains "$WN_OUT" "  job $b is pending; only failed, cancelled or blocked jobs can be retried"
	# why a job waits, in job show, job list and queue show
	expect_exit 0 wnctl job show "$c"
	expect_contains "$WN_OUT" "waiting: waiting for job $b (afterok; it is pending)"
	expect_exit 0 wnctl job list --format id,waiting
	expect_contains "$WN_OUT" "waiting for job $b (afterok; it is pending)" "job list"
	expect_exit 0 wnctl queue show p
	expect_contains "$WN_OUT" "waiting for job $b (afterok; it is pending)" "queue show"
	# a blocked job's reason, in job show, job deps, job list and job wait
	wnctl job cancel "$b" >/dev/null
	expect_exit 0 wnctl job show "$c"
	expect_contains "$WN_OUT" "reason: dependency job $b is cancelled (afterok)"
	expect_exit 0 wnctl job deps "$c"
	expect_contains "$WN_OUT" "blocked (dependency job $b is cancelled (afterok))" "job deps"
	expect_exit 0 wnctl job list --format id,reason
	expect_contains "$WN_OUT" "dependency job $b is cancelled (afterok)" "job list"
	expect_exit 9 wnctl job wait "$c"
	expect_contains "$WN_OUT" "dependency job $b is cancelled (afterok)" "job wait"
	expect_not_contains "$WN_OUT$WN_ERR" "CANCELLED" "job wait"
	# --json keeps wnd's words, as every other client reads them
	expect_exit 0 wnctl --json job show "$c"
	expect_eq "$(jget "$WN_OUT" 'j["reason"]')" "dependency job $b is CANCELLED (afterok)" "--json"
}

test_ctl_job_list_refuses_a_column_named_twice() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job add p t >/dev/null
	local a
	for a in "--format id,id" "--format id,status,id" "--format param.lr,param.lr" \
		"--results loss,loss" "--results loss --results loss" "--format id,result.loss --results loss"; do
		# shellcheck disable=SC2086
		expect_exit 2 wnctl job list $a
		expect_contains "$WN_ERR" "is named twice (each column comes once)" "job list $a"
		expect_eq "$WN_OUT" "" "stdout of job list $a"
	done
	expect_exit 2 wnctl job list --format id,id
	expect_eq "$WN_ERR" "wnctl: invalid --format: column 'id' is named twice (each column comes once) (see 'wnctl job list --help')"
	expect_exit 2 wnctl job list --results loss,loss
	expect_contains "$WN_ERR" "invalid --results: key 'loss' is named twice"
	# columns alike but not the same are fine
	expect_exit 0 wnctl job list --format id,param.a,param.b,params --results loss,acc
	expect_eq "$(head -n 1 <<<"$WN_OUT" | tr -s ' ')" "ID a b PARAMS loss acc" "header"
	expect_exit 0 wnctl job list --help
	expect_contains "$(tr -s ' \n' '  ' <<<"$WN_OUT")" "exit,worker); each at most once" "help of --format"
	expect_contains "$(tr -s ' \n' '  ' <<<"$WN_OUT")" "has none); each key at most once" "help of --results"
}

test_ctl_wait_help_says_which_timeout_is_which() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id flat
	id=$(wnctl job add p t)
	expect_exit 0 wnctl job wait --help
	flat=$(tr -s ' \n' '  ' <<<"$WN_OUT")
	expect_contains "$flat" "--timeout DURATION give up after this long (exit 10)" "own option"
	expect_contains "$flat" "--timeout MS how long to wait for each reply, ms (default 30000); only before the command (wnctl --timeout MS job wait ...): after it, --timeout is this command's own option above" "global option"
	expect_contains "$flat" "global options (before the command or among its options, unless said otherwise):"
	expect_exit 0 wnctl task create --help
	expect_contains "$(tr -s ' \n' '  ' <<<"$WN_OUT")" "(wnctl --timeout MS task create ...)" "task create"
	expect_exit 0 wnctl job show --help
	expect_not_contains "$WN_OUT" "only before the command" "job show has no --timeout of its own"

	# and the parsing does what the help says: after the command, job wait's
	# duration (0 looks once: exit 10); before it, milliseconds per reply
	expect_exit 10 wnctl job wait "$id" --timeout 0
	expect_contains "$WN_ERR" "timed out: 1 job has not ended yet"
	expect_exit 10 wnctl --timeout 5000 job wait --timeout 0 "$id"
	expect_exit 2 wnctl --timeout 1s job wait "$id"
	expect_contains "$WN_ERR" "invalid --timeout '1s': must be an integer from 1 to 86400000"
}

# no_stdout ARGS..., no_stderr ARGS...: wnctl ARGS with stdout (stderr) closed.
no_stdout() { "$WN_BIN/wnctl" "$@" >&-; }
no_stderr() { "$WN_BIN/wnctl" "$@" 2>&-; }

test_ctl_closed_stdout_is_an_error_not_a_message_to_the_server() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	# stdout closed: the output cannot be written, and says so; before, the
	# connection took descriptor 1 and the table went to wnd
	expect_exit 1 no_stdout project list
	expect_eq "$WN_ERR" "wnctl: cannot write output: Bad file descriptor" "project list"
	expect_exit 1 no_stdout job wait "$id" --timeout 0
	expect_exit 1 no_stdout --json job show "$id"
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "malformed" "wnd's log"
	# stderr closed: the error is lost, its exit code is not
	expect_exit 4 no_stderr job show 999
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "malformed" "wnd's log"
	# nothing changed
	expect_exit 0 wnctl --json job list
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 1 "jobs"
}

test_ctl_sweep_refuses_a_grid_value_given_twice() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local g
	for g in 'k=1,1' 'k=a, a' 'seed=1..3,3' 'x=0..1:3,0.5'; do
		expect_exit 2 wnctl job sweep p t --grid "$g"
		expect_contains "$WN_ERR" "is given twice: its jobs would run twice" "--grid '$g'"
	done
	expect_exit 2 wnctl job sweep p t --grid seed=1..3,3 --dry-run
	expect_eq "$WN_ERR" "wnctl: invalid --grid 'seed=1..3,3': value '3' of 'seed' is given twice: its jobs would run twice (see 'wnctl job sweep --help')"
	expect_eq "$WN_OUT" "" "dry run"
	printf 'grid:\n  seed: [1, "1..2"]\n' >d.yaml
	expect_exit 2 wnctl job sweep p t --file d.yaml
	expect_eq "$WN_ERR" "wnctl: d.yaml:2:9: 'grid.seed': value '1' is given twice: its jobs would run twice"
	expect_exit 0 wnctl --json job list --project p --all
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 0 "no job added by the refusals"
	# values alike but not the same are values of their own; a key given again
	# replaces its values, as documented
	expect_exit 0 wnctl job sweep p t --grid 'k=1,01,1.0' --dry-run
	expect_eq "$(awk 'NR > 1 {print $1}' <<<"$WN_OUT" | tr '\n' ' ')" "k=1 k=01 k=1.0 " "values alike"
	expect_exit 0 wnctl job sweep p t --grid k=1 --grid k=2,3 --grid j=1
	expect_contains "$WN_OUT" "2 jobs"
}

# A --param for a key the sweep varies (by --grid, or by the file's grid or
# list) is refused: one of the two would be dropped without a word.
test_ctl_sweep_refuses_a_param_the_sweep_varies() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_exit 2 wnctl job sweep p t --grid lr=1,2 --param lr=3
	expect_eq "$WN_ERR" "wnctl: --param lr=3: 'lr' varies in the sweep (a grid or a list names it), so a --param cannot fix it; leave it out of one of them (see 'wnctl job sweep --help')"
	printf 'grid:\n  lr: [1, 2]\n' >g.yaml
	expect_exit 2 wnctl job sweep p t --file g.yaml --param lr=3
	expect_contains "$WN_ERR" "'lr' varies in the sweep"
	printf 'list:\n  - {lr: 1}\n  - {lr: 2, bs: 8}\n' >l.yaml
	expect_exit 2 wnctl job sweep p t --file l.yaml --param bs=3 --dry-run
	expect_contains "$WN_ERR" "'bs' varies in the sweep"
	expect_eq "$WN_OUT" "" "dry run"
	expect_exit 0 wnctl --json job list --project p --all
	expect_eq "$(jget "$WN_OUT" 'len(j["jobs"])')" 0 "no job added by the refusals"
	# a --param of another key, or one that replaces the file's fixed value, is taken
	printf 'params:\n  bs: 4\ngrid:\n  lr: [1, 2]\n' >p.yaml
	expect_exit 0 wnctl job sweep p t --file p.yaml --param bs=8 --dry-run
	expect_eq "$(awk 'NR > 1 {print $3, $4}' <<<"$WN_OUT" | tr '\n' ' ')" "bs=8 lr=1 bs=8 lr=2 " "params"
}

test_ctl_value_given_to_an_option_that_takes_none() {
	# Usage errors: found before any connection, so no server is needed.
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 2 wnctl job artifact get 1 out/x --force=1
	expect_eq "$WN_ERR" "wnctl: option '--force' takes no value (given '--force=1') (see 'wnctl job artifact --help')"
	expect_exit 2 wnctl job list --all=yes
	expect_contains "$WN_ERR" "option '--all' takes no value (given '--all=yes')"
	expect_exit 2 wnctl sweep results 1 --desc=
	expect_contains "$WN_ERR" "option '--desc' takes no value"
	expect_exit 2 wnctl --json=1 status
	expect_eq "$WN_ERR" "wnctl: option '--json' takes no value (given '--json=1') (see 'wnctl --help')"
	# an unknown option is still one, a short one too
	expect_exit 2 wnctl job list --bogus=1
	expect_eq "$WN_ERR" "wnctl: unknown option '--bogus=1' (see 'wnctl job list --help')"
	expect_exit 2 wnctl job list -Z
	expect_contains "$WN_ERR" "unknown option '-Z'"
}

test_ctl_result_key_no_result_can_have_is_refused() {
	# Usage errors: found before any connection, so no server is needed.
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	# keys separated by a space, not a comma: not a column of '-' for a key
	# no job has, a usage error
	expect_exit 2 wnctl job list --results 'loss acc'
	expect_eq "$WN_ERR" "wnctl: invalid --results 'loss acc': key 'loss acc': a key holds only letters, digits and \"_.-/\" (see 'wnctl job list --help')"
	expect_exit 2 wnctl job list --results "loss,$(printf 'a%.0s' $(seq 1 65))"
	expect_contains "$WN_ERR" "a key is longer than 64 bytes"
	expect_exit 2 wnctl sweep results 1 --sort 'loss '
	expect_eq "$WN_ERR" "wnctl: invalid --sort 'loss ': a key holds only letters, digits and \"_.-/\" (see 'wnctl sweep results --help')"
	expect_exit 2 wnctl sweep results 1 --sort 1st --best 3
	expect_contains "$WN_ERR" "a key starts with a letter or '_'"
	# keys a result can have are taken as they are (the server is not there)
	expect_exit 3 wnctl job list --results loss,acc,eval/top-1_acc.v2
	expect_exit 3 wnctl sweep results 1 --sort _x.y/z-1
}

test_ctl_format_refuses_a_key_no_job_can_have() {
	# Usage errors: found before any connection, so no server is needed.
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	# --format's result.K follows --results' rule: not a column of '-'
	expect_exit 2 wnctl job list --format 'id,result.loss acc'
	expect_eq "$WN_ERR" "wnctl: invalid --format: column 'result.loss acc': a key holds only letters, digits and \"_.-/\" (see 'wnctl job list --help')"
	expect_eq "$WN_OUT" "" "stdout"
	expect_exit 2 wnctl job list --format id,result.1st
	expect_contains "$WN_ERR" "column 'result.1st': a key starts with a letter or '_'"
	# param.K follows the rule of parameter names
	expect_exit 2 wnctl job list --format 'id,param.lr bs'
	expect_eq "$WN_ERR" "wnctl: invalid --format: column 'param.lr bs': name may hold only letters, digits, '.', '_' and '-' (see 'wnctl job list --help')"
	expect_exit 2 wnctl job list --format 'param.日本'
	expect_contains "$WN_ERR" "column 'param.日本': name must start with a letter or digit"
	expect_exit 2 wnctl job list --format "param.$(printf 'k%.0s' $(seq 1 129))"
	expect_contains "$WN_ERR" "name is longer than 128 bytes"
	# keys a parameter or a result can have are taken (the server is not there)
	expect_exit 3 wnctl job list --format id,param.lr,param.0.b-c_d,result.eval/top-1_acc.v2
}

test_ctl_version_with_json_is_a_json_object() {
	local v
	v=$("$WN_BIN/wnd" --version | awk '{print $2}')
	local args
	for args in "--json --version" "--version --json"; do
		# shellcheck disable=SC2086
		expect_exit 0 wnctl $args
		expect_eq "$(jget "$WN_OUT" 'j["version"]')" "$v" "version of wnctl $args"
		expect_eq "$(jget "$WN_OUT" 'j["protocol"]')" 1 "protocol of wnctl $args"
		expect_eq "$WN_ERR" "" "stderr of wnctl $args"
	done
	expect_exit 0 wnctl --version
	expect_eq "$WN_OUT" "wnctl $v (protocol 1)" "without --json"
}

test_ctl_version_as_a_command_points_to_the_option() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 2 wnctl version --json
	expect_eq "$WN_ERR" "wnctl: unknown command 'version' (the version is 'wnctl --version', 'wnctl --json --version' as JSON) (see 'wnctl --help')"
	expect_eq "$WN_OUT" "" "stdout"
}
