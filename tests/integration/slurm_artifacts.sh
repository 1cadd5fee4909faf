# Artifacts of SLURM jobs: the worker finds the files a SLURM job wrote in
# its working directory (--chdir) on the shared filesystem once SLURM says
# the job ended, records and uploads them (real SLURM, see slurm_lib.sh).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

test_slurm_job_artifacts_are_found_after_slurm_ends_it() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    workdir: "$WN_TMP/wd/{job.id}"
    script: |
      mkdir -p out && head -c 1500000 /dev/urandom >out/weights.bin && echo "\$SLURM_JOB_ID" >out/id.txt
      ln -s /etc/passwd out/passwd
    artifacts:
      paths: ["out/*"]
      upload: true
EOF
	local id
	id=$(wnctl job add p t)
	mkdir -p "wd/$id"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$id" "j['status']")" completed "job status"
	local wd=$WN_TMP/wd/$id rows
	rows=$(wnctl --json job artifacts "$id" | python3 -c 'import json, sys
for a in json.load(sys.stdin):
    print(a["path"], a["size"], a["sha256"], a["stored"], a["note"])')
	expect_eq "$rows" "out/id.txt $(stat -c %s "$wd/out/id.txt") $(sha256sum "$wd/out/id.txt" | cut -d' ' -f1) True 
out/passwd 0  False refused: a symbolic link (links are not followed)
out/weights.bin 1500000 $(sha256sum "$wd/out/weights.bin" | cut -d' ' -f1) True " "the artifacts of the SLURM job"
	expect_eq "$(wnctl job artifact get "$id" out/id.txt -o -)" "$(job_ext "$id")" \
		"the file holds the SLURM job id"
	wnctl job artifact get "$id" out/weights.bin -o w.bin 2>/dev/null
	cmp w.bin "$wd/out/weights.bin" || fail "the fetched weights differ"
}
