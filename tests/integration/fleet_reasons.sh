# Why a pending job waits, as the fleet stands: a task no worker runs, a
# project no worker serves, a job too large for every worker, workers that
# could run it all busy; jobs that no worker could run take no place in line.
# Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/fleet_lib.sh"

# expect_waiting ID TEXT POSITION: job ID's waiting line and place in line
# (-1: none), as wnctl job show prints them.
expect_waiting() {
	expect_exit 0 wnctl job show "$1"
	expect_contains "$WN_OUT" "waiting: $2" "job show $1"
	expect_eq "$(job_get "$1" "j.get('position', 0)")" "$3" "position of job $1"
}

test_reasons_name_what_a_user_can_act_on() {
	wn_start
	wnctl project create p >/dev/null
	wnctl project create q >/dev/null
	wnctl task create p train >/dev/null
	wnctl task create p eval >/dev/null
	wnctl task create p big --gpu 4 >/dev/null
	wnctl task create q t >/dev/null
	local e1 b1 t1 t2 q1
	e1=$(wnctl job add p eval --priority 9)
	b1=$(wnctl job add p big --priority 8)
	t1=$(wnctl job add p train)
	t2=$(wnctl job add p train)
	q1=$(wnctl job add q t)
	# No worker has joined: every job is in line for the first that comes.
	expect_waiting "$e1" "next in line; waiting for a worker to fetch" 0
	expect_waiting "$t2" "waiting for a worker; 3 jobs ahead in the queue" 3

	# One worker, one slot, one GPU, for project p's tasks train and big.
	{
		fleet_head p "{cpu: 4, gpus: [\"0\"], memory: 8G}" 1
		echo "tasks:"
		fleet_gated train
		fleet_gated big
	} >w.yaml
	worker_start w1 w.yaml
	wait_joined w1
	expect_eq "$(worker_get w1 "','.join(j['tasks'])")" "train,big" "the tasks w1 announced"
	expect_contains "$(wnctl worker show w1)" "tasks: train, big" "worker show"
	wait_until 10 "job $t1 to start" test -e "started-$t1"

	# What no worker could run says why and takes no place in line; what one
	# could run but is busy says so, first in line.
	expect_waiting "$e1" "no active worker runs task eval" -1
	expect_waiting "$b1" "needs 4 gpu; largest worker offers 1" -1
	expect_waiting "$q1" "no active worker serves project q" -1
	expect_waiting "$t2" "next in line; every worker that can run it is busy" 0
	expect_exit 0 wnctl queue show p
	expect_eq "$(sed -n 2p <<<"$WN_OUT" | awk '{print $1, $2}')" "0 $t2" "first in queue show"
	grep -E "^ *0 +$t2 .*every worker that can run it is busy$" <<<"$WN_OUT" >/dev/null ||
		fail "queue show does not say the worker is busy: $WN_OUT"
	grep -E "^ *- +$e1 .*no active worker runs task eval$" <<<"$WN_OUT" >/dev/null ||
		fail "queue show gives job $e1 a place: $WN_OUT"
	grep -E "^ *- +$b1 .*needs 4 gpu; largest worker offers 1$" <<<"$WN_OUT" >/dev/null ||
		fail "queue show gives job $b1 a place: $WN_OUT"
	# queue pop 0 takes the job in line, not one that could never run.
	expect_exit 0 wnctl --json queue pop p 0
	expect_eq "$(jget "$WN_OUT" "j['id']")" "$t2" "the job queue pop 0 removed"

	# Once the worker has left, nothing could run anything: every job is in
	# line again for the next worker.
	touch "release-$t1"
	wait_status "$t1" completed
	kill -TERM "$WORKER_PID"
	wait_worker_state w1 gone
	expect_waiting "$e1" "next in line; waiting for a worker to fetch" 0
	expect_waiting "$b1" "waiting for a worker; 1 job ahead in the queue" 1
}
