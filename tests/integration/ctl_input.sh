# wnctl's inputs: files read whole ("-" for stdin), standard streams closed or
# gone, odd values.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
	expect_eq "$(cat err.txt)" "wnctl: cannot read stdin: larger than 16777216 bytes"
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
