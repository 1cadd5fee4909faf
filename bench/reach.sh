#!/usr/bin/env bash
# How soon changes reach a running wnworker, against a private wnd with its
# default lease (60 s) and a worker with its default timings:
#   - cancel: from `wnctl job cancel` returning to the job's process gone;
#   - task update: from `wnctl task update --timeout 1` returning to the first
#     job started after it being stopped by that timeout, less the 1 s;
#   - stop: from SIGINT to an idle worker's exit.
# Each is measured WN_BENCH_REACH_RUNS times (default 3); prints the median
# and the worst in ms. Needs WN_BIN (wnd, wnctl, wnworker); WN_BENCH_REACH_KEEP=1
# keeps the logs.
set -euo pipefail
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnworker}"
runs=${WN_BENCH_REACH_RUNS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench-reach.XXXXXX")
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	local p
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	if [ -n "${WN_BENCH_REACH_KEEP:-}" ]; then
		echo "bench: files kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
export WN_SERVER="ipc://$tmp/wnd.sock"
ctl() { "$WN_BIN/wnctl" "$@"; }

"$WN_BIN/wnd" --data "$tmp/data" --listen "$WN_SERVER" 2>"$tmp/wnd.log" &
pids+=($!)
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.05; done
ctl project create p >/dev/null
ctl task create p t >/dev/null
cat >"$tmp/w.yaml" <<EOF
projects: p
log_dir: $tmp/logs
tasks:
  t:
    command: [/bin/sh, -c, 'echo \$\$ > $tmp/pid-\$1; exec sleep 30', sh, "{job.id}"]
EOF

start_worker() {
	"$WN_BIN/wnworker" --config "$tmp/w.yaml" --name bench --server "$WN_SERVER" \
		>>"$tmp/worker.log" 2>&1 &
	wpid=$!
	pids+=("$wpid")
}

# wait_for CMD...: poll CMD every 5 ms for up to 60 s.
wait_for() {
	local i
	for i in $(seq 12000); do
		"$@" && return 0
		sleep 0.005
	done
	echo "bench: timed out waiting for: $*" >&2
	exit 1
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
joined() { ctl --json worker show bench 2>/dev/null | grep -Eq '"state": *"active"'; }

# report NAME MS...: the median and worst of the values.
report() {
	local name=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v n="$name" '{v[NR] = $1}
		END {printf "%-12s median %6d ms   worst %6d ms   (%d runs)\n", n, v[int((NR + 1) / 2)], v[NR], NR}'
}

start_worker
wait_for joined
cancel=()
for _ in $(seq "$runs"); do
	id=$(ctl job add p t)
	wait_for test -s "$tmp/pid-$id"
	pid=$(cat "$tmp/pid-$id")
	sleep 0.$((RANDOM % 10)) # a random point of the heartbeat interval
	t0=$(now_ms)
	ctl job cancel "$id" >/dev/null
	wait_for dead "$pid"
	cancel+=($(($(now_ms) - t0)))
done
report cancel "${cancel[@]}"

update=()
for r in $(seq "$runs"); do
	# the worker learns the task's settings: one job with no timeout first
	ctl task update p t --timeout 0 >/dev/null
	id=$(ctl job add p t)
	wait_for test -s "$tmp/pid-$id"
	ctl job cancel "$id" >/dev/null
	wait_for dead "$(cat "$tmp/pid-$id")"
	sleep 0.$((RANDOM % 10))
	t0=$(now_ms)
	ctl task update p t --timeout 1 >/dev/null
	id=$(ctl job add p t)
	wait_for test -s "$tmp/pid-$id"
	wait_for dead "$(cat "$tmp/pid-$id")"
	update+=($(($(now_ms) - t0 - 1000)))
	[ "$r" -lt "$runs" ] || true
done
ctl task update p t --timeout 0 >/dev/null
report task-update "${update[@]}"

stop=()
for r in $(seq "$runs"); do
	if [ "$r" -gt 1 ]; then
		start_worker
		wait_for joined
	fi
	sleep 1.$((RANDOM % 10)) # idle, its fetch waiting on the server
	t0=$(now_ms)
	kill -INT "$wpid"
	wait_for dead "$wpid"
	stop+=($(($(now_ms) - t0)))
	wait "$wpid" 2>/dev/null || true
done
report idle-stop "${stop[@]}"
