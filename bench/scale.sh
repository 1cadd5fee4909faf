#!/usr/bin/env bash
# Scale run: how wnd behaves with a long queue and a long history.
#
# Against a private wnd on a loopback port with a fresh data directory:
#   1. at 1,000, 10,000, 100,000 and 1,000,000 pending jobs (200-byte
#      payloads, filled with SubmitBatch): the unbatched submit rate (4
#      clients) and the latency of Fetch (one client, from the head);
#   2. the memory of wnd (resident set) per pending job, above the empty
#      server's;
#   3. a restart with every job on disk: the time until it serves again, then
#      Fetch latency again with cold caches;
#   4. all jobs fetched and completed: disk bytes per finished job;
#   5. a restart with --retention-ms: finished jobs expire and the disk space
#      comes back (RocksDB compaction).
# Ends with the goals, met or not.
#
# Needs WN_BIN (directory of wnd and wnbench). Knobs:
#   WN_SCALE_JOBS          the top level (default 1000000)
#   WN_SCALE_DURABILITY    wnd durability mode (default relaxed: the cost of the
#                          data structures, not of the disk's fsync)
#   WN_SCALE_PROBE         Fetch calls per probe round, 3 rounds (default 2000)
#   WN_SCALE_RETENTION_MS  retention of finished jobs in step 5 (default 5000)
#   TMPDIR                 where the data directory goes (a real disk)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnbench}"
top=${WN_SCALE_JOBS:-1000000}
mode=${WN_SCALE_DURABILITY:-relaxed}
probe=${WN_SCALE_PROBE:-2000}
retention=${WN_SCALE_RETENTION_MS:-5000}
levels="1000 10000 100000 $top"
if [ "$top" -le 100000 ]; then
	levels="1000 $top"
fi

for b in wnd wnbench; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "scale: $WN_BIN/$b is missing (run make first)" >&2
		exit 1
	fi
done

bench_scratch wn-scale
data=$tmp/data

url=tcp://127.0.0.1:$(free_port)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_wnd [ARGS...]: starts wnd on the data directory and waits until it
# answers; ready_ms gets the time that took.
start_wnd() {
	local t0
	t0=$(now_ms)
	"$WN_BIN/wnd" --data "$data" --listen "$url" --durability "$mode" "$@" \
		>>"$tmp/wnd.log" 2>&1 &
	wnd_pid=$!
	if ! "$WN_BIN/wnbench" --server "$url" --wait-ready 120000; then
		tail -n 20 "$tmp/wnd.log" >&2
		exit 1
	fi
	ready_ms=$(($(now_ms) - t0))
}

# stop_wnd: SIGTERM; stop_ms gets the time until it exited.
stop_wnd() {
	local t0 rc=0
	t0=$(now_ms)
	kill -TERM "$wnd_pid"
	wait "$wnd_pid" || rc=$?
	wnd_pid=
	stop_ms=$(($(now_ms) - t0))
	if [ "$rc" -ne 0 ]; then
		echo "scale: wnd exited with status $rc after SIGTERM" >&2
		tail -n 20 "$tmp/wnd.log" >&2
		exit 1
	fi
}

bench() { "$WN_BIN/wnbench" --server "$url" --project scale "$@"; }
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$wnd_pid/status"; }
disk() { du -sb "$data" | cut -f1; }
# files SUFFIX: bytes in the data directory's files ending in SUFFIX
files() {
	find "$data" -name "*$1" -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
counts() { bench --scale stats; }

echo "scale: wnd --durability $mode, up to $top pending jobs of 200-byte payload;" \
	"$(nproc) cpus, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
	"data on $(stat -f -c %T "$tmp"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
t_start=$(now_ms)

start_wnd
counts >/dev/null # creates the project
rss_empty=$(rss)
disk_empty=$(disk)
echo "empty server: resident $(mib "$rss_empty") MiB, data directory $(mib "$disk_empty") MiB"

echo
echo "1. submit and fetch at each queue length (fill: SubmitBatch; submit: 4 clients," \
	"one job per call; fetch: one client, 3 rounds of $probe, medians; ms)"
out=$tmp/probe.txt
header=()
for level in $levels; do
	bench --scale probe --level "$level" --probe "$probe" "${header[@]}" | tee -a "$out"
	header=(--no-header)
	eval "rss_$level=$(rss)"
done

echo
echo "2. memory: resident set of wnd above the empty server's, per pending job, and"
echo "   its growth per job from the previous level (marginal)"
printf '%10s %12s %14s %14s %12s\n' pending "resident MiB" "bytes per job" "marginal" \
	"disk MiB"
prev_rss=$rss_empty
prev_level=0
for level in $levels; do
	r=rss_$level
	printf '%10s %12s %14.0f %14.0f %12s\n' "$level" "$(mib "${!r}")" \
		"$(awk -v a="${!r}" -v b="$rss_empty" -v n="$level" 'BEGIN {print (a - b) / n}')" \
		"$(awk -v a="${!r}" -v b="$prev_rss" -v n="$((level - prev_level))" \
			'BEGIN {print (a - b) / n}')" \
		"$( [ "$level" = "$top" ] && mib "$(disk)" || echo -)"
	prev_rss=${!r}
	prev_level=$level
done
rss_top=rss_$top
per_job=$(awk -v a="${!rss_top}" -v b="$rss_empty" -v n="$top" 'BEGIN {printf "%.0f", (a - b) / n}')

echo
echo "3. restart with $top pending jobs on disk"
stop_wnd
echo "   SIGTERM to exit: $stop_ms ms"
start_wnd
restart_ms=$ready_ms
rss_restart=$(rss)
per_job_restart=$(awk -v a="$rss_restart" -v b="$rss_empty" -v n="$top" \
	'BEGIN {printf "%.0f", (a - b) / n}')
echo "   start to first answer: $restart_ms ms; resident $(mib "$rss_restart") MiB" \
	"($per_job_restart bytes per pending job above empty)"
echo "   submit and fetch right after the restart (cold caches):"
bench --scale probe --level "$top" --probe "$probe" | sed 's/^/   /' | tee "$tmp/cold.txt"

echo
echo "4. every job fetched and completed"
bench --scale drain
read -r pending finished < <(counts)
stop_wnd
start_wnd # flushes the write-ahead log into tables
disk_done=$(disk)
per_done=$(awk -v a="$disk_done" -v b="$disk_empty" -v n="$finished" \
	'BEGIN {printf "%.0f", (a - b) / n}')
echo "   $finished finished, $pending pending: data directory $(mib "$disk_done") MiB" \
	"(tables $(mib "$(files .sst)") MiB, log $(mib "$(files .log)") MiB):" \
	"$per_done bytes per finished job"

echo
echo "5. retention of finished jobs"
if "$WN_BIN/wnd" --help 2>&1 | grep -q -- --retention-ms; then
	stop_wnd
	start_wnd --retention-ms "$retention"
	t0=$(now_ms)
	left=$finished
	while [ "$(now_ms)" -lt $((t0 + 600000)) ]; do
		read -r pending left < <(counts)
		[ "$left" -eq 0 ] && break
		sleep 1
	done
	expire_ms=$(($(now_ms) - t0))
	sleep 2 # the compaction after the last chunk
	disk_after=$(disk)
	echo "   wnd --retention-ms $retention: $((finished - left)) of $finished finished" \
		"jobs expired within $expire_ms ms of the restart; data directory" \
		"$(mib "$disk_done") MiB -> $(mib "$disk_after") MiB"
else
	disk_after=
	echo "   skipped: this wnd has no --retention-ms"
fi
stop_wnd

echo
first=$(awk 'NR == 2 {print}' "$out")
last=$(tail -n 1 "$out")
read -r _ _ sub_lo _ _ _ p99_lo <<<"$first"
read -r _ _ sub_hi _ _ _ p99_hi <<<"$last"
verdict() { awk -v c="$1" 'BEGIN {print (c ? "met" : "NOT MET")}'; }
echo "goals ($(($(now_ms) - t_start)) ms in all; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  fetch p99 at $top pending / at 1000: $p99_hi / $p99_lo ms =" \
	"$(awk -v a="$p99_hi" -v b="$p99_lo" 'BEGIN {printf "%.2f", a / b}')x;" \
	"goal <= 1.5x: $(verdict "$(awk -v a="$p99_hi" -v b="$p99_lo" 'BEGIN {print a <= 1.5 * b}')")"
echo "  submit rate at 1000 pending / at $top: $sub_lo / $sub_hi jobs/s =" \
	"$(awk -v a="$sub_lo" -v b="$sub_hi" 'BEGIN {printf "%.2f", a / b}')x;" \
	"goal <= 1.5x: $(verdict "$(awk -v a="$sub_lo" -v b="$sub_hi" 'BEGIN {print a <= 1.5 * b}')")"
echo "  memory per pending job above empty: $per_job bytes while filling," \
	"$per_job_restart after a restart; goal <= 200: $(verdict "$((per_job <= 200))")"
echo "  restart with $top jobs on disk serving after $restart_ms ms; goal < 5000 ms:" \
	"$(verdict "$((restart_ms < 5000))")"
echo "  disk per finished job: $per_done bytes"
if [ -n "$disk_after" ]; then
	echo "  finished jobs expired and space returned: $(mib "$disk_done") MiB ->" \
		"$(mib "$disk_after") MiB"
else
	echo "  expiry of finished jobs: not measured (no --retention-ms)"
fi
