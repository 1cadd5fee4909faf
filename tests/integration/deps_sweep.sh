# Sweeps: cartesian products and names, sweep files, progress per sweep, the
# max-running cap under concurrent fetchers, priority of a whole sweep.
source "${BASH_SOURCE[0]%/*}/deps_lib.sh"

# sweep_submit ARGS...: run `job sweep`, check its line, leave the sweep id in
# SWEEP, its first and last job ids in FIRST and LAST.
sweep_submit() {
	local out
	out=$(wnctl job sweep "$@")
	[[ $out =~ ^sweep\ ([0-9]+):\ ([0-9]+)\ jobs\ \(ids\ ([0-9]+)-([0-9]+)\)$ ]] ||
		fail "job sweep printed '$out'"
	SWEEP=${BASH_REMATCH[1]}
	FIRST=${BASH_REMATCH[3]}
	LAST=${BASH_REMATCH[4]}
	expect_eq "$SWEEP" "$FIRST" "sweep id"
	expect_eq "$((LAST - FIRST + 1))" "${BASH_REMATCH[2]}" "ids of the sweep"
}

# sweep_jobs ID JQ: one line per job of the sweep, in id order, JQ applied.
sweep_jobs() {
	local out
	out=$(wnctl --json job list --sweep "$1" --all)
	jq_jobs <<<"$out" | jq -r "$2"
}

test_sweep_product_and_names() {
	deps_start
	local other
	other=$(add other)
	sweep_submit p t --grid lr=0.1,0.01,0.001 --grid bs=32,64 --param epochs=3
	local s1=$SWEEP
	# The last --grid varies fastest; names spell out the grid's values.
	expect_eq "$(sweep_jobs "$s1" '.name' | tr '\n' ' ')" \
		"lr=0.1,bs=32 lr=0.1,bs=64 lr=0.01,bs=32 lr=0.01,bs=64 lr=0.001,bs=32 lr=0.001,bs=64 " \
		"names"
	expect_eq "$(sweep_jobs "$s1" '"\(.params.lr)/\(.params.bs)/\(.params.epochs)"' | tr '\n' ' ')" \
		"0.1/32/3 0.1/64/3 0.01/32/3 0.01/64/3 0.001/32/3 0.001/64/3 " "parameters"
	expect_eq "$(sweep_jobs "$s1" '.sweep_id' | sort -u)" "$s1" "sweep_id of the jobs"
	expect_eq "$(sweep_jobs "$s1" '.id' | tr '\n' ' ')" "$(seq -s ' ' "$FIRST" "$LAST") " "ids"
	expect_eq "$(job_field "$other" '.sweep_id // 0')" 0 "a job outside the sweep"
	expect_eq "$(sweep_count "$s1" total)" 6 "sweep total"
	expect_eq "$(sweep_count "$s1" pending)" 6 "sweep pending"
	expect_eq "$(sweep_json "$s1" | jq -r '"\(.project) \(.name) \(.max_running)"')" "p t 0" \
		"sweep show"

	# A name template, a priority, a sweep name.
	sweep_submit p t --grid lr=0.1,0.2 --grid bs=8,16 --name 'lr{lr}-bs{bs}' --priority 4 \
		--sweep lr-bs
	local s2=$SWEEP
	expect_eq "$(sweep_jobs "$s2" '"\(.name):\(.priority)"' | tr '\n' ' ')" \
		"lr0.1-bs8:4 lr0.1-bs16:4 lr0.2-bs8:4 lr0.2-bs16:4 " "templated names"
	expect_eq "$(sweep_json "$s2" | jq -r .name)" lr-bs "sweep name"
	expect_eq "$(sweep_jobs "$s1" '.id' | wc -l | tr -d ' ')" 6 "job list --sweep keeps to its sweep"

	# --dry-run prints the jobs and submits nothing.
	local before
	before=$(count_jobs)
	expect_exit 0 wnctl job sweep p t --grid a=1,2 --grid b=x,y,z --dry-run
	expect_eq "$(wc -l <<<"$WN_OUT" | tr -d ' ')" 7 "dry-run lines"
	expect_contains "$WN_OUT" "a=2,b=z"
	expect_eq "$(count_jobs)" "$before" "jobs after a dry run"

	# Sweeps are listed, and status shows their progress.
	expect_exit 0 wnctl sweep list
	expect_contains "$WN_OUT" "lr-bs"
	expect_eq "$(wnctl --json sweep list p | jq -r '[.sweeps[].id] | join(" ")')" "$s1 $s2" "sweep list"
	expect_exit 0 wnctl status
	expect_contains "$WN_OUT" "SWEEP" "status"
	grep -E "^$s2 +p +lr-bs " <<<"$WN_OUT" >/dev/null || fail "status has no row for sweep $s2: $WN_OUT"
	expect_eq "$(wnctl --json status | jq -r '[.sweeps[].total] | join(" ")')" "6 4" "status --json"
}

test_sweep_file() {
	deps_start
	cat >sweep.yaml <<'EOF'
# every row of the list with every point of the grid
grid:
  lr: [0.1, 1e-3]
  seed: 7
list:
  - {model: resnet, depth: 50}
  - model: vit
params:
  epochs: 10
  model: none
name: "{model}-lr{lr}-s{seed}"
sweep: models
priority: 2
max_running: 3
EOF
	sweep_submit p t --file sweep.yaml
	expect_eq "$(sweep_jobs "$SWEEP" '"\(.name) \(.params.epochs) \(.params.depth // "-") \(.priority)"' |
		tr '\n' ';')" \
		"resnet-lr0.1-s7 10 50 2;resnet-lr1e-3-s7 10 50 2;vit-lr0.1-s7 10 - 2;vit-lr1e-3-s7 10 - 2;" \
		"jobs of the file"
	expect_eq "$(sweep_json "$SWEEP" | jq -r '"\(.name) \(.max_running) \(.total)"')" "models 3 4" \
		"sweep of the file"
	# Options given on the command line win over the file.
	sweep_submit p t --file sweep.yaml --grid lr=5 --param epochs=1 --max-running 0 --sweep m2 \
		--name 'x-{model}'
	expect_eq "$(sweep_jobs "$SWEEP" '"\(.name) \(.params.lr) \(.params.epochs)"' | tr '\n' ';')" \
		"x-resnet 5 1;x-vit 5 1;" "command line over the file"
	expect_eq "$(sweep_json "$SWEEP" | jq -r '"\(.name) \(.max_running)"')" "m2 0" "sweep options"

	# Mistakes are refused before anything is sent, with their place.
	local before
	before=$(count_jobs)
	printf 'grid:\n  lr: [0.1]\nmax_runing: 2\n' >typo.yaml
	expect_exit 2 wnctl job sweep p t --file typo.yaml
	expect_contains "$WN_ERR" "typo.yaml:3:1: unknown key 'max_runing' (did you mean 'max_running'?)"
	printf 'grid:\n  lr: []\n' >empty.yaml
	expect_exit 2 wnctl job sweep p t --file empty.yaml
	expect_contains "$WN_ERR" "empty.yaml:2:"
	# an empty name or value, as with --grid and --param
	printf 'grid:\n  lr: [0.1, ""]\n' >emptyv.yaml
	expect_exit 2 wnctl job sweep p t --file emptyv.yaml
	expect_contains "$WN_ERR" "emptyv.yaml:2:13: expected a value for 'grid.lr', got an empty string"
	printf 'grid:\n  "": [1]\n' >emptyk.yaml
	expect_exit 2 wnctl job sweep p t --file emptyk.yaml --dry-run
	expect_contains "$WN_ERR" "emptyk.yaml:2:3: expected a value for a key of 'grid'"
	printf 'list:\n  - {lr: ""}\n' >emptyr.yaml
	expect_exit 2 wnctl job sweep p t --file emptyr.yaml
	expect_contains "$WN_ERR" "emptyr.yaml:2:10:"
	printf 'params:\n  epochs: ""\ngrid:\n  lr: [1]\n' >emptyp.yaml
	expect_exit 2 wnctl job sweep p t --file emptyp.yaml
	expect_contains "$WN_ERR" "emptyp.yaml:2:11: expected a value for 'params.epochs', got an empty string"
	printf 'grid: {lr: [1]}\nlist: [{lr: 2}]\n' >both.yaml
	expect_exit 2 wnctl job sweep p t --file both.yaml
	expect_contains "$WN_ERR" "'lr'"
	expect_exit 2 wnctl job sweep p t --grid lr=1,2 --name '{nope}'
	expect_contains "$WN_ERR" "nope"
	# a name the server would refuse, --dry-run included
	expect_exit 2 wnctl job sweep p t --grid lr=1,2 --name 'runs/{lr}' --dry-run
	expect_contains "$WN_ERR" "name template 'runs/{lr}': job 1's name 'runs/1' is invalid"
	expect_exit 2 wnctl job sweep p t --grid lr=1,2 --name '-{lr}'
	expect_exit 2 wnctl job sweep p t --grid lr=1,,2
	expect_exit 2 wnctl job sweep p t --grid =1
	expect_exit 2 wnctl job sweep p t --param a=1
	expect_exit 2 wnctl job sweep p t --grid "a=$(seq -s, 1 1000)" --grid "b=$(seq -s, 1 101)"
	expect_contains "$WN_ERR" 101000
	expect_exit 1 wnctl job sweep p t --file nosuch.yaml
	expect_exit 4 wnctl job sweep p nosuch --grid a=1,2
	expect_eq "$(count_jobs)" "$before" "jobs after refused sweeps"
}

test_sweep_progress() {
	deps_start
	sweep_submit p t --grid i=1,2,3,4,5,6
	local s=$SWEEP
	run_next "$FIRST"
	run_next "$((FIRST + 1))"
	run_next "$((FIRST + 2))" --fail
	local out id attempt
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_exit 0 wnctl job cancel "$((FIRST + 5))"
	expect_eq "$(sweep_json "$s" | jq -c '[.total, .pending, .running, .completed, .failed, .blocked, .cancelled]')" \
		"[6,1,1,2,1,0,1]" "counts"
	expect_exit 0 wnctl sweep show "$s"
	expect_contains "$WN_OUT" "completed: 2"
	expect_contains "$WN_OUT" "running: 1"
	expect_exit 0 wnctl status
	grep -E "^$s +p +t +- +1 +1 +2 +1 +0 +1 +6$" <<<"$WN_OUT" >/dev/null ||
		fail "status row of sweep $s: $WN_OUT"
	expect_exit 0 wnctl sweep list
	grep -E "^$s +p +t +- +1 +1 +2 +1 +0 +1 +6$" <<<"$WN_OUT" >/dev/null ||
		fail "sweep list row of sweep $s: $WN_OUT"
	expect_eq "$(all_job_ids --sweep "$s" --status failed)" "$((FIRST + 2))" "job list --sweep --status"
	expect_contains "$(wnctl sweep show "$s")" "jobs: 6 (ids $FIRST-$((FIRST + 5)))"$'\n' "nothing removed"
	# Jobs removed (as retention removes them) leave the counts and are named.
	wnctl job remove "$FIRST" "$((FIRST + 5))" >/dev/null
	expect_exit 0 wnctl sweep show "$s"
	expect_contains "$WN_OUT" "jobs: 6 (ids $FIRST-$((FIRST + 5)); 2 removed)"$'\n' "sweep show after removals"
	expect_contains "$WN_OUT" "completed: 1"$'\n' "completed after removals"
	expect_contains "$WN_OUT" "cancelled: 0" "cancelled after removals"
	expect_exit 4 wnctl sweep show 999999
	expect_exit 2 wnctl sweep show abc
}

test_sweep_max_running_concurrent_fetchers() {
	deps_start --threads 4
	sweep_submit p t --grid i=1,2,3,4,5,6,7,8,9,10 --max-running 3 --priority 5
	local s=$SWEEP x y
	x=$(add x)
	y=$(add y)
	# Eight fetchers at once: three jobs of the sweep, and the two others.
	local f pids=()
	for f in 1 2 3 4 5 6 7 8; do
		(wnctl --json queue fetch p --worker "f$f" | jq -r '.job.id // empty' >"got.$f") &
		pids+=("$!")
		bg_track "$!"
	done
	local pid
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	cat got.* | sort -n >got
	expect_eq "$(wc -l <got | tr -d ' ')" 5 "jobs handed out: $(tr '\n' ' ' <got)"
	expect_eq "$(awk -v a="$FIRST" -v b="$LAST" '$1 >= a && $1 <= b' got | wc -l | tr -d ' ')" 3 \
		"jobs of the sweep handed out"
	grep -qx "$x" got || fail "job $x was not handed out while the sweep was at its cap"
	grep -qx "$y" got || fail "job $y was not handed out while the sweep was at its cap"
	expect_eq "$(sweep_count "$s" running)" 3 "running jobs of the sweep"
	# The rest of the sweep waits, and says why.
	expect_eq "$(ready_ids)" "" "ready at the cap"
	expect_eq "$(waiting_ids | wc -w | tr -d ' ')" 7 "waiting at the cap"
	local j
	j=$(queue_json)
	expect_eq "$(jq -r '.waiting_total // 0' <<<"$j")" 7 "waiting_total"
	expect_eq "$(jq_jobs <<<"$j" | jq -r 'select(.waiting == "") | .id')" "" "jobs waiting without a reason"
	run_next none

	# One finishes: exactly one more may start.
	local done_id
	done_id=$(awk -v a="$FIRST" -v b="$LAST" '$1 >= a && $1 <= b' got | head -n 1)
	wnctl queue complete "$done_id" 1 \
		--worker "$(wnctl --json job show "$done_id" | jq -r .worker)" >/dev/null
	local out
	out=$(wnctl queue fetch p --worker w)
	[ -n "$out" ] || fail "no job of the sweep started after one finished"
	run_next none
	# Raising the cap lets more start; 0 removes it.
	expect_exit 0 wnctl sweep cap "$s" 5
	expect_eq "$WN_OUT" "sweep $s: max_running 5"
	expect_eq "$(sweep_json "$s" | jq -r .max_running)" 5 "cap after sweep cap"
	expect_eq "$(take_n 3 | wc -l | tr -d ' ')" 2 "jobs handed out under the new cap"
	expect_eq "$(sweep_count "$s" running)" 5 "running jobs under the new cap"
	expect_exit 0 wnctl sweep cap "$s" 0
	expect_eq "$WN_OUT" "sweep $s: no cap"
	expect_eq "$(ready_ids | wc -w | tr -d ' ')" 4 "ready without a cap"
	expect_eq "$(waiting_ids)" "" "waiting without a cap"
}

test_sweep_max_running_with_workers() {
	deps_start --threads 4
	sweep_submit p t --grid i=1,2,3,4,5,6,7,8,9,10,11,12 --max-running 2
	local s=$SWEEP w pids=()
	for w in w1 w2 w3 w4; do
		worker_loop "$w" run.log stop &
		pids+=("$!")
		bg_track "$!"
	done
	local deadline=$(($(date +%s) + 60)) running
	while [ "$(sweep_count "$s" completed)" != 12 ]; do
		running=$(sweep_count "$s" running)
		[ "$running" -le 2 ] || fail "$running jobs of the sweep run at once, over its cap of 2"
		[ "$(date +%s)" -lt "$deadline" ] || fail "the sweep did not finish in 60 s"
		sleep 0.05
	done
	touch stop
	local pid
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	[ ! -s run.log.err ] || fail "worker loops failed: $(head -n 5 run.log.err)"
	expect_eq "$(grep -c '^start ' run.log)" 12 "jobs started"
}

test_sweep_priority() {
	deps_start
	local x
	x=$(add x --priority 1)
	sweep_submit p t --grid i=1,2,3
	local s=$SWEEP
	expect_eq "$(ready_ids)" "$x $FIRST $((FIRST + 1)) $LAST" "order before"
	run_next "$x"
	local y
	y=$(add y --priority 1)
	# One job of the sweep is running: only the pending ones change.
	local out id attempt
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "$id" "$y" "job handed out"
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "$id" "$FIRST" "job handed out"
	expect_exit 0 wnctl sweep priority "$s" 9
	expect_eq "$WN_OUT" "sweep $s: priority 9"
	local z
	z=$(add z --priority 5)
	expect_eq "$(ready_ids)" "$((FIRST + 1)) $LAST $z" "order after"
	expect_eq "$(job_field "$((FIRST + 1))" .priority)" 9 "priority of a pending job"
	expect_eq "$(job_field "$FIRST" '.priority // 0')" 0 "priority of the running job"
	expect_exit 0 wnctl sweep priority "$s" -3
	expect_eq "$(ready_ids)" "$z $((FIRST + 1)) $LAST" "order after a negative priority"
	expect_exit 4 wnctl sweep priority 999999 1
}

# A blocked job of a sweep takes the sweep's new priority too: it runs with
# it once what it waits for is retried.
test_sweep_priority_of_blocked_jobs() {
	deps_start
	local x
	x=$(add x --priority 9)
	printf '{"name":"a","after":[%s]}\n{"name":"b","after":[%s]}\n' "$x" "$x" >jobs.json
	expect_exit 0 wnctl job batch jobs.json --project p --task t --sweep ab
	local a b
	a=$(head -n 1 <<<"$WN_OUT")
	b=$(tail -n 1 <<<"$WN_OUT")
	run_next "$x" --fail
	expect_statuses "$a blocked" "$b blocked"
	expect_exit 0 wnctl sweep priority "$a" 7
	expect_eq "$(job_field "$a" .priority) $(job_field "$b" .priority)" "7 7" "priorities of the blocked jobs"
	local z
	z=$(add z --priority 5)
	expect_exit 0 wnctl job retry "$x"
	run_next "$x"
	expect_eq "$(ready_ids)" "$a $b $z" "order once the blocked jobs may run"
}

test_sweep_batch() {
	deps_start
	# A batch becomes a sweep with --sweep / --max-running, or in the file.
	printf '{"name":"a"}\n{"name":"b"}\n{"name":"c"}\n' >jobs.json
	expect_exit 0 wnctl job batch jobs.json --project p --task t --sweep abc --max-running 1
	expect_eq "$(wc -l <<<"$WN_OUT" | tr -d ' ')" 3 "ids printed"
	local first s
	first=$(head -n 1 <<<"$WN_OUT")
	expect_contains "$WN_ERR" "sweep $first: 3 jobs"
	s=$first
	expect_eq "$(sweep_json "$s" | jq -r '"\(.name) \(.max_running) \(.total)"')" "abc 1 3" "batch sweep"
	hold "$first"
	hold none

	cat >wrapped.json <<'EOF'
{"sweep": {"name": "pipe", "max_running": 2},
 "jobs": [{"name": "prep"},
          {"name": "x", "after": ["prep"]},
          {"name": "y", "after": ["prep"]},
          {"name": "z", "after": ["prep"]}]}
EOF
	local j s2
	j=$(wnctl --json job batch wrapped.json --project p --task t)
	s2=$(jq -r '.sweep_id' <<<"$j")
	expect_eq "$s2" "$(jq -r '.ids[0]' <<<"$j")" "sweep id of a wrapped batch"
	expect_eq "$(sweep_json "$s2" | jq -r '"\(.name) \(.max_running) \(.total)"')" "pipe 2 4" \
		"wrapped sweep"
	# Without a sweep a batch stays a plain batch.
	expect_exit 0 wnctl --json job batch jobs.json --project p --task t
	expect_eq "$(jq -r '.sweep_id // 0' <<<"$WN_OUT")" 0 "plain batch"
	expect_eq "$(job_field "$(jq -r '.ids[0]' <<<"$WN_OUT")" '.sweep_id // 0')" 0 "job of a plain batch"
	printf '{"sweep": {"name": "s", "cap": 1}, "jobs": [{"name": "a"}]}' >bad.json
	expect_exit 2 wnctl job batch bad.json --project p --task t
	expect_contains "$WN_ERR" '"cap"'
}
