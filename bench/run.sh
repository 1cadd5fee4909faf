#!/usr/bin/env bash
# Benchmark: for each durability mode, start a private wnd on a loopback tcp
# port with a fresh data directory, run wnbench against it, stop it with
# SIGTERM; print one table. Then run bench/worker.sh if it exists.
#
# Needs WN_BIN (directory of wnd and wnbench). Knobs:
#   WN_BENCH_MODES   durability modes to measure (default: "sync relaxed")
#   WN_BENCH_ARGS    extra wnbench options, e.g. "--duration 2 --threads 1,4"
#   TMPDIR           where the data directories go (must be a real disk for
#                    the sync figures to mean anything)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnbench}"
export WN_BIN
modes=${WN_BENCH_MODES:-sync relaxed}
read -r -a extra <<<"${WN_BENCH_ARGS:-}"

for b in wnd wnbench; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "bench: $WN_BIN/$b is missing (run make first)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench.XXXXXX")
wnd_pid=
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	if [ -n "$wnd_pid" ]; then
		kill -9 "$wnd_pid" 2>/dev/null || true
		wait "$wnd_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
	echo "bench: warning: $tmp is on tmpfs, fsync costs nothing there;" \
		"set TMPDIR to a directory on disk" >&2
fi

# free_port prints a loopback tcp port nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

echo "wnbench: 200-byte payload per job; cycle = submit -> fetch -> complete" \
	"(threads = producers = consumers); latency per call; $(nproc) cpus"
header=()
status=0
for mode in $modes; do
	url=tcp://127.0.0.1:$(free_port)
	log=$tmp/wnd-$mode.log
	"$WN_BIN/wnd" --data "$tmp/data-$mode" --listen "$url" --durability "$mode" \
		>"$log" 2>&1 &
	wnd_pid=$!
	if ! "$WN_BIN/wnbench" --server "$url" --wait-ready 10000; then
		cat "$log" >&2
		exit 1
	fi
	if ! "$WN_BIN/wnbench" --server "$url" --label "$mode" --keep "${header[@]}" \
		"${extra[@]}"; then
		echo "bench: wnbench failed against wnd --durability $mode" >&2
		tail -n 20 "$log" >&2
		status=1
	fi
	header=(--no-header)
	kill -TERM "$wnd_pid"
	rc=0
	wait "$wnd_pid" || rc=$?
	wnd_pid=
	if [ "$rc" -ne 0 ]; then
		echo "bench: wnd --durability $mode exited with status $rc after SIGTERM" >&2
		tail -n 20 "$log" >&2
		status=1
	fi
	[ "$status" -eq 0 ] || exit "$status"
done

if [ -f "$here/worker.sh" ]; then
	bash "$here/worker.sh" || status=$?
fi
[ ! -f "$here/deps.sh" ] || bash "$here/deps.sh" || status=$?
exit "$status"
