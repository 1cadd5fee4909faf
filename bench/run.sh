#!/usr/bin/env bash
# Benchmark: WhatsNext against beanstalkd, on this machine, in one run.
#
# For each durability mode, start a private wnd on a loopback tcp port with a
# fresh data directory, and a private beanstalkd beside it with the matching
# durability (sync: a binlog fsynced after every write, -f 0; relaxed: no
# binlog); run the comparison table (wnbench --beanstalk: every row against
# both servers, alternating, medians of several runs, ratios); stop both.
# Then run bench/worker.sh, bench/fleet.sh, bench/deps.sh, bench/sweeps.sh, bench/tls.sh and
# bench/dashboard.sh if they exist.
#
# Needs WN_BIN (directory of wnd and wnbench) and beanstalkd on the PATH
# (Debian package beanstalkd). Knobs:
#   WN_BENCH_MODES   durability modes to measure (default: "sync relaxed")
#   WN_BENCH_SUITE   compare (default), threads (the older table: wnd alone at
#                    1, 4 and 16 client threads), or "compare threads"
#   WN_BENCH_ARGS    extra wnbench options, e.g. "--duration 3 --runs 5"
#   TMPDIR           where the data directories go (must be a real disk for
#                    the sync figures to mean anything)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnbench}"
export WN_BIN
modes=${WN_BENCH_MODES:-sync relaxed}
suite=${WN_BENCH_SUITE:-compare}
read -r -a extra <<<"${WN_BENCH_ARGS:-}"

for b in wnd wnbench; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "bench: $WN_BIN/$b is missing (run make first)" >&2
		exit 1
	fi
done
case " $suite " in
*" compare "*)
	if ! command -v beanstalkd >/dev/null; then
		echo "bench: beanstalkd is missing (apt-get install beanstalkd," \
			"or scripts/install-deps.sh)" >&2
		exit 1
	fi
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench.XXXXXX")
wnd_pid=
bs_pid=
# stop_all stops the servers this script started, hard.
# shellcheck disable=SC2317 # called through cleanup, from the trap
stop_all() {
	local p
	for p in $wnd_pid $bs_pid; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	wnd_pid=
	bs_pid=
}
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
	echo "bench: warning: $tmp is on tmpfs, fsync costs nothing there;" \
		"set TMPDIR to a directory on disk" >&2
fi


# start_wnd MODE: a private wnd; sets url and wnd_pid.
start_wnd() {
	url=tcp://127.0.0.1:$(free_port)
	"$WN_BIN/wnd" --data "$tmp/data-$1" --listen "$url" --durability "$1" \
		>"$tmp/wnd-$1.log" 2>&1 &
	wnd_pid=$!
	if ! "$WN_BIN/wnbench" --server "$url" --wait-ready 10000; then
		cat "$tmp/wnd-$1.log" >&2
		exit 1
	fi
}

# stop_wnd MODE: SIGTERM, and check that wnd exits cleanly.
stop_wnd() {
	local rc=0
	kill -TERM "$wnd_pid"
	wait "$wnd_pid" || rc=$?
	wnd_pid=
	if [ "$rc" -ne 0 ]; then
		echo "bench: wnd --durability $1 exited with status $rc after SIGTERM" >&2
		tail -n 20 "$tmp/wnd-$1.log" >&2
		status=1
	fi
}

# start_beanstalkd MODE: a private beanstalkd; sets bs_addr and bs_pid.
start_beanstalkd() {
	local port args=()
	port=$(free_port)
	if [ "$1" = sync ]; then
		mkdir -p "$tmp/binlog"
		args=(-b "$tmp/binlog" -f 0)
	fi
	beanstalkd -l 127.0.0.1 -p "$port" "${args[@]}" >"$tmp/beanstalkd-$1.log" 2>&1 &
	bs_pid=$!
	bs_addr=127.0.0.1:$port
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return
		fi
		sleep 0.05
	done
	cat "$tmp/beanstalkd-$1.log" >&2
	echo "bench: beanstalkd did not start" >&2
	exit 1
}

status=0
echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' \
	/proc/meminfo), kernel $(uname -r), data on $(stat -f -c %T "$tmp"), load" \
	"average $(cut -d' ' -f1-3 /proc/loadavg) at start"

case " $suite " in
*" compare "*)
	echo "$("$WN_BIN/wnd" --version 2>/dev/null || echo wnd) against" \
		"$(beanstalkd -v 2>&1 | head -n 1)"
	for mode in $modes; do
		case $mode in
		sync) goals=2,10 rate=500 ;;
		*) goals=0.7,2,1.0,1.3 rate=1000 ;;
		esac
		start_wnd "$mode"
		start_beanstalkd "$mode"
		# --keep: the rows' projects go with the private data directory; deleting
		# a million jobs one by one first would only make the run longer
		if ! "$WN_BIN/wnbench" --server "$url" --beanstalk "$bs_addr" --label "$mode" \
			--wnd-pid "$wnd_pid" --beanstalkd-pid "$bs_pid" --goals "$goals" \
			--rate "$rate" --duration 1.2 --backlog 200 --jobs 1000000 \
			--batch-jobs 5000000 --warmup 2000 --keep "${extra[@]}"; then
			echo "bench: the comparison failed in mode $mode" >&2
			tail -n 20 "$tmp/wnd-$mode.log" >&2
			status=1
		fi
		stop_wnd "$mode"
		kill -TERM "$bs_pid" 2>/dev/null || true
		wait "$bs_pid" 2>/dev/null || true
		bs_pid=
		[ "$status" -eq 0 ] || exit "$status"
	done
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	;;
esac

case " $suite " in
*" threads "*)
	echo
	echo "wnbench: 200-byte payload per job; cycle = submit -> fetch -> complete" \
		"(threads = producers = consumers); latency per call; $(nproc) cpus"
	header=()
	for mode in $modes; do
		start_wnd "$mode"
		if ! "$WN_BIN/wnbench" --server "$url" --label "$mode" --keep "${header[@]}" \
			"${extra[@]}"; then
			echo "bench: wnbench failed against wnd --durability $mode" >&2
			tail -n 20 "$tmp/wnd-$mode.log" >&2
			status=1
		fi
		header=(--no-header)
		stop_wnd "$mode"
		[ "$status" -eq 0 ] || exit "$status"
	done
	;;
esac

if [ -f "$here/worker.sh" ]; then
	bash "$here/worker.sh" || status=$?
fi
if [ -f "$here/fleet.sh" ]; then
	bash "$here/fleet.sh" || status=$?
fi
[ ! -f "$here/deps.sh" ] || bash "$here/deps.sh" || status=$?
[ ! -f "$here/sweeps.sh" ] || bash "$here/sweeps.sh" || status=$?
[ ! -f "$here/tls.sh" ] || bash "$here/tls.sh" || status=$?
[ ! -f "$here/dashboard.sh" ] || bash "$here/dashboard.sh" || status=$?
exit "$status"
