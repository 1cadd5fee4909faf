# Process helpers shared by the test runner (run.sh) and the integration
# tests (integration/lib.sh). Processes are found by what the tests started:
# a pid, or a session those pids lead. Nothing here matches names or command
# lines.

# proc_builtins NAME...: run the programs NAME (sleep, seq, rm, mktemp)
# inside this shell, as bash's loadable builtins (Debian's bash-builtins),
# rather than as processes of their own: a run of the tests starts tens of
# thousands of processes, and a fork and an exec cost some 5 ms of CPU on a
# small machine. Where they are missing, the programs run as before.
proc_builtins() {
	local b
	for b in "$@"; do
		[ -f "/usr/lib/bash/$b" ] && enable -f "/usr/lib/bash/$b" "$b" 2>/dev/null
	done
	return 0
}

# proc_state STATFILE: print the state letter (R, S, T, Z, ...) that a
# /proc/PID/stat or /proc/PID/task/TID/stat file holds (nothing if it is gone).
proc_state() {
	local line
	read -r line 2>/dev/null <"$1" || return 0
	line=${line##*) } # past "pid (comm) ", which may hold spaces
	echo "${line%% *}"
}

# proc_sid PID: print the session id of process PID (nothing if it is gone).
proc_sid() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 0
	line=${line##*) } # past "pid (comm) ", which may hold spaces
	set -- $line      # state ppid pgrp session ...
	echo "$4"
}

# proc_end_session SID: SIGKILL every process of session SID (its process
# groups, then each remaining member by pid) until none is left. SIDs of
# 0 and 1 are refused.
proc_end_session() {
	local sid=$1 f line pid found
	[[ $sid =~ ^[0-9]+$ ]] && [ "$sid" -gt 1 ] || return 0
	kill -KILL -- "-$sid" 2>/dev/null || true
	for _ in 1 2 3 4 5; do
		found=0
		for f in /proc/[0-9]*/stat; do
			read -r line 2>/dev/null <"$f" || continue
			pid=${line%% *}
			line=${line##*) }
			set -- $line
			[ "$4" = "$sid" ] || continue
			[ "$1" = Z ] && continue # a zombie: its parent reaps it
			kill -KILL "$pid" 2>/dev/null && found=1
		done
		[ "$found" = 0 ] && return 0
		sleep 0.05
	done
	return 0
}
