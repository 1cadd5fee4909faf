#!/usr/bin/env bash
# Dependency and sweep benchmark: what the graph costs, at two sizes, so that
# the growth shows (a ratio near size2/size1 is linear, near 1 is constant).
# Against a private wnd, each case in a project of its own:
#   - a sweep submitted in one call (a grid of 100,000 jobs, and half of it);
#   - a batch of N jobs without dependencies (the baseline), a chain of N jobs
#     (each after the previous one, by name), a fan-in (N jobs and one that
#     waits for all of them) and a fan-out (one job and N that wait for it):
#     time to submit each;
#   - the same chain and fan-in closed into a cycle: the batch is refused, so
#     the time is reading the batch and checking it for cycles, nothing stored;
#   - releasing dependents: the root of the chain (one dependent) and of the
#     fan-out (N dependents) is fetched and completed; the time of the complete
#     call, after which every dependent is checked to be ready.
# Times are the wall time of one wnctl call, its process start included; each
# case runs WN_BENCH_DEPS_REPEAT times (in fresh projects) and the best time is
# shown, which keeps the noise of a busy machine out of the ratios.
#
# Needs WN_BIN (wnd, wnctl). Knobs:
#   WN_BENCH_DEPS_SIZES       the two graph sizes (default "5000 10000")
#   WN_BENCH_DEPS_SWEEP       jobs of the large sweep (default 100000, at most 100000)
#   WN_BENCH_DEPS_REPEAT      runs of each case (default 3)
#   WN_BENCH_DEPS_DURABILITY  wnd durability mode (default relaxed: the graph's
#                             cost, not the disk's; "sync" to include fsync)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnctl}"
read -r -a sizes <<<"${WN_BENCH_DEPS_SIZES:-5000 10000}"
sweep_n=${WN_BENCH_DEPS_SWEEP:-100000}
mode=${WN_BENCH_DEPS_DURABILITY:-relaxed}
repeat=${WN_BENCH_DEPS_REPEAT:-3}
if [ "${#sizes[@]}" -ne 2 ]; then
	echo "bench: WN_BENCH_DEPS_SIZES needs two sizes, got '${sizes[*]}'" >&2
	exit 1
fi
for b in wnd wnctl; do
	if [ ! -x "$WN_BIN/$b" ]; then
		echo "bench: $WN_BIN/$b is missing (run make first)" >&2
		exit 1
	fi
done

bench_scratch wn-bench-deps

export WN_SERVER=ipc://$tmp/wnd.sock
bench_start_wnd "$WN_BIN/wnd" --durability "$mode"
wnctl() { "$WN_BIN/wnctl" --timeout 600000 "$@"; }

now_ns() { date +%s%N; }

# Best time of each case, in µs: ms[CASE,SIZE].
declare -A ms

# keep KEY T0 T1: record the time from T0 to T1 (ns) for KEY if it is the best yet.
keep() {
	local us=$((($3 - $2) / 1000))
	if [ -z "${ms[$1]:-}" ] || [ "$us" -lt "${ms[$1]}" ]; then
		ms[$1]=$us
	fi
}

# timed KEY CMD...: run CMD (its stdout to $tmp/out) and keep its wall time under KEY.
timed() {
	local key=$1 t0 t1
	shift
	t0=$(now_ns)
	"$@" >"$tmp/out"
	t1=$(now_ns)
	keep "$key" "$t0" "$t1"
}

# refused KEY CMD...: like timed, for a call that must be refused as a cycle (exit 7).
refused() {
	local key=$1 t0 t1 rc=0
	shift
	t0=$(now_ns)
	"$@" >/dev/null 2>"$tmp/err" || rc=$?
	t1=$(now_ns)
	if [ "$rc" -ne 7 ] || ! grep -qi cycle "$tmp/err"; then
		echo "bench: expected a refused cycle (exit 7), got exit $rc: $(cat "$tmp/err")" >&2
		exit 1
	fi
	keep "$key" "$t0" "$t1"
}

# msec US: µs as milliseconds with one decimal.
msec() { printf '%d.%d' $(($1 / 1000)) $(($1 / 100 % 10)); }

# project NAME: a fresh project with task t.
project() {
	wnctl project create "$1" >/dev/null
	wnctl task create "$1" t >/dev/null
}

# gen KIND N: a batch file (one job per line) of N jobs of KIND: plain, chain,
# ring (a chain closed into a cycle), fanin (N jobs, then one after all),
# fanin-cycle (the same, with the first job after the last), fanout (one job,
# then N after it).
gen() {
	awk -v kind="$1" -v n="$2" 'BEGIN {
		if (kind == "plain" || kind == "chain" || kind == "ring") {
			for (i = 1; i <= n; i++) {
				printf "{\"name\":\"j%d\"", i
				if (kind != "plain" && i > 1) printf ",\"after\":[\"j%d\"]", i - 1
				if (kind == "ring" && i == 1) printf ",\"after\":[\"j%d\"]", n
				print "}"
			}
		} else if (kind == "fanin" || kind == "fanin-cycle") {
			for (i = 1; i <= n; i++) {
				if (kind == "fanin-cycle" && i == 1) print "{\"name\":\"j1\",\"after\":[\"sink\"]}"
				else printf "{\"name\":\"j%d\"}\n", i
			}
			printf "{\"name\":\"sink\",\"after\":["
			for (i = 1; i <= n; i++) printf "%s\"j%d\"", (i > 1 ? "," : ""), i
			print "]}"
		} else if (kind == "fanout") {
			print "{\"name\":\"root\"}"
			for (i = 1; i <= n; i++) printf "{\"name\":\"j%d\",\"after\":[\"root\"]}\n", i
		}
	}' >"$tmp/$1-$2.json"
}

# release KEY PROJECT N: fetch the project's only ready job, time its
# completion, and check that N jobs are ready after it.
release() {
	local key=$1 p=$2 n=$3 id attempt ready_n
	read -r id attempt < <(wnctl queue fetch "$p" --worker bench)
	[ -n "$id" ] || {
		echo "bench: no job ready in $p" >&2
		exit 1
	}
	timed "$key" wnctl queue complete "$id" "$attempt" --worker bench
	ready_n=$(wnctl --json queue show "$p" --limit 1 --ready |
		sed -n 's/^  "total": \([0-9]*\),*$/\1/p')
	if [ "$ready_n" != "$n" ]; then
		echo "bench: $p: $ready_n jobs ready after the root completed, expected $n" >&2
		exit 1
	fi
}

for n in "${sizes[@]}"; do
	for kind in plain chain ring fanin fanin-cycle fanout; do
		gen "$kind" "$n"
	done
done
half=$((sweep_n / 2))
for ((r = 1; r <= repeat; r++)); do
	for n in "${sizes[@]}"; do
		project "plain-$n-$r"
		timed "plain,$n" wnctl job batch "$tmp/plain-$n.json" --project "plain-$n-$r" --task t
		project "chain-$n-$r"
		timed "chain,$n" wnctl job batch "$tmp/chain-$n.json" --project "chain-$n-$r" --task t
		refused "ring,$n" wnctl job batch "$tmp/ring-$n.json" --project "chain-$n-$r" --task t
		project "fanin-$n-$r"
		timed "fanin,$n" wnctl job batch "$tmp/fanin-$n.json" --project "fanin-$n-$r" --task t
		refused "fanin-cycle,$n" wnctl job batch "$tmp/fanin-cycle-$n.json" \
			--project "fanin-$n-$r" --task t
		project "fanout-$n-$r"
		timed "fanout,$n" wnctl job batch "$tmp/fanout-$n.json" --project "fanout-$n-$r" \
			--task t
		release "rel-chain,$n" "chain-$n-$r" 1
		release "rel-fanout,$n" "fanout-$n-$r" "$n"
	done
	# The sweep: a grid of 1000 x sweep_n/1000 jobs, and one of half as many.
	for s in "$half" "$sweep_n"; do
		project "sweep-$s-$r"
		timed "sweep,$s" wnctl job sweep "sweep-$s-$r" t --grid "a=$(seq -s, 1 1000)" \
			--grid "b=$(seq -s, 1 $((s / 1000)))" --param epochs=10
		got=$(sed -n 's/^sweep [0-9]*: \([0-9]*\) jobs.*/\1/p' "$tmp/out")
		if [ "$got" != "$((s / 1000 * 1000))" ]; then
			echo "bench: the sweep of $s jobs printed: $(cat "$tmp/out")" >&2
			exit 1
		fi
	done
done

n1=${sizes[0]}
n2=${sizes[1]}
echo
echo "deps: wnd --durability $mode, $(nproc) cpus; ms of one wnctl call (process start" \
	"included), best of $repeat; ratio near $(awk -v a="$n1" -v b="$n2" \
	'BEGIN { printf "%g", b / a }') = linear, near 1 = constant"
printf '%-42s %11s %11s %7s\n' "case" "n=$n1" "n=$n2" "ratio"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }
row() { # row LABEL KEY SIZE1 SIZE2
	printf '%-42s %11s %11s %7s\n' "$1" "$(msec "${ms[$2,$3]}")" "$(msec "${ms[$2,$4]}")" \
		"$(ratio "${ms[$2,$3]}" "${ms[$2,$4]}")"
}
row "submit n jobs, no dependencies" plain "$n1" "$n2"
row "submit a chain of n" chain "$n1" "$n2"
row "refuse a chain of n closed into a cycle" ring "$n1" "$n2"
row "submit a fan-in of n (+1)" fanin "$n1" "$n2"
row "refuse a fan-in of n (+1) with a cycle" fanin-cycle "$n1" "$n2"
row "submit a fan-out of n (+1)" fanout "$n1" "$n2"
row "release: complete a chain's root (1 dep)" rel-chain "$n1" "$n2"
row "release: complete a fan-out's root (n)" rel-fanout "$n1" "$n2"
printf '%-42s %11s %11s %7s\n' "" "n=$half" "n=$sweep_n" ""
row "submit a sweep of n jobs in one call" sweep "$half" "$sweep_n"

kill -TERM "$wnd_pid"
rc=0
wait "$wnd_pid" || rc=$?
wnd_pid=
if [ "$rc" -ne 0 ]; then
	echo "bench: wnd exited with status $rc after SIGTERM" >&2
	tail -n 20 "$tmp/wnd.log" >&2
	exit 1
fi
