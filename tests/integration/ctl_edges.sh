# wnctl at its edges: values that hold line breaks or terminal controls,
# completion of values, windows past the end, what a user types wrong.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"

test_ctl_labels_are_shown_on_one_line() {
	wn_start
	wnctl project create p >/dev/null
	# a label's value holding a line break and a screen clear
	expect_exit 0 wnctl task create p t --label $'site=a\nb\e[2J' --label gpu=a100
	expect_exit 0 wnctl task show p t
	expect_contains "$WN_OUT" $'labels:\n  site=a\\x0ab\\x1b[2J\n' "task show"
	expect_not_contains "$WN_OUT" $'\nb' "a forged line"
	expect_contains "$WN_OUT" $'  gpu=a100\n' "a plain label"
	# the same from a worker's configuration
	cat >w.yaml <<YAML
projects: p
fetch_wait_ms: 500
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
resources:
  cpu: 1
  gpus: []
  memory: 1G
  labels: {site: "a\nb\e[2J"}
tasks:
  t:
    command: [/bin/true]
YAML
	worker_start w1 w.yaml
	wait_until 10 "worker w1 to join" wnctl worker show w1
	expect_exit 0 wnctl worker show w1
	expect_contains "$WN_OUT" $'labels:\n  site=a\\x0ab\\x1b[2J\n' "worker show"
	expect_not_contains "$WN_OUT" $'\nb' "a forged line"
	# --json keeps the bytes
	expect_exit 0 wnctl --json task show p t
	expect_contains "$WN_OUT" '"site": "a\nb\u001B[2J"' "--json"
}

test_ctl_queue_show_says_when_offset_is_past_the_end() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local i
	for i in 1 2 3; do wnctl job add p t >/dev/null; done
	expect_exit 0 wnctl queue show p --offset 5
	expect_eq "$(wc -l <<<"$WN_OUT")" "1" "the header alone"
	expect_eq "$WN_ERR" "wnctl: showing none: --offset 5 is past the end of 3 pending jobs in line"
	expect_exit 0 wnctl queue show p --offset 3 --ready
	expect_eq "$WN_ERR" "wnctl: showing none: --offset 3 is past the end of 3 pending jobs in line"
	# a window that holds some says which, as before; an empty queue says nothing
	expect_exit 0 wnctl queue show p --offset 2
	expect_eq "$WN_ERR" "wnctl: showing 2 to 2 of 3 pending jobs"
	wnctl project create empty >/dev/null
	expect_exit 0 wnctl queue show empty --offset 5
	expect_eq "$WN_ERR" "" "an empty queue"
	# --json stays one document on stdout
	expect_exit 0 wnctl --json queue show p --offset 5
	expect_eq "$(jget "$WN_OUT" "(len(j['jobs']), j['total'])")" "(0, 3)" "--json"
}
