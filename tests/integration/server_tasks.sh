# Tasks: create with defaults and options, uniqueness, update, delete.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_task_create_defaults_and_options() {
	wn_start
	mkproject p
	expect_exit 0 wnctl task create p plain
	local j
	j=$(wnctl --json task show p plain)
	expect_eq "$(jq -r .project <<<"$j")" p "project"
	expect_eq "$(jq -r .name <<<"$j")" plain "name"
	expect_eq "$(jq -r '.max_attempts // 0' <<<"$j")" 3 "default max_attempts"
	expect_eq "$(jq -r '.retries // 0' <<<"$j")" 0 "default retries"

	expect_exit 0 wnctl task create p train --cpu 4 --gpu 2 --memory 2G --label zone=eu \
		--label arch=x86 --max-attempts 5 --retries 2 --timeout 600
	j=$(wnctl --json task show p train)
	expect_eq "$(jq -r '.resources.cpu // 0' <<<"$j")" 4 "cpu"
	expect_eq "$(jq -r '.resources.gpu // 0' <<<"$j")" 2 "gpu"
	case "$(jq -r '.resources.memory_mb // 0' <<<"$j")" in
	2048 | 2000) ;;
	*) fail "memory 2G stored as $(jq -c .resources <<<"$j")" ;;
	esac
	expect_eq "$(jq -r '.resources.labels.zone' <<<"$j")" eu "label zone"
	expect_eq "$(jq -r '.resources.labels.arch' <<<"$j")" x86 "label arch"
	expect_eq "$(jq -r '.max_attempts // 0' <<<"$j")" 5 "max_attempts"
	expect_eq "$(jq -r '.retries // 0' <<<"$j")" 2 "retries"
	expect_eq "$(jq -r '.timeout_s // 0' <<<"$j")" 600 "timeout_s"

	expect_exit 0 wnctl task show p train
	expect_contains "$WN_OUT" train
	expect_eq "$(task_names p)" "plain,train" "task list"
	# the numbers of the table line up on the right, as in every other table
	expect_exit 0 wnctl task list p
	expect_eq "$(sed 's/  [^ ]*  *[^ ]*$//' <<<"$WN_OUT")" \
		"NAME   CPU  GPU  MEMORY  ATTEMPTS  RETRIES  TIMEOUT
plain    0    0       -         3        0        -
train    4    2   2048M         5        2     600s" "task list, but its labels and description"
}

test_task_unique_per_project() {
	wn_start
	mkproject p
	mkproject q
	expect_exit 0 wnctl task create p t --max-attempts 4
	expect_exit 0 wnctl task create q t
	expect_exit 5 wnctl task create p t --max-attempts 9
	expect_contains "$WN_ERR" "wnctl: "
	expect_eq "$(wnctl --json task show p t | jq -r '.max_attempts // 0')" 4 \
		"max_attempts after duplicate create"
	expect_exit 4 wnctl task create nosuch t
	# no attempt at all is no task to run: refused, not read as the default
	expect_exit 2 wnctl task create p u --max-attempts 0
	expect_contains "$WN_ERR" "invalid --max-attempts '0': must be an integer from 1"
	expect_exit 2 wnctl task update p t --max-attempts 0
	# nor is a memory need that rounds to none
	expect_exit 2 wnctl task update p t --memory 0.4
	expect_contains "$WN_ERR" "invalid --memory '0.4': less than 1 MB (0 is no need)"
	expect_exit 0 wnctl task update p t --memory 0
	expect_exit 4 wnctl task show p u
	expect_exit 4 wnctl task show p nosuch
	expect_exit 4 wnctl task show nosuch t
	expect_exit 4 wnctl task list nosuch
	expect_eq "$(task_names q)" t "task list q"

	local long128
	long128=$(printf 't%.0s' $(seq 1 128))
	expect_exit 0 wnctl task create p "$long128"
	local bad
	for bad in "${long128}x" .t "a b" "a/b" "t*"; do
		expect_exit 7 wnctl task create p "$bad"
	done
	expect_eq "$(wnctl --json task list p | jq -r '(.tasks // []) | length')" 2 "tasks of p"
}

test_task_update_delete() {
	wn_start
	mkproject p
	mktask p t
	mktask p u
	expect_exit 0 wnctl task update p t --max-attempts 7 --retries 1 --timeout 30
	local j
	j=$(wnctl --json task show p t)
	expect_eq "$(jq -r '.max_attempts // 0' <<<"$j")" 7 "max_attempts"
	expect_eq "$(jq -r '.retries // 0' <<<"$j")" 1 "retries"
	expect_eq "$(jq -r '.timeout_s // 0' <<<"$j")" 30 "timeout_s"
	# Fields not given keep their values.
	expect_exit 0 wnctl task update p t --retries 2
	j=$(wnctl --json task show p t)
	expect_eq "$(jq -r '.max_attempts // 0' <<<"$j")" 7 "max_attempts kept"
	expect_eq "$(jq -r '.retries // 0' <<<"$j")" 2 "retries"
	expect_exit 4 wnctl task update p nosuch --retries 1

	local a b keep
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	keep=$(wnctl job add p u)
	# A RUNNING job blocks deletion unless forced.
	expect_eq "$(fetch_job p w --task t | jq -r .id)" "$a" "fetched job"
	expect_exit 6 wnctl task delete p t
	expect_eq "$(job_status "$b")" pending "job after refused delete"
	j=$(wnctl --json task delete p t --force)
	expect_eq "$(jq -r '.jobs_removed // 0' <<<"$j")" 2 "jobs_removed"
	expect_exit 4 wnctl task show p t
	expect_exit 4 wnctl job show "$a"
	expect_exit 4 wnctl job show "$b"
	expect_eq "$(job_status "$keep")" pending "other task's job"
	expect_exit 4 wnctl task delete p t
	expect_exit 4 wnctl job add p t
	# Pending jobs alone do not need force.
	expect_exit 0 wnctl task delete p u
	expect_exit 4 wnctl job show "$keep"
	expect_eq "$(wnctl --json queue stats p | jq -r '[(.projects // [])[].pending // 0] | add // 0')" \
		0 "pending after deletes"
}
