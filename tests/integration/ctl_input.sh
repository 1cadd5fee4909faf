# wnctl's inputs: files read whole ("-" for stdin), standard streams closed or
# gone, odd values.
source "${BASH_SOURCE[0]%/*}/lib.sh"

# job sweep --file - reads the sweep from stdin, with the checks of a file:
# a mistake names stdin with its place and submits nothing, and an input that
# does not end is refused at the bound.
test_ctl_sweep_file_from_stdin() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	expect_exit 0 wnctl job sweep p t --file - --name 'x{x}' <<<$'grid:\n  x: [1, 2]\nparams: {y: 3}'
	expect_eq "$WN_OUT" "sweep 1: 2 jobs (ids 1-2)"
	expect_eq "$(wnctl job list --format name,params | tr -s ' ')" $'NAME PARAMS\nx1 y=3 x=1\nx2 y=3 x=2'

	expect_exit 2 wnctl job sweep p t --file - <<<$'gird:\n  x: [1, 2]'
	expect_eq "$WN_ERR" "wnctl: stdin:1:1: unknown key 'gird' (did you mean 'grid'?)"
	expect_exit 2 wnctl job sweep p t --file - <<<$'grid:\n  x: [1, 2'
	expect_contains "$WN_ERR" "wnctl: stdin:"
	local rc=0
	head -c 20000000 /dev/zero | tr '\0' ' ' | wnctl job sweep p t --file - 2>err.txt || rc=$?
	expect_eq "$rc" 1 "exit status of an endless input"
	expect_eq "$(<err.txt)" "wnctl: cannot read stdin: larger than 16777216 bytes"
	expect_exit 2 wnctl job sweep p t --file - </dev/null
	expect_contains "$WN_ERR" "nothing to sweep"
	expect_exit 1 wnctl job sweep p t --file .
	expect_eq "$WN_ERR" "wnctl: cannot read .: Is a directory"
	expect_eq "$(wnctl job list --format id | wc -l)" 3 "jobs after the refusals"

	# job batch names stdin the same way
	expect_exit 2 wnctl job batch - --project p --task t <<<'{"params": {"a": ""}}'
	expect_contains "$WN_ERR" "wnctl: stdin line 1:"
	expect_exit 0 wnctl job sweep --help
	expect_contains "$WN_OUT" "--file FILE"
	expect_contains "$WN_OUT" "'-' for stdin"
}

# An option of one value given twice with two values is refused, where the
# first was dropped without a word (a sweep file, a project a batch goes to).
test_ctl_submit_options_given_twice_are_refused() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	printf 'grid:\n  a: [1, 2]\n' >a.yaml
	printf 'grid:\n  b: [1, 2]\n' >b.yaml
	expect_exit 2 wnctl job sweep p t --file a.yaml --file b.yaml
	expect_eq "$WN_ERR" "wnctl: --file given twice ('a.yaml', then 'b.yaml'): it takes one value (see 'wnctl job sweep --help')"
	expect_exit 2 wnctl job sweep p t --grid x=1,2 --name 'a{x}' --name 'b{x}'
	expect_contains "$WN_ERR" "--name given twice ('a{x}', then 'b{x}')"
	expect_exit 2 wnctl job sweep p t --grid x=1,2 --sweep s1 --sweep s2
	expect_contains "$WN_ERR" "--sweep given twice ('s1', then 's2')"
	expect_exit 2 wnctl job add p t --name a --name b
	expect_contains "$WN_ERR" "--name given twice ('a', then 'b')"
	local opt
	for opt in "--project p --project q" "--task t --task u" "--sweep s1 --sweep s2"; do
		# shellcheck disable=SC2086
		expect_exit 2 wnctl job batch - --project p --task t $opt <<<'{"params": {"a": "1"}}'
		expect_contains "$WN_ERR" "given twice" "job batch $opt"
	done
	# numbers too: a priority, a limit, a task's needs
	expect_exit 2 wnctl job add p t --priority 5 --priority 7
	expect_eq "$WN_ERR" "wnctl: --priority given twice ('5', then '7'): it takes one value (see 'wnctl job add --help')"
	expect_exit 2 wnctl job sweep p t --grid x=1,2 --max-running 1 --max-running 2
	expect_contains "$WN_ERR" "--max-running given twice ('1', then '2')"
	expect_exit 2 wnctl task create p u --cpu 1 --cpu 2
	expect_contains "$WN_ERR" "--cpu given twice ('1', then '2')"
	expect_exit 2 wnctl task create p u --memory 1G --memory 2G
	expect_contains "$WN_ERR" "--memory given twice ('1G', then '2G')"
	# the global --timeout before the command is another option than the task's
	expect_exit 0 wnctl --timeout 5000 task create p v --timeout 60
	expect_contains "$(wnctl task show p v)" "timeout: 60 s"
	wnctl task delete p v --yes >/dev/null
	expect_eq "$(wnctl job list --format id)" "ID" "no job submitted"
	expect_fail wnctl task show p u
	# the same value twice is the value
	expect_exit 0 wnctl job sweep p t --file a.yaml --file a.yaml
	expect_eq "$WN_OUT" "sweep 1: 2 jobs (ids 1-2)"
	expect_exit 0 wnctl job add p t --priority 5 --priority 5
	expect_contains "$(wnctl job show "$WN_OUT")" "priority: 5" "the job"
}

# --token-file - is no stdin, as a token is a secret kept in a file: said so,
# rather than "cannot open token file -: No such file or directory".
test_ctl_token_file_dash_says_a_token_is_a_file() {
	expect_exit 2 wnctl --server "ipc://$WN_TMP/none.sock" --token-file - project list <<<"secret"
	expect_eq "$WN_ERR" 'wnctl: token file -: a token is read from a file, not from stdin: name the file, or set $WN_TOKEN'
	WN_TOKEN_FILE=- expect_exit 2 wnctl --server "ipc://$WN_TMP/none.sock" project list
	expect_contains "$WN_ERR" 'token file - (from $WN_TOKEN_FILE): a token is read from a file'
}
