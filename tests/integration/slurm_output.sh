# Live output of a SLURM job: the worker ships the job's SLURM output file
# (on the filesystem it shares with the cluster) while SLURM runs it, and
# `wnctl job log -f` follows it to its end, with a real SLURM (slurm_lib.sh).
# test-lock: slurm tcp-ports
source "$(dirname "${BASH_SOURCE[0]}")/worker_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/slurm_lib.sh"

test_slurm_job_log_is_followed_while_it_runs() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	# 5 lines, then it waits until the test has read them through the server,
	# then 5 more and a failure
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      for i in 1 2 3 4 5; do echo "slurm line \$i"; done
      while [ ! -e $WN_TMP/go ]; do sleep 0.1; done
      for i in 6 7 8 9 10; do echo "slurm line \$i"; done
      exit 4
EOF
	local id
	id=$(wnctl job add p t)
	wnctl job log -f "$id" >followed.out 2>followed.err &
	local follower=$!
	worker_start w1 w.yaml --exit-when-empty
	wait_until 60 "the first lines of the SLURM job through the server" \
		grep -qx "slurm line 5" followed.out
	expect_eq "$(job_get "$id" "j['status']")" running "status while its first lines are read"
	touch go
	local rc=0
	wait "$follower" || rc=$?
	expect_eq "$rc" 9 "exit code of job log -f for a failed job"
	seq 1 10 | sed 's/^/slurm line /' >expected
	cmp expected followed.out || fail "the followed output differs: $(cat followed.out)"
	cmp "$(ls logs/p/t/"$id".1.out)" followed.out || fail "the SLURM output file differs"
	worker_wait "$WORKER_PID" 60
}
