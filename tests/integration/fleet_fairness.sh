# The fleet: a worker serving several projects takes the highest priority
# first and goes round-robin across projects among equal priorities, so one
# large sweep cannot starve another project. Real wnd, wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/fleet_lib.sh"

test_equal_priorities_take_turns_across_projects() {
	wn_start
	local p i
	for p in big small; do
		wnctl project create "$p" >/dev/null
		wnctl task create "$p" t >/dev/null
	done
	# A large sweep is queued first; the other project's jobs come after it.
	seq 1 20 | sed 's/.*/{"params":{"n":"&"}}/' |
		wnctl job batch - --project big --task t >/dev/null
	for i in 1 2 3 4; do
		wnctl job add small t >/dev/null
	done
	local urgent
	urgent=$(wnctl job add big t --priority 5)
	{
		fleet_head "[big, small]" "{cpu: 1, gpus: [], memory: 1G}"
		echo "tasks:"
		fleet_logged t
	} >w.yaml
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(wc -l <order | tr -d ' ')" 25 "jobs run"
	# Priority first.
	expect_eq "$(head -1 order)" "big $urgent" "the first job"
	# Then the projects take turns while both have jobs: the small project's
	# four jobs are among the first nine, one every other job.
	local firsts
	firsts=$(sed -n '2,9p' order | cut -d' ' -f1 | tr '\n' ' ')
	case "$firsts" in
	"big small big small big small big small " | "small big small big small big small big ") ;;
	*) fail "projects did not take turns: $firsts" ;;
	esac
	expect_eq "$(sed -n '10,25p' order | cut -d' ' -f1 | sort -u)" big "the rest"
}

test_free_slots_fill_from_every_project() {
	wn_start
	wnctl project create a >/dev/null
	wnctl project create b >/dev/null
	wnctl task create a g >/dev/null
	wnctl task create b g >/dev/null
	local ids=() i
	for i in 1 2; do
		ids+=("$(wnctl job add a g)" "$(wnctl job add b g)")
	done
	{
		fleet_head "[a, b]" "{cpu: 4, gpus: [], memory: 4G}" 4
		echo "tasks:"
		fleet_gated g
	} >w.yaml
	worker_start w1 w.yaml
	for i in "${ids[@]}"; do
		wait_until 10 "job $i to start" test -e "started-$i"
	done
	expect_eq "$(worker_get w1 "len(j['jobs'])")" 4 "jobs w1 holds"
	for i in "${ids[@]}"; do
		touch "release-$i"
	done
	for i in "${ids[@]}"; do
		wait_status "$i" completed
	done
}

test_a_project_with_nothing_ready_gives_no_extra_turn() {
	wn_start
	local p i
	for p in a b idle; do
		wnctl project create "$p" >/dev/null
		wnctl task create "$p" t >/dev/null
	done
	for i in 1 2 3 4 5 6; do
		wnctl job add a t >/dev/null
		wnctl job add b t >/dev/null
	done
	# The worker serves a third project that has nothing to run: its turns
	# pass on to the next project with a job, a and b still alternate.
	{
		fleet_head "[a, b, idle]" "{cpu: 1, gpus: [], memory: 1G}"
		echo "tasks:"
		fleet_logged t
	} >w.yaml
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(wc -l <order | tr -d ' ')" 12 "jobs run"
	local seq
	seq=$(cut -d' ' -f1 order | tr '\n' ' ')
	case "$seq" in
	"a b a b a b a b a b a b " | "b a b a b a b a b a b a ") ;;
	*) fail "projects did not take turns: $seq" ;;
	esac
}
