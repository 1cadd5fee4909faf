# Helpers of the SLURM integration tests (slurm_*.sh), sourced by each of
# them after lib.sh and worker_lib.sh. slurm_start starts a private,
# single-node SLURM for the test: munged (as the munge user, on its own
# socket and key), slurmctld (SlurmUser=slurm) and slurmd (root), with a
# slurm.conf generated under $WN_TMP/slurm and ports nobody else uses.
# SLURM_CONF points every SLURM command of the test (and wnworker's) at it.
# When the test ends, its SLURM jobs are cancelled and exactly the daemons
# started here are stopped. Nothing is installed here: a machine without
# SLURM fails these tests with a message naming the packages.

SLURM_PACKAGES="slurmctld slurmd slurm-client munge"

# slurm_need: fail unless SLURM and munge are installed and we are root.
slurm_need() {
	local missing=() p
	for p in slurmctld slurmd sbatch squeue sacct scancel scontrol sinfo munged mungekey; do
		command -v "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		fail "SLURM is not installed (missing: ${missing[*]}); install the Debian packages" \
			"$SLURM_PACKAGES (apt-get install --no-install-recommends $SLURM_PACKAGES," \
			"or scripts/install-deps.sh)"
	fi
	id slurm >/dev/null 2>&1 || fail "no 'slurm' user: install the Debian package slurmctld"
	id munge >/dev/null 2>&1 || fail "no 'munge' user: install the Debian package munge"
	[ "$(id -u)" = 0 ] || fail "the SLURM tests start slurmd, which must run as root"
}

# slurm_start [SLURM.CONF LINES...]: start the private SLURM and wait until
# its node is idle. Extra lines are appended to slurm.conf (a later line
# wins, e.g. MinJobAge=2). Sets SLURM_DIR and exports SLURM_CONF.
slurm_start() {
	slurm_need
	SLURM_DIR=$WN_TMP/slurm
	local d=$SLURM_DIR
	# the daemons' users must reach their files under the test directory
	chmod 755 "$WN_TMP"
	mkdir -p "$d/munge" "$d/run" "$d/state" "$d/spool" "$d/log" "$d/dev"
	chown munge:munge "$d/munge" "$d/run"
	chmod 700 "$d/munge"
	chown slurm:slurm "$d/state" "$d/log"
	runuser -u munge -- mungekey -c -k "$d/munge/munge.key" -b 1024 >/dev/null 2>&1 ||
		fail "cannot make a munge key"
	runuser -u munge -- munged --socket="$d/run/munge.socket" --key-file="$d/munge/munge.key" \
		--pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" \
		--seed-file="$d/munge/munged.seed" ||
		fail "munged did not start: $(tail -n 3 "$d/munge/munged.log" 2>/dev/null)"
	SLURM_MUNGED_PID=$(<"$d/munge/munged.pid")
	wn_track_session "$(proc_sid "$SLURM_MUNGED_PID")" # munged detaches
	wn_at_exit slurm_stop

	# two fake GPUs: character devices like /dev/null
	local i
	for i in 0 1; do mknod "$d/dev/gpu$i" c 1 3; done
	local ports node host
	ports=$(free_port 2)
	host=$(hostname -s)
	node=$(slurmd -C | head -n 1)
	[[ $node == NodeName=* ]] || fail "slurmd -C printed no node line: $node"
	cat >"$d/slurm.conf" <<EOF
ClusterName=wntest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports% *}
SlurmdPort=${ports#* }
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$d/run/munge.socket
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$d/task_prolog
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=100
SchedulerParameters=batch_sched_delay=0
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.log
ReturnToService=2
KillWait=2
MinJobAge=300
GresTypes=gpu
$node NodeAddr=127.0.0.1 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	local line
	for line in "$@"; do echo "$line" >>"$d/slurm.conf"; done
	# Each job step runs in a session of its own under slurmstepd; its task
	# prolog records that session, which the test ends when it ends.
	cat >"$d/task_prolog" <<EOF
#!/bin/sh
sed 's/.*) //' /proc/\$\$/stat | cut -d' ' -f4 >>'$WN_SESSIONS'
exit 0
EOF
	chmod 755 "$d/task_prolog"
	cat >"$d/gres.conf" <<EOF
AutoDetect=off
Name=gpu File=$d/dev/gpu[0-1]
EOF
	export SLURM_CONF=$d/slurm.conf
	slurmctld -D -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
	SLURM_CTLD_PID=$!
	slurmd -D -f "$SLURM_CONF" >"$d/log/slurmd.out" 2>&1 &
	SLURM_SLURMD_PID=$!
	for i in $(seq 1 400); do
		if [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; then
			return 0
		fi
		kill -0 "$SLURM_CTLD_PID" 2>/dev/null ||
			fail "slurmctld exited: $(tail -n 5 "$d/log/slurmctld.log" "$d/log/slurmctld.out" 2>/dev/null)"
		kill -0 "$SLURM_SLURMD_PID" 2>/dev/null ||
			fail "slurmd exited: $(tail -n 5 "$d/log/slurmd.log" "$d/log/slurmd.out" 2>/dev/null)"
		sleep 0.05
	done
	fail "the SLURM node did not become idle within 20 s: $(sinfo 2>&1)"
}

# slurm_ctld_stop: stop slurmctld (SIGTERM: it saves its state), as an
# outage of the controller; slurm_ctld_start starts it again on that state
# and waits until the node answers.
slurm_ctld_stop() {
	kill -TERM "$SLURM_CTLD_PID"
	wait_until 30 "slurmctld to stop" proc_gone "$SLURM_CTLD_PID"
}

slurm_ctld_start() {
	slurmctld -D -f "$SLURM_CONF" >>"$SLURM_DIR/log/slurmctld.out" 2>&1 &
	SLURM_CTLD_PID=$!
	wait_until 30 "the SLURM controller to answer" sinfo -h
}

# slurm_stop: cancel the test's SLURM jobs, then stop the daemons
# slurm_start started (and nothing else); runs at exit. Whatever a job left
# behind lives in a session the task prolog recorded: wn_cleanup ends it.
slurm_stop() {
	[ -n "${SLURM_DIR:-}" ] || return 0
	local i p ids
	if [ -n "${SLURM_CTLD_PID:-}" ] && kill -0 "$SLURM_CTLD_PID" 2>/dev/null; then
		ids=$(squeue -h -o %i 2>/dev/null) || ids=
		# one id a word
		[ -z "$ids" ] || scancel --quiet $ids >/dev/null 2>&1 || true
		for i in $(seq 1 100); do
			[ -z "$(squeue -h -t running,completing,configuring 2>/dev/null)" ] && break
			sleep 0.05
		done
	fi
	for p in "${SLURM_SLURMD_PID:-}" "${SLURM_CTLD_PID:-}" "${SLURM_MUNGED_PID:-}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${SLURM_SLURMD_PID:-}" "${SLURM_CTLD_PID:-}"; do
		[ -n "$p" ] || continue
		for i in $(seq 1 40); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	# munged lingers a second or two after SIGTERM; it keeps no state
	# worth waiting for
	[ -n "${SLURM_MUNGED_PID:-}" ] && kill -KILL "$SLURM_MUNGED_PID" 2>/dev/null || true
	SLURM_DIR=
	return 0
}

# slurm_worker_yaml FILE: write the head of a worker.yaml for these tests
# (the caller appends its tasks). Heartbeats are frequent, so that a cancel
# arrives quickly. The worker offers 4 GPUs: the cluster's, not its own;
# the SLURM jobs get theirs from SLURM.
slurm_worker_yaml() {
	worker_head >"$1"
	cat >>"$1" <<EOF
slots: 8
heartbeat_ms: 500
resources: {gpus: 4}
tasks:
EOF
}

# slurm_setup [SLURM.CONF LINES...]: SLURM (slurm_start with the lines),
# wnd (with $WND_ARGS), project p, and w.yaml with the head only: the test
# adds its tasks with slurm_add_task.
slurm_setup() {
	slurm_start "$@"
	wn_start "${WND_ARGS[@]}"
	wnctl project create p >/dev/null
	slurm_worker_yaml w.yaml
}
WND_ARGS=()

# slurm_add_task NAME SCRIPT [TASK KEYS...]: task NAME on the server (with
# $TASK_ARGS) and in w.yaml, a slurm task running SCRIPT (its lines after
# the first indented as w.yaml's block wants them) with the keys given.
slurm_add_task() {
	local name=$1 script=$2
	shift 2
	wnctl task create p "$name" "${TASK_ARGS[@]}" >/dev/null
	cat >>w.yaml <<EOF
  $name:
    formatter: slurm
    poll_ms: 300
    script: |
      $script
EOF
	local more
	for more in "$@"; do echo "    $more" >>w.yaml; done
}
TASK_ARGS=()

# slurm_held_sbatch: write $WN_TMP/sbatch-held, an sbatch that records its
# arguments in $WN_TMP/sbatch-calls and that the test holds: before it
# submits, while $WN_TMP/hold-sbatch exists (it creates $WN_TMP/in-sbatch);
# after SLURM took the job and before it answers, while
# $WN_TMP/hold-answer exists (it writes the SLURM job id to
# $WN_TMP/submitted): the worker does not know the SLURM job id yet.
slurm_held_sbatch() {
	cat >"$WN_TMP/sbatch-held" <<EOF
#!/bin/bash
echo "\$*" >>$WN_TMP/sbatch-calls
if [ -e $WN_TMP/hold-sbatch ]; then
	touch $WN_TMP/in-sbatch
	while [ -e $WN_TMP/hold-sbatch ]; do sleep 0.1; done
fi
out=\$(sbatch "\$@") || exit
if [ -e $WN_TMP/hold-answer ]; then
	echo "\$out" >>$WN_TMP/submitted
	while [ -e $WN_TMP/hold-answer ]; do sleep 0.1; done
fi
echo "\$out"
EOF
	chmod 755 "$WN_TMP/sbatch-held"
}

# slurm_state ID: the state SLURM reports for job ID ("" if none).
slurm_state() {
	squeue -h -t all -j "$1" -o %T 2>/dev/null | head -n 1
}

# job_ext ID: the external id (the SLURM job id) recorded on job ID.
job_ext() { job_get "$1" "j.get('external_id', '')"; }

job_has_ext() { [ -n "$(job_ext "$1")" ]; }
