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
