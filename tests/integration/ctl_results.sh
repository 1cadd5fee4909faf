# What a job produced, as wnctl gives it to a user: job artifact get, job
# history and job log; the file written where it should be, whatever the
# artifact's name, output a script can read (docs/results.md, docs/cli.md).
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# art_run SCRIPT: wnd, project p, task t, and one job of t run by a worker
# to its end; the job's command is the shell SCRIPT, run in $WN_TMP/wd, whose
# directory out is uploaded as artifacts. Leaves the job's id in ID.
art_run() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	mkdir -p wd
	printf '%s\n' "$1" >wd/run.sh
	{
		worker_head
		cat <<EOF
tasks:
  t:
    command: [/bin/sh, run.sh]
    workdir: $WN_TMP/wd
    artifacts:
      paths: [out]
      upload: true
EOF
	} >w.yaml
	ID=$(wnctl job add p t)
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$ID" "j['status']")" completed "the job's status"
}

test_ctl_artifact_get_a_name_near_the_system_limit() {
	local long
	long=$(printf 'm%.0s' $(seq 1 250))
	art_run "mkdir -p out && echo weights >out/$long"
	mkdir dl
	cd dl
	# fetched under its own name, 250 bytes: the temporary name beside it fits too
	expect_exit 0 wnctl job artifact get "$ID" "out/$long"
	expect_eq "$(<"$long")" weights "the file fetched"
	expect_contains "$WN_OUT" "wrote $long: 8 bytes"
	expect_exit 0 wnctl job artifact get "$ID" "out/$long" -o "$long" --force
	expect_eq "$(ls -A)" "$long" "files left beside it"
}

test_ctl_artifact_named_dash_is_written_to_a_file() {
	art_run 'mkdir -p out && echo dash >out/-'
	mkdir dl
	cd dl
	# its last part is "-": the default file is ./-, not stdout
	expect_exit 0 wnctl job artifact get "$ID" out/-
	expect_eq "$(<./-)" dash "the file named -"
	expect_contains "$WN_OUT" "wrote ./-: 5 bytes"
	expect_exit 1 wnctl job artifact get "$ID" out/-
	expect_contains "$WN_ERR" "./- exists; --force replaces it"
	# -o - is still stdout
	expect_exit 0 wnctl job artifact get "$ID" out/- -o -
	expect_eq "$WN_OUT" dash "-o -"
}

test_ctl_artifact_get_json_says_what_was_written() {
	art_run 'mkdir -p out && printf "a\0b" >out/bin'
	local sum
	sum=$(printf 'a\0b' | sha256sum | cut -d' ' -f1)
	expect_exit 0 wnctl --json job artifact get "$ID" out/bin -o got.bin
	expect_eq "$(jget "$WN_OUT" '[j["file"], j["path"], j["size"], j["sha256"], j["stored"]]')" \
		"[\"got.bin\", \"out/bin\", 3, \"$sum\", true]" "--json"
	cmp got.bin <(printf 'a\0b') || fail "the file fetched differs"
	# to stdout, the content alone
	expect_eq "$(wnctl --json job artifact get "$ID" out/bin -o - | od -An -c | tr -s ' ')" \
		" a \\0 b" "-o - with --json"
}

test_ctl_history_prints_numbers_as_job_show_does() {
	art_run 'echo "{\"step\": 12345678901, \"loss\": 0.123456789012}" >>"$WN_RESULTS"'
	expect_exit 0 wnctl job show "$ID"
	expect_contains "$WN_OUT" "loss=0.123456789012"
	expect_contains "$WN_OUT" "step=12345678901"
	# every digit, as job show has them: not 0.123456789 and 1.23456789e+10
	expect_exit 0 wnctl job history "$ID"
	expect_eq "$(sed -n 1p <<<"$WN_OUT" | awk '{print $3, $4}')" "step loss" "the columns"
	expect_eq "$(sed -n 2p <<<"$WN_OUT" | awk '{print $3, $4}')" "12345678901 0.123456789012" \
		"the report's numbers"
}

test_ctl_log_json_is_one_document_for_any_size() {
	# 2.7 MB of output: more than one reply of the server (1 MiB each)
	art_run 'seq 1 400000'
	wnctl --json job log "$ID" >log.json
	python3 - "$ID" <<'PY' || fail "--json job log is not one JSON document of the whole output"
import base64, json, sys
r = json.load(open("log.json"))
want = "".join("%d\n" % i for i in range(1, 400001)).encode()
assert base64.b64decode(r["data"]) == want, "data"
assert (r["offset"], r["next_offset"], r["end"], r["ended"], r["status"]) == \
    (0, len(want), len(want), True, "completed"), r
PY
	# and a job that printed nothing
	local waiting
	waiting=$(wnctl job add p t)
	expect_exit 0 wnctl --json job log "$waiting"
	expect_eq "$(jget "$WN_OUT" '[j["data"], j["attempt"], j["status"]]')" '["", 0, "pending"]'
}

# on_tty FILE CMD...: run CMD with its stdout (and stderr) a terminal, what
# it printed left in FILE; its exit status is script's.
on_tty() {
	local out=$1 cmd
	shift
	printf -v cmd '%q ' "$@"
	script -qec "$cmd" /dev/null >"$out"
}

test_ctl_artifact_to_a_terminal_shows_controls_escaped() {
	# a title change and a screen clear; an é cut by the end of the first
	# 1 MiB chunk
	art_run 'mkdir -p out && printf "hi\033]0;pwned\007\033[2J\n" >out/evil.txt &&
		{ head -c 1048575 /dev/zero | tr "\0" a; printf "\303\251 end\n"; } >out/cut.txt'
	on_tty tty.txt "$WN_BIN/wnctl" job artifact get "$ID" out/evil.txt -o -
	if LC_ALL=C grep -q $'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' tty.txt; then
		fail "raw terminal controls reached the terminal: $(od -c tty.txt | head -n 3)"
	fi
	expect_contains "$(<tty.txt)" 'hi\x1b]0;pwned\x07\x1b[2J'
	on_tty tty.txt "$WN_BIN/wnctl" job artifact get "$ID" out/cut.txt -o -
	expect_eq "$(tail -c 12 tty.txt | tr -d '\r')" "aaaaé end" "the character cut by a chunk"
	# to a pipe or a file the bytes go as they are
	expect_eq "$(wnctl job artifact get "$ID" out/evil.txt -o - | od -An -c | tr -s ' ' | head -n 1)" \
		" h i 033 ] 0 ; p w n e d \\a 033 [ 2 J" "to a pipe"
}

# A fetch killed with kill -9 (which wnctl cannot catch) left its temporary
# file beside the file it was fetching, for good. The next fetch into the
# same directory removes such files once no fetch holds them (a lock) and
# they have been left a minute; others' files, and one held, stay.
test_ctl_artifact_get_removes_what_a_fetch_killed_left() {
	art_run 'mkdir -p out && echo weights >out/model.bin'
	mkdir dl
	cd dl
	kill -STOP "$WND_PID"
	wait_stopped "$WND_PID"
	"$WN_BIN/wnctl" --timeout 60000 job artifact get "$ID" out/model.bin -o m.bin 2>/dev/null &
	local pid=$!
	WN_PIDS+=("$pid")
	wait_until 10 "the temporary file" compgen -G '.m.bin.wnctl-partial-??????'
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	kill -CONT "$WND_PID"
	local left
	left=$(compgen -G '.m.bin.wnctl-partial-??????')
	# held by a fetch still running; fresh; not of the fetch's naming
	echo x >.a.bin.wnctl-partial-Held00
	echo x >.b.bin.wnctl-partial-Fresh0
	echo x >.c.bin.wnctl-partial-long-name
	echo x >notes.wnctl-partial-Abc123
	touch -d '2 minutes ago' "$left" .a.bin.wnctl-partial-Held00 .c.bin.wnctl-partial-long-name \
		notes.wnctl-partial-Abc123
	exec 9<.a.bin.wnctl-partial-Held00 # held as a running fetch holds its own
	flock -n 9 || fail "cannot lock .a.bin.wnctl-partial-Held00"
	# a fresh one left by a kill is kept for now
	expect_exit 0 wnctl job artifact get "$ID" out/model.bin -o m2.bin
	expect_eq "$WN_ERR" "wnctl: removed $left, left by a fetch that was cut off"
	expect_eq "$(<m2.bin)" weights "the file fetched"
	expect_eq "$(ls -A | tr '\n' ' ')" \
		".a.bin.wnctl-partial-Held00 .b.bin.wnctl-partial-Fresh0 .c.bin.wnctl-partial-long-name m2.bin notes.wnctl-partial-Abc123 " \
		"what the fetch left in its directory"
	# into another directory: -o DIR/FILE looks in DIR
	cd ..
	mkdir -p dl2
	echo x >dl2/.z.wnctl-partial-Zz9Zz9
	touch -d '2 minutes ago' dl2/.z.wnctl-partial-Zz9Zz9
	expect_exit 0 wnctl job artifact get "$ID" out/model.bin -o dl2/m.bin
	expect_eq "$WN_ERR" "wnctl: removed dl2/.z.wnctl-partial-Zz9Zz9, left by a fetch that was cut off"
	expect_eq "$(ls -A dl2)" "m.bin" "dl2 after the fetch"
}

# The total of wnctl status counts the bytes of the artifacts stored as it
# counts the jobs, over the projects: its artifact_bytes was always 0.
test_ctl_status_total_counts_artifact_bytes() {
	art_run 'mkdir -p out && printf 12345 >out/a'
	wnctl project create q >/dev/null
	expect_exit 0 wnctl --json status
	expect_eq "$(jq -c '[[.projects[].artifact_bytes], .total.artifact_bytes]' <<<"$WN_OUT")" \
		'[[5,0],5]' "artifact bytes of the projects, and their total"
}

# job artifact get -o - into a pipe whose reader is gone stops as any output of
# wnctl does: SIGPIPE, or with it ignored "cannot write output: Broken pipe"
# (it said "cannot write -").
test_ctl_artifact_to_a_pipe_without_reader() {
	art_run 'mkdir -p out && head -c 3000000 /dev/zero >out/big'
	local rc=0
	(trap '' PIPE && "$WN_BIN/wnctl" job artifact get "$ID" out/big -o - 2>err |
		head -c 1 >/dev/null && exit "${PIPESTATUS[0]}") || rc=$?
	expect_eq "$rc" 1 "exit status, SIGPIPE ignored"
	expect_eq "$(<err)" "wnctl: cannot write output: Broken pipe" "stderr"
	rc=0
	("$WN_BIN/wnctl" job artifact get "$ID" out/big -o - 2>err | head -c 1 >/dev/null &&
		exit "${PIPESTATUS[0]}") || rc=$?
	expect_eq "$rc" 141 "exit status (SIGPIPE)"
	expect_eq "$(<err)" "" "stderr"
}

# replaying_proxy LISTEN SERVER METHOD: pass what wnctl and wnd send each
# other between unix sockets LISTEN and SERVER (wnd's ipc:// path), but answer
# every call of METHOD after the first with the first one's reply: a server
# that lies, sending the same part again. Runs in the background; its pid is
# in PROXY_PID.
replaying_proxy() {
	python3 - "$@" <<'PY' &
import socket, struct, sys, threading
listen, server, method = sys.argv[1], sys.argv[2], sys.argv[3].encode()

def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def frames(s, out, on_frame):
    out.sendall(read_exact(s, 8))  # the SP handshake
    while True:
        head = read_exact(s, 9)
        (n,) = struct.unpack(">Q", head[1:])
        payload = on_frame(read_exact(s, n))
        out.sendall(head[:1] + struct.pack(">Q", len(payload)) + payload)

def serve(c):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(server)
    asked = []  # per request: whether it calls METHOD
    first = []  # the first reply to METHOD, without its 4-byte SP header
    def request(p):
        asked.append(method in p[4:200])
        return p
    def reply(p):
        if asked.pop(0):
            if not first:
                first.append(p[4:])
            else:
                p = p[:4] + first[0]
        return p
    t = threading.Thread(target=lambda: guard(frames, c, up, request), daemon=True)
    t.start()
    guard(frames, up, c, reply)

def guard(f, *a):
    try:
        f(*a)
    except (EOFError, OSError):
        pass

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(listen)
srv.listen(8)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	PROXY_PID=$!
	WN_PIDS+=("$PROXY_PID")
	local i
	for i in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	fail "the proxy did not listen at $1"
}

# A server that sends the same part of a job's output again is not followed
# round and round: wnctl says so and stops.
test_ctl_log_from_a_server_that_sends_a_part_again() {
	art_run 'seq 1 400000'
	replaying_proxy "$WN_TMP/proxy.sock" "$WN_TMP/wnd.sock" JobService/Log
	local a rc
	for a in "job log" "--json job log"; do
		rc=0
		# shellcheck disable=SC2086
		timeout 20 "$WN_BIN/wnctl" --server "ipc://$WN_TMP/proxy.sock" $a "$ID" >out 2>err || rc=$?
		expect_eq "$rc" 1 "exit status of $a (stderr: $(<err))"
		expect_eq "$(<err)" "wnctl: cannot follow the output of job $ID: the server sent bytes 0 to 1048576 again" "$a"
	done
}
