# Queue: dispatch order, exactly-once claims, waiting fetches, results,
# release, stats, clear, pop, show.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# fetch_loop PROJECT WORKER OUT MAX: fetch until the queue is empty (at most MAX
# times), appending each claimed id to OUT; a failed fetch is written to
# OUT.err and ends the loop. One client (wnclaim) does the fetches, one at a
# time, on its own connection.
fetch_loop() {
	local project=$1 worker=$2 out=$3 max=$4 rc=0
	"$WN_BIN/wnclaim" "$WN_SERVER" "$project" "$worker" --max "$max" >".$worker.claims" \
		2>".$worker.err" || rc=$?
	cut -d' ' -f1 ".$worker.claims" >>"$out"
	[ "$rc" -eq 0 ] || echo "$worker: fetch failed: $(<".$worker.err")" >>"$out.err"
}

test_queue_priority_fifo_1000() {
	wn_start --lease-ms 3600000 # no lease may expire, however slow the machine
	mkproject p
	mktask p t
	# Priorities -3..3 spread over the ids; equal priorities must leave in id order.
	gen_batch jobs.json p t 1000 7
	wnctl job batch jobs.json >ids
	expect_eq "$(wc -l <ids | tr -d ' ')" 1000 "ids printed"
	paste ids <(jq -r .priority jobs.json) | sort -k2,2nr -k1,1n | cut -f1 >expected
	[ "$(head -n 1 expected)" != "$(head -n 1 ids)" ] || fail "priorities did not change the order"

	local j
	j=$(wnctl --json queue show p --limit 1000)
	expect_eq "$(jq -r '.total // 0' <<<"$j")" 1000 "queue total"
	jq_jobs <<<"$j" | jq -r .id >shown
	cmp -s expected shown ||
		fail "queue show order differs from priority/FIFO: $(diff expected shown | head -n 5)"
	expect_eq "$(jq_jobs <<<"$j" | jq -r '.position // 0' | tr '\n' ' ')" "$(seq -s ' ' 0 999) " \
		"positions"
	j=$(wnctl --json queue show p --offset 500 --limit 3)
	expect_eq "$(jq_jobs <<<"$j" | jq -r .id)" "$(sed -n 501,503p expected)" "queue show --offset"

	fetch_loop p w fetched 1000
	[ ! -s fetched.err ] || fail "$(<fetched.err)"
	cmp -s expected fetched ||
		fail "fetch order differs from priority/FIFO: $(diff expected fetched | head -n 5)"
	expect_eq "$(fetch_job p w)" "" "fetch from an empty queue"
}

test_queue_exactly_once() {
	wn_start --threads 4 --lease-ms 3600000 # no lease may expire, however slow the machine
	mkproject p
	mktask p t
	gen_batch jobs.json p t 2000
	wnctl job batch jobs.json | sort -n >submitted
	expect_eq "$(wc -l <submitted | tr -d ' ')" 2000 "ids printed"

	local w pids=()
	for w in 1 2 3 4 5 6 7 8; do
		fetch_loop p "w$w" "claims.w$w" 2000 &
		pids+=("$!")
		bg_track "$!"
	done
	local pid
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	if cat claims.*.err >errors 2>/dev/null && [ -s errors ]; then
		fail "fetch loops failed: $(head -n 5 errors)"
	fi
	cat claims.w* | sort -n >claimed
	expect_eq "$(uniq -d claimed | head -n 5 | tr '\n' ' ')" "" "ids handed out twice"
	expect_eq "$(wc -l <claimed | tr -d ' ')" 2000 "jobs handed out"
	cmp -s submitted claimed || fail "claimed ids differ from submitted ids"

	# Each job is RUNNING, attempt 1, held by the worker that got it.
	for w in 1 2 3 4 5 6 7 8; do
		sed "s/\$/ w$w/" "claims.w$w"
	done | sort -n >holders
	wnctl --json job list --all --status running | jq_jobs |
		jq -r '"\(.id) \(.worker) \(.attempt // 0)"' | sort -n >listed
	expect_eq "$(sed 's/ 1$//' listed | cmp - holders && echo same)" same "lease holders"
	expect_eq "$(grep -vc ' 1$' listed || true)" 0 "jobs with an attempt other than 1"
	local s
	s=$(wnctl --json queue stats p)
	expect_eq "$(jq -r '.projects[0].running // 0' <<<"$s")" 2000 "running"
	expect_eq "$(jq -r '.projects[0].pending // 0' <<<"$s")" 0 "pending"
}

test_queue_fetch_wait() {
	wn_start
	mkproject p
	mktask p t
	expect_exit 0 wnctl queue fetch p --worker w --wait 200
	expect_eq "$WN_OUT" "" "fetch output with no job"
	expect_exit 0 wnctl --json queue fetch p --worker w --wait 200
	expect_eq "$(jq -c .job <<<"$WN_OUT")" null "--json fetch with no job"

	# A fetch that waits gets a job submitted while it waits.
	(
		rc=0
		wnctl --json queue fetch p --worker w --wait 30000 >waited.json 2>waited.err || rc=$?
		echo "$rc" >waited.rc
	) &
	bg_track "$!"
	sleep 0.5
	[ ! -e waited.rc ] || fail "fetch --wait 30000 returned at once: $(cat waited.json waited.err)"
	local id
	id=$(wnctl job add p t)
	wait_for 40 "the waiting fetch to return" test -s waited.rc
	expect_eq "$(<waited.rc)" 0 "waiting fetch exit status ($(<waited.err))"
	expect_eq "$(jq -r '.job.id' waited.json)" "$id" "job of the waiting fetch"
	expect_eq "$(job_status "$id")" running "status"
	expect_eq "$(job_field "$id" .worker)" w "holder"
}

test_queue_fetch_task_filter() {
	wn_start
	mkproject p
	mktask p a
	mktask p b
	local ia ib
	ia=$(wnctl job add p a)
	ib=$(wnctl job add p b --priority 5)
	expect_eq "$(fetch_job p w --task a | jq -r .id)" "$ia" "fetch --task a"
	expect_eq "$(fetch_job p w --task a)" "" "second fetch --task a"
	expect_eq "$(job_status "$ib")" pending "job of task b"
	expect_eq "$(fetch_job p w | jq -r .id)" "$ib" "fetch of any task"
	expect_exit 4 wnctl queue fetch nosuch --worker w
}

test_queue_complete_results() {
	wn_start
	mkproject p
	mktask p t
	mktask p r --retries 1
	local a b c j
	a=$(wnctl job add p t)
	j=$(fetch_job p w1)
	expect_eq "$(jq -r .id <<<"$j")" "$a" "fetched id"
	expect_eq "$(jq -r '.attempt // 0' <<<"$j")" 1 "attempt"
	expect_eq "$(jq -r .status <<<"$j")" running "status in the fetch reply"
	expect_eq "$(jq -r .worker <<<"$j")" w1 "worker"
	expect_exit 0 wnctl queue complete "$a" 1 --worker w1 --exit-code 0 --output "hello out"
	j=$(job_json "$a")
	expect_eq "$(jq -r .status <<<"$j")" completed "status"
	expect_eq "$(jq -r '.exit_code // 0' <<<"$j")" 0 "exit code"
	expect_contains "$(jq -r '.output_tail // ""' <<<"$j")" "hello out" "output tail"
	[ "$(jq -r '.finished_ms // 0' <<<"$j")" -gt 0 ] || fail "finished_ms not set: $j"
	[ "$(jq -r '.started_ms // 0' <<<"$j")" -gt 0 ] || fail "started_ms not set: $j"

	# A failed command with no retries left: FAILED with its exit code and reason.
	b=$(wnctl job add p t)
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$b" "fetched id"
	expect_exit 0 wnctl queue complete "$b" 1 --worker w1 --fail --exit-code 3 --reason "boom"
	j=$(job_json "$b")
	expect_eq "$(jq -r .status <<<"$j")" failed "status"
	expect_eq "$(jq -r '.exit_code // 0' <<<"$j")" 3 "exit code"
	expect_contains "$(jq -r '.reason // ""' <<<"$j")" boom "reason"
	expect_eq "$(jq -r '.failures // 0' <<<"$j")" 1 "failures"

	# retries 1: the first failure puts the job back, the second fails it.
	c=$(wnctl job add p r)
	expect_eq "$(fetch_job p w1 | jq -r .id)" "$c" "fetched id"
	expect_exit 0 wnctl queue complete "$c" 1 --worker w1 --fail --exit-code 1
	expect_eq "$(job_status "$c")" pending "status after the first failure"
	expect_eq "$(job_field "$c" '.failures // 0')" 1 "failures"
	j=$(fetch_job p w2)
	expect_eq "$(jq -r .id <<<"$j")" "$c" "fetched id"
	expect_eq "$(jq -r '.attempt // 0' <<<"$j")" 2 "attempt"
	expect_exit 0 wnctl queue complete "$c" 2 --worker w2 --fail --exit-code 1
	expect_eq "$(job_status "$c")" failed "status after the second failure"
	expect_eq "$(job_field "$c" '.failures // 0')" 2 "failures"

	expect_exit 0 wnctl job retry "$c"
	expect_eq "$(job_status "$c")" pending "status after retry"
	expect_eq "$(job_field "$c" '.failures // 0')" 0 "failures after retry"

	local s
	s=$(wnctl --json queue stats p)
	expect_eq "$(jq -r '.projects[0] | [.completed, .failed, .pending, .running] |
		map(. // 0) | join(" ")' <<<"$s")" "1 1 1 0" "completed failed pending running"
}

test_queue_complete_refusals() {
	wn_start
	mkproject p
	mktask p t
	local a
	a=$(wnctl job add p t)
	# Not leased yet.
	expect_exit 6 wnctl queue complete "$a" 1 --worker w
	expect_contains "$WN_ERR" "wnctl: "
	expect_eq "$(job_status "$a")" pending "status"
	expect_eq "$(fetch_job p w | jq -r .id)" "$a" "fetched id"
	# Wrong attempts are stale leases.
	expect_exit 6 wnctl queue complete "$a" 2 --worker w
	expect_eq "$(job_field "$a" '"\(.status) \(.attempt // 0)"')" "running 1" "job after stale results"
	expect_exit 4 wnctl queue complete 999999 1 --worker w
	expect_exit 0 wnctl queue complete "$a" 1 --worker w
	# A second result for the same lease is refused and changes nothing.
	expect_exit 6 wnctl queue complete "$a" 1 --worker w --fail --exit-code 9
	expect_eq "$(job_field "$a" '"\(.status) \(.exit_code // 0)"')" "completed 0" \
		"job after a late result"
}

test_queue_release() {
	wn_start
	mkproject p
	mktask p t
	local a
	a=$(wnctl job add p t)
	expect_exit 6 wnctl queue release "$a" 1 --worker w
	expect_eq "$(fetch_job p w | jq -r .id)" "$a" "fetched id"
	expect_exit 6 wnctl queue release "$a" 2 --worker w
	expect_eq "$(job_status "$a")" running "status after a stale release"
	expect_exit 0 wnctl queue release "$a" 1 --worker w
	expect_eq "$(job_field "$a" '"\(.status) \(.lost // 0)"')" "pending 0" "job after release"
	local j
	j=$(fetch_job p w2)
	expect_eq "$(jq -r '"\(.id) \(.attempt // 0) \(.worker)"' <<<"$j")" "$a 2 w2" "refetched job"
	expect_exit 4 wnctl queue release 999999 1 --worker w
}

test_queue_stats_clear_pop_show() {
	wn_start
	mkproject p
	mktask p a
	mktask p b
	mkproject q
	mktask q a
	gen_batch pa.json p a 6
	gen_batch pb.json p b 4
	gen_batch qa.json q a 3
	local pa pb
	pa=($(wnctl job batch pa.json))
	pb=($(wnctl job batch pb.json))
	wnctl job batch qa.json >/dev/null
	# pa[0] completed, pa[1] running, pa[2] cancelled; 7 pending in p.
	expect_eq "$(fetch_job p w | jq -r .id)" "${pa[0]}" "first fetch"
	wnctl queue complete "${pa[0]}" 1 --worker w >/dev/null
	expect_eq "$(fetch_job p w | jq -r .id)" "${pa[1]}" "second fetch"
	wnctl job cancel "${pa[2]}" >/dev/null

	local s
	s=$(wnctl --json queue stats p)
	expect_eq "$(jq -r '.projects[] | select(.project == "p") |
		[.pending, .running, .completed, .cancelled, .failed] | map(. // 0) | join(" ")' <<<"$s")" \
		"7 1 1 1 0" "stats p: pending running completed cancelled failed"
	s=$(wnctl --json queue stats)
	expect_eq "$(jq -r '[.projects[].project] | sort | join(",")' <<<"$s")" "p,q" "projects in stats"
	expect_eq "$(jq -r '.projects[] | select(.project == "q") | .pending // 0' <<<"$s")" 3 \
		"pending in q"
	expect_exit 0 wnctl queue stats p
	expect_contains "$WN_OUT" 7

	local order=("${pa[3]}" "${pa[4]}" "${pa[5]}" "${pb[@]}") j
	j=$(wnctl --json queue show p)
	expect_eq "$(jq -r '.total // 0' <<<"$j")" 7 "queue total"
	expect_eq "$(jq_jobs <<<"$j" | jq -r .id | tr '\n' ' ')" "${order[*]} " "queue order"
	j=$(wnctl --json queue show p --limit 2 --offset 3)
	expect_eq "$(jq_jobs <<<"$j" | jq -r '"\(.id)@\(.position // 0)"' | tr '\n' ' ')" \
		"${order[3]}@3 ${order[4]}@4 " "queue show --limit 2 --offset 3"
	expect_eq "$(jq -r '.total // 0' <<<"$j")" 7 "queue total with an offset"

	# Pop removes the job at a position of the dispatch order.
	expect_eq "$(wnctl --json queue pop p 2 | jq -r .id)" "${order[2]}" "pop 2"
	expect_exit 4 wnctl job show "${order[2]}"
	expect_eq "$(wnctl --json queue pop p | jq -r .id)" "${order[0]}" "pop with no position"
	expect_exit 4 wnctl job show "${order[0]}"
	expect_fail wnctl queue pop p 5
	expect_eq "$(wnctl --json queue show p | jq -r '.total // 0')" 5 "queue total after pops"

	# Clear removes PENDING jobs only, of one task or all.
	expect_eq "$(wnctl --json queue clear p --task b | jq -r '.removed // 0')" 4 "clear --task b"
	expect_eq "$(wnctl --json queue clear p | jq -r '.removed // 0')" 1 "clear"
	expect_eq "$(job_status "${pa[1]}")" running "running job after clear"
	expect_eq "$(job_status "${pa[0]}")" completed "completed job after clear"
	expect_eq "$(job_status "${pa[2]}")" cancelled "cancelled job after clear"
	expect_eq "$(wnctl --json queue show p | jq -r '.total // 0')" 0 "queue total after clear"
	expect_eq "$(wnctl --json queue stats q | jq -r '.projects[0].pending // 0')" 3 "pending in q"

	expect_exit 4 wnctl queue stats nosuch
	expect_exit 4 wnctl queue clear nosuch
	expect_exit 4 wnctl queue pop nosuch
	expect_exit 4 wnctl queue show nosuch
}
