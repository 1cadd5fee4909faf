# wnworker's guard process: nothing a cli job started outlives a worker
# killed by SIGKILL, even a command that ignores SIGTERM and its background
# child, or a daemon it left in a session of its own, even when the guard
# itself was killed before; and the guard goes with its worker. Real wnd,
# wnworker and wnctl.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# stubborn_yaml: a worker.yaml whose task `stubborn` ignores SIGTERM (and so
# does its background child), writes the pids to cmd-ID.pid and bg-ID.pid,
# and runs until killed.
stubborn_yaml() {
	worker_head
	cat <<EOF
tasks:
  stubborn:
    command: [/bin/sh, -c, 'trap "" TERM; sleep 600 & echo \$! > bg-\$1.pid; echo \$\$ > cmd-\$1.pid; while :; do sleep 0.05; done',
              sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

# guard_of PID: the guard process of wnworker PID (its child named
# wnworker-guard).
guard_of() {
	local want=$1 f line
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		case $line in *" (wnworker-guard) "*) ;; *) continue ;; esac
		set -- ${line##*) } # state ppid pgrp ...
		[ "$2" = "$want" ] && echo "${line%% *}"
	done
	return 0
}

has_guard() { [ -n "$(guard_of "$1")" ]; }

# guard_replaced PID OLD: wnworker PID has a guard other than OLD.
guard_replaced() {
	local g
	g=$(guard_of "$1")
	[ -n "$g" ] && [ "$g" != "$2" ]
}

# running_stubborn: start wnd, a worker (WORKER_PID) and a stubborn job
# (JOB_ID) and wait until its command and background child run.
running_stubborn() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p stubborn >/dev/null
	stubborn_yaml >w.yaml
	JOB_ID=$(wnctl job add p stubborn)
	worker_start w1 w.yaml
	wait_until 10 "the job's command to start" test -s "bg-$JOB_ID.pid"
	wait_until 5 "the job's command to write its pid" test -s "cmd-$JOB_ID.pid"
}

test_sigkill_of_the_worker_ends_a_command_that_ignores_sigterm() {
	running_stubborn
	local guard
	guard=$(guard_of "$WORKER_PID")
	[ -n "$guard" ] || fail "wnworker $WORKER_PID has no guard process"
	expect_eq "$(awk '{print $5}' /proc/"$guard"/stat)" "$guard" "the guard's process group"
	kill -KILL "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
	# SIGTERM is ignored: SIGKILL after kill_grace_s (1 s) ends both.
	wait_until 10 "the command to be killed" pid_gone "cmd-$JOB_ID.pid"
	wait_until 5 "its background child to be killed" pid_gone "bg-$JOB_ID.pid"
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

test_a_killed_guard_is_replaced_before_the_worker_is_killed() {
	running_stubborn
	local first
	first=$(guard_of "$WORKER_PID")
	[ -n "$first" ] || fail "wnworker $WORKER_PID has no guard process"
	kill -KILL "$first"
	wait_until 5 "another guard to start" guard_replaced "$WORKER_PID" "$first"
	expect_contains "$(<w1.log)" "the guard process died: started another"
	local second
	second=$(guard_of "$WORKER_PID")
	kill -KILL "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
	wait_until 10 "the command to be killed" pid_gone "cmd-$JOB_ID.pid"
	wait_until 5 "its background child to be killed" pid_gone "bg-$JOB_ID.pid"
	wait_until 5 "the second guard to exit" proc_gone "$second"
}

# running_script SCRIPT: start wnd and a worker (WORKER_PID) whose job
# (JOB_ID) runs the shell script SCRIPT (from stdin), and wait until the
# script has written the file `started`.
running_script() {
	cat >job.sh
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	script_task job.sh >w.yaml
	JOB_ID=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 10 "the job's command to start" test -e started
}

# kill_worker: SIGKILL the worker (WORKER_PID) and wait for it.
kill_worker() {
	kill -KILL "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
}

# A daemon the command left in a session of its own is not in any process
# group the guard knows: it is found by the mark in its environment, and
# ended as the groups are (SIGTERM first).
test_sigkill_of_the_worker_ends_a_daemon_that_left_the_session() {
	running_script <<'EOF'
setsid sh -c 'trap "echo got TERM >> daemon.trace; exit 0" TERM; echo $$ > d.tmp; mv d.tmp d.pid
              while :; do sleep 0.05; done' </dev/null >/dev/null 2>&1 &
while [ ! -s d.pid ]; do sleep 0.05; done
touch started
while :; do sleep 0.05; done
EOF
	wn_track_session "$(<d.pid)"
	local guard
	guard=$(guard_of "$WORKER_PID")
	kill_worker
	wait_until 10 "the daemon to be ended" pid_gone d.pid
	expect_eq "$(cat daemon.trace 2>/dev/null)" "got TERM" "what the daemon got"
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

# One that ignores SIGTERM is killed after kill_grace_s; a guard that
# replaced a killed one knows the marks too.
test_sigkill_of_the_worker_kills_a_daemon_that_ignores_sigterm() {
	running_script <<'EOF'
(setsid sh -c 'trap "" TERM; echo $$ > d.tmp; mv d.tmp d.pid; exec sleep 600' </dev/null >/dev/null 2>&1 &)
while [ ! -s d.pid ]; do sleep 0.05; done
touch started
while :; do sleep 0.05; done
EOF
	wn_track_session "$(<d.pid)"
	local first second
	first=$(guard_of "$WORKER_PID")
	kill -KILL "$first"
	wait_until 5 "another guard to start" guard_replaced "$WORKER_PID" "$first"
	second=$(guard_of "$WORKER_PID")
	kill_worker
	wait_until 10 "the daemon to be killed" pid_gone d.pid
	wait_until 5 "the guard to exit" proc_gone "$second"
}

# threads_gone PID: no thread of process PID runs (ps shows a process whose
# main thread exited while others run on as a zombie: its threads tell).
threads_gone() {
	local t st
	for t in /proc/"$1"/task/*/stat; do
		st=$(sed 's/.*) //' "$t" 2>/dev/null | cut -d' ' -f1)
		[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] || return 1
	done
	return 0
}

# main_exited PID: the main thread of process PID has exited, another runs on.
main_exited() { [ "$(awk '{print $3}' "/proc/$1/stat")" = Z ] && ! threads_gone "$1"; }

# A daemon whose main thread has exited while another thread runs on looks
# like a zombie, and its /proc/PID/environ reads nothing: its mark is read
# through the thread that runs.
test_sigkill_of_the_worker_ends_a_daemon_whose_main_thread_exited() {
	running_script <<'EOF'
setsid python3 -c '
import ctypes, os, signal, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def run():
    while True:
        time.sleep(0.05)
threading.Thread(target=run).start()
with open("d.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("d.tmp", "d.pid")
ctypes.CDLL(None).pthread_exit(None)
' </dev/null >/dev/null 2>&1 &
while [ ! -s d.pid ]; do sleep 0.05; done
touch started
while :; do sleep 0.05; done
EOF
	local daemon guard
	daemon=$(<d.pid)
	wn_track_session "$daemon"
	wait_until 5 "the daemon's main thread to exit" main_exited "$daemon"
	guard=$(guard_of "$WORKER_PID")
	kill_worker
	wait_until 10 "the daemon to be killed" threads_gone "$daemon"
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

# A daemon that the command starts once it is told to end, after the worker
# died, is found too: the guard looks again until none is left.
test_sigkill_of_the_worker_ends_a_daemon_started_while_the_run_ends() {
	running_script <<'EOF'
trap 'setsid sh -c "trap \"\" TERM; exec sleep 600" </dev/null >/dev/null 2>&1 &
      echo $! > d.tmp; mv d.tmp d.pid; exit 0' TERM
touch started
while :; do sleep 0.05; done
EOF
	kill_worker
	wait_until 10 "the command to start its daemon" test -s d.pid
	wn_track_session "$(<d.pid)"
	wait_until 10 "the daemon to be killed" pid_gone d.pid
}

# A job whose command is a worker of its own (another project, say): the
# commands of that inner worker carry the outer run's mark after their own,
# so that a SIGKILL of the outer worker ends them too, even when the inner
# worker and its guard are killed together (the outer guard kills both at
# the end of the grace: the inner guard ignores SIGTERM).
test_sigkill_of_the_worker_ends_the_jobs_of_a_worker_its_job_runs() {
	wn_start
	wnctl project create p >/dev/null
	wnctl project create q >/dev/null
	wnctl task create p outer >/dev/null
	wnctl task create q stubborn >/dev/null
	{
		worker_head q | sed "s#^log_dir: .*#log_dir: $WN_TMP/inner-logs#"
		cat <<EOF
tasks:
  stubborn:
    command: [/bin/sh, -c, 'trap "" TERM; echo \$\$ > inner.pid; while :; do sleep 0.05; done']
    workdir: $WN_TMP
EOF
	} >inner.yaml
	{
		worker_head p
		cat <<EOF
tasks:
  outer:
    command: [$WN_BIN/wnworker, --config, $WN_TMP/inner.yaml, --name, inner]
    workdir: $WN_TMP
EOF
	} >w.yaml
	wnctl job add p outer >/dev/null
	wnctl job add q stubborn >/dev/null
	worker_start w1 w.yaml
	wait_until 15 "the inner worker's job to start" test -s inner.pid
	local guard
	guard=$(guard_of "$WORKER_PID")
	kill_worker
	wait_until 10 "the inner worker's job to be killed" pid_gone inner.pid
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

test_the_guard_leaves_with_a_worker_that_exits() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p hello >/dev/null
	{
		worker_head
		cat <<EOF
tasks:
  hello:
    command: [/bin/echo, hello]
EOF
	} >w.yaml
	worker_start w1 w.yaml --once # it waits for a job
	local pid=$WORKER_PID guard id
	wait_until 10 "the worker's guard to start" has_guard "$pid"
	guard=$(guard_of "$pid")
	id=$(wnctl job add p hello)
	worker_wait "$pid"
	expect_eq "$(job_get "$id" "j['status']")" completed
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

test_a_stopped_guard_is_replaced_and_jobs_go_on() {
	# a guard that reads nothing (SIGSTOP) guards nothing: the commands'
	# announcements fill its socket; the worker must not hang on it
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<EOF2
slots: 2
tasks:
  t:
    command: [/bin/true]
EOF2
	} >w.yaml
	local i
	for i in $(seq 1 400); do echo '{"project": "p", "task": "t"}'; done | wnctl job batch - >/dev/null
	worker_start w1 w.yaml --exit-when-empty
	local pid=$WORKER_PID stopped
	wait_until 10 "the worker's guard to start" has_guard "$pid"
	stopped=$(guard_of "$pid")
	kill -STOP "$stopped"
	worker_wait "$pid" 60
	expect_eq "$(jobs_table p "j['status']" | sort | uniq -c | sed 's/^ *//')" "400 completed" "jobs"
	expect_contains "$(<w1.log)" "the guard process (pid $stopped) reads nothing: started another"
	wait_until 5 "the stopped guard to be gone" proc_gone "$stopped"
}

# gpu_yaml: a worker.yaml offering GPU 0 whose task `g` (one GPU) appends
# "start JOB" to gpu0.trace, and on SIGTERM waits 2 s (a checkpoint, say)
# before it appends "end JOB" and exits.
gpu_yaml() {
	worker_head | sed "s/^kill_grace_s: .*/kill_grace_s: 5/"
	cat <<EOF
resources:
  gpus: [0]
tasks:
  g:
    command: [/bin/sh, -c, 'trap "sleep 2; echo end \$WN_JOB_ID >> gpu0.trace; exit 0" TERM; echo start \$WN_JOB_ID >> gpu0.trace; while :; do sleep 0.05; done']
    workdir: $WN_TMP
EOF
}

# traced N: gpu0.trace has N lines.
traced() { [ "$(wc -l <gpu0.trace)" -ge "$1" ]; }

test_another_worker_waits_for_the_gpu_a_killed_worker_s_run_holds() {
	# The worker is killed; its guard ends the run, which takes 2 s. Another
	# worker on this machine (a worker started again gets another name by
	# default) takes another job that needs GPU 0 meanwhile: it must not
	# start it before the first run has ended.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g --gpu 1 >/dev/null
	gpu_yaml >w.yaml
	local id1 id2 id3
	id1=$(wnctl job add p g)
	worker_start w1 w.yaml
	wait_until 10 "the first run to start" traced 1
	kill -KILL "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
	id2=$(wnctl job add p g)
	worker_start w2 w.yaml
	wait_until 20 "the other job to start" traced 3
	expect_eq "$(<gpu0.trace)" "$(printf 'start %s\nend %s\nstart %s' "$id1" "$id1" "$id2")" \
		"the runs on GPU 0"
	expect_contains "$(<w2.log)" \
		"job $id2: waiting for GPU 0: a run of an earlier worker process"
	# a run that ends here clears its record: the next one does not wait
	wnctl job cancel "$id2" >/dev/null
	wait_until 10 "the cancelled run to end" traced 4
	id3=$(wnctl job add p g)
	wait_until 10 "the next job to start" traced 5
	expect_eq "$(tail -n 1 gpu0.trace)" "start $id3" "the last run on GPU 0"
	expect_not_contains "$(<w2.log)" "job $id3: waiting"
}

# group_gone PGID: no process of group PGID runs (zombies aside).
group_gone() {
	local want=$1 f line
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		set -- ${line##*) } # state ppid pgrp ...
		[ "$3" != "$want" ] || [ "$1" = Z ] || [ "$1" = X ] || return 1
	done
	return 0
}

test_another_worker_waits_for_the_gpu_a_killed_worker_s_daemon_holds() {
	# The first job leaves a daemon in a session of its own, which its
	# guard ends too: it takes 3 s after SIGTERM (python, so that no child
	# of it is ended first), while the job's own group is gone at once.
	# Another worker's job on GPU 0 must not start before the daemon is gone.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g --gpu 1 >/dev/null
	cat >job.sh <<'EOF'
echo $$ > cmd.pid
echo "start $WN_JOB_ID" >> gpu0.trace
if [ ! -e d.pid ]; then
	setsid python3 -c '
import os, signal, time
def end(*_):
    time.sleep(3)
    with open("gpu0.trace", "a") as f:
        f.write("daemon end\n")
    os._exit(0)
signal.signal(signal.SIGTERM, end)
with open("d.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("d.tmp", "d.pid")
while True:
    time.sleep(0.05)
' </dev/null >/dev/null 2>&1 &
	while [ ! -s d.pid ]; do sleep 0.05; done
fi
while :; do sleep 0.05; done
EOF
	{
		worker_head | sed "s/^kill_grace_s: .*/kill_grace_s: 8/"
		cat <<EOF
resources:
  gpus: [0]
tasks:
  g:
    command: [/bin/sh, $WN_TMP/job.sh]
    workdir: $WN_TMP
EOF
	} >w.yaml
	local id1 id2 daemon run
	id1=$(wnctl job add p g)
	worker_start w1 w.yaml
	wait_until 10 "the first run's daemon to start" test -s d.pid
	daemon=$(<d.pid)
	run=$(<cmd.pid)
	wn_track_session "$daemon"
	kill -KILL "$WORKER_PID"
	wait "$WORKER_PID" 2>/dev/null || true
	wait_until 5 "the first run's group to be gone" group_gone "$run"
	id2=$(wnctl job add p g)
	worker_start w2 w.yaml
	wait_until 20 "the other job to start" traced 3
	expect_eq "$(<gpu0.trace)" "$(printf 'start %s\ndaemon end\nstart %s' "$id1" "$id2")" \
		"what ran on GPU 0"
	expect_contains "$(<w2.log)" "job $id2: waiting for GPU 0: a run of an earlier worker \
process (process group $run) still holds it through process $daemon, outside that group"
}

# A guard short of descriptors (others took them all, or its limit was
# lowered) cannot look through /proc: it looks again until it can, rather
# than take a look it could not make for one that found nothing and leave
# the daemon running.
test_a_guard_short_of_descriptors_looks_again_until_it_can() {
	running_script <<'EOF'
(setsid sh -c 'trap "" TERM; echo $$ > d.tmp; mv d.tmp d.pid; exec sleep 600' </dev/null >/dev/null 2>&1 &)
while [ ! -s d.pid ]; do sleep 0.05; done
echo $$ > cmd.pid
trap '' TERM
touch started
while :; do sleep 0.05; done
EOF
	wn_track_session "$(<d.pid)"
	local guard
	guard=$(guard_of "$WORKER_PID")
	prlimit --pid "$guard" --nofile=4: # its 0 to 3 are open: no more
	kill_worker
	# the run's group ignores SIGTERM: SIGKILL after kill_grace_s (1 s)
	wait_until 10 "the run's group to be killed" group_gone "$(cat cmd.pid)"
	prlimit --pid "$guard" --nofile=1024: 2>/dev/null || true
	wait_until 10 "the daemon to be killed" pid_gone d.pid
	wait_until 5 "the guard to exit" proc_gone "$guard"
}

test_the_gpu_lock_files_are_checked_at_start() {
	wn_start
	wnctl project create p >/dev/null
	gpu_yaml >w.yaml
	# lock_dir, shared by the workers of a machine, holds one file per GPU
	{ gpu_yaml; echo "lock_dir: locks"; } >shared.yaml
	"$WN_BIN/wnworker" --config shared.yaml --name w1 --once >w1.log 2>&1 &
	WN_PIDS+=("$!")
	wait_until 10 "the lock file of GPU 0" test -f locks/.wnworker-gpu-0.lock
	# one that cannot be used would fail every job of its GPU: no start
	mkdir -p logs
	ln -s /etc/passwd logs/.wnworker-gpu-0.lock
	expect_exit 1 "$WN_BIN/wnworker" --config w.yaml --name w2
	expect_contains "$WN_ERR" \
		"wnworker: cannot open the lock file of GPU 0, $WN_TMP/logs/.wnworker-gpu-0.lock: "
}

# held_by_a_dead_run: start a process group of its own (HOLDER, its leader)
# and record it in GPU 0's lock file (in logs/) as a run of a dead worker
# would have been: "PGID STARTTIME".
held_by_a_dead_run() {
	python3 -c 'import os; os.setpgid(0, 0); os.execvp("sleep", ["sleep", "600"])' &
	HOLDER=$!
	WN_PIDS+=("$HOLDER")
	local stat
	wait_until 5 "the holder to lead its group" holder_leads
	stat=$(<"/proc/$HOLDER/stat")
	set -- ${stat##*) }
	mkdir -p logs
	echo "$HOLDER ${20}" >logs/.wnworker-gpu-0.lock
}

holder_leads() {
	local stat
	stat=$(<"/proc/$HOLDER/stat") || return 1
	set -- ${stat##*) }
	[ "$3" = "$HOLDER" ] && [ "$(<"/proc/$HOLDER/comm")" = sleep ]
}

test_a_job_waiting_for_a_gpu_is_handed_back_when_the_worker_stops() {
	# A job that waits for its GPU has not started: a worker asked to stop
	# (a first SIGTERM: finish the running jobs) hands it back rather than
	# start it once the device is free, however long that takes.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g --gpu 1 >/dev/null
	gpu_yaml >w.yaml
	held_by_a_dead_run
	local id
	id=$(wnctl job add p g)
	worker_start w1 w.yaml
	wait_until 10 "the job to wait" log_has w1.log "job $id: waiting for GPU 0"
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 10
	wait_status "$id" pending 5
	expect_contains "$(<w1.log)" "job $id: stopped (worker stopping)"
	[ ! -e gpu0.trace ] || fail "the job started: $(<gpu0.trace)"
	kill -KILL "$HOLDER"
}

test_a_once_worker_runs_the_job_it_waited_a_gpu_for() {
	# --once ends the fetching after one job, which is not a stop: the job
	# waits for its GPU, then runs.
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p g --gpu 1 >/dev/null
	{ gpu_yaml | sed 's/while :; do sleep 0.05; done/exit 0/'; } >w.yaml
	held_by_a_dead_run
	local id
	id=$(wnctl job add p g)
	worker_start w1 w.yaml --once
	wait_until 10 "the job to wait" log_has w1.log "job $id: waiting for GPU 0"
	kill -KILL "$HOLDER"
	worker_wait "$WORKER_PID" 10
	wait_status "$id" completed 5
	expect_eq "$(<gpu0.trace)" "start $id" "the run on GPU 0"
}
