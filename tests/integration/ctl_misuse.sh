# wnctl used as an unlucky user would: short of memory, asked for help as JSON,
# its output cut short or going nowhere, given bad settings.
source "${BASH_SOURCE[0]%/*}/lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# Out of memory, wnctl says so on one line that names it, as its other errors
# do, and stops: its stderr escapes controls through a stream that allocates,
# where the message went before, and it crashed writing it.
# test-tier: long
test_ctl_out_of_memory_is_said_with_the_program_name() {
	truncate -s 40M big.json # 40 MiB of zeros, none of it on the disk
	# a build with sanitizers reserves more address space than any limit here
	(ulimit -v 30000 && "$WN_BIN/wnctl" --version) >/dev/null 2>&1 || return 0
	local rc=0
	(ulimit -v 30000 && exec "$WN_BIN/wnctl" --server "ipc://$WN_TMP/nobody.sock" \
		job batch big.json) >out 2>err || rc=$?
	expect_eq "$rc" 134 "exit status (abort)"
	expect_eq "$(head -1 err)" "wnctl: out of memory allocating 33554432 bytes" "stderr"
	expect_eq "$(wc -c <out)" 0 "stdout"
	# far into a batch file, where a message written through the escaping
	# stream needs memory too: at whatever point memory runs out
	python3 -c '
import json
line = json.dumps({"project": "p", "task": "t", "params": {"k": "v" * 1000}})
print("\n".join([line] * 20000))' >many.jsonl
	local kb
	for kb in $(seq 40000 1000 54000); do
		rc=0
		(ulimit -v "$kb" && exec "$WN_BIN/wnctl" --server "ipc://$WN_TMP/nobody.sock" \
			job batch many.jsonl) >out 2>err || rc=$?
		[ "$rc" != 134 ] || expect_contains "$(head -1 err)" "wnctl: out of memory allocating " \
			"stderr at $kb KiB"
		[[ $rc == @(2|3|134) ]] || fail "at $kb KiB: exit $rc: $(<err)"
	done
}

# help_json ARGS...: `wnctl ARGS` exits 0 with one JSON document on stdout and
# nothing on stderr; it is left in $WN_OUT.
help_json() {
	expect_exit 0 wnctl "$@"
	expect_eq "$WN_ERR" "" "stderr of wnctl $*"
	python3 -m json.tool <<<"$WN_OUT" >/dev/null || fail "wnctl $*: not JSON: $WN_OUT"
}

# --json asks for the help as JSON wherever it stands, as for every other
# command's output: the text of the help was printed instead.
test_ctl_help_with_json_is_json() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # help needs no server
	local a
	for a in "--json help" "--json --help" "--help --json" "help --json" "-h --json"; do
		# shellcheck disable=SC2086 # the words of a
		help_json $a
		expect_eq "$(jget "$WN_OUT" "sorted(j)")" '["commands", "environment", "exit_codes", "global_options", "usage"]' "$a"
		expect_eq "$(jget "$WN_OUT" "[x for x in j['commands'] if x['command'] == 'job show'][0]['usage']")" "wnctl job show ID" "$a"
		expect_eq "$(jget "$WN_OUT" "j['exit_codes'][4]")" '{"code": 4, "help": "not found"}' "$a"
	done
	for a in "--json help job" "job --help --json" "--json job --help" "job help --json"; do
		# shellcheck disable=SC2086
		help_json $a
		expect_eq "$(jget "$WN_OUT" "[j['command'], j['usage']]")" '["job", "wnctl job VERB [ARGS] [OPTIONS]"]' "$a"
		expect_contains "$(jget "$WN_OUT" "[x['command'] for x in j['commands']]")" '"job show"' "$a"
	done
	for a in "--json help job list" "help job list --json" "job list --help --json" "--json job list --help" "job list -h --js"; do
		# shellcheck disable=SC2086
		help_json $a
		expect_eq "$(jget "$WN_OUT" "j['command']")" "job list" "$a"
		expect_contains "$(jget "$WN_OUT" "[o['option'] for o in j['options']]")" '"--status S,..."' "$a"
	done
	# the noun that is a command, and a global option its command has too
	help_json --json status --help
	expect_eq "$(jget "$WN_OUT" "j['command']")" "status"
	help_json --json help task create
	expect_contains "$(jget "$WN_OUT" "[o['help'] for o in j['global_options'] if o['option'] == '--timeout MS'][0]")" "only before the command (wnctl --timeout MS task create ...)"
	# without --json, the text as before; after --help, a bad option changes nothing
	expect_exit 0 wnctl --help
	expect_contains "$WN_OUT" "usage: wnctl [--server URL]"
	expect_exit 0 wnctl --help --no-such-option
	expect_contains "$WN_OUT" "usage: wnctl [--server URL]"
	# what help does not take is refused as before, on stderr
	expect_exit 2 wnctl --json help job show extra
	expect_eq "$WN_ERR" "wnctl: unexpected argument 'extra' (usage: wnctl help [NOUN [VERB]])"
	expect_eq "$WN_OUT" "" "stdout"
}

# to_full CMD...: run CMD with its stdout on a full disk.
to_full() { "$@" >/dev/full; }

# The help and the version to a full disk fail as every command's output does:
# they exited 0 with nothing written.
test_ctl_help_and_version_to_a_full_disk_fail() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	local a
	for a in "--help" "--json help" "help job" "job show --help" "--json job list --help" \
		"--version" "--json --version" "__complete job"; do
		# shellcheck disable=SC2086 # the words of a
		expect_exit 1 to_full wnctl $a
		expect_eq "$WN_ERR" "wnctl: cannot write output: No space left on device" "$a"
	done
}

# log_head ARGS...: `wnctl job log ARGS | head -1` into head.out, wnctl's exit
# status into head.rc; a wnctl that never ends is stopped after 120 s (124).
log_head() {
	{
		local rc=0
		timeout 120 "$WN_BIN/wnctl" job log "$@" 2>head.err || rc=$?
		echo "$rc" >head.rc
	} | head -1 >head.out
	[ -s head.out ]
}

# `job log -f ID | head -1` (or `grep -m1`) ends once head has its line,
# while the job runs on silent: wnctl followed the job to its end (hours),
# holding the pipeline, since only a write tells a pipe has no reader.
test_ctl_log_follow_ends_when_its_reader_is_gone() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	cat >job.sh <<EOF
echo first
while [ ! -e $WN_TMP/release ]; do sleep 0.1; done
EOF
	script_task job.sh >w.yaml
	local id
	id=$(wnctl job add p t)
	worker_start w1 w.yaml
	wait_until 20 "job $id to print" log_head "$id"
	expect_eq "$(<head.out)" "first" "the job's first line"
	log_head -f "$id"
	expect_eq "$(<head.out)" "first" "job log -f's first line"
	expect_eq "$(<head.rc)" 141 "exit status (SIGPIPE, as any write to the pipe)"
	expect_eq "$(<head.err)" "" "stderr"
	# SIGPIPE ignored: the error any write to the pipe then gets
	(trap '' PIPE && log_head -f "$id")
	expect_eq "$(<head.rc)" 1 "exit status, SIGPIPE ignored"
	expect_eq "$(<head.err)" "wnctl: cannot write output: Broken pipe"
	(trap '' PIPE && log_head -f "$id" --json)
	expect_eq "$(<head.rc)" 1 "exit status, --json, SIGPIPE ignored"
	expect_eq "$(<head.out)" "{" "--json"
	expect_eq "$(job_get "$id" "j['status']")" running "the job"
	touch release
	wait_status "$id" completed 20
	kill -TERM "$WORKER_PID"
	worker_wait "$WORKER_PID" 10
}

# A parameter, label or grid value, any text sent, that is not UTF-8 (a
# Latin-1 'é') is a usage error naming the option, and nothing is sent: the
# server refused it (exit 7) as "field "job.params.value" of
# whatsnext.v1.SubmitRequest".
test_ctl_values_that_are_not_utf8_are_refused_before_sending() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # nothing is sent
	expect_exit 2 wnctl job add p t --param $'lr=caf\xe9'
	expect_eq "$WN_ERR" "wnctl: invalid --param 'lr=caf\\xe9': not valid UTF-8 (at byte 6) (see 'wnctl job add --help')"
	expect_exit 2 wnctl job update 5 --param $'k=\xc3'
	expect_contains "$WN_ERR" "invalid --param 'k=\\xc3': not valid UTF-8 (at byte 2)"
	expect_exit 2 wnctl task create p t --label $'site=\xe9'
	expect_contains "$WN_ERR" "invalid --label 'site=\\xe9': not valid UTF-8 (at byte 5)"
	expect_exit 2 wnctl job sweep p t --grid $'a=1,\xff'
	expect_contains "$WN_ERR" "invalid --grid 'a=1,\\xff': not valid UTF-8 (at byte 4)"
	expect_exit 2 wnctl job sweep p t --grid a=1,2 --param $'b=\xff'
	expect_contains "$WN_ERR" "invalid --param 'b=\\xff': not valid UTF-8 (at byte 2)"
	# any text sent: an option's value, an argument
	expect_exit 2 wnctl project create p --description $'caf\xe9'
	expect_eq "$WN_ERR" "wnctl: invalid --description 'caf\\xe9': not valid UTF-8 (at byte 3) (see 'wnctl project create --help')"
	expect_exit 2 wnctl job cancel 5 --reason $'\xff'
	expect_contains "$WN_ERR" "invalid --reason '\\xff': not valid UTF-8 (at byte 0)"
	expect_exit 2 wnctl project create $'caf\xe9'
	expect_eq "$WN_ERR" "wnctl: invalid argument 'caf\\xe9': not valid UTF-8 (at byte 3) (see 'wnctl project create --help')"
	expect_exit 2 wnctl job list --name $'\xe9*'
	expect_contains "$WN_ERR" "invalid --name '\\xe9*': not valid UTF-8 (at byte 0)"
	# a local file's name is any bytes
	expect_exit 1 wnctl job batch $'jobs\xe9.json'
	expect_contains "$WN_ERR" "cannot open jobs\\xe9.json"
	expect_exit 1 wnctl job sweep p t --file $'grid\xe9.yaml'
	expect_contains "$WN_ERR" "cannot open grid\\xe9.yaml"
	# UTF-8 goes through to the server
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t --label $'site=caf\xc3\xa9' >/dev/null
	expect_exit 0 wnctl job add p t --param $'lr=caf\xc3\xa9'
	expect_eq "$(wnctl --json job show "$WN_OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"]["lr"])')" $'caf\xc3\xa9'
}

# sweep results to a full disk says why, in the words of every other command
# ("cannot write the results to stdout", without the reason, before).
test_ctl_sweep_results_to_a_full_disk_says_why() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local sweep
	sweep=$(wnctl --json job sweep p t --grid a=1,2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	local f
	for f in table csv json; do
		expect_exit 1 to_full wnctl sweep results "$sweep" --format "$f"
		expect_eq "$WN_ERR" "wnctl: cannot write output: No space left on device" "--format $f"
	done
}

# A bad $WN_SERVER or $WN_TOKEN_FILE is named as such: the user did not type
# the value on the command line and may not know where it came from.
test_ctl_bad_environment_is_named() {
	expect_exit 2 env WN_SERVER=wnd.lab:7640 "$WN_BIN/wnctl" status
	expect_eq "$WN_ERR" "wnctl: bad server address wnd.lab:7640 (from \$WN_SERVER): unsupported address (use tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)"
	# --server wins over $WN_SERVER, and is what the message names
	expect_exit 2 env WN_SERVER=wnd.lab:7640 "$WN_BIN/wnctl" --server typed:1 status
	expect_eq "$WN_ERR" "wnctl: bad server address typed:1: unsupported address (use tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)"
	export WN_SERVER=ipc://$WN_TMP/nobody.sock
	expect_exit 2 env WN_TOKEN_FILE="$WN_TMP/none" "$WN_BIN/wnctl" status
	expect_eq "$WN_ERR" "wnctl: cannot open token file $WN_TMP/none: No such file or directory (from \$WN_TOKEN_FILE)"
	expect_exit 2 wnctl --token-file "$WN_TMP/none" status
	expect_eq "$WN_ERR" "wnctl: cannot open token file $WN_TMP/none: No such file or directory"
}

# A batch file saved with a byte order mark (as some Windows editors save
# UTF-8) is read as without: it was "cannot parse ... line 1: '[' or '{'
# expected near" an invisible character.
test_ctl_batch_file_with_a_byte_order_mark() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	printf '\xef\xbb\xbf{"project": "p", "task": "t", "name": "a"}\r\n{"project": "p", "task": "t", "name": "b"}\r\n' >lines.jsonl
	expect_exit 0 wnctl job batch lines.jsonl
	expect_eq "$(wc -l <<<"$WN_OUT")" 2 "ids"
	printf '\xef\xbb\xbf[{"project": "p", "task": "t", "name": "c"}]' >array.json
	expect_exit 0 wnctl job batch array.json
	expect_eq "$(wnctl job list --format name | tr '\n' ' ')" "NAME a b c " "names"
	# a mark anywhere else is no JSON, as before
	printf '{"project": "p", "task": "t"}\n\xef\xbb\xbf{"project": "p", "task": "t"}\n' >mid.jsonl
	expect_exit 2 wnctl job batch mid.jsonl
	expect_contains "$WN_ERR" "mid.jsonl line 2"
}

# An empty --token (an unset variable: --token "$TOK") is a usage error and
# nothing is sent, as an empty token file is: it was sent, with a warning.
test_ctl_empty_token_is_refused() {
	export WN_SERVER=ipc://$WN_TMP/nobody.sock # nothing is sent
	expect_exit 2 wnctl --token "" status
	expect_eq "$WN_ERR" "wnctl: invalid --token: a token is one line of 1 to 4096 bytes (see 'wnctl --help')"
	expect_exit 2 wnctl status --token $'tok\nen'
	expect_eq "$WN_ERR" "wnctl: invalid --token: a token is one line of 1 to 4096 bytes (see 'wnctl status --help')"
	expect_exit 2 wnctl status --token "$(head -c 4097 /dev/zero | tr '\0' t)"
	expect_contains "$WN_ERR" "invalid --token"
	expect_exit 3 wnctl status --token "$(head -c 4096 /dev/zero | tr '\0' t)"
}

# $WN_TOKEN is read as a token file's line: WN_TOKEN=$(cat FILE) of a file
# saved with CRLF kept the carriage return, and the server said "unknown or
# revoked token"; a line break inside was sent too.
test_ctl_token_from_the_environment_is_one_line() {
	printf 'wn_secret_of_the_admin_0123456789\n' >admin.token
	chmod 600 admin.token
	export WN_TOKEN=wn_secret_of_the_admin_0123456789
	wn_start --admin-token-file admin.token
	expect_exit 0 env WN_TOKEN=$'wn_secret_of_the_admin_0123456789\r' "$WN_BIN/wnctl" project list
	expect_exit 0 env WN_TOKEN=$'wn_secret_of_the_admin_0123456789 \n' "$WN_BIN/wnctl" project list
	local t
	for t in $'wn_secret\nof_the_admin' $'\r\n' "$(head -c 4097 /dev/zero | tr '\0' t)"; do
		expect_exit 2 env WN_TOKEN="$t" "$WN_BIN/wnctl" project create x
		expect_eq "$WN_ERR" 'wnctl: invalid $WN_TOKEN: a token is one line of 1 to 4096 bytes'
	done
	expect_exit 0 env WN_TOKEN="$(<admin.token)" "$WN_BIN/wnctl" --json project list
	expect_eq "$(jq -c '.projects' <<<"$WN_OUT")" "[]" "projects created"
	# a token given otherwise wins, and $WN_TOKEN is not looked at
	expect_exit 0 env WN_TOKEN=$'a\nb' "$WN_BIN/wnctl" --token-file admin.token project list
}

# An address with no host (tcp://:PORT, tcp://*:PORT: where a server listens,
# not one a client can name) is a bad server address, as the documentation
# says of what is not an address: tcp://*:PORT connected to this machine.
test_ctl_address_without_a_host_is_a_usage_error() {
	local port a
	port=$(free_port)
	for a in "tcp://:$port" "tcp://*:$port" "tls+tcp://:$port" "tcp://[]:$port"; do
		expect_exit 2 wnctl --server "$a" --timeout 2000 status
		expect_eq "$WN_ERR" "wnctl: bad server address $a: the address needs a host (tcp://HOST:PORT)"
	done
}

# requests_of METHOD: how many requests of METHOD wnd answered (its /metrics).
requests_of() {
	curl -s "$WN_HTTP/metrics" |
		awk -v m="whatsnext_requests_total{method=\"$1\"" 'index($0, m) == 1 { n += $NF } END { print n + 0 }'
}

# `--json job list --all | head -1` with SIGPIPE ignored (as some CI systems
# run) asked for every page, its writes failing, before it said so at the end.
test_ctl_job_list_all_stops_when_its_reader_is_gone() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	# 30 pages of 100 jobs, each page more than a pipe holds (64 KiB)
	python3 -c '
import json
line = json.dumps({"project": "p", "task": "t", "params": {"k": "v" * 1000}})
print("\n".join([line] * 3000))' >jobs.jsonl
	wnctl job batch jobs.jsonl >/dev/null
	local rc before
	before=$(requests_of JobService/List)
	rc=0
	(trap '' PIPE && "$WN_BIN/wnctl" --json job list --all --limit 100 2>err |
		head -c 1 >out && exit "${PIPESTATUS[0]}") || rc=$?
	expect_eq "$rc" 1 "exit status, SIGPIPE ignored"
	expect_eq "$(<err)" "wnctl: cannot write output: Broken pipe" "stderr"
	expect_eq "$(<out)" "{" "stdout"
	# the page it could not write is the last it asked for
	local asked
	asked=$(($(requests_of JobService/List) - before))
	[ "$asked" -le 3 ] || fail "asked for $asked pages after its reader was gone"
	# SIGPIPE as the shell leaves it: killed by it, as before
	rc=0
	("$WN_BIN/wnctl" --json job list --all --limit 100 2>err | head -c 1 >out &&
		exit "${PIPESTATUS[0]}") || rc=$?
	expect_eq "$rc" 141 "exit status (SIGPIPE)"
	expect_eq "$(<err)" "" "stderr"
}

# nonblocking_run OUT CMD...: run CMD with its stdout a pipe left non-blocking
# (O_NONBLOCK, as a parent process may leave a terminal or a pipe), read only
# once the pipe is full (or CMD is gone), into OUT; its stderr goes to OUT.err.
# Prints CMD's exit status.
nonblocking_run() {
	python3 - "$@" <<'PY'
import array, fcntl, os, subprocess, sys, termios, time
out = sys.argv[1]
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
with open(out + ".err", "wb") as err:
    p = subprocess.Popen(sys.argv[2:], stdout=w, stderr=err)
os.close(w)
cap = fcntl.fcntl(r, 1032)  # F_GETPIPE_SZ
while p.poll() is None:
    n = array.array("i", [0])
    fcntl.ioctl(r, termios.FIONREAD, n)
    if n[0] >= cap:
        break
    time.sleep(0.01)
with open(out, "wb") as f:
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        f.write(b)
print(p.wait())
PY
}

# Output to a descriptor left non-blocking stopped once the pipe was full:
# "cannot write output: Resource temporarily unavailable". wnctl waits for
# its reader as on a blocking descriptor.
test_ctl_output_to_a_non_blocking_pipe() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	python3 -c '
import json
line = json.dumps({"project": "p", "task": "t", "params": {"k": "v" * 1000}})
print("\n".join([line] * 300))' >jobs.jsonl
	wnctl job batch jobs.jsonl >/dev/null
	local a
	for a in "--json job list --all" "job list --all --format id,params"; do
		# shellcheck disable=SC2086 # the words of a
		wnctl $a >want
		# shellcheck disable=SC2086
		expect_eq "$(nonblocking_run got "$WN_BIN/wnctl" $a)" 0 "exit status of wnctl $a"
		expect_eq "$(<got.err)" "" "stderr of wnctl $a"
		cmp -s got want || fail "wnctl $a: $(wc -c <got) bytes written of $(wc -c <want)"
	done
}

# job batch - with stdin a pipe left non-blocking (O_NONBLOCK) by the program
# that runs wnctl, the batch written once wnctl waits for it: "cannot read -:
# Resource temporarily unavailable" as soon as the pipe was empty.
test_ctl_batch_from_a_non_blocking_pipe() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	python3 - "$WN_BIN/wnctl" job batch - >got <<'PY'
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdin=r, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
os.close(r)
# wnctl asleep, or gone: nothing else than reading its stdin puts it to sleep
while p.poll() is None:
    with open(f"/proc/{p.pid}/stat") as f:
        if f.read().rsplit(")", 1)[1].split()[0] == "S":
            break
    time.sleep(0.01)
if p.poll() is None:
    os.write(w, b'{"project": "p", "task": "t", "name": "a"}\n')
os.close(w)
print(p.communicate()[0].decode().strip(), p.returncode)
PY
	expect_eq "$(<got)" "1 0" "the id and the exit status"
	expect_eq "$(wnctl job list --format name | tr '\n' ' ')" "NAME a " "jobs"
}
