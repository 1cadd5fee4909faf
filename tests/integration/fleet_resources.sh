# The fleet: jobs go only to workers whose free resources and labels fit
# their task; GPU devices are given out one job at a time. Real wnd,
# wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/fleet_lib.sh"

test_gpu_jobs_never_go_to_a_cpu_only_worker() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p train --gpu 1 >/dev/null
	wnctl task create p prep >/dev/null
	{
		fleet_head p "{cpu: 4, gpus: [], memory: 8G}"
		echo "tasks:"
		fleet_gated train
		fleet_gated prep
	} >cpu.yaml
	# The GPU job comes first in the queue: a worker that ignored what it
	# needs would take it first.
	local gpu_job cpu_job
	gpu_job=$(wnctl job add p train --priority 9)
	cpu_job=$(wnctl job add p prep)
	worker_start cpu1 cpu.yaml
	wait_until 10 "the CPU job to start" test -e "started-$cpu_job"
	expect_eq "$(<"env-$cpu_job")" "[unset] 0 0 cpu1" "a job on a machine without GPUs"
	touch "release-$cpu_job"
	wait_status "$cpu_job" completed
	expect_eq "$(job_get "$gpu_job" "j['status']")" pending "the GPU job on a CPU-only fleet"
	expect_eq "$(job_get "$gpu_job" "j['waiting']")" "needs 1 gpu; largest worker offers 0"
	[ ! -e "started-$gpu_job" ] || fail "the GPU job ran on the CPU-only worker"
	# A worker with a GPU takes it.
	{
		fleet_head p "{cpu: 4, gpus: [\"0\"], memory: 8G}"
		echo "tasks:"
		fleet_gated train
	} >gpu.yaml
	worker_start gpu1 gpu.yaml
	wait_until 10 "the GPU job to start" test -e "started-$gpu_job"
	expect_eq "$(<"env-$gpu_job")" "[0] 0 0 gpu1"
	touch "release-$gpu_job"
	wait_status "$gpu_job" completed
	expect_eq "$(job_get "$gpu_job" "j['worker']")" gpu1
}

test_two_gpu_jobs_share_a_two_gpu_worker_and_a_third_waits() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p train --gpu 1 --cpu 2 --memory 1G >/dev/null
	wnctl task create p prep >/dev/null
	{
		fleet_head p "{cpu: 8, gpus: [\"0\", \"1\"], memory: 16G}" 3
		echo "tasks:"
		fleet_gated train
		fleet_gated prep
	} >w.yaml
	local a b c
	a=$(wnctl job add p train)
	b=$(wnctl job add p train)
	c=$(wnctl job add p train)
	worker_start w1 w.yaml
	wait_until 10 "two GPU jobs to run at once" test -e "started-$a" -a -e "started-$b"
	# Each has its own device, and the cores and memory its task asked for.
	expect_eq "$(cat "env-$a" "env-$b" | sort | tr '\n' ' ')" \
		"[0] 2 1024 w1 [1] 2 1024 w1 " "devices of the two jobs"
	# The third slot is free and the worker keeps fetching (it runs a job
	# that needs no GPU, with no device), but the third GPU job waits.
	local cpu_job
	cpu_job=$(wnctl job add p prep)
	wait_until 10 "the CPU job to start" test -e "started-$cpu_job"
	expect_eq "$(<"env-$cpu_job")" "[] 0 0 w1" "a job without GPUs on a GPU machine"
	touch "release-$cpu_job"
	wait_status "$cpu_job" completed
	expect_eq "$(job_get "$c" "j['status']")" pending "the third GPU job"
	# A free slot but no free GPU: the GPUs are busy, not too few.
	expect_eq "$(job_get "$c" "j['waiting']")" "next in line; every worker that can run it is busy"
	[ ! -e "started-$c" ] || fail "a third GPU job ran on a worker with two GPUs"
	expect_eq "$(worker_get w1 "(j['used']['gpu'], sorted(j['jobs']))")" "(2, [$a, $b])" \
		"what w1 holds"
	# When one ends, the third takes its device.
	local freed
	freed=$(tr -d '[]' <"env-$a" | cut -d' ' -f1)
	touch "release-$a"
	wait_until 10 "the third GPU job to start" test -e "started-$c"
	expect_eq "$(cut -d' ' -f1 "env-$c")" "[$freed]" "the device the third job got"
	touch "release-$b" "release-$c"
	wait_status "$b" completed
	wait_status "$c" completed
}

test_labels_must_match() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p train --label site=a --label gpu_model=a100 >/dev/null
	wnctl task create p prep >/dev/null
	{
		fleet_head p "{cpu: 4, gpus: [], memory: 8G, labels: {site: b, gpu_model: a100}}"
		echo "tasks:"
		fleet_logged train
		fleet_logged prep
	} >b.yaml
	local labelled plain
	labelled=$(wnctl job add p train --priority 9)
	plain=$(wnctl job add p prep)
	worker_start wb b.yaml
	wait_status "$plain" completed
	expect_eq "$(job_get "$plain" "j['worker']")" wb
	expect_eq "$(job_get "$labelled" "j['status']")" pending "the job for site=a"
	expect_eq "$(job_get "$labelled" "j['waiting']")" \
		"no active worker can run it (needs label site=a)"
	{
		fleet_head p "{cpu: 4, gpus: [], memory: 8G, labels: {site: a, gpu_model: a100}}"
		echo "tasks:"
		fleet_logged train
	} >a.yaml
	worker_start wa a.yaml
	wait_status "$labelled" completed
	expect_eq "$(job_get "$labelled" "j['worker']")" wa
}

test_a_job_no_worker_could_run_says_why() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p big --gpu 4 >/dev/null
	wnctl task create p huge --memory 1T >/dev/null
	{
		fleet_head p "{cpu: 4, gpus: [\"0\", \"1\"], memory: 16G}"
		echo "tasks:"
		fleet_logged big
		fleet_logged huge
	} >w.yaml
	local big huge
	big=$(wnctl job add p big)
	huge=$(wnctl job add p huge)
	worker_start w1 w.yaml
	wait_joined w1
	wait_until 10 "the reason to show" job_field_is "$big" "j['waiting']" \
		"needs 4 gpu; largest worker offers 2"
	expect_exit 0 wnctl job show "$big"
	expect_contains "$WN_OUT" "waiting: needs 4 gpu; largest worker offers 2"
	expect_contains "$WN_OUT" "status: pending"
	expect_eq "$(job_get "$huge" "j['waiting']")" "needs 1048576 MB; largest worker offers 16384 MB"
	[ ! -e order ] || fail "a job ran that no worker can hold: $(<order)"
}
