#!/usr/bin/env bash
# Sweeps benchmark: does what wnd does for a job through a worker grow with
# the sweeps it has run? Against a private wnd (ipc://, relaxed durability),
# one project: N jobs of /bin/true through one wnworker (--exit-when-empty),
# then S sweeps of one job each, run to their end the same way, then N jobs
# again. Prints wnd's CPU time per job (its threads' schedstat, ns) in both
# runs and their ratio: near 1.0 when finished sweeps cost a claim nothing.
#
# Needs WN_BIN (wnd, wnctl, wnworker). Knobs:
#   WN_BENCH_SWEEPS_JOBS    jobs of each measured run (default 2000)
#   WN_BENCH_SWEEPS_COUNT   sweeps run between the two (default 3000)
#   WN_BENCH_SWEEPS_WND     the wnd to measure (default $WN_BIN/wnd): two builds
#                           compared with the same tools
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnworker}"
jobs=${WN_BENCH_SWEEPS_JOBS:-2000}
count=${WN_BENCH_SWEEPS_COUNT:-3000}
wnd=${WN_BENCH_SWEEPS_WND:-$WN_BIN/wnd}
for b in "$wnd" "$WN_BIN/wnctl" "$WN_BIN/wnworker"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b is missing (run make first)" >&2
		exit 1
	fi
done

bench_scratch wn-bench-sweeps

export WN_SERVER=ipc://$tmp/wnd.sock
bench_start_wnd "$wnd" --durability relaxed
"$WN_BIN/wnctl" project create bench >/dev/null
"$WN_BIN/wnctl" task create bench noop >/dev/null
cat >"$tmp/w.yaml" <<EOF
projects: bench
name: w1
slots: 4
log_level: warn
log_dir: $tmp/logs
tail_bytes: 64
tasks:
  noop:
    command: [/bin/true]
EOF

# wnd_cpu_ns: the CPU time of wnd's threads, ns.
wnd_cpu_ns() {
	cat /proc/"$wnd_pid"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'
}

# drain: runs every job of the project through a worker, to its exit.
drain() {
	"$WN_BIN/wnworker" --config "$tmp/w.yaml" --exit-when-empty >>"$tmp/worker.log" 2>&1
}

# measured: N plain jobs through the worker; prints wnd's CPU per job, us.
measured() {
	local i c0 c1
	for i in $(seq 1 "$jobs"); do echo '{"project":"bench","task":"noop"}'; done >"$tmp/jobs.jsonl"
	"$WN_BIN/wnctl" job batch "$tmp/jobs.jsonl" >/dev/null
	c0=$(wnd_cpu_ns)
	drain
	c1=$(wnd_cpu_ns)
	awk -v d="$((c1 - c0))" -v n="$jobs" 'BEGIN { printf "%.1f\n", d / n / 1000 }'
}

before=$(measured)
for i in $(seq 1 "$count"); do
	printf '{"sweep": {"name": "s%d"}, "jobs": [{"project": "bench", "task": "noop"}]}\n' "$i" >"$tmp/s.json"
	"$WN_BIN/wnctl" job batch "$tmp/s.json" >/dev/null 2>&1
done
drain
after=$(measured)
echo
echo "sweeps run by one wnd (jobs of /bin/true through one worker, slots 4):"
printf '  wnd CPU per job: %s us before, %s us after %d sweeps ran; ratio %s\n' \
	"$before" "$after" "$count" "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a / b }')"
