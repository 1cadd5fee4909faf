# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run).

# free_port prints a loopback tcp port nothing listens on, below the kernel's
# ephemeral range (32768-60999), so no outgoing connection holds it by the
# time the server binds it.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# bench_scratch NAME: makes $tmp, a new directory NAME.XXXXXX in TMPDIR (or
# /tmp), and has the script's end (its exit, SIGINT, SIGTERM) end the wnd of
# $wnd_pid, if one was started (bench_start_wnd), and remove $tmp.
bench_scratch() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	wnd_pid=
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317 # called through the trap
bench_cleanup() {
	if [ -n "$wnd_pid" ]; then
		kill -9 "$wnd_pid" 2>/dev/null || true
		wait "$wnd_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}

# bench_start_wnd WND [OPTION...]: starts the wnd at path WND with its data in
# $tmp/data, listening on $WN_SERVER, with the options given, its output in
# $tmp/wnd.log; sets wnd_pid (for the script's cleanup to end) and returns
# once it answers (wnctl from $WN_BIN). Shows its log and exits 1 when it
# stops or has not answered within 10 s.
# shellcheck disable=SC2154 # tmp is the sourcing script's
bench_start_wnd() {
	local wnd=$1 i
	shift
	"$wnd" --data "$tmp/data" --listen "$WN_SERVER" "$@" >"$tmp/wnd.log" 2>&1 &
	wnd_pid=$!
	for i in $(seq 200); do
		"$WN_BIN/wnctl" --timeout 500 project list >/dev/null 2>&1 && return 0
		kill -0 "$wnd_pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$tmp/wnd.log" >&2
	echo "bench: wnd did not start (after $i tries)" >&2
	exit 1
}
