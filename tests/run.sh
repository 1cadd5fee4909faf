#!/usr/bin/env bash
# Test runner: every unit test binary and every integration test function,
# WN_JOBS at a time (default twice the number of cores: the tests mostly wait
# on processes). Usage:
#   tests/run.sh [--unit|--integration] [--long|--all] [PATTERN...]
# Needs WN_BIN (directory of wnd, wnctl, wnworker) and WN_UNIT (unit test
# binaries). A PATTERN matches a unit binary, an integration file or a
# function; with several, a test matching any of them runs.
#
# Tiers: without a PATTERN the quick tests run (make test); --long runs the
# long ones (make test-long), --all both. A long test is marked with a
# comment line "# test-tier: long" in its file's opening comment (the whole
# file) or directly above its function: runs under load, at scale, many
# random operations, a browser page after page. Tests named by a PATTERN
# run whatever their tier.
#
# Each test runs in a fresh directory, in a session of its own (setsid). When
# it ends, every process left in that session, and in each session the test
# recorded in its $WN_TMP/.sessions (daemons that detach, see
# integration/lib.sh), is killed by pid.
#
# Tests that share something global say so with a comment line
#   # test-lock: NAME...
# in the file's opening comment (every test of the file) or directly above a
# test function (that test). Tests holding a same NAME never run at the same
# time, in this run or in another run on this machine (flock on
# $WN_LOCK_DIR/NAME). No test needs one today (SLURM tests start private
# clusters; free_port reserves its ports, see integration/lib.sh).
#
# Each test's output is printed in one block when it ends; the failures are
# listed again at the end; the closing line is "N passed, N failed". Test
# durations are kept in $WN_TIMES (default: beside WN_BIN) so that the next
# run starts the longest tests first (without one, tests/test-times, those of
# a full run, serves).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/proc.sh"
only=all tier=quick
while [ $# -gt 0 ]; do
	case "$1" in
	--unit) only=unit ;;
	--integration) only=integration ;;
	--long) tier=long ;;
	--all) tier=all ;;
	*) break ;;
	esac
	shift
done
patterns=("$@")
# tests named by a pattern run whatever their tier
[ ${#patterns[@]} -eq 0 ] || tier=all

# wanted NAME...: true when no pattern was given or one of them is part of a NAME.
wanted() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p n
	for p in "${patterns[@]}"; do
		for n in "$@"; do [[ $n == *$p* ]] && return 0; done
	done
	return 1
}
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnctl}"
export WN_BIN
jobs_max=${WN_JOBS:-$(($(nproc) * 2))}
[[ $jobs_max =~ ^[1-9][0-9]*$ ]] || { echo "WN_JOBS must be a positive number" >&2; exit 2; }
times_file=${WN_TIMES:-$(dirname "$WN_BIN")/test-times}
lock_dir=${WN_LOCK_DIR:-/tmp/wn-test-locks}
export WN_LOCK_DIR=$lock_dir
results=$(mktemp -d /tmp/wn-run.XXXXXX)

# The tests run python3 thousands of times: the interpreter is looked up once,
# so that a python3 on PATH that is a wrapper choosing an interpreter at each
# call (a second a call on a loaded machine) is not run each time; and it runs
# with -S: the tests' Python uses the standard library alone, and the .pth
# files of an installation's site-packages may import modules at every start
# (four times the cost of a start without them).
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$py" ]; then
	mkdir "$results/bin"
	printf '#!/bin/sh\nexec %q -S "$@"\n' "$py" >"$results/bin/python3"
	chmod +x "$results/bin/python3"
	export PATH=$results/bin:$PATH
fi

# The tests, as parallel arrays: kind (unit|it), what to run, display name,
# locks ("" or names separated by spaces).
kind=() what=() label=() locks=()

# file_tests FILE: one line per test function of FILE, "NAME TIER LOCK...",
# TIER quick or long.
file_tests() {
	awk '
	BEGIN { file_tier = "quick" }
	/^#/ {
		if (match($0, /^# test-lock:[ \t]*/)) {
			if (!body) file_locks = file_locks " " substr($0, RLENGTH + 1)
			else fn_locks = fn_locks " " substr($0, RLENGTH + 1)
		}
		if ($0 ~ /^# test-tier:[ \t]*long[ \t]*$/) {
			if (!body) file_tier = "long"
			else fn_tier = "long"
		}
		next
	}
	{ body = 1 }
	match($0, /^test_[A-Za-z0-9_]+/) {
		print substr($0, 1, RLENGTH) " " (fn_tier ? fn_tier : file_tier) file_locks fn_locks
	}
	{ fn_locks = ""; fn_tier = "" }' "$1"
}

collect() {
	local t name file fn rest lk base
	# the unit tests are quick
	if [ "$only" != integration ] && [ "$tier" != long ] && [ -n "${WN_UNIT:-}" ]; then
		for t in "$WN_UNIT"/test_*; do
			[ -x "$t" ] || continue
			name=${t##*/}
			wanted "$name" || continue
			kind+=(unit) what+=("$t") label+=("unit $name") locks+=("")
		done
	fi
	[ "$only" != unit ] || return 0
	for file in "$here"/integration/*.sh; do
		[[ $file == *lib.sh ]] && continue
		base=${file##*/}
		base=${base%.sh}
		while read -r fn t rest; do
			[ "$tier" = all ] || [ "$t" = "$tier" ] || continue
			wanted "$fn" "$file" || continue
			kind+=(it) what+=("$file $fn") label+=("$base/$fn")
			read -ra lk <<<"$rest"
			locks+=("${lk[*]:-}")
		done < <(file_tests "$file")
	done
}

# order: the test indexes, tests with locks first (their chains are long),
# then the longest of the last run first, else in file order.
order() {
	local i secs
	declare -A last=()
	local from=$times_file
	# no run yet: the times of a full run kept in the tree
	[ -f "$from" ] || from=$here/test-times
	if [ -f "$from" ]; then
		while read -r secs i; do last[$i]=$secs; done <"$from"
	fi
	for i in "${!label[@]}"; do
		echo "$([ -n "${locks[i]}" ] && echo 1 || echo 0) ${last[${label[i]}]:-0} $i"
	done | sort -k1,1nr -k2,2nr -k3,3n | cut -d' ' -f3
}

# run_item: run test $item in tests/run_one.sh, a process of its own (a
# fork of this one, which holds every test's name, costs more to copy than
# a fresh shell costs to start).
run_item() {
	exec bash "$here/run_one.sh" "$results" "$item" "${kind[item]}" "${label[item]}" \
		"${locks[item]}" ${what[item]}
}

# interrupted: end the sessions of the tests still running, then exit.
interrupted() {
	local f sid dir s
	for f in "$results"/*.sid; do
		[ -f "$f" ] || continue
		read -r sid dir <"$f"
		proc_end_session "$sid"
		if [ -f "$dir/.sessions" ]; then
			while read -r s; do proc_end_session "$s"; done <"$dir/.sessions"
		fi
	done
	echo "interrupted"
	exit 130
}
trap interrupted INT TERM

collect
mapfile -t pending < <(order)
declare -A busy=() pid_item=()
running=0 passed=0 failed=0 failures=() began=$(date +%s)

# locks_free I: none of test I's locks is held in this run.
locks_free() {
	local l
	for l in ${locks[$1]}; do [ -z "${busy[$l]:-}" ] || return 1; done
}

while [ "${#pending[@]}" -gt 0 ] || [ "$running" -gt 0 ]; do
	while [ "$running" -lt "$jobs_max" ]; do
		pick=
		for k in "${!pending[@]}"; do
			if locks_free "${pending[k]}"; then pick=$k; break; fi
		done
		[ -n "$pick" ] || break
		item=${pending[pick]}
		unset 'pending[pick]'
		for l in ${locks[item]}; do busy[$l]=1; done
		run_item &
		pid_item[$!]=$item
		running=$((running + 1))
	done
	done_pid=
	wait -n -p done_pid
	[ -n "$done_pid" ] && [ -n "${pid_item[$done_pid]:-}" ] || continue
	item=${pid_item[$done_pid]}
	unset "pid_item[$done_pid]"
	running=$((running - 1))
	for l in ${locks[item]}; do unset "busy[$l]"; done
	if [ -f "$results/$item.out" ]; then
		IFS= read -r -d '' out <"$results/$item.out" || true
		printf '%s' "$out"
	else
		echo "FAIL ${label[item]} (the runner lost it)"
	fi
	read -r p f <"$results/$item.count" 2>/dev/null || { p=0; f=1; }
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures+=("$(cat "$results/$item.failed" 2>/dev/null || echo "${label[item]}")")
	fi
done

# keep the durations of this run, and those of tests it did not run
if cat "$results"/*.secs >"$results/times" 2>/dev/null; then
	[ -f "$times_file" ] && cat "$times_file" >>"$results/times"
	awk '!seen[substr($0, index($0, " ") + 1)]++' "$results/times" >"$times_file.tmp" &&
		mv "$times_file.tmp" "$times_file"
fi
rm -rf "$results"
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '    %s\n' "${failures[@]}"
fi
echo "ran in $(($(date +%s) - began)) s, $jobs_max at a time"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
