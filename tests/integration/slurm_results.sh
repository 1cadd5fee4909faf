# Results of SLURM jobs: each job (here the elements of one job array) finds
# $WN_RESULTS beside its SLURM output on the filesystem it shares with the
# cluster; the worker reads it while SLURM runs the job and when it ended,
# with a real SLURM (slurm_lib.sh).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

# results_of ID: the job's results as sorted "key=value" words.
results_of() {
	job_get "$1" "' '.join('%s=%s' % (k, list(v.values())[0]) for k, v in sorted(j.get('results', {}).items()))"
}
results_are() { [ "$(results_of "$1")" = "$2" ]; }

test_slurm_jobs_report_results() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	# a report, then (once the test saw it through the server) the final
	# ones; lr 0.3 writes a bad one
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      echo step=1 >>"\$WN_RESULTS"
      while [ ! -e $WN_TMP/go ]; do sleep 0.1; done
      echo lr={lr} >>"\$WN_RESULTS"
      echo '{{"step": 2, "loss": 0.5}}' >>"\$WN_RESULTS"
      [ "{lr}" != 0.3 ] || echo 'loss=inf' >>"\$WN_RESULTS"
      echo done
EOF
	local out sweep
	out=$(wnctl job sweep p t --grid lr=0.1,0.3)
	sweep=${out#sweep }
	sweep=${sweep%%:*}
	local a=$sweep b=$((sweep + 1))
	worker_start w1 w.yaml --exit-when-empty
	wait_until 60 "the first report of a SLURM job through the server" \
		results_are "$a" "step=1.0"
	expect_eq "$(job_get "$a" "j['status']")" running "status while it reports"
	touch go
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$a" "j['status']")" completed "status of lr 0.1"
	expect_eq "$(results_of "$a")" "loss=0.5 lr=0.1 step=2.0" "results of lr 0.1"
	[ -f "logs/p/t/$a.1.results" ] || fail "no results file beside the SLURM output"
	expect_eq "$(job_get "$b" "j['status']")" failed "status of lr 0.3"
	local reason
	reason=$(job_get "$b" "j['reason']")
	expect_contains "$reason" "results file $WN_TMP/logs/p/t/$b.1.results: line 4: key \"loss\""
	expect_contains "$(job_get "$b" "j['output_tail']")" "done"
	expect_eq "$(results_of "$b")" "loss=0.5 lr=0.3 step=2.0" "what lr 0.3 reported before"
}
