# Tokens kept off the command line: wnctl --token-file and $WN_TOKEN_FILE,
# --token wiped from /proc/PID/cmdline with a warning, wnworker's token_file;
# a token file, or a worker config holding a token, that other users may
# read is refused with the chmod to run.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

SECRET=client-secret-for-the-tests-0123456789

# start_with_token: wnd whose bootstrap admin token is $SECRET (admin.token).
start_with_token() {
	printf '%s\n' "$SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$SECRET # wn_start asks whether wnd answers
	wn_start --admin-token-file admin.token
	unset WN_TOKEN WN_TOKEN_FILE
}

test_wnctl_reads_its_token_from_a_private_file() {
	start_with_token
	printf '%s\n' "$SECRET" >my.token
	chmod 600 my.token
	expect_exit 0 "$WN_BIN/wnctl" --token-file my.token project create p
	expect_exit 0 env WN_TOKEN_FILE=my.token "$WN_BIN/wnctl" project show p
	expect_exit 8 "$WN_BIN/wnctl" project show p # no token at all
	chmod 644 my.token
	local err
	expect_exit 2 "$WN_BIN/wnctl" --token-file my.token project show p
	err=$("$WN_BIN/wnctl" --token-file my.token project show p 2>&1) || true
	expect_eq "$err" "wnctl: token file my.token may be read or changed by other users (mode 0644): run chmod 600 my.token"
	expect_exit 2 env WN_TOKEN_FILE=my.token "$WN_BIN/wnctl" project show p
	chmod 600 my.token
	printf '\n' >empty.token
	chmod 600 empty.token
	expect_exit 2 "$WN_BIN/wnctl" --token-file empty.token project show p
	expect_exit 2 "$WN_BIN/wnctl" --token-file missing.token project show p
}

test_a_token_on_the_command_line_is_wiped() {
	# a server that accepts and never answers keeps wnctl waiting, so that
	# its command line can be read while it runs
	python3 - "$WN_TMP/mute.sock" "$WN_TMP/accepted" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
open(sys.argv[2], "w").close()
time.sleep(30)
EOF
	WN_PIDS+=($!)
	wait_until 10 "the mute server" test -S "$WN_TMP/mute.sock"
	"$WN_BIN/wnctl" --server "ipc://$WN_TMP/mute.sock" --timeout 20000 --token "$SECRET" \
		project list >out 2>err &
	local pid=$!
	WN_PIDS+=("$pid")
	wait_until 10 "wnctl to connect" test -e "$WN_TMP/accepted"
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	expect_contains "$cmdline" "--token x"
	expect_not_contains "$cmdline" "$SECRET" "wnctl's command line"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	expect_contains "$(<err)" "wnctl: warning: a token given with --token can be seen by other users"
}

# worker_yaml FILE [LINES...]: a worker config for task t with extra top-level lines.
worker_yaml() {
	local f=$1
	shift
	{
		worker_head
		printf '%s\n' "$@"
		cat <<EOF
tasks:
  t:
    command: [sh, -c, "echo ran"]
EOF
	} >"$f"
}

test_wnworker_token_file_and_private_config() {
	start_with_token
	export WN_TOKEN=$SECRET
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	unset WN_TOKEN
	printf '%s\n' "$SECRET" >worker.token
	chmod 644 worker.token
	worker_yaml w.yaml "token_file: worker.token"
	local err
	err=$("$WN_BIN/wnworker" --config w.yaml --check 2>&1) || true
	expect_contains "$err" "token_file $WN_TMP/worker.token may be read or changed by other users (mode 0644): run chmod 600 $WN_TMP/worker.token"
	chmod 600 worker.token
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 20
	expect_eq "$(WN_TOKEN=$SECRET job_get "$id" "j['status']")" completed "the job run with token_file"
	# a token in the config itself: the config must be private
	worker_yaml w2.yaml "token: $SECRET"
	chmod 644 w2.yaml
	err=$("$WN_BIN/wnworker" --config w2.yaml --check 2>&1) || true
	expect_contains "$err" "w2.yaml holds a token: worker config w2.yaml may be read or changed by other users (mode 0644): run chmod 600 w2.yaml"
	chmod 600 w2.yaml
	expect_exit 0 "$WN_BIN/wnworker" --config w2.yaml --check
	worker_yaml w3.yaml "token: $SECRET" "token_file: worker.token"
	chmod 600 w3.yaml
	err=$("$WN_BIN/wnworker" --config w3.yaml --check 2>&1) || true
	expect_contains "$err" "set 'token' or 'token_file', not both"
}

test_wnworker_keeps_its_token_from_the_runs_environment() {
	start_with_token
	export WN_TOKEN=$SECRET
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	{
		worker_head
		cat <<'YAML'
tasks:
  t:
    command: [sh, -c, 'echo "token=[$WN_TOKEN] job=$WN_JOB_ID"']
YAML
	} >w.yaml
	# the token from the environment authenticates the worker, and its runs
	# (which may print their environment, shown to every reader) lack it
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 20
	expect_eq "$(job_get "$id" "j['status']")" completed "the job"
	expect_eq "$(job_get "$id" "j['output_tail'].strip()")" "token=[] job=$id" "the run's environment"
}
