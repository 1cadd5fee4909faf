#!/usr/bin/env bash
# Worker benchmark: what wnworker adds on top of the machine's own limit, in
# one run against a private wnd (ipc://, relaxed durability, metrics on a
# loopback HTTP port):
#   - the spawn loop: posix_spawn + waitpid of /bin/true in a plain C loop
#     (wnbench --spawn), on 1 and 2 threads: the yardstick;
#   - throughput: N jobs of /bin/true through one worker (--exit-when-empty)
#     at slots 1, 2, 4 and 8, and at slots 8 with a GPU each (8g: the worker
#     offers 8 device ids, each job takes one and its lock file, docs/resources.md);
#     jobs/s from its start to its exit, as a ratio of
#     a 1-thread spawn loop run just before it (the machine's rate moves with
#     its load), and the CPU time per job of the worker and what it started
#     (its children: commands, and any helper process);
#   - dispatch latency: jobs submitted one at a time to an idle worker, from
#     just before the Submit call to the command's start, both stamps the wall
#     clock in ns on this machine (wnbench --worker-latency; the command is
#     bench/cmd/wnstamp.c, a static program that prints the clock first thing);
#     the spawn loop times that command's own start beside it;
#   - idle: a joined worker with nothing to do: its CPU time (the worker and
#     its child processes, from /proc/PID/task/*/schedstat, ns) and its calls
#     (wnd's /metrics, whatsnext_requests_total) over a few seconds;
#   - 100 running jobs (sleep): Heartbeat calls per heartbeat interval, the
#     leases the server saw renewed lately (each job's lease_expires_ms), and
#     the worker's CPU;
#   - goal lines (issue 18): met / not met.
#
# Needs WN_BIN (wnd, wnctl, wnworker, wnbench; and wnstamp, which make bench
# builds: else it is compiled here with cc) and curl. Knobs:
#   WN_BENCH_WORKER_BIN         the wnworker to measure (default $WN_BIN/wnworker):
#                               two builds compared with the same tools
#   WN_BENCH_WORKER_JOBS        jobs per throughput run (default 1000)
#   WN_BENCH_WORKER_SLOTS       slot counts of the throughput runs, N or Ng (jobs
#                               that take a GPU each; default "1 2 4 8 8g")
#   WN_BENCH_WORKER_SPAWNS      spawns per spawn-loop row (default 2000)
#   WN_BENCH_WORKER_LATENCY     jobs in the latency run (default 100)
#   WN_BENCH_WORKER_WINDOW      seconds of the idle and the running windows (default 10)
#   WN_BENCH_WORKER_RUNNING     jobs of the running window (default 100)
#   WN_BENCH_WORKER_DURABILITY  wnd durability mode (default relaxed: the worker's
#                               cost, not the disk's; "sync" to include fsync)
#   WN_BENCH_WORKER_LOG         the workers' log_level (default warn)
#   WN_BENCH_WORKER_KEEP        1: keep the scratch directory (logs, configs) and
#                               print where it is
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnworker}"
jobs=${WN_BENCH_WORKER_JOBS:-1000}
slot_list=${WN_BENCH_WORKER_SLOTS:-1 2 4 8 8g}
spawns=${WN_BENCH_WORKER_SPAWNS:-2000}
nlat=${WN_BENCH_WORKER_LATENCY:-100}
window=${WN_BENCH_WORKER_WINDOW:-10}
nrun=${WN_BENCH_WORKER_RUNNING:-100}
mode=${WN_BENCH_WORKER_DURABILITY:-relaxed}
log_level=${WN_BENCH_WORKER_LOG:-warn}
keep=${WN_BENCH_WORKER_KEEP:-0}
hb_ms=2000     # the running window's heartbeat interval
lease_ms=60000 # wnd's lease (its default)
worker=${WN_BENCH_WORKER_BIN:-$WN_BIN/wnworker}
for b in "$WN_BIN/wnd" "$WN_BIN/wnctl" "$WN_BIN/wnbench" "$worker"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b is missing (run make first)" >&2
		exit 1
	fi
done
command -v curl >/dev/null || {
	echo "bench: curl is missing (it reads wnd's /metrics)" >&2
	exit 1
}

began=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-bench-worker.XXXXXX")
wnd_pid=
wpid=
# shellcheck disable=SC2317 # called through the trap
cleanup() {
	local p
	for p in $wpid $wnd_pid; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "$keep" = 1 ]; then
		echo "bench: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stamp=$WN_BIN/wnstamp
if [ ! -x "$stamp" ]; then
	stamp=$tmp/wnstamp
	cc -O2 -static -o "$stamp" "$here/cmd/wnstamp.c"
fi

export WN_SERVER=ipc://$tmp/wnd.sock
http=127.0.0.1:$(free_port)
bench_start_wnd "$WN_BIN/wnd" --http "$http" --durability "$mode" --lease-ms "$lease_ms"
wnctl() { "$WN_BIN/wnctl" "$@"; }
# py: python3, looked up once (a python3 on PATH may be a wrapper that costs
# a good part of a second at each call), with the standard library alone
python=$(python3 -c 'import sys; print(sys.executable)')
py() { "$python" -S "$@"; }
wnctl project create bench >/dev/null
for t in noop bench hold; do
	wnctl task create bench "$t" >/dev/null
done
wnctl task create bench gnoop --gpu 1 >/dev/null

# config SLOTS NAME [HEARTBEAT_MS] [GPUS]: a worker config serving the
# project's four tasks (default heartbeat interval: the worker's own),
# offering GPUS device ids (default none; the jobs of gnoop take one each).
config() {
	cat <<EOF
projects: bench
name: $2
slots: $1
log_level: $log_level
log_dir: $tmp/logs
tail_bytes: 64
heartbeat_ms: ${3:-0}
resources:
  gpus: ${4:-0}
tasks:
  noop:
    command: [/bin/true]
  gnoop:
    command: [/bin/true]
  bench:
    command: [$stamp]
  hold:
    command: [/bin/sleep, "60"]
EOF
}

# empties N: N empty job objects, one a line (wnctl job batch -).
empties() {
	# shellcheck disable=SC2046 # one word per job
	printf '{}\n%.0s' $(seq 1 "$1")
}

# calls METHOD: how many METHOD calls (QueueService/Heartbeat) wnd answered.
calls() {
	curl -sf "http://$http/metrics" | awk -v m="method=\"$1\"" '
		/^whatsnext_requests_total\{/ && index($0, m) { n += $NF }
		END { printf "%.0f\n", n }'
}

# tree PID: PID and its descendants, one a line.
tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END { todo = root; while (todo != "") {
			split(todo, a, " "); todo = ""
			for (i in a) { print a[i]; todo = todo " " kids[a[i]] } } }'
}

# tree_cpu_ns PID: CPU time of PID's process and its descendants, ns (the
# threads alive now; /proc/*/task/*/schedstat's first field).
tree_cpu_ns() {
	local p files=()
	for p in $(tree "$1"); do
		files+=(/proc/"$p"/task/*/schedstat)
	done
	cat "${files[@]}" 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'
}

# observe PID SECONDS: what the worker PID does in SECONDS: sets cpu_ms and
# cpu_pct (its and its descendants' CPU time, and as a share of one core),
# fetches and beats (the Fetch and Heartbeat calls wnd answered), secs (the
# time between the two readings of the counters).
observe() {
	local t0 t1 c0 c1 u0 u1 f0 f1 h0 h1
	t0=$(date +%s%N)
	f0=$(calls QueueService/Fetch)
	h0=$(calls QueueService/Heartbeat)
	c0=$(date +%s%N)
	u0=$(tree_cpu_ns "$1")
	sleep "$2"
	u1=$(tree_cpu_ns "$1")
	c1=$(date +%s%N)
	f1=$(calls QueueService/Fetch)
	h1=$(calls QueueService/Heartbeat)
	t1=$(date +%s%N)
	fetches=$((f1 - f0))
	beats=$((h1 - h0))
	secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
	cpu_ms=$(awk -v u=$((u1 - u0)) 'BEGIN { printf "%.1f", u / 1e6 }')
	cpu_pct=$(awk -v u=$((u1 - u0)) -v d=$((c1 - c0)) 'BEGIN { printf "%.3f", 100 * u / d }')
}

# wait_started PID N: until N sleep commands run under the worker PID (60 s).
wait_started() {
	local n=0 p
	for _ in $(seq 1 600); do
		n=0
		for p in $(tree "$1"); do
			[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sleep ] && n=$((n + 1))
		done
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "bench: $n of $2 commands started after 60 s" >&2
	exit 1
}

# wait_running N: until N jobs of the project run (at most 60 s).
wait_running() {
	local r=
	for _ in $(seq 1 600); do
		r=$(running)
		[ "$r" = "$1" ] && return 0
		sleep 0.1
	done
	echo "bench: $r of $1 jobs running after 60 s" >&2
	exit 1
}
running() {
	wnctl --json queue stats bench | py -c 'import json, sys
print(json.load(sys.stdin)["projects"][0].get("running", 0))'
}

# renewed MS: how many running jobs of the project had their lease renewed
# in the last MS ms (the server's lease_expires_ms: renewal + its lease).
renewed() {
	wnctl --json job list --project bench --status running --limit 10000 |
		py -c 'import json, sys, time
now, lease, ms = time.time() * 1000, int(sys.argv[1]), int(sys.argv[2])
jobs = json.load(sys.stdin)["jobs"]
print(sum(1 for j in jobs if int(j.get("lease_expires_ms", 0)) - lease >= now - ms))' \
			"$lease_ms" "$1"
}

# wait_joined NAME: until the worker NAME is in the fleet (at most 10 s).
wait_joined() {
	for _ in $(seq 1 100); do
		wnctl worker show "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: worker $1 did not join" >&2
	exit 1
}

# stop_worker: two SIGTERMs (the second stops its running jobs), then wait.
stop_worker() {
	kill -TERM "$wpid" 2>/dev/null || true
	sleep 0.2
	kill -TERM "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	wpid=
}

# spawn_loop: a 1-thread spawn loop of a quarter of $spawns: "SPAWNS/S CPU_MS".
spawn_loop() {
	"$WN_BIN/wnbench" --spawn $((spawns / 4)) --threads 1 |
		awk '{ for (i = 2; i <= NF; i++) { if ($i == "spawns/s,") r = $(i - 1); if ($i == "cpu") c = $(i - 2) }
			print r, c }'
}

# goal TEXT OK: a goal line.
goal() {
	if [ "$2" = 1 ]; then
		echo "goal: $1: met"
	else
		echo "goal: $1: not met"
	fi
}
# fcmp 'EXPR': 1 if the awk expression holds, else 0.
fcmp() { awk "BEGIN { print ($1) ? 1 : 0 }"; }

echo
echo "wnworker ($worker): wnd --durability $mode over ipc://, $(nproc) cpus, load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg) at start"
"$WN_BIN/wnbench" --spawn "$spawns" --stamp "$stamp" | tee "$tmp/spawn.txt"
stamp_p50=$(awk '/^spawn -> stamp/ { for (i = 1; i < NF; i++) if ($i == "p50") print $(i + 1) }' \
	"$tmp/spawn.txt")

echo "throughput: $jobs jobs of /bin/true per run; jobs/s over the span from the first hand-out"
echo "  to the last completion (wnd's ms stamps); wall: the worker's start to its exit; of spawn:"
echo "  against 1-thread spawn loops of $((spawns / 4)) run just before and just after (their mean);"
echo "  cpu: the worker's and its children's (commands, helper), per job; spawn cpu: the loops',"
echo "  per spawn: the same figure for a bare posix_spawn + waitpid, steadier than rates on a busy"
echo "  machine"
printf '%-8s %7s %7s %7s %8s %9s %11s %10s\n' "run" "jobs/s" "span s" "wall s" "spawn/s" \
	"of spawn" "cpu ms/job" "spawn cpu"
best_multi=0
lags=()
run=0
for entry in $slot_list; do
	run=$((run + 1))
	slots=${entry%g}
	task=noop
	[ "$entry" = "$slots" ] || task=gnoop
	config "$slots" "bench-$run-s$entry" 0 "$([ "$task" = noop ] && echo 0 || echo "$slots")" \
		>"$tmp/w$run.yaml"
	empties "$jobs" | wnctl job batch - --project bench --task "$task" >/dev/null
	before=$(spawn_loop)
	t0=$(date +%s.%N)
	# bash's times (its second line): the CPU of the children reaped so far,
	# the worker's own reaped children included
	times >"$tmp/times"
	c0=$(tail -n 1 "$tmp/times")
	"$worker" --config "$tmp/w$run.yaml" --exit-when-empty 2>>"$tmp/worker.log"
	t1=$(date +%s.%N)
	times >"$tmp/times"
	c1=$(tail -n 1 "$tmp/times")
	after=$(spawn_loop)
	read -r spawn1 spawn_cpu <<<"$(echo "$before $after" |
		awk '{ printf "%.1f %.3f\n", ($1 + $3) / 2, ($2 + $4) / 2 }')"
	line=$(wnctl --json job list --project bench --task "$task" --status completed --all \
		--limit 10000 | py -c 'import json, re, sys
n, t0, t1, slots, spawn = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
mine = [j for j in json.load(sys.stdin)["jobs"] if j.get("worker") == sys.argv[8]]
if len(mine) != n:
    sys.exit("bench: %d jobs of %s completed, not %d" % (len(mine), sys.argv[8], n))
# from the first hand-out to the last completion, on the server clock (ms)
span = (max(int(j["finished_ms"]) for j in mine) - min(int(j["started_ms"]) for j in mine)) / 1000
def cpu(s):  # "0m1.234s 0m0.567s": user, system of the children
    return sum(int(m) * 60 + float(x) for m, x in re.findall(r"(\d+)m([\d.]+)s", s))
c = (cpu(sys.argv[7]) - cpu(sys.argv[6])) * 1000 / n
r = n / max(span, 0.001)
print("%-8s %7.0f %7.2f %7.2f %8.0f %8.2fx %11.2f %10.2f %.4f" % ("slots %s" % slots, r, span, t1 - t0, spawn, r / spawn, c, float(sys.argv[9]), r / spawn))' \
		"$jobs" "$t0" "$t1" "$entry" "$spawn1" "$c0" "$c1" "bench-$run-s$entry" "$spawn_cpu")
	echo "${line% *}"
	# shellcheck disable=SC2086 # the row's fields
	lag=$(set -- $line && awk -v w="$5" -v s="$4" 'BEGIN { if (w - s > 1) printf "%.1f", w - s }')
	[ -z "$lag" ] || lags+=("slots $entry: wall is $lag s longer than the span")
	if [ "$slots" -ge 2 ] && [ "$task" = noop ]; then
		best_multi=$(awk -v a="$best_multi" -v b="${line##* }" 'BEGIN { print (b > a) ? b : a }')
	fi
done
for l in "${lags[@]:-}"; do
	[ -z "$l" ] || echo "note: $l: the worker's start before its first job and its exit" \
		"after its last (--exit-when-empty), left out of jobs/s"
done

# Dispatch latency, then the same worker idle.
config 1 bench-idle >"$tmp/idle.yaml"
"$worker" --config "$tmp/idle.yaml" 2>>"$tmp/worker.log" &
wpid=$!
wait_joined bench-idle
echo "dispatch: $nlat jobs one at a time to an idle worker (slots 1), 20 ms apart;" \
	"stamps: the wall clock in ns (the client's, the command's)"
"$WN_BIN/wnbench" --server "$WN_SERVER" --project bench --worker-latency "$nlat" |
	tee "$tmp/lat.txt"
read -r lat_p50 lat_p99 < <(awk '/^submit called -> command start/ {
	for (i = 1; i < NF; i++) { if ($i == "p50") a = $(i + 1); if ($i == "p99") b = $(i + 1) }
	print a, b }' "$tmp/lat.txt")

sleep 1 # its last Complete and the Fetch that follows are not idle time
observe "$wpid" "$window"
idle_pct=$cpu_pct
printf 'idle worker, %s s: %s ms cpu (%s %% of a core), %d Fetch and %d Heartbeat calls\n' \
	"$secs" "$cpu_ms" "$cpu_pct" "$fetches" "$beats"
stop_worker

# A worker with many running jobs.
config "$nrun" bench-hold "$hb_ms" >"$tmp/hold.yaml"
empties "$nrun" | wnctl job batch - --project bench --task hold >/dev/null
"$worker" --config "$tmp/hold.yaml" 2>>"$tmp/worker.log" &
wpid=$!
wait_running "$nrun"
wait_started "$wpid" "$nrun"
sleep "$(awk -v h=$hb_ms 'BEGIN { print h / 1000 }')" # past the first heartbeat with them all
observe "$wpid" "$window"
run_pct=$cpu_pct
run_beats=$beats
kept=$(renewed $((2 * hb_ms + 1000)))
per=$(awk -v n="$beats" -v s="$secs" -v h=$hb_ms 'BEGIN { printf "%.2f", n / (s * 1000 / h) }')
printf '%d running jobs, %s s: %d Heartbeat calls (%s per %d ms interval), %d leases' \
	"$nrun" "$secs" "$beats" "$per" "$hb_ms" "$kept"
printf ' renewed in the last %d ms, %s ms cpu (%s %% of a core)\n' $((2 * hb_ms + 1000)) \
	"$cpu_ms" "$cpu_pct"
stop_worker

load=$(cut -d' ' -f1 /proc/loadavg)
if [ "$(fcmp "$load > $(nproc)")" = 1 ]; then
	echo "warning: load average $load on $(nproc) cpus: rates and latencies are the machine's" \
		"load as much as the worker's; compare the cpu figures, or runs alternated in one minute"
fi
if [ "$best_multi" = 0 ]; then
	echo "goal: wnworker with slots >= 2 at >= 0.5x the spawn loop: not measured"
else
	goal "wnworker with slots >= 2 at >= 0.5x the spawn loop (best $(printf %.2f "$best_multi")x)" \
		"$(fcmp "$best_multi >= 0.5")"
fi
goal "submit -> command start through an idle worker, p50 <= 3 ms ($lat_p50; the command's own start: $stamp_p50)" \
	"$(fcmp "$lat_p50 <= 3")"
goal "the same, p99 <= 10 ms ($lat_p99)" "$(fcmp "$lat_p99 <= 10")"
goal "$nrun running jobs heartbeated in one call per interval ($per calls, $kept of $nrun leases renewed)" \
	"$(fcmp "$run_beats > 0 && $per <= 1.25 && $kept == $nrun")"
goal "idle worker cpu near zero, < 0.1 % of a core ($idle_pct %)" "$(fcmp "$idle_pct < 0.1")"
goal "with $nrun running jobs, < 1 % of a core ($run_pct %)" "$(fcmp "$run_pct < 1")"

kill -TERM "$wnd_pid"
wait "$wnd_pid" 2>/dev/null || true
wnd_pid=
echo "worker benchmark: $(($(date +%s) - began)) s in all, load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg) at the end"
