# The slurm formatter against a real SLURM (see slurm_lib.sh): the jobs of a
# sweep fetched together go to SLURM as one job array, and each element
# still reports as its own job.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

array_setup() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<'EOF'
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      echo "job $WN_JOB_ID lr={lr} element $SLURM_ARRAY_TASK_ID"
      sleep 0.3
      [ "{lr}" != 0.3 ] || exit 7
EOF
}

# array_ids PROJECT: "job-id external-id status exit lr" per job.
array_rows() {
	jobs_table p "' '.join(map(str, [j['id'], j.get('external_id', ''), j['status'], j['exit_code'], j['params']['lr']]))"
}

test_sweep_goes_as_one_job_array() {
	array_setup
	local out sweep
	out=$(wnctl job sweep p t --grid lr=0.1,0.2,0.3,0.4)
	sweep=${out#sweep }
	sweep=${sweep%%:*}
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 40
	local rows
	rows=$(array_rows)
	echo "$rows"
	# one array: every job's SLURM id is ARRAY_INDEX with the same ARRAY
	local arrays
	arrays=$(awk '{split($2, a, "_"); print a[1]}' <<<"$rows" | sort -u)
	expect_eq "$(wc -l <<<"$arrays")" 1 "SLURM job arrays"
	# element i runs the i-th job of the sweep
	expect_eq "$(awk '{print $2}' <<<"$rows" | sed 's/^[0-9]*_//' | tr '\n' ' ')" \
		"0 1 2 3 " "array indices"
	expect_eq "$(squeue -h -t all -r -o %i | wc -l)" 4 "SLURM jobs (array elements)"
	# each element reports as its own job, with its own output
	wnctl --json job list --project p --all | python3 -c '
import json, sys
data = json.load(sys.stdin)
for j in data["jobs"] if isinstance(data, dict) else data:
    ext = j["external_id"]
    if j["params"]["lr"] == "0.3":
        want = ("failed", 7, "SLURM job %s FAILED: exit status 7" % ext)
    else:
        want = ("completed", 0, "")
    got = (j["status"], j["exit_code"], j["reason"])
    line = "job %d lr=%s element %s" % (j["id"], j["params"]["lr"], ext.split("_")[1])
    assert got == want, (j["id"], got, want)
    assert line in j["output_tail"], (j["id"], line, j["output_tail"])
' || fail "the jobs of the array did not report as expected"
	local script
	script=$(ls "$WN_TMP"/logs/p/t/array.*.sbatch)
	expect_contains "$(<"$script")" "#SBATCH --array=0-3"
	expect_contains "$(<w1.log)" "4 jobs of sweep $sweep (task t) start together"
}

test_capped_sweep_runs_arrays_within_the_cap() {
	array_setup
	wnctl job sweep p t --grid lr=0.1,0.2,0.4,0.5,0.6 --max-running 2 >/dev/null
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	local rows
	rows=$(array_rows)
	echo "$rows"
	expect_eq "$(awk '{print $3}' <<<"$rows" | sort | uniq -c | sed 's/^ *//')" "5 completed" \
		"statuses"
	# no array is larger than the cap, and SLURM never ran more than 2 at once
	local sizes
	sizes=$(awk '{split($2, a, "_"); print a[1]}' <<<"$rows" | sort | uniq -c | awk '{print $1}')
	local s
	for s in $sizes; do
		[ "$s" -le 2 ] || fail "an array of $s elements for a sweep capped at 2"
	done
	python3 - "$SLURM_DIR/log/jobcomp.log" <<'EOF'
import re, sys
from datetime import datetime
spans = []
for line in open(sys.argv[1]):
    s = re.search(r"StartTime=(\S+)", line).group(1)
    e = re.search(r"EndTime=(\S+)", line).group(1)
    spans.append((datetime.fromisoformat(s), datetime.fromisoformat(e)))
assert len(spans) == 5, spans
for s, _ in spans:
    running = sum(1 for a, b in spans if a <= s < b)
    assert running <= 2, "%d SLURM jobs of the sweep ran at once" % running
EOF
}
