# The fleet: workers join, heartbeat, drain, leave (GONE), vanish (LOST: their
# jobs come back at once, not after the lease) and come back under the same
# name once the old process is gone. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/fleet_lib.sh"

# lifecycle_yaml: one slot, the gated task g.
lifecycle_yaml() {
	fleet_head p "{cpu: 2, gpus: [], memory: 2G}"
	echo "tasks:"
	fleet_gated g
}

# lifecycle_setup [WND-ARGS...]: wnd, project p, task g and w.yaml
# (lifecycle_yaml).
lifecycle_setup() {
	wn_start "$@"
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	lifecycle_yaml >w.yaml
}

test_a_lost_worker_gives_its_jobs_back_at_once() {
	# Leases last a minute; a worker silent for 3 s is LOST.
	lifecycle_setup --worker-timeout-ms 3000 --lease-ms 60000
	local id
	id=$(wnctl job add p g)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id"
	expect_eq "$(worker_get w1 "(j['state'], j['jobs'])")" "('active', [$id])" "w1 running"
	# Still active after longer than the worker timeout: it heartbeats.
	sleep 4
	expect_eq "$(worker_get w1 "j['state']")" active "w1 after 4 s of running"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# Far sooner than the lease would run out, w1 is LOST and the job is
	# back in the queue.
	wait_worker_state w1 lost 20
	wait_status "$id" pending 20
	expect_eq "$(worker_get w1 "j['jobs']")" "[]" "jobs of a lost worker"
	expect_contains "$(job_get "$id" "j['reason']")" "w1"
	worker_start w2 w.yaml
	wait_until 10 "attempt 2 to start on w2" job_field_is "$id" "(j['status'], j['worker'], j['attempt'])" \
		"('running', 'w2', 2)"
	touch "release-$id"
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['lost']")" 1 "lost leases"
	# a machine that died for good is forgotten as one that left
	expect_exit 0 wnctl worker remove w1
	expect_eq "$WN_OUT" "worker w1: removed"
	expect_exit 4 wnctl worker show w1
}

test_a_removed_lost_worker_that_comes_back_joins_again() {
	# A worker silent for 3 s is LOST; removed, then heard from again (a
	# partition that healed), it is one of the fleet again.
	lifecycle_setup --worker-timeout-ms 3000 --lease-ms 60000
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_joined w1
	kill -STOP "$pid"
	wait_worker_state w1 lost 20
	expect_exit 0 wnctl worker remove w1
	kill -CONT "$pid"
	wait_until 20 "the worker to join again" log_has w1.log "joining again"
	wait_worker_state w1 active 20
	# it takes jobs as one of the fleet: they are counted as its own
	local id
	id=$(wnctl job add p g)
	wait_until 10 "the job to start" test -e "started-$id"
	expect_eq "$(worker_get w1 "(j['state'], j['jobs'])")" "('active', [$id])" "w1 running"
	touch "release-$id"
	wait_status "$id" completed
	expect_eq "$(job_get "$id" "j['attempt']")" 1 "attempts"
	kill -TERM "$pid"
	worker_wait "$pid" 20
	expect_eq "$(worker_get w1 "j['state']")" gone
}

test_a_worker_that_stops_cleanly_is_gone() {
	lifecycle_setup
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_joined w1
	kill -TERM "$pid"
	worker_wait "$pid" 10
	expect_eq "$(worker_get w1 "j['state']")" gone
	expect_exit 0 wnctl worker list --state gone
	expect_contains "$WN_OUT" "w1"
	expect_exit 0 wnctl worker list --state active
	expect_not_contains "$WN_OUT" "w1"
}

test_a_restarted_worker_waits_for_its_name() {
	lifecycle_setup --worker-timeout-ms 3000 --lease-ms 60000
	local id
	id=$(wnctl job add p g)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$id"
	local registered instance
	registered=$(worker_get w1 "j['registered_ms']")
	instance=$(worker_get w1 "j['instance']")
	[ ${#instance} -eq 32 ] || fail "instance id of w1: '$instance'"
	# w1 dies; before anyone notices, it is started again under its name.
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	rm "started-$id"
	worker_start w1 w.yaml
	# The server still counts the first one ACTIVE: the second waits and
	# takes nothing meanwhile.
	wait_until 10 "the second w1 to be refused" log_has w1.log \
		"cannot join the fleet as w1: worker name w1 is held by another running instance on host $(hostname)"
	expect_eq "$(job_get "$id" "(j['status'], j['worker'], j['attempt'])")" \
		"('running', 'w1', 1)" "the job while the name is taken"
	expect_eq "$(worker_get w1 "(j['state'], j['instance'], j['jobs'])")" \
		"('active', '$instance', [$id])" "w1 while the name is taken"
	# Once the first is LOST its job goes back to the queue, and the second
	# joins and runs it as attempt 2.
	wait_until 20 "attempt 2 to start" test -e "started-$id"
	expect_eq "$(job_get "$id" "(j['status'], j['worker'], j['attempt'], j['lost'])")" \
		"('running', 'w1', 2, 1)" "the job after the restart"
	expect_eq "$(worker_get w1 "(j['state'], j['registered_ms'], j['jobs'])")" \
		"('active', $registered, [$id])" "w1 after the restart"
	[ "$(worker_get w1 "j['instance']")" != "$instance" ] || fail "w1 kept the old instance id"
	touch "release-$id"
	wait_status "$id" completed
}

test_drain_takes_no_new_jobs_and_exits_when_idle() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	{
		fleet_head p "{cpu: 2, gpus: [], memory: 2G}" 2
		echo "tasks:"
		fleet_gated g
	} >w.yaml
	local a
	a=$(wnctl job add p g)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$a"
	expect_exit 0 wnctl worker drain w1
	expect_eq "$WN_OUT" "worker w1: draining (1 job held)"
	wait_until 10 "the worker to drain" log_has w1.log "draining (asked by the server)"
	expect_exit 0 wnctl worker list
	expect_contains "$WN_OUT" "draining"
	# A job added now is not taken, though a slot is free.
	local b
	b=$(wnctl job add p g)
	expect_eq "$(job_get "$a" "j['status']")" running
	# The running job finishes; then the worker leaves and exits.
	touch "release-$a"
	worker_wait "$pid" 20
	expect_contains "$(<w1.log)" "drained: no job left; exiting"
	expect_eq "$(job_get "$a" "j['status']")" completed
	expect_eq "$(job_get "$b" "j['status']")" pending
	[ ! -e "started-$b" ] || fail "a draining worker started a new job"
	expect_eq "$(worker_get w1 "j['state']")" gone
	# Started again, the same name serves again.
	worker_start w1 w.yaml
	wait_until 10 "the next job to start" test -e "started-$b"
	touch "release-$b"
	wait_status "$b" completed
}

test_resume_ends_a_drain_and_remove_forgets_a_gone_worker() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	{
		fleet_head p "{cpu: 2, gpus: [], memory: 2G}" 2
		echo "tasks:"
		fleet_gated g
	} >w.yaml
	local a b
	a=$(wnctl job add p g)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "the job to start" test -e "started-$a"
	expect_exit 0 wnctl worker drain w1
	wait_until 10 "the worker to drain" log_has w1.log "draining (asked by the server)"
	expect_exit 0 wnctl worker resume w1
	expect_eq "$WN_OUT" "worker w1: active, taking new jobs (1 job held)"
	wait_until 10 "the drain to end" log_has w1.log "drain ended (resumed by the server)"
	# Resumed, the worker takes a new job in its free slot and keeps running.
	b=$(wnctl job add p g)
	wait_until 10 "the second job to start" test -e "started-$b"
	expect_exit 0 wnctl worker resume w1
	expect_eq "$WN_OUT" "worker w1: active, taking new jobs (2 jobs held)" "resume, not draining"
	# Only a worker that left can be removed; the refusal changes nothing.
	expect_exit 6 wnctl worker remove w1
	expect_contains "$WN_ERR" "worker w1 is active: only a gone worker (one that left) or a lost one can be removed"
	expect_eq "$(worker_get w1 "(j['state'], len(j['jobs']))")" "('active', 2)"
	touch "release-$a" "release-$b"
	wait_status "$b" completed
	kill -TERM "$pid"
	worker_wait "$pid" 20
	expect_eq "$(worker_get w1 "j['state']")" gone
	expect_exit 6 wnctl worker resume w1
	expect_eq "$WN_ERR" "wnctl: worker w1 is gone: it left; started again, it joins and takes jobs"
	expect_exit 0 wnctl --json worker remove w1
	expect_eq "$(jget "$WN_OUT" "(j['name'], j['state'])")" "('w1', 'gone')" "--json"
	expect_exit 4 wnctl worker show w1
	expect_exit 0 wnctl worker list --all
	expect_not_contains "$WN_OUT" "w1"
	expect_exit 4 wnctl worker remove w1
	expect_exit 4 wnctl worker resume nobody
	expect_exit 7 wnctl worker remove "bad name"
	# The name is free: the worker joins again as new.
	worker_start w1 w.yaml
	wait_joined w1
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 20
}

test_worker_list_and_show() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g --cpu 2 --gpu 1 --memory 512 >/dev/null
	{
		fleet_head p "{cpu: 8, gpus: [\"0\", \"1\"], memory: 16G, labels: {site: lab}}" 2
		echo "tasks:"
		fleet_gated g
	} >w.yaml
	local id
	id=$(wnctl job add p g)
	worker_start gpu-box-1 w.yaml
	wait_until 10 "the job to start" test -e "started-$id"
	expect_exit 0 wnctl worker list
	expect_eq "$(head -1 <<<"$WN_OUT" | tr -s ' ')" \
		"NAME STATE HOST CPU GPU MEM USED JOBS LAST-SEEN" "header"
	expect_eq "$(sed -n 2p <<<"$WN_OUT" | awk '{print $1, $2, $4, $5, $6, $7, $8}')" \
		"gpu-box-1 active 8 2 16384M 2/1/512M 1" "row"
	expect_exit 0 wnctl worker show gpu-box-1
	expect_contains "$WN_OUT" "state: active"
	expect_contains "$WN_OUT" "gpus: 0,1"
	expect_contains "$WN_OUT" "memory: 16384 MB"
	expect_contains "$WN_OUT" "  site=lab"
	expect_contains "$WN_OUT" "used: 2 cpu, 1 gpu, 512 MB"
	expect_contains "$WN_OUT" "jobs: $id"
	expect_contains "$WN_OUT" "projects: p"
	expect_contains "$WN_OUT" "version: "
	local j
	j=$(wnctl --json worker list --state active)
	expect_eq "$(jget "$j" "[(w['name'], w['slots'], w['capacity']['gpus'], w['capacity']['labels'], w['jobs']) for w in j['workers']]")" \
		"[[\"gpu-box-1\", 2, [\"0\", \"1\"], {\"site\": \"lab\"}, [$id]]]" "--json"
	expect_exit 4 wnctl worker show nobody
	expect_contains "$WN_ERR" "nobody"
	expect_exit 2 wnctl worker list --state asleep
	expect_exit 4 wnctl worker drain nobody
	touch "release-$id"
	wait_status "$id" completed
}
