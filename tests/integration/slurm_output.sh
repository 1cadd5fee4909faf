# Live output of a SLURM job: the worker ships the job's SLURM output file
# (on the filesystem it shares with the cluster) while SLURM runs it, and
# `wnctl job log -f` follows it to its end, with a real SLURM (slurm_lib.sh).
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

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
	cmp expected followed.out || fail "the followed output differs: $(<followed.out)"
	cmp "$(ls logs/p/t/"$id".1.out)" followed.out || fail "the SLURM output file differs"
	worker_wait "$WORKER_PID" 60
}

test_a_requeued_slurm_jobs_output_goes_on_after_the_first_runs() {
	# SLURM runs a requeued job again (scontrol requeue, a node that
	# failed): the new run's output follows the first run's in its file and
	# through the server, after a line that says where it starts, whole.
	# SLURM holds a requeued job back until its first run's credential
	# expires (cred_expire, 120 s by default): 5 s here.
	slurm_start "AuthInfo=socket=$WN_TMP/slurm/run/munge.socket,cred_expire=5"
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<EOF
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      r=\$SLURM_RESTART_COUNT
      [ -n "\$r" ] || r=0
      for i in 1 2 3 4 5; do echo "run \$r line \$i"; done
      [ "\$r" = 0 ] || exit 0
      exec sleep 600
EOF
	local id sid
	id=$(wnctl job add p t)
	wnctl job log -f "$id" >followed.out 2>followed.err &
	local follower=$!
	worker_start w1 w.yaml --exit-when-empty
	wait_until 60 "the first run's lines through the server" grep -qx "run 0 line 5" followed.out
	sid=$(job_ext "$id")
	scontrol requeue "$sid" || fail "cannot requeue SLURM job $sid"
	local rc=0
	wait "$follower" || rc=$?
	expect_eq "$rc" 0 "exit code of job log -f"
	worker_wait "$WORKER_PID" 60
	expect_eq "$(job_get "$id" "j['status']") $(job_ext "$id")" "completed $sid" "status, SLURM job"
	{
		seq 1 5 | sed 's/^/run 0 line /'
		echo "WhatsNext: SLURM job $sid was requeued: run 2 of it starts here"
		seq 1 5 | sed 's/^/run 1 line /'
	} >expected
	# SLURM's own line of the first run's end comes between, as it says (the
	# first run ends in an exec'd sleep: no shell is left to say
	# "Terminated" when the requeue ends it)
	grep -v '^slurmstepd' followed.out >seen
	cmp expected seen || fail "the followed output differs: $(<followed.out)"
	cmp "logs/p/t/$id.1.out" followed.out || fail "the SLURM output file differs"
}
