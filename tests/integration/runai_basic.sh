# The runai formatter against tests/tools/runai-standin, a stand-in for the
# RUNAI command line (RUNAI needs a Kubernetes cluster, which these tests
# cannot have): what the worker asks RUNAI, in both CLI forms, and how it
# follows, cancels and takes back workloads.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

STANDIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/runai-standin

# runai_setup [TASK KEYS...]: wnd, project p with task t (--gpu 1 --cpu 2
# --memory 4G), and w.yaml whose task t is a runai task with the keys given.
runai_setup() {
	export RUNAI_STANDIN_DIR=$WN_TMP/runai
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --gpu 1 --cpu 2 --memory 4G --retries "${RETRIES:-0}" \
		"${TASK_ARGS[@]}" >/dev/null
	worker_head >w.yaml
	cat >>w.yaml <<EOF
heartbeat_ms: 500
resources: {gpus: 4}
tasks:
  t:
    formatter: runai
    runai: $STANDIN
    poll_ms: 200
    project: team-a
    image: registry.example/train:1
EOF
	local more
	for more in "$@"; do echo "    $more" >>w.yaml; done
}
RETRIES=0
TASK_ARGS=()

# calls VERB: the recorded calls of runai VERB, one JSON list per line.
calls() { grep -F "\"$1\"" "$RUNAI_STANDIN_DIR/calls.log" || true; }

test_workload_is_submitted_followed_and_completed() {
	runai_setup 'command: [sh, -c, "echo lr=$1 tag=$TAG; echo $WN_JOB_ID $WN_ATTEMPT", sh, "{lr}"]' \
		'env: {TAG: "{tag}"}' 'param_env: true'
	local id
	id=$(wnctl job add p t --param lr=0.1 --param tag=first)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['exit_code']")" "completed 0"
	expect_eq "$(job_ext "$id")" "wn-p-$id-1" "workload name"
	expect_contains "$(job_get "$id" "j['output_tail']")" "lr=0.1 tag=first"
	expect_contains "$(job_get "$id" "j['output_tail']")" "$id 1"
	# the submission: name, project, image, requests from the task,
	# environment, then the command after --
	python3 - "$RUNAI_STANDIN_DIR/calls.log" "$id" <<'EOF'
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
jid = sys.argv[2]
submit = [c for c in calls if c[1:3] == ["training", "submit"]]
assert len(submit) == 1, submit
c = submit[0]
assert c[:10] == ["runai", "training", "submit", "wn-p-%s-1" % jid, "-p", "team-a",
                  "-i", "registry.example/train:1", "--gpu-devices-request", "1"], c
assert c[10:14] == ["--cpu-core-request", "2", "--cpu-memory-request", "4096M"], c
env = [c[i + 1] for i in range(len(c) - 1) if c[i] == "-e"]
for e in ["WN_JOB_ID=" + jid, "WN_PROJECT=p", "WN_TASK=t", "WN_ATTEMPT=1", "TAG=first",
          "WN_PARAM_LR=0.1", "WN_PARAM_TAG=first"]:
    assert e in env, (e, env)
i = c.index("--")
assert c[i - 1] == "--command", c
assert c[i + 1:] == ["sh", "-c", "echo lr=$1 tag=$TAG; echo $WN_JOB_ID $WN_ATTEMPT", "sh",
                     "0.1"], c
describes = [c for c in calls if c[1:3] == ["training", "describe"]]
assert len(describes) >= 3, describes
assert describes[0] == ["runai", "training", "describe", "wn-p-%s-1" % jid, "-p", "team-a",
                        "-o", "json"], describes[0]
EOF
}

test_failure_gives_the_exit_code_and_a_new_name_per_attempt() {
	RETRIES=1
	runai_setup 'command: [sh, -c, "echo failing; exit 3"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['exit_code']")" "failed 3"
	expect_eq "$(job_get "$id" "j['attempt']")" 2 "attempts"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"RUNAI workload wn-p-$id-2 Failed: exit status 3" "reason"
	expect_contains "$(job_get "$id" "j['output_tail']")" "failing"
	expect_eq "$(calls submit | wc -l)" 2 "submissions"
	expect_contains "$(calls submit | head -n 1)" "\"wn-p-$id-1\""
	expect_contains "$(calls submit | tail -n 1)" "\"wn-p-$id-2\""
}

test_parameters_reach_the_command_literally() {
	runai_setup 'command: [python3, -c, "import json,sys; print(json.dumps(sys.argv[1:]))", "{a}", "{b}"]'
	local a='$(touch /tmp/wn-pwned-runai-$$)' b="'; rm -rf ~; '"
	local id
	id=$(wnctl job add p t --param "a=$a" --param "b=$b")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	[ ! -e "/tmp/wn-pwned-runai-$$" ] || fail "a parameter was run by a shell"
	expect_eq "$(job_get "$id" "j['output_tail'].strip()")" \
		"$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$a" "$b")" "argv"
}

test_cancel_deletes_the_workload() {
	runai_setup 'command: [sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	wnctl job cancel "$id" >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_eq "$(calls delete | wc -l)" 1 "deletes"
	expect_contains "$(calls delete)" "[\"runai\", \"training\", \"delete\", \"wn-p-$id-1\", \"-p\", \"team-a\"]"
	expect_contains "$(<w1.log)" "job $id: cancelled on the server; stopping it"
}

# A delete that fails (the cluster cannot be reached) is asked again every
# poll_ms while the workload runs, not twice and given up: once RUNAI answers
# again, the workload is deleted and the job cancelled.
test_a_failed_delete_is_tried_again_until_runai_takes_it() {
	runai_setup 'command: [sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	echo "failed to connect to the cluster: connection refused" \
		>"$RUNAI_STANDIN_DIR/delete-error"
	wnctl job cancel "$id" >/dev/null
	wait_until 20 "deletes that fail" eval "[ \"\$(calls delete | wc -l)\" -ge 4 ]"
	expect_contains "$("$STANDIN" training describe "wn-p-$id-1" -p team-a)" "Status: Running" \
		"the workload while its delete fails"
	rm "$RUNAI_STANDIN_DIR/delete-error"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_contains "$(<w1.log)" "cannot delete RUNAI workload wn-p-$id-1"
	expect_contains "$("$STANDIN" training describe "wn-p-$id-1" -p team-a 2>&1)" \
		"\"wn-p-$id-1\" not found" "the workload at the end"
}

test_workload_deleted_outside_cancels_the_job() {
	runai_setup 'command: [sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	"$STANDIN" training delete "wn-p-$id-1" -p team-a >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"RUNAI workload wn-p-$id-1 was deleted outside WhatsNext" "reason"
}

# A describe that fails for another reason than the workload being gone (a
# login expired: "refresh token not found in kubeconfig") is tried again;
# only a reply that names the workload as not found ends the run.
test_a_failed_describe_is_not_the_workload_gone() {
	runai_setup 'command: [sh, -c, "sleep 3; echo done"]'
	local id n
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	echo "failed to refresh token: refresh token not found in kubeconfig" \
		>"$RUNAI_STANDIN_DIR/describe-error"
	n=$(calls describe | wc -l)
	wait_until 20 "describes that fail" eval "[ \"\$(calls describe | wc -l)\" -ge $((n + 3)) ]"
	rm "$RUNAI_STANDIN_DIR/describe-error"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status ($(job_get "$id" "j['reason']"))"
	expect_contains "$(job_get "$id" "j['output_tail']")" done
	expect_contains "$(<w1.log)" "cannot describe RUNAI workload wn-p-$id-1"
	expect_eq "$(calls delete | wc -l)" 0 "deletes"
}

test_a_describe_that_prints_no_status_says_what_it_printed() {
	# describe answers, but with something else than a workload (a proxy's
	# error page): the log says what it printed, and the job runs on
	runai_setup 'command: [sh, -c, "sleep 2; echo done"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	printf '<html>\n<h1>502 Bad Gateway</h1>\n</html>\n' >"$RUNAI_STANDIN_DIR/describe-garbage"
	wait_until 20 "the worker to say what describe printed" log_has w1.log \
		"job $id: cannot find the status of RUNAI workload wn-p-$id-1 in what describe prints (\"<html>; <h1>502 Bad Gateway</h1>; </html>\"); asking again every 200 ms"
	rm "$RUNAI_STANDIN_DIR/describe-garbage"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status ($(job_get "$id" "j['reason']"))"
}

# workload_gone NAME: RUNAI has no workload NAME.
workload_gone() {
	local said
	said=$("$STANDIN" training describe "$1" -p team-a 2>&1) && return 1
	[[ $said == *"\"$1\" not found"* ]]
}

# A cancel ends once RUNAI takes the delete, though describe answers with
# no status (which would never say that the workload is gone).
test_a_cancel_ends_though_describe_prints_no_status() {
	runai_setup 'command: [sleep, "300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	printf '<html>\n<h1>502 Bad Gateway</h1>\n</html>\n' >"$RUNAI_STANDIN_DIR/describe-garbage"
	wait_until 20 "the worker to see no status" log_has w1.log \
		"job $id: cannot find the status of RUNAI workload wn-p-$id-1"
	wnctl job cancel "$id" >/dev/null
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" cancelled "status"
	expect_eq "$(calls delete | wc -l)" 1 "deletes"
	rm "$RUNAI_STANDIN_DIR/describe-garbage"
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
}

# A describe that prints no status for status_timeout_ms: the worker cannot
# follow the workload, deletes it (nothing runs unseen, nor twice when the
# job is tried again) and fails the job saying why.
test_a_describe_that_never_prints_a_status_fails_the_job() {
	runai_setup 'command: [sleep, "300"]' 'status_timeout_ms: 1000'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	printf '<html>\n<h1>502 Bad Gateway</h1>\n</html>\n' >"$RUNAI_STANDIN_DIR/describe-garbage"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['exit_code']")" "failed -1"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"RUNAI workload wn-p-$id-1 deleted: describe printed no status of it for 1 s (\"<html>; <h1>502 Bad Gateway</h1>; </html>\")" \
		"reason"
	expect_contains "$(<w1.log)" "deleting it: the worker cannot follow it"
	rm "$RUNAI_STANDIN_DIR/describe-garbage"
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
}

# The task's timeout counts from when the workload runs (time RUNAI keeps
# it Pending does not count): past it, the workload's logs are fetched, it
# is deleted and the job fails as timed out, as a local command does.
test_a_workload_past_the_timeout_is_deleted_and_the_job_times_out() {
	TASK_ARGS=(--timeout 1)
	runai_setup 'command: [sh, -c, "echo working; sleep 300"]'
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['exit_code']")" "failed -1"
	expect_eq "$(job_get "$id" "j['reason']")" "timed out after 1 s" "reason"
	expect_contains "$(job_get "$id" "j['output_tail']")" working
	expect_contains "$(<w1.log)" "job $id: timed out; stopping it (RUNAI workload wn-p-$id-1"
	expect_eq "$(calls delete | wc -l)" 1 "deletes"
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
}

# A workload RUNAI never runs (no room for it in the cluster: describe says
# Pending for good) is deleted pending_timeout_ms after its submission and
# its job fails saying it never started, where it waited for ever (the
# task's timeout counts from Running only). One that runs in time is not
# cut, however long it runs after.
test_a_workload_that_never_runs_is_deleted_after_pending_timeout_ms() {
	runai_setup 'command: [sh, -c, "sleep 2; echo done"]' 'pending_timeout_ms: 1500'
	mkdir -p "$RUNAI_STANDIN_DIR"
	touch "$RUNAI_STANDIN_DIR/pending"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['exit_code']")" "failed -1"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"RUNAI workload wn-p-$id-1 never started: still Pending 1.5 s after its submission (pending_timeout_ms); deleted" \
		"reason"
	expect_contains "$(<w1.log)" "job $id: RUNAI workload wn-p-$id-1 has not run in the 1.5 s since its submission"
	workload_gone "wn-p-$id-1" || fail "workload wn-p-$id-1 is left on RUNAI"
	rm "$RUNAI_STANDIN_DIR/pending"
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status of a workload that ran"
	expect_contains "$(job_get "$id" "j['output_tail']")" done
}

# A workload name past 63 characters is cut with a hash of the whole after
# it: the jobs of a long project's name keep workloads of their own.
test_long_names_keep_their_workloads_apart() {
	local long=proj$(printf 'x%.0s' {1..55})
	runai_setup 'command: [sh, -c, "echo run $0; exit $1", "{v}", "{code}"]'
	sed -i "s/^projects: p$/projects: $long/" w.yaml
	wnctl project create "$long" >/dev/null
	wnctl task create "$long" t --gpu 1 >/dev/null
	local a b
	a=$(wnctl job add "$long" t --param v=a --param code=3)
	b=$(wnctl job add "$long" t --param v=b --param code=0)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$a" "j['status']") $(job_get "$a" "j['exit_code']")" "failed 3"
	expect_eq "$(job_get "$b" "j['status']")" completed "job b ($(job_get "$b" "j['reason']"))"
	local na nb
	na=$(job_get "$a" "j['external_id']")
	nb=$(job_get "$b" "j['external_id']")
	[ "$na" != "$nb" ] || fail "two jobs share the workload $na"
	expect_eq "${#na}" 63 "the cut name's length ($na)"
	[[ $na =~ ^proj?x*-[0-9a-f]{8}$|^wn-projx*-[0-9a-f]{8}$ ]] || fail "a cut name: $na"
}

# With param_env, two parameters that give one variable ("a-b" and "a.b":
# WN_PARAM_A_B) fail the job with both names, rather than one silently
# standing for both; nothing is submitted.
test_parameters_that_give_one_variable_fail_the_job() {
	runai_setup 'param_env: true' 'command: [sh, -c, "echo $WN_PARAM_A_B"]'
	local id
	id=$(wnctl job add p t --param a-b=1 --param a.b=2)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_contains "$(job_get "$id" "j['reason']")" "both give the variable WN_PARAM_A_B"
	expect_eq "$(calls submit | wc -l)" 0 "submissions"
}

test_submission_error_fails_with_runais_message() {
	runai_setup 'command: [echo, never]'
	local id
	id=$(wnctl job add p t)
	RUNAI_STANDIN_SUBMIT_ERROR="project team-a has no GPU quota left" \
		worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"cannot submit to RUNAI: Error: project team-a has no GPU quota left" "reason"
}

test_legacy_cli_form() {
	runai_setup 'cli: legacy' 'args: ["--lr", "{lr}"]' 'gpu: "2"'
	local id
	id=$(wnctl job add p t --param lr=0.5)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" completed "status"
	# no --command: the arguments go to the image's entry point (the stand-in
	# echoes them)
	expect_contains "$(job_get "$id" "j['output_tail']")" "--lr 0.5"
	python3 - "$RUNAI_STANDIN_DIR/calls.log" "$id" <<'EOF'
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
name = "wn-p-%s-1" % sys.argv[2]
c = calls[0]
assert c[:9] == ["runai", "submit", name, "-p", "team-a", "-i", "registry.example/train:1",
                 "--gpu", "2"], c
assert c[9:13] == ["--cpu", "2", "--memory", "4096M"], c
assert "--command" not in c and c[c.index("--") + 1:] == ["--lr", "0.5"], c
assert calls[1] == ["runai", "describe", "job", name, "-p", "team-a", "-o", "json"], calls[1]
assert ["runai", "logs", name, "-p", "team-a"] in calls, calls
EOF
}

test_restarted_worker_follows_its_workload() {
	# the workload runs until the test releases it, after the second worker
	# has taken it back
	runai_setup "command: [sh, -c, \"while [ ! -e $WN_TMP/release ]; do sleep 0.05; done; echo finished\"]"
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 20 "job $id to run" eval "[ \"\$(calls describe | wc -l)\" -ge 2 ]"
	wait_until 10 "job $id to record its workload" job_has_ext "$id"
	kill -TERM "$first"
	worker_wait "$first" 10
	expect_contains "$(<w1.log)" "job $id: left running as RUNAI workload wn-p-$id-1"
	expect_eq "$(job_get "$id" "j['status']")" running "status after the worker stopped"
	worker_start w1 w.yaml --exit-when-empty
	wait_until 20 "the restarted worker to follow job $id" \
		log_has w1.log "job $id: following its run again (RUNAI workload wn-p-$id-1"
	expect_eq "$(job_get "$id" "j['status']")" running "status while the workload runs"
	touch "$WN_TMP/release"
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']") $(job_get "$id" "j['attempt']")" "completed 1"
	expect_contains "$(job_get "$id" "j['output_tail']")" "finished"
	expect_eq "$(calls submit | wc -l)" 1 "submissions"
}

job_ext() { job_get "$1" "j.get('external_id', '')"; }
job_has_ext() { [ -n "$(job_ext "$1")" ]; }

test_a_message_not_in_utf8_fails_the_job_with_it() {
	# runai says why in another encoding (Latin-1 here): the job fails with
	# the message, its byte shown as '?', where the server refused it
	runai_setup 'command: [echo, never]'
	printf '#!/bin/sh\nprintf "Error: quota of caf\\351 exceeded\\n" >&2\nexit 1\n' \
		>"$WN_TMP/runai-latin1"
	chmod 755 "$WN_TMP/runai-latin1"
	sed -i "s|runai: .*|runai: $WN_TMP/runai-latin1|" w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$id" "j['status']")" failed "status"
	expect_eq "$(job_get "$id" "j['reason']")" \
		"cannot submit to RUNAI: Error: quota of caf? exceeded" "reason"
}
