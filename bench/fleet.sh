#!/usr/bin/env bash
# Fleet benchmark: what resource matching costs a fetch. Against a private
# wnd, two joined workers fetch one job at a time (wait 0), taking turns so
# that both see the same load on the machine, and each fetch is timed from
# send to reply (tests/tools/wnfetch.c). Each has its queue, of one length:
#   - 1 class:   N pending jobs of one task, which the worker fits;
#   - 20 classes: N pending jobs spread over 20 tasks that each require a
#     different label; only the last task's label is the worker's, and its
#     jobs are the last submitted and the lowest priority, so a fetch that
#     scanned the queue for a job that fits would walk past every other one.
# The server keeps one ready queue per class and looks only at the head of
# each, so both rows should be close.
#
# Needs WN_BIN (wnd, wnctl and wnfetch; wnfetch is built here if missing).
# Knobs:
#   WN_BENCH_FLEET_JOBS     pending jobs per queue (default 100000)
#   WN_BENCH_FLEET_FETCHES  timed fetches per row (default 2000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(cd "$here/.." && pwd)
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnfetch}"
njobs=${WN_BENCH_FLEET_JOBS:-100000}
nfetch=${WN_BENCH_FLEET_FETCHES:-2000}
nclass=20
if [ $((njobs / nclass)) -lt "$nfetch" ]; then
	echo "bench: WN_BENCH_FLEET_JOBS / $nclass must be at least WN_BENCH_FLEET_FETCHES" >&2
	exit 1
fi
if [ ! -x "$WN_BIN/wnfetch" ] && [ "${WN_BIN#"$repo"/}" != "$WN_BIN" ]; then
	make -C "$repo" --no-print-directory "${WN_BIN#"$repo"/}/wnfetch" >/dev/null
fi
for b in wnd wnctl wnfetch; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "bench: $WN_BIN/$b is missing (run make test first)" >&2
		exit 1
	fi
done

bench_scratch wn-bench-fleet

export WN_SERVER=ipc://$tmp/wnd.sock
bench_start_wnd "$WN_BIN/wnd" --durability relaxed
wnctl() { "$WN_BIN/wnctl" --timeout 600000 "$@"; }

# submit PROJECT TASK COUNT PRIORITY: COUNT jobs in batches of at most 50000.
submit() {
	local left=$3 n
	while [ "$left" -gt 0 ]; do
		n=$((left > 50000 ? 50000 : left))
		awk -v n="$n" -v prio="$4" \
			'BEGIN { for (i = 0; i < n; i++) printf "{\"priority\":%d}\n", prio }' |
			wnctl job batch - --project "$1" --task "$2" >/dev/null
		left=$((left - n))
	done
}

# One class: every job fits.
wnctl project create one >/dev/null
wnctl task create one t --label class=c$nclass >/dev/null
submit one t "$njobs" 0

# Twenty classes: only the last fits, and it comes last.
wnctl project create many >/dev/null
per=$((njobs / nclass))
for c in $(seq 1 "$nclass"); do
	name=$(printf 'c%02d' "$c")
	wnctl task create many "$name" --label "class=c$c" >/dev/null
	if [ "$c" -lt "$nclass" ]; then
		submit many "$name" "$per" 1
	else
		submit many "$name" $((njobs - per * (nclass - 1))) 0
	fi
done

sleep 3 # the store flushes what was just submitted: let that pass first
out=$("$WN_BIN/wnfetch" "$WN_SERVER" --worker w-one --project one --worker w-many \
	--project many --label "class=c$nclass" --count "$nfetch" --warmup 200)
r1=$(grep '^project=one ' <<<"$out")
r20=$(grep '^project=many ' <<<"$out")

field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" <<<"$1"; }
echo
echo "fleet: fetch latency of a joined worker, $njobs pending jobs per queue," \
	"$nfetch fetches, wnd --durability relaxed, $(nproc) cpus"
printf '%-36s %8s %8s %8s %8s\n' "queue" "jobs" "p50 us" "p99 us" "mean us"
for row in "1 class, all fit:$r1" "$nclass classes, only the last fits:$r20"; do
	r=${row#*:}
	printf '%-36s %8s %8s %8s %8s\n' "${row%%:*}" "$(field "$r" jobs)" "$(field "$r" p50_us)" \
		"$(field "$r" p99_us)" "$(field "$r" mean_us)"
	if [ "$(field "$r" jobs)" != "$nfetch" ]; then
		echo "bench: a fetch came back empty: $r" >&2
		exit 1
	fi
done

kill -TERM "$wnd_pid"
wait "$wnd_pid" 2>/dev/null || true
wnd_pid=
