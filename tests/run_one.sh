#!/usr/bin/env bash
# One test of run.sh, in a process of its own:
#   run_one.sh RESULTS ITEM KIND LABEL LOCKS WHAT...
# KIND is unit (WHAT: the binary) or it (WHAT: the file and the function);
# LOCKS the test's lock names, separated by spaces. Writes RESULTS/ITEM.out
# (what run.sh prints), .count ("PASSED FAILED"), .secs, and .failed when
# it failed; RESULTS/ITEM.sid names the test's session while it runs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/proc.sh"
proc_builtins rm mktemp sleep
results=$1 item=$2 kind=$3 label=$4 locks=$5
shift 5
lock_dir=${WN_LOCK_DIR:-/tmp/wn-test-locks}
lock_fds=()

# in_session DIR SECS OUT CMD...: run CMD in DIR in a new session with a
# time limit, its output in OUT; then end that session and the sessions
# listed in DIR/.sessions. Returns CMD's status.
in_session() {
	local dir=$1 secs=$2 out=$3 fd s rc=0
	shift 3
	(
		for fd in "${lock_fds[@]:-}"; do [ -n "$fd" ] && exec {fd}>&-; done
		cd "$dir" && exec setsid timeout -k 5 "$secs" "$@"
	) >"$out" 2>&1 </dev/null &
	local sid=$!
	echo "$sid $dir" >"$results/$item.sid"
	wait "$sid" || rc=$?
	proc_end_session "$sid"
	if [ -f "$dir/.sessions" ]; then
		while read -r s; do proc_end_session "$s"; done <"$dir/.sessions"
	fi
	rm -f "$results/$item.sid"
	return "$rc"
}

# run_unit BINARY: writes $results/$item.{out,count}.
run_unit() {
	local t=$1 name tmp out p f rc=0
	name=${t##*/}
	tmp=$(mktemp -d /tmp/wn-unit.XXXXXX)
	in_session "$tmp" 300 "$results/$item.log" "$t" || rc=$?
	rm -rf "$tmp"
	out=$(cat "$results/$item.log")
	p=$(grep -c '^ok ' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		out+=$'\n'"not ok - $name exited with status $rc"
	fi
	{
		[ "$f" -gt 0 ] && grep -v '^ok ' <<<"$out" | sed "s/^/[$name] /"
		echo "unit $name: $p passed, $f failed"
	} >"$results/$item.out"
	echo "$p $f" >"$results/$item.count"
	[ "$f" -eq 0 ] || echo "unit $name" >"$results/$item.failed"
}

# run_integration FILE FN: writes $results/$item.{out,count,failed}.
run_integration() {
	local file=$1 fn=$2 tmp start secs rc=0 name
	name=$label
	tmp=$(mktemp -d /tmp/wn-it.XXXXXX)
	start=$EPOCHSECONDS
	WN_TMP=$tmp in_session "$tmp" "${WN_TEST_TIMEOUT:-300}" "$results/$item.log" \
		bash -c 'set -euo pipefail
			source "$1"; source "$2"
			trap wn_cleanup EXIT
			"$3"' _ "$here/integration/lib.sh" "$file" "$fn" || rc=$?
	secs=$((EPOCHSECONDS - start))
	echo "$secs $name" >"$results/$item.secs"
	if [ "$rc" -eq 0 ]; then
		echo "ok   $name (${secs}s)" >"$results/$item.out"
		echo "1 0" >"$results/$item.count"
		rm -rf "$tmp"
		return
	fi
	[ "$rc" -eq 124 ] && echo "timed out" >>"$results/$item.log"
	{
		echo "FAIL $name (${secs}s, status $rc; files kept in $tmp)"
		tail -n 40 "$results/$item.log" | sed 's/^/    /'
	} >"$results/$item.out"
	echo "0 1" >"$results/$item.count"
	echo "$name (files kept in $tmp)" >"$results/$item.failed"
}

# hold the test's locks (flock: in this run and in others)
for l in $locks; do
	mkdir -p "$lock_dir"
	exec {fd}>"$lock_dir/$l"
	flock "$fd"
	lock_fds+=("$fd")
done
start=$EPOCHSECONDS
if [ "$kind" = unit ]; then
	run_unit "$1"
	echo "$((EPOCHSECONDS - start)) $label" >"$results/$item.secs"
else
	run_integration "$1" "$2"
fi
