# The HTTP listener against hostile or unlucky clients (docs/http.md,
# "Limits"): bodies that lie about their length or come chunked change
# nothing; a body is not held before its token is checked, nor past the room
# for bodies; "Expect: 100-continue"; a page that rebinds its DNS name to 127.0.0.1 is refused by its
# Host; SIGTERM with bodies half sent. Raw HTTP from python3 sockets.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# status_of REPLY: the status code of a raw reply's first line.
status_of() { head -1 <<<"$1" | cut -d' ' -f2; }

# json_of REPLY: the body of a raw reply.
json_of() { sed '1,/^\r$/d' <<<"$1"; }

test_chunked_and_lying_bodies_change_nothing() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	# a chunked body is refused (nng ignored it: the call ran with {})
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\ne\r\n{"name":"chk"}\r\n0\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 411 "a chunked body: $r"
	expect_eq "$(json_of "$r" | jq -r .code)" 3
	expect_contains "$r" "Connection: close"
	# a length past the limit: 413 in JSON, before any byte of the body
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 413 "a body of 99999999 bytes: $r"
	expect_eq "$(json_of "$r" | jq -r .code)" 8
	for cl in -1 '2, 2' 0x10 ''; do
		r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n{}' "$cl" | hraw)
		expect_eq "$(status_of "$r")" 400 "Content-Length '$cl': $r"
	done
	# a body with GET is not read as the next request
	local inner='POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"name":"smug"}\n'
	r=$(printf "GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 115\r\n\r\n$inner" | hraw)
	expect_eq "$(status_of "$r")" 400 "GET with a body: $r"
	expect_not_contains "$r" '"smug"'
	# nor one with a call's path too long to be served
	local long
	long=/v1/$(printf 'A%.0s' {1..300})
	r=$(printf "POST $long HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 115\r\n\r\n$inner" | hraw)
	expect_eq "$(status_of "$r")" 404 "a path of 304 bytes with a body: ${r:0:300}"
	expect_contains "$r" "Connection: close"
	expect_not_contains "$r" '"smug"'
	# a body shorter than its length: bad JSON, nothing made
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{"name":"lie"}' | hraw)
	expect_eq "$(status_of "$r")" 400 "a length shorter than the body: $r"
	expect_eq "$(project_names)" "" "projects after the bad bodies"
	# pipelined calls are each answered, in order
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"name":"a"}POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"name":"b"}GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(grep -o 'HTTP/1.1 200' <<<"$r" | wc -l)" 3 "pipelined replies: $r"
	expect_eq "$(project_names)" a,b
}

test_bodies_are_held_only_for_a_token_and_within_room() {
	local admin=admin-secret-for-the-hostile-tests-0123456789
	printf '%s\n' "$admin" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$admin
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	# no valid token: 401 as soon as the headers are in, the body unsent
	local r
	r=$(printf 'POST /v1/ProjectService/List HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer wrong\r\nContent-Length: 20000000\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 401 "a body without a valid token: $r"
	expect_contains "$r" "Connection: close"
	# "Expect: 100-continue": 100 once the headers pass, then the reply to
	# the body; none for a call its headers refuse
	python3 - "${WN_HTTP##*:}" "$admin" <<'EOF' || fail "Expect: 100-continue: see above"
import socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
def call(tok, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\n"
               "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
               "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (tok, len(body))).encode())
    first = s.recv(4096).decode("latin-1")
    if first.startswith("HTTP/1.1 100"):
        s.sendall(body.encode())
        first += s.recv(4096).decode("latin-1")
    return first
r = call(tok, '{"name":"continued"}')
assert r.startswith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), r
r = call("wrong", '{"name":"refused"}')
assert r.startswith("HTTP/1.1 401"), r
EOF
	expect_eq "$(project_names)" continued
	# with a token, bodies of 20 MB that never come fill the room for
	# bodies (89.7 MB): the fifth is refused 503 at once, the SP listener
	# and small calls still answer, and the room comes back when they go
	python3 - "${WN_HTTP##*:}" "$admin" "$WN_BIN/wnctl" <<'EOF' || fail "the room for bodies: see above"
import socket, subprocess, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
head = ("POST /v1/ProjectService/List HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n" % tok)
def reply(s):
    s.settimeout(10)
    out = b""
    while b"\r\n\r\n" not in out:
        b = s.recv(4096)
        if not b:
            break
        out += b
    return out.decode("latin-1")
held = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((head + "Content-Length: 20000000\r\n\r\n{").encode())
    held.append(s)
time.sleep(0.2)
s = socket.create_connection(("127.0.0.1", port))
s.sendall((head + "Content-Length: 20000000\r\n\r\n{").encode())
r = reply(s)
assert r.startswith("HTTP/1.1 503"), "the fifth body: " + r
assert "Retry-After" in r, r
subprocess.run([sys.argv[3], "--timeout", "5000", "project", "list"], check=True, capture_output=True)
s = socket.create_connection(("127.0.0.1", port))
s.sendall((head + "Content-Length: 2\r\n\r\n{}").encode())
r = reply(s)
assert r.startswith("HTTP/1.1 200"), "a small call: " + r
for s in held:
    s.close()
for i in range(50):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((head + "Content-Length: 20000000\r\n\r\n").encode())
    s.settimeout(0.2)
    try:
        r = s.recv(100).decode("latin-1")
    except socket.timeout:
        r = ""  # reading its body: the room is back
    s.close()
    if r == "":
        sys.exit(0)
    time.sleep(0.1)
sys.exit("the room for bodies did not come back: " + r)
EOF
}

# A body is read only for a caller that may call the method, and a JSON text
# too costly to hold (an array of a million empty objects takes 77 times its
# size in memory) is refused before it is read; a Content-Length must be
# digits alone.
test_bodies_are_read_only_within_role_and_cost() {
	printf '%s\n' "admin-secret-for-the-http-tests-012345" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=admin-secret-for-the-http-tests-012345
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	local reader st
	reader=$(wnctl token create r1 --role reader 2>/dev/null)
	python3 -c "import sys; sys.stdout.write('{\"x\":[' + ','.join(['{}'] * 1200000) + ']}')" >many.json
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $reader" --data-binary @many.json \
		"$WN_HTTP/v1/ProjectService/Create")
	expect_eq "$st" 403 "a reader's body to Create ($(cat reply))"
	expect_eq "$(jq -r .code reply)" 7
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $WN_TOKEN" --data-binary @many.json \
		"$WN_HTTP/v1/JobService/SubmitBatch")
	expect_eq "$st" 413 "a million empty objects ($(<reply))"
	expect_eq "$(jq -r .code reply)" 8
	expect_contains "$(jq -r .message reply)" "too many values"
	local rss
	rss=$(awk '/^VmHWM/ {print $2}' "/proc/$WND_PID/status")
	[ "$rss" -lt 400000 ] || fail "wnd grew to $rss kB reading a refused body"
	# Content-Length: digits alone
	local cl r
	for cl in +2 -0 ' 2x'; do
		r=$(printf 'POST /v1/ProjectService/List HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n{}' \
			"$WN_TOKEN" "$cl" | hraw)
		expect_eq "$(status_of "$r")" 400 "Content-Length '$cl': $r"
	done
	expect_eq "$(project_names)" ""
}

test_a_rebound_dns_name_is_refused_by_its_host() {
	printf 'http_cors_origins: [https://lab.example.org]\n' >wnd.yaml
	wn_start --http 127.0.0.1:0 --config wnd.yaml
	wn_http_url
	local port=${WN_HTTP##*:} st h
	# a page of evil.example whose name now points at 127.0.0.1: its Origin
	# and Host agree, as for wnd's own dashboard
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Host: evil.example:$port" -H "Origin: http://evil.example:$port" \
		-d '{"name":"rebound"}' "$WN_HTTP/v1/ProjectService/Create")
	expect_eq "$st" 403 "a rebound name: $(<reply)"
	expect_eq "$(jq -r .code reply)" 7
	st=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example:$port" "$WN_HTTP/metrics")
	expect_eq "$st" 403 "/metrics by a rebound name"
	# a Host that only starts with a loopback name
	for h in "localhost:$port@evil.example" "[::1]x.evil.example" "127.0.0.1:80x" "[::1"; do
		st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "Host: $h" -d '{"name":"rebound"}' \
			"$WN_HTTP/v1/ProjectService/Create")
		expect_eq "$st" 403 "Host $h: $(<reply)"
	done
	expect_eq "$(project_names)" ""
	# this machine's names, and a proxy's name listed in http_cors_origins
	for h in "localhost:$port" "127.0.0.1:$port" "[::1]:$port" lab.example.org; do
		st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "Host: $h" -d '{}' "$WN_HTTP/v1/ProjectService/List")
		expect_eq "$st" 200 "Host $h: $(<reply)"
	done
}

test_sigterm_with_bodies_half_sent_and_calls_parked() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl project create empty >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	# a Wait and a Fetch that park, three bodies that never end; whether
	# wnd has parked them or still reads when SIGTERM comes, it stops at
	# once and cleanly
	python3 - "${WN_HTTP##*:}" "$id" >sent.out <<'EOF' &
import socket, sys, time
port, jid = int(sys.argv[1]), sys.argv[2]
held = []
calls = [("JobService/Wait", '{"ids":["%s"],"waitMs":60000}' % jid),
         ("QueueService/Fetch", '{"project":"empty","worker":"w","waitMs":60000}')]
for path, body in calls:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("POST /v1/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (path, len(body), body)).encode())
    held.append(s)
for i in range(3):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/ProjectService/List HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    held.append(s)
print("sent", flush=True)
time.sleep(30)
EOF
	local cpid=$!
	WN_PIDS+=("$cpid")
	WN_PAUSE_MS=0
	until grep -q sent sent.out; do wn_poll_pause; done
	wn_stop
	kill "$cpid" 2>/dev/null || true
	grep -q "stopped cleanly" wnd.log || fail "wnd did not stop cleanly: $(tail -5 wnd.log)"
}

# A path ending in a percent-escape made nng 1.5.2's HTTP server write past
# its copy of the path (a few thousand such requests crashed wnd): the
# listener refuses any percent-escape in a path before that server reads
# the request. A query may hold them.
test_a_percent_escape_in_a_path_is_refused_and_wnd_lives() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(printf 'GET /v1/JobService/Get%%41 HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 400 "a path ending in an escape: $r"
	expect_eq "$(json_of "$r" | jq -r .message)" \
		"a percent-escape in the path is not served (no path of this server needs one)"
	# nng's server decodes a path up to its query, past a '#' too
	r=$(printf 'GET /v1/JobService/Get#%%41 HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 400 "an escape after a '#': $r"
	expect_contains "$r" "a percent-escape in the path is not served"
	# a HEAD refused has its head alone, as every reply to a HEAD
	r=$(printf 'HEAD /%%41 HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 400 "a HEAD with an escape: $r"
	expect_eq "$(json_of "$r")" "" "the body of the reply to a HEAD: $r"
	python3 - "${WN_HTTP##*:}" <<'PY' >hammer.out
import socket, sys
port, codes = int(sys.argv[1]), {}
for path in [b"/v1/JobService/Get%41", b"/%41", b"/index.html#%2", b"http://localhost/x%41"] * 1000:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    line = s.recv(4096).split(b"\r\n")[0].decode()
    codes[line] = codes.get(line, 0) + 1
    s.close()
print(codes)
PY
	expect_eq "$(<hammer.out)" "{'HTTP/1.1 400 Bad Request': 4000}" "4000 escaped paths"
	kill -0 "$WND_PID" || fail "wnd died"
	r=$(printf 'GET /metrics?x=%%41 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 200 "an escape in the query: $r"
	wnctl project create p >/dev/null
	expect_eq "$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' \
		"$WN_HTTP/v1/ProjectService/List" | jq -r '.projects[0].name')" p "a call after them"
}

# nng's server ends a line at a LF with or without a CR before it: a head
# ended by bare LFs is one head, and a request after it has its path checked
# too (it went on unchecked, inside what was taken for the first head).
test_a_head_ended_by_bare_line_feeds_is_one_head() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(printf 'GET /metrics HTTP/1.1\nHost: localhost\n\nGET /v1/JobService/Get%%41 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_contains "$r" "a percent-escape in the path is not served" "the second request"
	expect_not_contains "$r" "no such method" "the second request"
	r=$(printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 200 "a head ended by LF CR LF: ${r:0:200}"
}

# nng's server answers an HTTP/1.1 request without Host 400 and keeps the
# connection, the request's body unread: it read that body as the next
# request, unchecked (a call ran from it), and a HEAD's 400 came with a body
# (the requests pipelined behind it went unanswered). Such a request is
# refused, in JSON, and the connection closed.
test_a_request_without_host_is_refused_and_its_body_not_served() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r inner='POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"name":"smug"}'
	r=$(printf "POST /v1/ProjectService/List HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 127\r\n\r\n$inner" | hraw)
	expect_eq "$(status_of "$r")" 400 "a request without Host: $r"
	expect_eq "$(project_names)" "" "projects after a request without Host"
	expect_eq "$(json_of "$r" | jq -r .message)" "an HTTP/1.1 request must have a Host header"
	expect_contains "$r" "Connection: close"
	r=$(printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw)
	expect_eq "$(grep -c '^HTTP/1.1 ' <<<"$r")" 2 "a HEAD without Host pipelined: ${r:0:300}"
	expect_eq "$(grep '^HTTP/1.1 ' <<<"$r" | tail -1)" $'HTTP/1.1 400 Bad Request\r'
	expect_not_contains "$r" "<timeout>"
	# HTTP/1.0 needs no Host
	r=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | hraw)
	expect_eq "$(status_of "$r")" 200 "HTTP/1.0 without Host: ${r:0:200}"
}

# A head that never ends is closed (nng's server waited for it for ever); one
# over 64 KiB is refused with 431.
test_a_head_that_does_not_end_is_closed() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	python3 - "${WN_HTTP##*:}" <<'PY' >slow.out
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=40)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1")
try:
    print("closed" if s.recv(4096) == b"" else "answered")
except socket.timeout:
    print("still open after 40 s")
PY
	expect_eq "$(<slow.out)" closed "a head not ended"
	local r
	r=$(python3 -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "a" * 70000 + "\r\n\r\n")' | hraw)
	expect_eq "$(status_of "$r")" 431 "a head of 70 KB: ${r:0:200}"
}

# Connections past the limit wait to be accepted until one closes while
# none of the 256 is idle between requests (these have sent nothing yet: each
# is in its first head's time): the listener keeps its descriptors for the
# connections it serves.
test_connections_past_the_limit_wait_for_room() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	python3 - "${WN_HTTP##*:}" <<'PY' >limit.out
import socket, sys
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(256)]
late = socket.create_connection(("127.0.0.1", port), timeout=3)
late.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
try:
    late.recv(16)
    print("answered while 256 were open")
except socket.timeout:
    idle.pop().close()
    late.settimeout(20)
    print("waited; then", late.recv(64).decode().split("\r\n")[0])
PY
	expect_eq "$(<limit.out)" "waited; then HTTP/1.1 200 OK" "the 257th connection"
}

# At SIGTERM every call parked over HTTP gets its answer (a Fetch: no job)
# before the connections close: nng's server dropped half of them, closing
# connections whose answers it had not written yet.
test_sigterm_answers_every_parked_call() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create empty >/dev/null
	python3 - "${WN_HTTP##*:}" >parked.out <<'PY' &
import socket, sys, time
port, held = int(sys.argv[1]), []
body = b'{"project":"empty","worker":"w","waitMs":60000}'
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /v1/QueueService/Fetch HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    held.append(s)
print("sent", flush=True)
answered = 0
for s in held:
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    answered += data.startswith(b"HTTP/1.1 200")
print("answered", answered)
PY
	local cpid=$!
	WN_PIDS+=("$cpid")
	WN_PAUSE_MS=0
	until grep -q sent parked.out; do wn_poll_pause; done
	parked20() { curl -s "$WN_HTTP/metrics" | grep -qx 'whatsnext_waiting_requests 20'; }
	wait_for 20 "the 20 fetches to wait" parked20
	wn_stop
	wait "$cpid"
	expect_eq "$(tail -n 1 parked.out)" "answered 20" "parked fetches answered at SIGTERM"
}

# A call refused before its body is read (413) is answered while the client
# still sends that body, and the connection closed after: closed at once,
# with the body's bytes unread, it was reset, and the client lost what it
# had not yet taken (Python's http.client, which sends the whole body before
# it reads, saw only the reset; a slow reader lost the replies to the
# requests pipelined before). The guard drops what the client sends for up
# to 2 s before it closes.
test_a_refused_body_still_being_sent_gets_its_answer() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	python3 - "${WN_HTTP##*:}" <<'PY' >refused.out
import http.client, re, socket, sys, threading, time
port = int(sys.argv[1])
res = set()
for _ in range(3):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/v1/ProjectService/Create", body=b"x" * 30000000,
                  headers={"Content-Type": "application/json"})
        res.add(c.getresponse().status)
    except OSError as e:
        res.add(type(e).__name__)
print("a body of 30 MB:", res)
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
get = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
bad = b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000000\r\n\r\n"
def send():
    try:
        s.sendall(get * 100 + bad)
        for _ in range(50000000 // 65536):
            s.sendall(b"x" * 65536)
    except OSError:
        pass
threading.Thread(target=send, daemon=True).start()
s.settimeout(30)
out = b""
try:
    while True:  # a slow reader
        b = s.recv(4096)
        if not b:
            break
        out += b
        time.sleep(0.001)
except OSError as e:
    out += b"<%s>" % type(e).__name__.encode()
print("replies to 100 calls and a refused body:", re.findall(rb"HTTP/1.1 (\d+)", out).count(b"200"),
      re.findall(rb"HTTP/1.1 (\d+)", out)[-1].decode(), out[-20:].endswith(b"}"))
PY
	expect_eq "$(<refused.out)" "$(printf '%s\n' 'a body of 30 MB: {413}' \
		'replies to 100 calls and a refused body: 100 400 True')" "bodies still being sent"
}

# The same behind a reply larger than the socket's buffers, which the guard
# still passes on to a slow reader when nng's server, having answered the
# refused body's request, closes its connection: passing the body on then
# failed, and the guard stopped reading what nng had sent, the answer among
# it (the connection closed after the large reply, the answer lost).
test_a_refused_body_after_a_large_reply_gets_its_answer() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create big >/dev/null
	wnctl task create big t >/dev/null
	python3 - "${WN_HTTP##*:}" <<'PY' >large.out
import json, re, socket, sys, threading, time, urllib.request
port = int(sys.argv[1])
job = {"project": "big", "task": "t", "params": {"k%06d" % i: "v" * 100 for i in range(30000)}}
req = urllib.request.Request("http://127.0.0.1:%d/v1/JobService/Submit" % port,
                             data=json.dumps({"job": job}).encode(),
                             headers={"Content-Type": "application/json"})
jid = json.loads(urllib.request.urlopen(req).read())["job"]["id"]
body = json.dumps({"id": jid}).encode()
get = (b"POST /v1/JobService/Get HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # a reply of 3.4 MB
bad = b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000000\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
def send():
    try:
        s.sendall(get + bad)
        for _ in range(50000000 // 65536):
            s.sendall(b"x" * 65536)
    except OSError:
        pass
threading.Thread(target=send, daemon=True).start()
s.settimeout(30)
out = b""
try:
    while True:  # a slow reader
        b = s.recv(4096)
        if not b:
            break
        out += b
        time.sleep(0.001)
except OSError as e:
    out += b"<%s>" % type(e).__name__.encode()
print("replies:", [c.decode() for c in re.findall(rb"HTTP/1.1 (\d+)", out)], out[-20:].endswith(b"}"))
PY
	expect_eq "$(<large.out)" "replies: ['200', '400'] True" "a refused body after 3.4 MB"
}

# A client that sends its request, closes its side for writing and reads
# slowly: once nng has answered and closed its own connection, the guard
# waits for the client without spinning (it took a whole core) and the reply
# still comes whole. Replies of 1 to 4 MB, so that one of them is left in
# the guard when nng is done, whatever the sizes of the kernel's buffers.
# test-tier: long
test_a_half_closed_slow_reader_costs_no_cpu() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create wide >/dev/null
	wnctl task create wide t >/dev/null
	python3 - "${WN_HTTP##*:}" "$WND_PID" <<'PY' >halfslow.out
import json, os, socket, sys, time, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
url = "http://127.0.0.1:%d/v1/JobService/" % port
for _ in range(40):  # jobs of about 100 KB
    job = {"project": "wide", "task": "t", "params": {"k%05d" % i: "v" * 20 for i in range(3000)}}
    req = urllib.request.Request(url + "Submit", data=json.dumps({"job": job}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
held = []
for n in range(10, 41, 2):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    body = b'{"project":"wide","pageSize":%d}' % n
    s.sendall(b"POST /v1/JobService/List HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    s.shutdown(socket.SHUT_WR)
    held.append(s)
# wnd makes the replies (JSON of 16 lists of large jobs) and then has
# nothing to do but wait for the readers: a spin never gives a quiet second,
# however slow the machine (a busy one, a build with sanitizers)
state = "busy"
for _ in range(60):
    c0 = cpu()
    time.sleep(1)
    if cpu() - c0 < 0.2:
        state = "idle"
        break
print(state)
whole = 0
for s in held:
    s.settimeout(30)
    data = b""
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
    whole += data.startswith(b"HTTP/1.1 200") and data.endswith(b"}")
print("whole", whole)
PY
	expect_eq "$(head -1 halfslow.out)" idle "wnd while 16 half-closed clients read nothing"
	expect_eq "$(tail -1 halfslow.out)" "whole 16" "the replies"
}

# Out of descriptors (ulimit -n 64), 100 connections at once: the guard
# serves what the descriptors leave room for and the others wait, wnd does
# not spin (nng's server, out of descriptors, spun on its accept and answered
# nothing), and once they close a new connection is answered.
test_connections_past_the_descriptors_wait_without_spinning() {
	mkdir bin
	printf '#!/usr/bin/env bash\nulimit -n 64\nexec %q/wnd "$@"\n' "$WN_BIN" >bin/wnd
	chmod +x bin/wnd
	ln -s "$WN_BIN/wnctl" bin/wnctl
	WN_BIN=$PWD/bin wn_start --http 127.0.0.1:0
	wn_http_url
	python3 - "${WN_HTTP##*:}" "$WND_PID" <<'PY' >nofile.out
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
for s in held:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
state = "busy"  # a spin never gives a quiet second, however slow the machine
for _ in range(60):
    c0 = cpu()
    time.sleep(1)
    if cpu() - c0 < 0.2:
        state = "idle"
        break
print(state)
s = held[0]
s.settimeout(10)
print("first:", s.recv(64).decode().split("\r\n")[0])
for s in held:
    s.close()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
print("after:", s.recv(64).decode().split("\r\n")[0])
PY
	expect_eq "$(sed -n 1p nofile.out)" idle "wnd while 100 connections wait for descriptors"
	expect_eq "$(sed -n 2p nofile.out)" "first: HTTP/1.1 200 OK" "the first connection"
	expect_eq "$(sed -n 3p nofile.out)" "after: HTTP/1.1 200 OK" "a connection once they closed"
}

# Requests pipelined on one connection past 8 KiB of them are each answered,
# in order (nng's server behind the guard left all but the first 73 of them
# unanswered): the guard passes them on one at a time, each once the reply
# to the one before has come. 1,000 requests, more than the 64 KiB the guard
# holds for a connection, so that it stops reading and goes on; a HEAD, an
# OPTIONS (204, no length) and an "Expect: 100-continue" among them.
test_pipelined_requests_past_8_kib_are_each_answered() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	python3 - "${WN_HTTP##*:}" <<'PY' >pipelined.out
import json, re, socket, sys
port = int(sys.argv[1])
def call(name, extra=b""):
    body = b'{"name":"%s"}' % name.encode()
    return (b"POST /v1/ProjectService/Get HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (extra, len(body), body))
reqs = [call("x%d" % i) for i in range(1000)]
reqs[100] = b"HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
reqs[200] = (b"OPTIONS /v1/ProjectService/Get HTTP/1.1\r\nHost: localhost\r\n"
             b"Origin: http://localhost\r\n\r\n")
reqs[300] = call("p", b"Expect: 100-continue\r\n")
reqs[-1] = call("p", b"Connection: close\r\n")
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"".join(reqs))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    print("no end after 30 s")
replies, finals, pos = [], 0, 0
while b"\r\n\r\n" in out[pos:]:
    end = out.index(b"\r\n\r\n", pos) + 4
    head = out[pos:end].decode("latin-1")
    code = int(head.split()[1])
    m = re.search(r"Content-Length: (\d+)", head)
    n = int(m.group(1)) if m and code >= 200 and finals != 100 else 0  # 100: the HEAD
    finals += code >= 200
    replies.append((code, out[end:end + n]))
    pos = end + n
final = [(c, b) for c, b in replies if c >= 200]
print(len(final), "replies", "and", len(replies) - len(final), "interim")
skip = (100, 200, 300, 999)
got = [json.loads(b)["message"] for i, (c, b) in enumerate(final) if i not in skip]
want = ['project "x%d" not found' % i for i in range(1000) if i not in skip]
print("in order" if got == want else "not in order: %s" % got[:3])
print(*[final[i][0] if i < len(final) else "-" for i in skip])
PY
	expect_eq "$(<pipelined.out)" "$(printf '1000 replies and 1 interim\nin order\n200 204 200 200')" \
		"1,000 pipelined requests"
}

# At the limit of 256 connections a new one is served at once: the guard
# closes the one idle longest between requests (nng's server's kept-alive
# connections held every other client off for 5 minutes), never one in the
# middle of a request (a head half sent) or of a reply (a Wait that waits).
test_idle_kept_alive_connections_give_way_to_new_ones() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local id
	id=$(wnctl job add p t)
	python3 - "${WN_HTTP##*:}" "$id" "$WN_BIN/wnctl" <<'PY' >giveway.out
import socket, subprocess, sys
port, jid = int(sys.argv[1]), sys.argv[2]
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=30)
def req(path, body, close=False):
    return (b"POST /v1/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"%sContent-Length: %d\r\n\r\n%s" % (path.encode(), b"Connection: close\r\n" if close else b"",
                                                 len(body), body))
def reply(s):
    out = b""
    while b"\r\n\r\n" not in out:
        try:
            b = s.recv(4096)
        except socket.timeout:
            return "no reply in 30 s"
        if not b:
            return "closed"
        out += b
    head, body = out.split(b"\r\n\r\n", 1)
    n = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    while len(body) < n:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode()
waits = []  # a reply under way: a Wait for a job that does not end yet
for _ in range(200):
    s = conn()
    s.sendall(req("JobService/Wait", b'{"ids":["%s"],"waitMs":60000}' % jid.encode()))
    waits.append(s)
idle = []  # kept alive after their reply, the first one idle longest
for _ in range(50):
    s = conn()
    s.sendall(req("ProjectService/List", b"{}"))
    idle.append((s, reply(s)))
print("idle:", {r for s, r in idle})
heads = []  # a request's head half sent
for _ in range(6):
    s = conn()
    s.sendall(b"POST /v1/ProjectService/List HTTP/1.1\r\nHost: localhost\r\n")
    heads.append(s)
late = conn()
late.sendall(req("ProjectService/List", b"{}", close=True))
print("a new connection:", reply(late))
def closed(s):  # its end has come, if it was closed before the new one was served
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
print("the one idle longest:", "closed" if closed(idle[0][0]) else "open")
print("the others:", "open" if not any(closed(s) for s, r in idle[1:]) else "one closed")
for s in heads:
    s.sendall(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
print("heads half sent:", {reply(s) for s in heads})
for s, r in idle[1:]:
    s.setblocking(True)
    s.settimeout(30)
    s.sendall(req("ProjectService/List", b"{}"))
print("the other idle ones:", {reply(s) for s, r in idle[1:]})
subprocess.run([sys.argv[3], "job", "cancel", jid], check=True, capture_output=True)
print("waits:", {reply(s) for s in waits})
PY
	expect_eq "$(<giveway.out)" "$(printf '%s\n' "idle: {'HTTP/1.1 200 OK'}" \
		'a new connection: HTTP/1.1 200 OK' 'the one idle longest: closed' 'the others: open' \
		"heads half sent: {'HTTP/1.1 200 OK'}" "the other idle ones: {'HTTP/1.1 200 OK'}" \
		"waits: {'HTTP/1.1 200 OK'}")" "256 connections and a new one"
}
