#!/usr/bin/env bash
# Worker benchmark: the overhead of wnworker itself. Against a private wnd:
#   - throughput: N jobs running /bin/true through one worker with slots 1
#     and slots 4 (--exit-when-empty; jobs/s from start to exit);
#   - dispatch latency: from the server accepting a submit (the job's
#     created_ms) to the command's first instruction (the command is
#     `date +%s%N`), jobs submitted one at a time to an idle worker; p50/p99.
# A worker waits on the server (long poll), so an idle queue's job should start
# in milliseconds, not after a poll interval.
#
# Needs WN_BIN (wnd, wnctl, wnworker). Knobs:
#   WN_BENCH_WORKER_JOBS        jobs per throughput run (default 1000)
#   WN_BENCH_WORKER_LATENCY     jobs in the latency run (default 100)
#   WN_BENCH_WORKER_DURABILITY  wnd durability mode (default relaxed: the worker's
#                               cost, not the disk's; "sync" to include fsync)
set -euo pipefail
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnworker}"
jobs=${WN_BENCH_WORKER_JOBS:-1000}
nlat=${WN_BENCH_WORKER_LATENCY:-100}
mode=${WN_BENCH_WORKER_DURABILITY:-relaxed}
for b in wnd wnctl wnworker; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "bench: $WN_BIN/$b is missing (run make first)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench-worker.XXXXXX")
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	local p
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export WN_SERVER=ipc://$tmp/wnd.sock
"$WN_BIN/wnd" --data "$tmp/data" --listen "$WN_SERVER" --durability "$mode" \
	>"$tmp/wnd.log" 2>&1 &
pids+=($!)
ready=0
for _ in $(seq 1 200); do
	if "$WN_BIN/wnctl" --timeout 500 project list >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.05
done
if [ "$ready" != 1 ]; then
	cat "$tmp/wnd.log" >&2
	echo "bench: wnd did not start" >&2
	exit 1
fi
wnctl() { "$WN_BIN/wnctl" "$@"; }
wnctl project create bench >/dev/null
wnctl task create bench noop >/dev/null
wnctl task create bench stamp >/dev/null

config() { # config SLOTS
	cat <<EOF
projects: bench
name: bench-worker
slots: $1
log_level: warn
log_dir: $tmp/logs
tail_bytes: 64
tasks:
  noop:
    command: [/bin/true]
  stamp:
    command: [/bin/date, "+%s%N"]
EOF
}

now() { date +%s.%N; }

echo
echo "wnworker: $jobs jobs of /bin/true per run, wnd --durability $mode, $(nproc) cpus"
printf '%-28s %10s %10s\n' "run" "jobs/s" "seconds"
for slots in 1 4; do
	config "$slots" >"$tmp/w$slots.yaml"
	python3 -c 'import sys
for i in range(int(sys.argv[1])):
    print("{\"project\": \"bench\", \"task\": \"noop\"}")' "$jobs" | wnctl job batch - >/dev/null
	t0=$(now)
	"$WN_BIN/wnworker" --config "$tmp/w$slots.yaml" --exit-when-empty 2>>"$tmp/worker.log"
	t1=$(now)
	done_n=$(wnctl --json queue stats bench | python3 -c 'import json, sys
p = json.load(sys.stdin)["projects"][0]
print(p["completed"])')
	python3 -c 'import sys
n, t0, t1, slots = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print("%-28s %10.0f %10.2f" % ("slots %s (/bin/true)" % slots, n / (t1 - t0), t1 - t0))' \
		"$jobs" "$t0" "$t1" "$slots"
	expect=$(((slots == 1 ? 1 : 2) * jobs))
	if [ "$done_n" != "$expect" ]; then
		echo "bench: expected $expect completed jobs, the server has $done_n" >&2
		exit 1
	fi
done

# Dispatch latency: an idle worker waiting on the server, one job at a time.
config 1 >"$tmp/lat.yaml"
"$WN_BIN/wnworker" --config "$tmp/lat.yaml" 2>>"$tmp/worker.log" &
wpid=$!
pids+=("$wpid")
sleep 0.5 # let it settle into its long poll
ids=()
for _ in $(seq 1 "$nlat"); do
	id=$(wnctl job add bench stamp)
	ids+=("$id")
	for _ in $(seq 1 400); do
		st=$(wnctl --json job show "$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
		[ "$st" = completed ] && break
		sleep 0.005
	done
	[ "$st" = completed ] || {
		echo "bench: job $id did not complete" >&2
		exit 1
	}
done
kill -TERM "$wpid"
wait "$wpid" || true
pids=("${pids[0]}")
wnctl --json job list --project bench --task stamp --all | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
lat = sorted(int(j["output_tail"].strip()) / 1e6 - j["created_ms"] for j in jobs)
def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
print("%-28s p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d jobs)" %
      ("dispatch latency", pct(50), pct(99), lat[-1], len(lat)))'

kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
pids=()
