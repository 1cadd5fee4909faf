#!/usr/bin/env bash
# Benchmark: the RPC path with the dashboard open. One private wnd (relaxed
# durability, so that the request path is what is measured, not the disk)
# listens on tcp://127.0.0.1 and serves HTTP (--http); a project holds a
# sweep of 200 jobs, so the dashboard's pages have something to read. The
# same wnbench rows (submit, and the cycle of submit, fetch and complete,
# 1 and 4 client threads) run alternately with no browser and with a
# headless Chromium holding three dashboard pages open (the projects, the
# sweep with its results table and plots, the queue), each polling every
# 2 s as a person's tab does; each kind runs WN_BENCH_DASH_RUNS times and
# the last lines give the median jobs/s of each row, open against closed.
# Then wnd's cpu time with no client, with and without the pages open: what
# one call of the dashboard costs it.
#
# Needs WN_BIN (wnd, wnctl, wnbench), chromium and tests/browser/node_modules
# (scripts/install-deps.sh). Knobs: WN_BENCH_DASH_SECONDS per row (default
# 3), WN_BENCH_DASH_RUNS (default 2), WN_BENCH_DASH_THREADS (default 1,4),
# WN_BENCH_DASH_IDLE seconds of the cpu measure (default 10).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnbench}"
secs=${WN_BENCH_DASH_SECONDS:-3}
runs=${WN_BENCH_DASH_RUNS:-2}
threads=${WN_BENCH_DASH_THREADS:-1,4}
browser_dir=$here/../tests/browser
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] || ! command -v node >/dev/null ||
	[ ! -d "$browser_dir/node_modules/puppeteer-core" ]; then
	echo "bench: chromium, node or tests/browser/node_modules is missing (scripts/install-deps.sh)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench-dash.XXXXXX")
wnd_pid=
hold_pid=
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	local p
	for p in $hold_pid $wnd_pid; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r p1 p2 <<<"$(free_port) $(free_port)"
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
export WN_SERVER=tcp://127.0.0.1:$p1
web=http://127.0.0.1:$p2/
bench_start_wnd "$WN_BIN/wnd" --durability relaxed --http "127.0.0.1:$p2"
"$WN_BIN/wnctl" project create dash >/dev/null
"$WN_BIN/wnctl" task create dash train >/dev/null
sweep=$("$WN_BIN/wnctl" --json job sweep dash train --grid lr=0.0001,0.0003,0.001,0.003,0.01,0.03,0.1,0.3,1,3 \
	--grid epochs=1,2,3,4,5,6,7,8,9,10 --grid seed=1,2 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')

# hold_open: start the browser on the three pages and wait until they drew.
hold_open() {
	nice -n 19 node "$browser_dir/hold-open.js" "$web" "${web}#/sweeps/$sweep" "${web}#/queue/dash" \
		>"$tmp/hold.out" 2>&1 </dev/null &
	hold_pid=$!
	for _ in $(seq 1 600); do
		grep -qx open "$tmp/hold.out" && return 0
		kill -0 "$hold_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/hold.out" >&2
	echo "bench: the dashboard did not open" >&2
	exit 1
}

# hold_close: close the browser; print what its pages did.
hold_close() {
	kill -TERM "$hold_pid"
	wait "$hold_pid" || {
		cat "$tmp/hold.out" >&2
		echo "bench: the dashboard's pages met errors" >&2
		exit 1
	}
	hold_pid=
	grep '^dashboard:' "$tmp/hold.out" >>"$tmp/holds"
}

# What the pages alone cost wnd: its cpu time over WN_BENCH_DASH_IDLE seconds
# with no client, closed then open (first, before the rows leave RocksDB
# compactions to do).
idle=${WN_BENCH_DASH_IDLE:-10}
wnd_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$wnd_pid/stat"
}
c0=$(wnd_cpu_ms)
sleep "$idle"
c1=$(wnd_cpu_ms)
hold_open
c2=$(wnd_cpu_ms)
sleep "$idle"
c3=$(wnd_cpu_ms)
hold_close
calls=$(tail -n 1 "$tmp/holds" | sed -n 's/.* \([0-9][0-9]*\) calls .*/\1/p')
idle_line=$(awk -v a=$((c1 - c0)) -v b=$((c3 - c2)) -v s="$idle" -v n="${calls:-0}" 'BEGIN {
	printf "wnd cpu with no client: closed %.1f ms/s, open %.1f ms/s (%d dashboard calls, %.1f/s): %.0f us a call\n",
		a / s, b / s, n, n / s, n ? (b - a) * 1000 / n : 0
}')

echo
echo "The RPC path with the dashboard open: wnd (relaxed) on tcp:// and --http;" \
	"closed = no browser, open = headless Chromium polling 3 dashboard pages every 2 s;" \
	"$(nproc) cpus"
header=()
: >"$tmp/rows"
for _ in $(seq 1 "$runs"); do
	for kind in closed open; do
		[ "$kind" = closed ] || hold_open
		"$WN_BIN/wnbench" --label "$kind" --ops submit,cycle --threads "$threads" --duration "$secs" \
			--warmup 500 --wnd-pid "$wnd_pid" "${header[@]}" | tee -a "$tmp/rows"
		header=(--no-header)
		[ "$kind" = closed ] || hold_close
	done
done
cat "$tmp/holds"
echo "$idle_line"
# the median jobs/s and wnd cpu per job of each row (op, threads) of each
# kind, and open / closed ("server cpu N us/job" is 6th from a row's end)
awk '
$1 == "closed" || $1 == "open" {
	r = $2 " " $3; rows[r] = 1
	v[r, $1] = v[r, $1] " " $6; c[r, $1] = c[r, $1] " " $(NF - 5)
}
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	for (r in rows) {
		jc = median(v[r, "closed"]); jo = median(v[r, "open"])
		printf "median %-6s %2s threads: closed %6.0f jobs/s %4.0f us wnd cpu/job, open %6.0f jobs/s %4.0f us wnd cpu/job: open/closed %.2f\n", \
			substr(r, 1, index(r, " ") - 1), substr(r, index(r, " ") + 1), jc, median(c[r, "closed"]), \
			jo, median(c[r, "open"]), jc ? jo / jc : 0
	}
}' "$tmp/rows" | sort -k2,2 -k3,3n
kill -TERM "$wnd_pid"
wait "$wnd_pid" || {
	echo "bench: wnd exited badly" >&2
	tail -n 20 "$tmp/wnd.log" >&2
	exit 1
}
wnd_pid=
