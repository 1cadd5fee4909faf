# Helpers shared by the dependency, sweep and queue-view tests (deps_*.sh),
# sourced by each of them after lib.sh. They drive the real wnd and wnctl and
# wait for conditions with bounded polling, never for fixed times.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# deps_start [wnd args...]: a server with project p and its task t (no retries:
# a failed run fails the job).
deps_start() {
	wn_start "$@"
	mkproject p
	mktask p t
}

# add NAME [job add options...]: submit job NAME of p/t and print its id.
add() {
	local name=$1
	shift
	wnctl job add p t --name "$name" "$@"
}

# run_next WANT [complete options...]: the next job of p handed out is WANT
# ("none": none is ready); finish it as the options say (--fail, ...).
run_next() {
	local want=$1 out id attempt
	shift
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "${id:-none}" "$want" "job handed out next"
	if [ -n "$id" ]; then
		wnctl queue complete "$id" "$attempt" --worker w "$@" >/dev/null
	fi
}

# hold WANT: the next job of p handed out is WANT ("none": none is ready); it
# stays running.
hold() {
	local out id attempt
	out=$(wnctl queue fetch p --worker w)
	read -r id attempt <<<"$out"
	expect_eq "${id:-none}" "$1" "job handed out next"
}

# take_n N: fetch up to N jobs of p, one at a time, and print the ids handed
# out, one per line; they stay running.
take_n() {
	local i out id attempt
	for ((i = 0; i < $1; i++)); do
		out=$(wnctl queue fetch p --worker w)
		read -r id attempt <<<"$out"
		[ -z "$id" ] || echo "$id"
	done
}

# queue_json [PROJECT]: `queue show --json` of the project (p by default), with
# the jobs that cannot run now.
queue_json() { wnctl --json queue show "${1:-p}" --limit 10000; }

# ready_ids [PROJECT]: ids of the jobs that can be handed out now, in dispatch
# order, on one line.
ready_ids() {
	local j
	j=$(queue_json "$@")
	jq_jobs <<<"$j" | jq -r 'select((.position // 0) >= 0) | .id' | tr '\n' ' ' | sed 's/ $//'
}

# waiting_ids [PROJECT]: ids of the pending jobs that cannot run now, in id
# order (their listing order is not a dispatch order), on one line.
waiting_ids() {
	local j
	j=$(queue_json "$@")
	jq_jobs <<<"$j" | jq -r 'select((.position // 0) < 0) | .id' | sort -n | tr '\n' ' ' |
		sed 's/ $//'
}

# expect_status ID STATUS [WHAT]
expect_status() { expect_eq "$(job_status "$1")" "$2" "${3:-status of job $1}"; }

# expect_statuses "ID STATUS" ...: several at once.
expect_statuses() {
	local pair
	for pair in "$@"; do
		# shellcheck disable=SC2086 # split "ID STATUS"
		expect_status $pair
	done
}

# reason_of ID: the job's reason text.
reason_of() { job_field "$1" '.reason // ""'; }

# expect_reason_names ID DEP...: job ID's reason names one of the DEP ids (as a
# whole number).
expect_reason_names() {
	local id=$1 r d
	shift
	r=$(reason_of "$id")
	[ -n "$r" ] || fail "job $id has no reason"
	for d in "$@"; do
		if grep -qE "(^|[^0-9])$d([^0-9]|$)" <<<"$r"; then
			return 0
		fi
	done
	fail "reason of job $id names none of $*: '$r'"
}

# sweep_json ID: `sweep show --json`.
sweep_json() { wnctl --json sweep show "$1"; }

# sweep_count ID FIELD: one count of a sweep (total, pending, running, ...).
sweep_count() {
	local j
	j=$(sweep_json "$1")
	jq -r ".$2 // 0" <<<"$j"
}

# count_jobs [job list filters...]: how many jobs the listing holds.
count_jobs() { all_job_ids "$@" | grep -c . || true; }

# worker_loop NAME LOG STOPFILE: act as a worker until STOPFILE exists: fetch a
# job of p, append "start ID" to LOG, append "end ID" and complete it. Errors
# go to LOG.err.
worker_loop() {
	local name=$1 log=$2 stop=$3 out id attempt
	while [ ! -e "$stop" ]; do
		if ! out=$("$WN_BIN/wnctl" queue fetch p --worker "$name" --wait 200 2>"$log.$name.tmp"); then
			cat "$log.$name.tmp" >>"$log.err"
			return 0
		fi
		read -r id attempt <<<"$out"
		[ -n "$id" ] || continue
		echo "start $id" >>"$log"
		sleep 0.1 # the job "runs"
		echo "end $id" >>"$log"
		if ! "$WN_BIN/wnctl" queue complete "$id" "$attempt" --worker "$name" >/dev/null \
			2>>"$log.err"; then
			return 0
		fi
	done
}

# line_of LOG TEXT: the line number of TEXT in LOG (whole line match, first).
line_of() {
	local n
	n=$(grep -nxF "$2" "$1" | head -n 1 | cut -d: -f1)
	[ -n "$n" ] || fail "'$2' is not in $1: $(tr '\n' ';' <"$1")"
	echo "$n"
}

# expect_before LOG FIRST SECOND: line FIRST comes before line SECOND in LOG.
expect_before() {
	local a b
	a=$(line_of "$1" "$2")
	b=$(line_of "$1" "$3")
	[ "$a" -lt "$b" ] || fail "'$2' (line $a) should come before '$3' (line $b): $(tr '\n' ';' <"$1")"
}
