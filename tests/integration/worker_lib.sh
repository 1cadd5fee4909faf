# Helpers shared by the worker integration tests (worker_*.sh), sourced by
# each of them after lib.sh. They drive the real wnd, wnworker and wnctl and
# wait for conditions with bounded polling, never for fixed times.

# worker_head [PROJECT]: the top of a worker.yaml with settings that keep
# tests quick; the caller appends `tasks:`.
worker_head() {
	cat <<EOF
projects: ${1:-p}
fetch_wait_ms: 500
kill_grace_s: 1
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
EOF
}

# script_task NAME: a worker.yaml whose task `t` runs the shell script NAME
# (written by the test in $WN_TMP) there.
script_task() {
	worker_head
	cat <<EOF
tasks:
  t:
    command: [/bin/sh, $WN_TMP/$1]
    workdir: $WN_TMP
EOF
}

# worker_start NAME CONFIG [ARGS...]: start wnworker in the background with
# its log in $WN_TMP/NAME.log; its pid is left in WORKER_PID.
worker_start() {
	local name=$1 config=$2
	shift 2
	"$WN_BIN/wnworker" --config "$config" --name "$name" "$@" >>"$WN_TMP/$name.log" 2>&1 &
	WORKER_PID=$!
	WN_PIDS+=("$WORKER_PID")
}

# wait_until SECONDS WHAT CMD...: run CMD until it succeeds, the pauses
# between tries growing from 50 to 400 ms (wn_poll_pause); fail with WHAT
# once the pauses add up to SECONDS.
wait_until() {
	local secs=$1 what=$2 waited=0
	shift 2
	WN_PAUSE_MS=0
	until "$@" >/dev/null 2>&1; do
		[ "$waited" -lt $((secs * 1000)) ] || fail "timed out after ${secs}s waiting for $what"
		wn_poll_pause
		waited=$((waited + WN_PAUSE_MS))
	done
}

# job_get ID EXPR: a field of job ID, EXPR over the parsed JSON `j`.
job_get() {
	if [ "$2" = "j['status']" ]; then
		wn_job_status "$1"
		return
	fi
	jget "$(wnctl --json job show "$1")" "$2"
}

job_status_is() { [ "$(wn_job_status "$1")" = "$2" ]; }

# wait_status ID STATUS [SECONDS]: wait until job ID has STATUS (on a
# timeout, the message says what it is instead).
wait_status() {
	local secs=${3:-20} waited=0
	WN_PAUSE_MS=0
	until job_status_is "$1" "$2" 2>/dev/null; do
		[ "$waited" -lt $((secs * 1000)) ] ||
			fail "timed out after ${secs}s waiting for job $1 to be $2 (it is $(job_get "$1" "j['status']" 2>/dev/null))"
		wn_poll_pause
		waited=$((waited + WN_PAUSE_MS))
	done
}

# worker_wait PID [SECONDS]: wait until wnworker PID exits and require a
# clean exit (status 0).
worker_wait() {
	local pid=$1
	wait_until "${2:-20}" "wnworker $pid to exit" worker_gone "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "wnworker exited with status $rc"
}

worker_gone() { proc_gone "$1"; }

# log_has FILE TEXT: FILE exists and holds TEXT.
log_has() { [ -f "$1" ] && grep -qF -- "$2" "$1"; }

# proc_gone PID: process PID no longer runs (a zombie nobody reaped counts
# as gone).
proc_gone() {
	local st
	st=$(proc_state "/proc/$1/stat")
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# pid_gone PIDFILE: the process whose id is in PIDFILE no longer runs.
pid_gone() { proc_gone "$(<"$1")"; }

# zombies_of PID: the children of process PID that have exited and that it
# has not reaped (zombies), one pid a line.
zombies_of() {
	local t c st
	for t in /proc/"$1"/task/*/children; do
		for c in $(cat "$t" 2>/dev/null); do
			st=$(sed 's/.*) //' "/proc/$c/stat" 2>/dev/null | cut -d' ' -f1)
			[ "$st" != Z ] || echo "$c"
		done
	done
	return 0
}

# proc_reaped PID: process PID has exited and has been reaped (not even a
# zombie is left of it).
proc_reaped() { [ ! -e "/proc/$1" ]; }

# jobs_table PROJECT EXPR: one line per job of PROJECT (in id order), the
# Python expression EXPR over the job `j`; one wnctl call for all jobs.
jobs_table() {
	wnctl --json job list --project "$1" --all | python3 -c '
import json, sys
data = json.load(sys.stdin)
for j in (data["jobs"] if isinstance(data, dict) else data):
    print(eval(sys.argv[1]))' "$2"
}
