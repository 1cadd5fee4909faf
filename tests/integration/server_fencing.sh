# Fencing: a lease is heartbeated, completed and released only by the worker
# holding it; a worker name is held by one live wnworker at a time; the same
# wnworker joins again after wnd restarts; Fetch replies stay within the
# reply budget; worker list hides GONE workers and keeps last-seen times
# across restarts. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/fleet_lib.sh"

# run_view ID: what a second process under a worker's name must leave alone of
# job ID (its lease goes on being renewed by the first).
run_view() { job_json "$1" | jq -c '{status, attempt, worker, started_ms, reason, lost}'; }

# log_count FILE TEXT: how many lines of FILE hold TEXT.
log_count() { grep -cF -- "$2" "$1" || true; }

# log_count_above FILE TEXT N: more than N lines of FILE hold TEXT.
log_count_above() { [ "$(log_count "$1" "$2")" -gt "$3" ]; }

# lease_view ID: what fencing must leave alone of job ID (its lease's end
# apart: shown on the wall clock, it may differ by a millisecond between
# two reads).
lease_view() {
	job_json "$1" | jq -c '{status, attempt, worker, external_id, exit_code, reason, lost}'
}

# lease_end ID: when the lease of job ID ends, in seconds.
lease_end() { job_field "$1" '(.lease_expires_ms // 0) / 1000 | round'; }

test_only_the_holder_heartbeats_completes_or_releases() {
	set_clock 0
	wn_start --lease-ms 600000 --test-clock clock
	mkproject p
	mktask p t
	local a before end
	a=$(wnctl job add p t)
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$a" "fetched by w1"
	before=$(lease_view "$a")
	end=$(lease_end "$a")
	# 100 s later: a heartbeat that took would move the lease's end
	set_clock 100000
	expect_exit 6 wnctl queue heartbeat --worker w2 "$a:1"
	expect_contains "$WN_ERR" "job $a attempt 1 is held by worker w1, not by w2"
	raw_call "$M_QUEUE"/Heartbeat "$(pbhex '[(1, "w2"), (2, [(1, int(A[0])), (2, 1), (3, "x-9")])]' "$a")"
	expect_raw FAILED_PRECONDITION "heartbeat with an external id from w2"
	expect_exit 6 wnctl queue complete "$a" 1 --worker w2 --fail --exit-code 3 --reason bad
	expect_contains "$WN_ERR" "job $a attempt 1 is held by worker w1, not by w2"
	expect_exit 6 wnctl queue release "$a" 1 --worker w2 --reason mine
	expect_contains "$WN_ERR" "job $a attempt 1 is held by worker w1, not by w2"
	# wnctl asks for the name; a request without one is refused by wnd
	expect_exit 2 wnctl queue complete "$a" 1
	expect_contains "$WN_ERR" "missing --worker NAME"
	expect_exit 2 wnctl queue release "$a" 1
	raw_call "$M_QUEUE"/Complete "$(pbhex '[(1, int(A[0])), (2, 1), (4, 1)]' "$a")"
	expect_raw FAILED_PRECONDITION "complete naming no worker"
	expect_contains "$(raw_message)" "is held by worker w1; this request names no worker"
	raw_call "$M_QUEUE"/Release "$(pbhex '[(1, int(A[0])), (2, 1)]' "$a")"
	expect_raw FAILED_PRECONDITION "release naming no worker"
	expect_eq "$(lease_view "$a")" "$before" "the job after requests of others"
	[ "$(lease_end "$a")" -le $((end + 1)) ] ||
		fail "the lease was extended by others: it ended at $end s, now at $(lease_end "$a") s"
	# the holder is heard
	expect_exit 0 wnctl queue heartbeat --worker w1 "$a:1"
	expect_not_contains "$WN_OUT" "lost"
	[ "$(lease_end "$a")" -ge $((end + 100)) ] ||
		fail "w1's heartbeat did not extend the lease: it ended at $end s, now at $(lease_end "$a") s"
	expect_exit 0 wnctl queue release "$a" 1 --worker w1 --reason "not now"
	expect_eq "$(job_field "$a" '"\(.status) \(.lost // 0)"')" "pending 0" "after the release"
	expect_eq "$(fetch_job p w2 | jq -r '"\(.id) \(.attempt)"')" "$a 2" "fetched by w2"
	expect_exit 6 wnctl queue complete "$a" 2 --worker w1
	expect_contains "$WN_ERR" "held by worker w2, not by w1"
	expect_exit 0 wnctl queue complete "$a" 2 --worker w2
	expect_eq "$(job_field "$a" '"\(.status) \(.worker)"')" "completed w2" "after the result"
}

# gated_yaml: a worker of project p with one slot and the gated task g.
gated_yaml() {
	fleet_head p "{cpu: 2, gpus: [], memory: 2G}"
	echo "tasks:"
	fleet_gated g
}

test_a_second_worker_under_a_name_in_use_waits() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	gated_yaml >w.yaml
	local a
	a=$(wnctl job add p g)
	worker_start w1 w.yaml
	local first=$WORKER_PID
	wait_until 10 "job $a to start" test -e "started-$a"
	local inst view
	inst=$(worker_get w1 "j['instance']")
	view=$(run_view "$a")
	# the same name from a second process: refused while the first lives
	"$WN_BIN/wnworker" --config w.yaml --name w1 >>second.log 2>&1 &
	local second=$!
	WN_PIDS+=("$second")
	wait_until 10 "the second w1 to be refused" log_has second.log \
		"cannot join the fleet as w1: worker name w1 is held by another running instance on host $(hostname)"
	expect_eq "$(run_view "$a")" "$view" "the first one's job"
	expect_eq "$(worker_get w1 "(j['state'], j['instance'], j['jobs'])")" \
		"('active', '$inst', [$a])" "w1 while a second process wants the name"
	expect_not_contains "$(<second.log)" "joined the fleet"
	expect_exit 0 wnctl worker show w1
	expect_contains "$WN_OUT" "instance: $inst"
	# the first finishes its job and stops cleanly: the second takes over
	touch "release-$a"
	wait_status "$a" completed
	kill -TERM "$first"
	worker_wait "$first" 10
	wait_until 20 "the second w1 to join" log_has second.log "joined the fleet as w1"
	[ "$(worker_get w1 "j['instance']")" != "$inst" ] || fail "w1 kept the first instance id"
	local b
	b=$(wnctl job add p g)
	wait_until 10 "job $b to start on the second" test -e "started-$b"
	touch "release-$b"
	wait_status "$b" completed
	expect_eq "$(job_get "$a" "(j['worker'], j['attempt'])") $(job_get "$b" "(j['worker'], j['attempt'])")" \
		"('w1', 1) ('w1', 1)" "both jobs ran once"
	kill -TERM "$second"
	worker_wait "$second" 10
}

test_the_same_worker_joins_again_after_wnd_restarts() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	gated_yaml >w.yaml
	local a
	a=$(wnctl job add p g)
	worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_until 10 "job $a to start" test -e "started-$a"
	local inst
	inst=$(worker_get w1 "j['instance']")
	# a crash of wnd, then a clean stop: each time the worker comes back
	# as the instance the server remembers
	local round down joined
	for round in kill stop; do
		down=$(log_count w1.log "cannot reach the server")
		joined=$(log_count w1.log "joined the fleet again")
		if [ "$round" = kill ]; then wn_kill9; else wn_stop; fi
		wait_until 20 "w1 to miss the server ($round)" \
			log_count_above w1.log "cannot reach the server" "$down"
		wn_start
		wait_until 20 "w1 to join again ($round)" \
			log_count_above w1.log "joined the fleet again" "$joined"
		expect_eq "$(worker_get w1 "(j['state'], j['instance'], j['jobs'])")" \
			"('active', '$inst', [$a])" "w1 after wnd restarted ($round)"
	done
	expect_not_contains "$(<w1.log)" "cannot join the fleet"
	touch "release-$a"
	wait_status "$a" completed
	expect_eq "$(job_get "$a" "(j['worker'], j['attempt'], j['lost'])")" "('w1', 1, 0)" \
		"the job after two restarts of wnd"
	kill -TERM "$pid"
	worker_wait "$pid" 10
}

# test-tier: long
test_jobs_with_large_parameters_come_a_few_per_fetch() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# 40 jobs of ~1 MiB each, in batches of 10 (a request is at most 16 MiB)
	local f
	for f in 1 2 3 4; do
		python3 -c '
import json, sys
blob = "x" * (1024 * 1024 - 200)
for i in range(10):
    print(json.dumps({"project": "p", "task": "t", "name": "big-%s-%d" % (sys.argv[1], i),
                      "params": {"blob": blob}}))' "$f" >"batch$f.json"
		wnctl job batch "batch$f.json" >>ids
	done
	expect_eq "$(wc -l <ids | tr -d ' ')" 40 "jobs submitted"
	# replies of ~8 MiB take a while on a slow machine: a patient worker
	cat >w.yaml <<EOF
projects: p
slots: 40
fetch_wait_ms: 500
rpc_timeout_ms: 60000
log_dir: $WN_TMP/logs
tasks:
  t:
    command: [/bin/sh, -c, 'echo "\$WN_JOB_ID" >> $WN_TMP/ran']
EOF
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 120
	expect_eq "$(sort -n ran | uniq | wc -l | tr -d ' ')" 40 "jobs that ran"
	expect_eq "$(wc -l <ran | tr -d ' ')" 40 "runs"
	# each job as `job show` gives it, from one listing
	wnctl --json job list --all |
		jq -r '(.jobs // [])[] | "\(.id) \(.status) \(.attempt) \(.lost // 0)"' >listed
	local id
	while read -r id; do
		expect_eq "$(awk -v id="$id" '$1 == id { print $2, $3, $4 }' listed)" "completed 1 0" \
			"job $id"
	done <ids
	expect_not_contains "$(<w1.log)" "cannot fetch"
}

test_worker_list_hides_gone_workers_and_keeps_last_seen() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g >/dev/null
	gated_yaml >w.yaml
	worker_start w-gone w.yaml
	local pid=$WORKER_PID
	wait_joined w-gone
	kill -TERM "$pid"
	worker_wait "$pid" 10
	worker_start w-dead w.yaml
	pid=$WORKER_PID
	wait_joined w-dead
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# the server counts w-dead ACTIVE for its worker timeout (30 s)
	expect_exit 0 wnctl worker list
	expect_contains "$WN_OUT" "w-dead"
	expect_not_contains "$WN_OUT" "w-gone"
	expect_exit 0 wnctl worker list --all
	expect_contains "$WN_OUT" "w-dead"
	expect_contains "$WN_OUT" "w-gone"
	expect_exit 0 wnctl worker list --state gone
	expect_eq "$(tail -n +2 <<<"$WN_OUT" | awk '{print $1, $2}')" "w-gone gone" "--state gone"
	expect_eq "$(wnctl --json worker list | jq -c '[.workers[].name]')" '["w-dead"]' "--json"
	expect_eq "$(wnctl --json worker list --all | jq -c '[.workers[].name]')" \
		'["w-dead","w-gone"]' "--json --all"
	local table seen
	table=$(wnctl worker list --all)
	seen=$(wnctl --json worker list --all | jq -c '[.workers[] | [.name, .last_seen_ms]]')
	# the last-seen times are the workers', not the server's restart
	wn_stop
	wn_start
	expect_eq "$(wnctl worker list --all)" "$table" "worker list after a clean restart"
	expect_eq "$(wnctl --json worker list --all | jq -c '[.workers[] | [.name, .last_seen_ms]]')" \
		"$seen" "last seen after a clean restart"
	wn_kill9
	wn_start
	expect_eq "$(wnctl --json worker list --all | jq -c '[.workers[] | [.name, .last_seen_ms]]')" \
		"$seen" "last seen after a crash"
}
