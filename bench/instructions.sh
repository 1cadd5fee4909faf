#!/usr/bin/env bash
# Instructions wnd executes per job, counted by callgrind, for one row of the
# comparison table (relaxed durability). The row runs twice against a fresh
# wnd under callgrind, with a small and a large job budget; the difference of
# the two totals divided by the difference of the budgets is the cost of one
# job, start-up and shutdown cancelling out. Instruction counts do not depend
# on the machine's load, so two builds compare exactly (within a few percent:
# how requests group into rounds still varies).
#
# Usage: WN_BIN=DIR bash bench/instructions.sh [ROW]
#   ROW: complete+next (default: Complete with `next`, 4 producers and 4
#        consumers, one job per call) or batched (SubmitBatch 100, Fetch
#        max_jobs 100, CompleteBatch)
# Needs valgrind and beanstalkd (wnbench runs each row against both servers;
# only wnd is counted). Takes about a minute.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnbench}"
row=${1:-complete+next}
case $row in
complete+next) rows=complete+next small=2000 large=8000 budget=--jobs ;;
batched) rows="BATCHED cycle" small=20000 large=80000 budget=--batch-jobs ;;
*)
	echo "instructions: unknown row \"$row\" (complete+next or batched)" >&2
	exit 2
	;;
esac
for tool in valgrind beanstalkd callgrind_annotate; do
	if ! command -v "$tool" >/dev/null; then
		echo "instructions: $tool is missing (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wn-instr.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT


bport=$(free_port)
beanstalkd -l 127.0.0.1 -p "$bport" >"$tmp/beanstalkd.log" 2>&1 &
pids+=($!)

# count JOBS: instructions of a wnd that ran the row with that budget
count() {
	local jobs=$1 url pid
	url=tcp://127.0.0.1:$(free_port)
	rm -rf "$tmp/data" "$tmp"/cg.*
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" \
		"$WN_BIN/wnd" --data "$tmp/data" --listen "$url" --durability relaxed \
		>"$tmp/wnd.log" 2>&1 &
	pid=$!
	"$WN_BIN/wnbench" --server "$url" --wait-ready 60000 >/dev/null
	"$WN_BIN/wnbench" --server "$url" --beanstalk "127.0.0.1:$bport" --rows "$rows" \
		--runs 1 --duration 300 "$budget" "$jobs" --warmup 0 --keep >"$tmp/bench.log" 2>&1
	kill -INT "$pid"
	wait "$pid" || true
	callgrind_annotate "$tmp"/cg.* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

a=$(count "$small")
b=$(count "$large")
echo "wnd instructions per job, relaxed, row \"$rows\": $(((b - a) / (large - small)))" \
	"(marginal between $small and $large jobs)"
