# wnctl's words in the order users give them: options anywhere, between a
# noun and its verb too.
source "${BASH_SOURCE[0]%/*}/lib.sh"

# same_output ONE TWO: `wnctl ONE` and `wnctl TWO` (word lists, split on
# spaces) exit 0 with the same output.
same_output() {
	local one two
	# shellcheck disable=SC2086 # the words of each
	one=$(wnctl $1) || fail "wnctl $1 failed"
	# shellcheck disable=SC2086
	two=$(wnctl $2) || fail "wnctl $2 failed"
	expect_eq "$two" "$one" "wnctl $2 (as wnctl $1)"
}

# Options between a noun and its verb were taken for the verb ("unknown job
# command '--json'"), where before the noun and after the verb they worked.
test_ctl_options_between_noun_and_verb() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t --name first)
	# every noun, a global option between it and its verb
	same_output "--json project list" "project --json list"
	same_output "--json project show p" "project --server $WN_SERVER show p --json"
	same_output "--json task list p" "task --json list p"
	same_output "--json job list" "job --json list"
	same_output "--json job show $id" "job --json show $id"
	same_output "--json queue stats" "queue --json stats"
	same_output "--json queue show p" "queue --js show p"
	same_output "--json sweep list" "sweep --json list"
	same_output "--json worker list" "worker --json list"
	same_output "--json token list" "token --json list"
	same_output "--json status" "status --json"
	expect_exit 0 wnctl admin --json backup "$WN_TMP/backup1"
	expect_contains "$WN_OUT" '"dir"' "admin --json backup"
	# a command's own options, and their values, there too
	same_output "job list --status pending --limit 5" "job --status pending --limit=5 list"
	same_output "job list --name first --json" "job --name first list --json"
	# a negative number and what follows '--' are arguments still
	expect_exit 0 wnctl job --json priority "$id" -5
	expect_eq "$(wnctl --json job show "$id" | jq .priority)" -5 "priority"
	expect_eq "$(wnctl job --timeout=2000 add p t --priority -3 --param k=-x)" $((id + 1)) "a job"
	expect_eq "$(wnctl --json job show $((id + 1)) | jq -c '[.priority, .params.k]')" '[-3,"-x"]' \
		"the job added"
	expect_exit 2 wnctl job --json list -- --status
	expect_contains "$WN_ERR" "unexpected argument '--status'" "after --"
	# help between them is the noun's, as JSON with --json
	expect_exit 0 wnctl job --json --help
	expect_eq "$(jq -r .command <<<"$WN_OUT")" job "help of job"
}

# What cannot be taken between a noun and its verb is refused, saying why,
# and nothing is sent.
test_ctl_misplaced_words_between_noun_and_verb() {
	wn_start
	wnctl project create p >/dev/null
	expect_exit 2 wnctl project --server list
	expect_eq "$WN_ERR" "wnctl: project: missing command ('list' is the value of option '--server') (see 'wnctl project --help')"
	expect_exit 2 wnctl job --json
	expect_eq "$WN_ERR" "wnctl: job: missing command (see 'wnctl job --help')"
	expect_exit 2 wnctl job --json -- list
	expect_eq "$WN_ERR" "wnctl: job: missing command before '--' (see 'wnctl job --help')"
	expect_exit 2 wnctl job --bogus x list
	expect_eq "$WN_ERR" "wnctl: unknown option '--bogus' (see 'wnctl job --help')"
	expect_exit 2 wnctl job --bogus list
	expect_eq "$WN_ERR" "wnctl: unknown option '--bogus' (see 'wnctl job list --help')"
	expect_exit 2 wnctl job --token
	expect_eq "$WN_ERR" "wnctl: option '--token' needs a value (see 'wnctl job --help')"
	expect_exit 2 wnctl job --help=1 list
	expect_eq "$WN_ERR" "wnctl: option '--help' takes no value (given '--help=1') (see 'wnctl job list --help')"
	expect_exit 2 wnctl job -5 priority 1
	expect_contains "$WN_ERR" "unknown job command '-5'"
	# an option of wnctl and of the command alike: which one is meant is not
	# told there
	expect_exit 2 wnctl task --timeout 60 create p t
	expect_eq "$WN_ERR" "wnctl: option '--timeout' between 'task' and 'create' may be wnctl's or the command's --timeout: give it before 'task' for wnctl's, after 'create' for the command's (see 'wnctl task --help')"
	expect_exit 2 wnctl job --time 60 wait 1
	expect_contains "$WN_ERR" "option '--time' between 'job' and 'wait' may be wnctl's"
	expect_eq "$(wnctl --json task list p | jq '.tasks | length')" 0 "tasks created"
	# an option the command does not have
	expect_exit 2 wnctl project --status active show p
	expect_contains "$WN_ERR" "unknown option '--status'"
}
