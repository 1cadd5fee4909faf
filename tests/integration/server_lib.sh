# Helpers shared by the server integration tests (server_*.sh). Sourced after
# lib.sh; every helper fails the test (through `fail` or set -e) rather than
# returning bad data.

# wnraw ARGS...: the raw protocol client, aimed at the test's server.
wnraw() { "$WN_BIN/wnraw" "$WN_SERVER" "$@"; }

# Method paths of the protocol.
M_PROJECT=/whatsnext.v1.ProjectService
M_TASK=/whatsnext.v1.TaskService
M_JOB=/whatsnext.v1.JobService
M_QUEUE=/whatsnext.v1.QueueService

# pbhex SPEC [ARGS...]: protobuf encoding, as hex, of SPEC, a Python list of
# (field, value) pairs: int = varint (negative as 64-bit two's complement),
# str/bytes = length-delimited, list = nested message. SPEC may use A[i], the
# i-th of ARGS. Example: pbhex '[(1, [(1, "p"), (2, A[0])])]' t is
# SubmitRequest{job{project "p", task "t"}}.
pbhex() { pb_encode - "$@"; }

# pbfile FILE SPEC [ARGS...]: the same encoding, written as bytes to FILE.
pbfile() { pb_encode "$@"; }

pb_encode() {
	python3 - "$@" <<'EOF'
import sys
out_file, spec, A = sys.argv[1], sys.argv[2], sys.argv[3:]

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def enc(fields):
    out = bytearray()
    for num, val in fields:
        if isinstance(val, bool) or isinstance(val, int):
            out += varint(num << 3) + varint(int(val))
        else:
            if isinstance(val, list):
                val = enc(val)
            elif isinstance(val, str):
                val = val.encode()
            out += varint(num << 3 | 2) + varint(len(val)) + val
    return bytes(out)

data = enc(eval(spec))
if out_file == "-":
    print(data.hex())
else:
    with open(out_file, "wb") as f:
        f.write(data)
EOF
}

# raw_call METHOD BODYHEX [wnraw args...]: send one request built from a
# method and a body; leaves wnraw's output in $RAW_OUT, its status in $RAW_RC.
raw_call() {
	local method=$1 body=$2
	shift 2
	RAW_RC=0
	RAW_OUT=$(wnraw --method "$method" --body-hex "$body" "$@") || RAW_RC=$?
}

# raw_send [wnraw args...]: like raw_call for a message given as bytes.
raw_send() {
	RAW_RC=0
	RAW_OUT=$(wnraw "$@") || RAW_RC=$?
}

# raw_code: the status code name of the first reply in $RAW_OUT (read in the
# shell: these run for every request of the bad-input tests).
raw_code() {
	local line re='^code=[0-9]* name=([A-Z_]*) '
	while IFS= read -r line; do
		[[ $line =~ $re ]] && { echo "${BASH_REMATCH[1]}"; return 0; }
	done <<<"$RAW_OUT"
	return 0
}

# raw_message: the message of the first reply in $RAW_OUT.
raw_message() {
	local line re='^code=[0-9]* name=[A-Z_]* message=(.*)$'
	while IFS= read -r line; do
		[[ $line =~ $re ]] && { echo "${BASH_REMATCH[1]}"; return 0; }
	done <<<"$RAW_OUT"
	return 0
}

# expect_raw CODE_NAME WHAT: the reply in $RAW_OUT has that code and, unless
# it is OK, a non-empty message.
expect_raw() {
	[ "$RAW_RC" -eq 0 ] || fail "$2: no reply from wnd (wnraw exit $RAW_RC): $RAW_OUT"
	expect_eq "$(raw_code)" "$1" "$2: status code"
	if [ "$1" != OK ] && [ -z "$(raw_message)" ]; then
		fail "$2: $1 without a message"
	fi
}

# expect_raw_error WHAT: the reply in $RAW_OUT is an error with a message.
expect_raw_error() {
	[ "$RAW_RC" -eq 0 ] || fail "$1: no reply from wnd (wnraw exit $RAW_RC): $RAW_OUT"
	local code
	code=$(raw_code)
	[ -n "$code" ] && [ "$code" != OK ] || fail "$1: expected an error, got: $RAW_OUT"
	[ -n "$(raw_message)" ] || fail "$1: $code without a message"
}

# raw_bodies: the body hex of every reply in $RAW_OUT, one per line.
raw_bodies() { sed -n 's/^id=[0-9]* body_len=[0-9]* body=//p' <<<"$RAW_OUT"; }

# expect_serving: wnd is still running and answering.
expect_serving() {
	kill -0 "$WND_PID" 2>/dev/null || fail "wnd is no longer running"
	"$WN_BIN/wnctl" --timeout 5000 project list >/dev/null || fail "wnd no longer answers"
}

# set_clock MS: shift wnd's clocks (--test-clock clock) by MS.
set_clock() { echo "$1" >clock.new && mv clock.new clock; }

# mkproject NAME; mktask PROJECT NAME [task create options...]
mkproject() { wnctl project create "$1" >/dev/null; }
mktask() { wnctl task create "$@" >/dev/null; }

# project_names [project list options...]: names of the listed projects,
# sorted, comma-separated.
project_names() {
	wnctl --json project list "$@" | jq -r '[(.projects // [])[].name] | sort | join(",")'
}

# task_names PROJECT: names of the project's tasks, sorted, comma-separated.
task_names() { wnctl --json task list "$1" | jq -r '[(.tasks // [])[].name] | sort | join(",")'; }

# jq_jobs: the jobs of a `job list`/`queue show` JSON reply on stdin, one
# compact object per line (accepts an object with "jobs", several such
# objects, or a bare array).
jq_jobs() { jq -c 'if type == "array" then .[] else (.jobs // [])[] end'; }

# job_json ID: `job show --json ID`.
job_json() { wnctl --json job show "$1"; }

# job_field ID JQ: one field of a job, e.g. job_field 3 '.attempt // 0'.
job_field() {
	local j
	j=$(job_json "$1") || fail "job show $1 failed"
	jq -r "$2" <<<"$j"
}

# job_status ID: the job's status word (pending, running, ...).
job_status() { wn_job_status "$1" || fail "job show $1 failed"; }

# all_job_ids [job list filters...]: ids of every job, one per line, in the
# order `job list --all` gives them.
all_job_ids() {
	local out
	out=$(wnctl --json job list --all "$@") || fail "job list --all $* failed"
	jq -r '(if type == "array" then .[] else (.jobs // [])[] end).id' <<<"$out"
}

# fetch_job PROJECT WORKER [fetch options...]: the fetched job as compact JSON,
# or nothing when no job was ready.
fetch_job() {
	local out
	out=$(wnctl --json queue fetch "$1" --worker "$2" "${@:3}") || return $?
	jq -c '.job // empty' <<<"$out"
}

# gen_batch FILE PROJECT TASK N [PRIOMOD]: write N job specs, one JSON object a
# line, named j1..jN; with PRIOMOD > 0 job i gets priority (i*37 % PRIOMOD) - PRIOMOD/2.
gen_batch() {
	awk -v n="$4" -v p="$2" -v t="$3" -v m="${5:-0}" 'BEGIN {
		for (i = 1; i <= n; i++) {
			prio = m > 0 ? (i * 37) % m - int(m / 2) : 0
			printf "{\"project\":\"%s\",\"task\":\"%s\",", p, t
			printf "\"name\":\"j%d\",\"priority\":%d}\n", i, prio
		}
	}' >"$1"
}

# wait_for SECONDS WHAT CMD...: poll CMD until it succeeds (wn_poll_pause
# between tries); fail after SECONDS.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$(($(date +%s) + secs))
	WN_PAUSE_MS=0
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
		wn_poll_pause
	done
}

# status_is ID STATUS: succeeds when job ID has that status.
status_is() { [ "$(job_status "$1")" = "$2" ]; }

# snapshot: everything a user can list (projects, tasks, jobs, stats) as
# sorted JSON, to compare before and after something that must change nothing.
snapshot() {
	local p
	wnctl --json project list | jq -S .
	for p in $(wnctl --json project list | jq -r '(.projects // [])[].name'); do
		wnctl --json task list "$p" | jq -S .
	done
	wnctl --json job list --all | jq -S .
	wnctl --json queue stats | jq -S .
}

# bg_track PID: have wn_cleanup kill this background process at exit.
bg_track() { WN_PIDS+=("$1"); }

# hraw [CA]: send stdin (bytes, "\r\n" written as such) to wnd's HTTP port,
# over TLS checked against the CA file CA if one is given, and print what
# comes back until the connection closes (or 10 s pass: then "<timeout>";
# a connection reset: "<reset>").
hraw() {
	python3 -c '
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
if sys.argv[2]:
    s = ssl.create_default_context(cafile=sys.argv[2]).wrap_socket(
        s, server_hostname="127.0.0.1")
s.sendall(sys.stdin.buffer.read())
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    out += b"<timeout>"
except (ConnectionResetError, ssl.SSLError):
    out += b"<reset>"
sys.stdout.write(out.decode("latin-1"))
' "${WN_HTTP##*:}" "${1:-}"
}
