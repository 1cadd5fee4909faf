# Helpers for integration tests. Each test_* function runs in its own bash with
# `set -euo pipefail`, in a fresh temporary directory $WN_TMP (also the cwd),
# with the real binaries from $WN_BIN. A test fails when any command fails or
# an expect_* helper reports a mismatch.

source "${BASH_SOURCE[0]%/*}/../proc.sh"
proc_builtins sleep seq

WN_PIDS=()
WN_EXIT_HOOKS=()
# Sessions that helpers start outside the test's own (a daemon that detaches,
# a stand-in's workload, a SLURM job step), one id a line; wn_cleanup and the
# runner end them.
export WN_SESSIONS=$WN_TMP/.sessions

# wn_cleanup stops everything the test started (runs at exit): the exit
# hooks, then each pid in WN_PIDS, then each session in $WN_SESSIONS.
wn_cleanup() {
	local h p s
	for h in "${WN_EXIT_HOOKS[@]:-}"; do
		[ -n "$h" ] && { $h || true; }
	done
	for p in "${WN_PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	if [ -f "$WN_SESSIONS" ]; then
		while read -r s; do proc_end_session "$s"; done <"$WN_SESSIONS"
	fi
	return 0
}

# wn_at_exit CMD: run CMD (one word, a function) at exit, before the
# processes of WN_PIDS are killed.
wn_at_exit() { WN_EXIT_HOOKS+=("$1"); }

# wn_track_session SID: end session SID when the test ends.
wn_track_session() {
	[ -n "$1" ] && echo "$1" >>"$WN_SESSIONS"
	return 0
}

# free_port [N]: N (default 1) distinct loopback TCP ports free right now,
# below the kernel's ephemeral range (32768-60999), so that no outgoing
# connection takes one before the test binds it. Each port is reserved for
# this test until it ends: a file named by the port in
# $WN_LOCK_DIR/ports holds the test's pid, and no other test, of this run
# or of another, is given a port whose file names a live process (the
# files are written under an flock of that directory). A test's ports
# may then be bound, released and bound again without another test
# taking them in between.
free_port() {
	python3 - "${1:-1}" "$$" "${WN_LOCK_DIR:-/tmp/wn-test-locks}/ports" <<'EOF'
import fcntl, os, random, socket, sys
want, owner, where = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.makedirs(where, exist_ok=True)

def taken(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True

ports = []
with open(os.path.join(where, ".lock"), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    while len(ports) < want:
        p = random.randint(10000, 32000)
        path = os.path.join(where, str(p))
        if p in ports or taken(path):
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        with open(path + ".new", "w") as f:
            f.write(owner + "\n")
        os.replace(path + ".new", path)
        ports.append(p)
print(" ".join(map(str, ports)))
EOF
}

# wn_poll_pause: sleep between two checks of a condition that a loop polls;
# set WN_PAUSE_MS=0 before the loop. The pause (left in WN_PAUSE_MS) is 50 ms,
# then doubles up to 400 ms: a check runs a few processes, and the tests that
# run beside this one need the machine more than a wait needs speed.
wn_poll_pause() {
	WN_PAUSE_MS=$((WN_PAUSE_MS == 0 ? 50 : (WN_PAUSE_MS < 400 ? WN_PAUSE_MS * 2 : 400)))
	local s
	printf -v s '%d.%03d' $((WN_PAUSE_MS / 1000)) $((WN_PAUSE_MS % 1000))
	sleep "$s"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

wnctl() { "$WN_BIN/wnctl" "$@"; }

# wn_start [wnd args...]: start wnd on a private ipc address with data in
# $WN_TMP/data (unless --data is given), wait until it answers, export
# WN_SERVER. Sets WND_PID. The log is $WN_TMP/wnd.log.
wn_start() {
	export WN_SERVER=${WN_SERVER:-ipc://$WN_TMP/wnd.sock}
	local args=("$@")
	local have_data=0 a
	for a in "${args[@]:-}"; do [ "$a" = --data ] && have_data=1; done
	[ "$have_data" = 1 ] || args+=(--data "$WN_TMP/data")
	"$WN_BIN/wnd" --listen "$WN_SERVER" "${args[@]}" >>"$WN_TMP/wnd.log" 2>&1 &
	WND_PID=$!
	WN_PIDS+=("$WND_PID")
	wn_wait_ready
}

# wn_wait_ready: wait up to 10 s for the server at $WN_SERVER to answer.
wn_wait_ready() {
	local i
	for i in $(seq 1 200); do
		if "$WN_BIN/wnctl" --timeout 500 project list >/dev/null 2>&1; then
			return 0
		fi
		if [ -n "${WND_PID:-}" ] && ! kill -0 "$WND_PID" 2>/dev/null; then
			cat "$WN_TMP/wnd.log" >&2
			fail "wnd exited during start"
		fi
		sleep 0.05
	done
	cat "$WN_TMP/wnd.log" >&2
	fail "wnd did not answer at $WN_SERVER within 10 s"
}

# wn_http_url: the address of wnd's HTTP listener (started with --http
# 127.0.0.1:0, so the port is one the kernel chose), from its log, into
# WN_HTTP ("http://127.0.0.1:PORT").
wn_http_url() {
	local line
	line=$(grep -o 'serving http on [^ ]*' "$WN_TMP/wnd.log" | tail -1)
	[ -n "$line" ] || fail "wnd logged no http address: $(<"$WN_TMP/wnd.log")"
	WN_HTTP=${line#serving http on }
	WN_HTTP=${WN_HTTP%/}
}

# wn_stop: SIGTERM wnd and wait for it to exit; fails if it does not exit cleanly.
wn_stop() {
	kill -TERM "$WND_PID"
	local rc=0
	wait "$WND_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "wnd exited with status $rc after SIGTERM"
}

# wn_kill9: SIGKILL wnd and reap it.
wn_kill9() {
	kill -9 "$WND_PID"
	wait "$WND_PID" 2>/dev/null || true
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
	[ "$1" == "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

# expect_contains HAYSTACK NEEDLE [WHAT]
expect_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-output}: expected to contain '$2', got: $1"
}

# expect_not_contains HAYSTACK NEEDLE [WHAT]
expect_not_contains() {
	[[ $1 != *"$2"* ]] || fail "${3:-output}: expected not to contain '$2', got: $1"
}

# expect_exit CODE CMD...: run CMD, require exit status CODE; its stderr is
# left in $WN_ERR and stdout in $WN_OUT.
expect_exit() {
	local want=$1
	shift
	local rc=0
	WN_OUT=$("$@" 2>"$WN_TMP/.err") || rc=$?
	WN_ERR=$(<"$WN_TMP/.err")
	[ "$rc" -eq "$want" ] || fail "'$*': expected exit $want, got $rc (stderr: $WN_ERR)"
}

# expect_fail CMD...: run CMD, require a non-zero exit and a one-line message
# on stderr; stderr is left in $WN_ERR.
expect_fail() {
	local rc=0
	WN_OUT=$("$@" 2>"$WN_TMP/.err") || rc=$?
	WN_ERR=$(<"$WN_TMP/.err")
	[ "$rc" -ne 0 ] || fail "'$*': expected failure, got exit 0 (stdout: $WN_OUT)"
	[ -n "$WN_ERR" ] || fail "'$*': failed without a message on stderr"
}

# wait_stopped PID: wait up to 10 s until every thread of process PID is
# stopped (kill -STOP takes effect as each thread next runs).
wait_stopped() {
	local i t all
	for i in $(seq 1 200); do
		all=1
		for t in /proc/"$1"/task/*/stat; do
			[[ $(proc_state "$t") == [Tt] ]] || all=0
		done
		[ "$all" = 1 ] && return 0
		sleep 0.05
	done
	fail "process $1 did not stop"
}

# missing_from LIST HAVE: the lines of file LIST that file HAVE does not hold,
# in LIST's order (process substitutions serve as files). Unlike comm, it
# needs no sorting: ids sorted as numbers are not in comm's order.
missing_from() {
	awk -v have="$2" 'FILENAME == have { held[$0] = 1; next } !($0 in held)' "$2" "$1"
}

# wn_job_status ID: the status word of job ID (pending, running, ...), read
# from `wnctl job show` without a JSON parser: the tests poll it, and a
# start of python3 or jq costs tens of ms of CPU.
wn_job_status() {
	local out
	out=$("$WN_BIN/wnctl" job show "$1") || return 1
	out=${out#*$'\n'status: }
	echo "${out%%$'\n'*}"
}

# jq_get JSON EXPR: evaluate a python expression over the parsed JSON `j`.
jget() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}

# mount_disk SIZE [OPTIONS]: a tmpfs of SIZE (and tmpfs OPTIONS, such as
# nr_inodes=N: that many files at most) at $WN_TMP/disk, unmounted when the
# test ends (after the processes it started are gone).
mount_disk() {
	mkdir -p "$WN_TMP/disk"
	mount -t tmpfs -o "size=$1${2:+,$2}" tmpfs "$WN_TMP/disk" ||
		fail "cannot mount a tmpfs at $WN_TMP/disk (the test needs root)"
	trap disk_cleanup EXIT
}

disk_cleanup() {
	local p
	for p in "${WN_PIDS[@]:-}"; do
		[ -n "$p" ] || continue
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	umount "$WN_TMP/disk" 2>/dev/null || umount -l "$WN_TMP/disk"
}
