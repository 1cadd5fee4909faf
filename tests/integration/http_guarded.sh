# The HTTP listener is reached through its guard alone (docs/http.md,
# "Limits"): nng's server behind it listens on a loopback port of its own,
# which takes no connection but the guard's.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# tcp_listeners PID: the TCP ports process PID listens on, one a line.
tcp_listeners() {
	python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        t = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(name) as f:
        next(f)
        for line in f:
            x = line.split()
            if x[3] == "0A" and x[9] in inodes:  # listening
                print(int(x[1].rsplit(":", 1)[1], 16))
PY
}

# Any user of the machine could connect to the port of nng's server and
# call wnd there past the guard's checks: a few thousand requests with a
# percent-escape in their path crashed wnd.
test_the_server_behind_the_guard_takes_no_other_connection() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local port ports=() p
	port=${WN_HTTP##*:}
	mapfile -t ports < <(tcp_listeners "$WND_PID")
	expect_eq "${#ports[@]}" 2 "wnd's TCP listeners (the guard's, nng's): ${ports[*]}"
	for p in "${ports[@]}"; do
		[ "$p" = "$port" ] && continue
		python3 - "$p" <<'PY' >direct.out
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    print(s.recv(4096).split(b"\r\n")[0].decode() or "closed")
except OSError as e:
    print("refused" if isinstance(e, ConnectionRefusedError) else "no answer")
PY
		expect_eq "$(<direct.out)" "no answer" "a request sent to port $p, not the guard's $port"
	done
	# the guard's own connections go on being served, one after another
	local i out=
	for i in 1 2 3 4 5; do
		out+=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' \
			"$WN_HTTP/v1/ProjectService/List")
	done
	expect_eq "$out" "{}{}{}{}{}" "calls through the guard"
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "cannot limit"
}

# A target that is not a path ("*", "x") was answered 404 by nng's server
# itself, which kept the connection without reading the request's body and
# then read that body as the next request, past every check of the guard:
# a call in the body of "GET *" ran (and a path with a percent-escape there
# would have reached nng's server). Such a request is refused, its
# connection closed.
test_a_target_that_is_not_a_path_is_refused_with_its_body() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local inner='POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"name":"smug"}\n'
	local t r
	for t in '*' x 'mailto:x' '?a'; do
		r=$(printf "GET $t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 116\r\n\r\n$inner" | hraw)
		expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "GET $t: $r"
		expect_contains "$r" "the request's target must be a path (/...) or an http(s) URI"
		expect_contains "$r" "Connection: close"
		expect_not_contains "$r" '"smug"' "GET $t"
	done
	expect_eq "$(project_names)" "" "projects after the bodies"
	# a HEAD refused so has its head alone, and the requests before it
	# on the connection are answered first
	r=$(printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD * HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw)
	expect_eq "$(grep -c '^HTTP/1.1' <<<"$r")" 2 "GET /metrics, then HEAD *: $r"
	expect_contains "$r" "HTTP/1.1 400 Bad Request" "HEAD *"
	expect_not_contains "$r" "must be a path" "the body of the reply to HEAD *"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$WN_HTTP/")" 200 "GET /"
}

# A server must take a target in absolute form (RFC 9112, 3.2.2), as a
# client that speaks to wnd through a proxy's settings sends it: "GET
# http://127.0.0.1:PORT/metrics" was answered 404. It is served as its path,
# its authority taken as the Host (checked as a Host is on a loopback
# listener); one with userinfo or no host is refused.
test_an_absolute_uri_is_served_as_its_path() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r hp=${WN_HTTP#http://}
	r=$(printf "GET http://$hp/metrics HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n\r\n" | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "GET http://$hp/metrics: ${r:0:300}"
	expect_contains "$r" "whatsnext_build_info"
	# no path is "/", a query goes on; a call with its body, kept alive,
	# then a HEAD, pipelined
	r=$(printf 'GET HTTP://LOCALHOST?a=1 HTTP/1.1\r\nHost: localhost\r\n\r\nPOST http://localhost/v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"name":"abs"}HEAD http://127.0.0.1/metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(grep -o "HTTP/1.1 200 OK" <<<"$r" | wc -l)" 3 "/, a call, a HEAD: ${r:0:600}"
	expect_contains "$r" "<title>"
	expect_not_contains "$r" "# TYPE" "the body of the reply to the HEAD"
	expect_eq "$(project_names)" abs
	# the URI's host is the Host: another machine's is refused on loopback
	r=$(printf 'GET http://evil.example/metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 403 Forbidden" "http://evil.example: $r"
	local t
	for t in 'http://u@localhost/metrics' 'http:///metrics' 'http://:80/metrics' 'http://a"b/'; do
		r=$(printf "GET $t HTTP/1.1\r\nHost: localhost\r\n\r\n" | hraw)
		expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "GET $t: $r"
		expect_contains "$r" "an http(s) URI of a host"
	done
	# this listener is plain http: an https:// URI names another, and
	# its call's body is not read
	r=$(printf 'POST https://localhost/v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"name":"abs2"}' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "POST https://localhost/...: $r"
	expect_contains "$r" '"message":"an https:// URI is not served on this listener, which is plain http: use http://"'
	expect_contains "$r" "Connection: close"
	expect_eq "$(project_names)" abs
}

# nng's server merges the values of a field given again, at a cost that
# grows as the square of their number: a head of 16,000 lines "a:" (64 KiB)
# took half a second of wnd's CPU, and clients sending such heads on a few
# connections held every HTTP thread. A head of over 100 header lines is
# refused 431 (one of 2,000 here, within the 8192 bytes of a head); one of
# 100 is served.
test_a_head_of_over_100_header_lines_is_refused() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r many=
	many=$(printf 'a:\\r\\n%.0s' {1..2000})
	r=$(printf "GET /metrics HTTP/1.1\r\nHost: localhost\r\n$many\r\n" | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 431 Request Header Fields Too Large" \
		"2,000 header lines: ${r:0:300}"
	expect_contains "$r" '"message":"the request'"'"'s head has over 100 header lines"'
	expect_contains "$r" "Connection: close"
	r=$(printf "GET /metrics HTTP/1.1\r\nHost: localhost\r\n$(printf 'a:\\r\\n%.0s' {1..98})Connection: close\r\n\r\n" | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "100 header lines: ${r:0:300}"
	r=$(printf "HEAD / HTTP/1.1\r\nHost: localhost\r\n$(printf 'X-%d: 1\\r\\n' {1..100})\r\n" | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 431 Request Header Fields Too Large" \
		"a HEAD of 101 header lines"
	expect_not_contains "$r" "header lines" "the body of the reply to that HEAD"
}

# nng's server reads a request's head through a buffer of 8192 bytes and
# closed the connection without a reply on a longer one: a browser whose
# cookies of other sites on localhost make a Cookie header of 9 KB saw the
# dashboard fail to reach wnd, with no reason given. It is refused 431,
# saying why; a head of 8192 bytes is served.
test_a_head_over_8192_bytes_is_refused_saying_why() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(python3 -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: localhost\r\nCookie: a=" + "b" * 9000 + "\r\n\r\n")' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 431 Request Header Fields Too Large" \
		"a Cookie of 9 KB: ${r:0:300}"
	expect_contains "$r" '"message":"the request'"'"'s head is over 8192 bytes"'
	# a head of 8192 bytes, its empty line included, goes on
	r=$(python3 -c '
import sys
h = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: a="
sys.stdout.write(h + "b" * (8192 - len(h) - 4) + "\r\n\r\n")' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "a head of 8192 bytes: ${r:0:300}"
	# on a connection kept alive too, after a call
	r=$(python3 -c '
import sys
sys.stdout.write("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
sys.stdout.write("GET / HTTP/1.1\r\nHost: localhost\r\nX-Many: " + "c" * 8500 + "\r\n\r\n")' | hraw)
	expect_eq "$(grep -c '^HTTP/1.1 200 OK' <<<"$r")" 1 "/metrics, then a head of 8.5 KB"
	expect_contains "$r" "HTTP/1.1 431 Request Header Fields Too Large"
}

# A request line or header line out of HTTP's grammar (RFC 9112) got no
# answer: nng's server closed the connection without a word on "GET
# /metrics" (no version), on a line "Xy" or one holding a control byte, and
# on "Transfer-Encoding:<tab>chunked"; after a line folded onto the one
# before it waited, the client too, for a body the guard kept back. Each is
# refused in JSON, saying why, and the connection closed; a call in such a
# request's body does not run.
test_a_head_out_of_the_grammar_is_refused_saying_why() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local body='{"name":"gram"}' r line
	while IFS='|' read -r want line; do
		r=$(printf "POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n$line\r\nContent-Length: 15\r\n\r\n$body" | hraw)
		expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "$want" "a line '$line': $r"
		expect_contains "$r" "Connection: close"
		[ "$(sed '1,/^\r$/d' <<<"$r" | jq -r .code)" = 3 ] || fail "not JSON: $r"
	done <<'LINES'
HTTP/1.1 400 Bad Request|X: y\r\n folded: on
HTTP/1.1 400 Bad Request|Xy
HTTP/1.1 400 Bad Request|X y: 1
HTTP/1.1 400 Bad Request|X : 1
HTTP/1.1 400 Bad Request|: v
HTTP/1.1 400 Bad Request|X: a\001b
HTTP/1.1 400 Bad Request|X: a\rb
HTTP/1.1 400 Bad Request|Authorization: Bearer \303\251
HTTP/1.1 411 Length Required|Transfer-Encoding:\tchunked
HTTP/1.1 411 Length Required|transfer-encoding: identity
LINES
	expect_contains "$r" "the body must be sent with Content-Length"
	while IFS='|' read -r want line; do
		r=$(printf "$line\r\nHost: localhost\r\nContent-Length: 15\r\n\r\n$body" | hraw)
		expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "$want" "a request line '$line': $r"
		[ "$(sed '1,/^\r$/d' <<<"$r" | jq -r .code)" = 3 ] || fail "not JSON: $r"
	done <<'LINES'
HTTP/1.1 400 Bad Request|POST /v1/ProjectService/Create
HTTP/1.1 400 Bad Request|POST /v1/ProjectService/Create  HTTP/1.1
HTTP/1.1 400 Bad Request|POST /v1/ProjectService/Create HTTP/1.1 x
HTTP/1.1 400 Bad Request|POST /v1/Project\001Service/Create HTTP/1.1
HTTP/1.1 505 HTTP Version Not Supported|POST /v1/ProjectService/Create HTTP/2.0
HTTP/1.1 505 HTTP Version Not Supported|POST /v1/ProjectService/Create HTTP/1.2
LINES
	expect_contains "$r" "only HTTP/1.1 and HTTP/1.0 are served"
	expect_eq "$(project_names)" "" "projects after the requests refused"
	# a HEAD refused so has its head alone; HTTP/1.0 passes
	r=$(printf 'HEAD / HTTP/1.1\r\nHost: localhost\r\nXy\r\n\r\n' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "HEAD: $r"
	expect_not_contains "$r" "header line" "the body of the reply to a HEAD"
	r=$(printf 'GET /metrics HTTP/1.0\r\nX-A: b c\r\n\r\n' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "HTTP/1.0: ${r:0:200}"
}

# A tab is a blank in a header line as a space is (RFC 9112), but nng's
# server closed the connection without a reply on a header holding one
# ("Content-Type:<tab>application/json"). Such a request is served.
test_a_tab_in_a_header_line_is_served_as_a_space() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost:\tlocalhost\r\nContent-Type:\tapplication/json\t\r\nContent-Length: 12\r\nX-A: b\tc\r\nConnection: close\r\n\r\n{"name":"t"}' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "tabs in header lines: $r"
	expect_eq "$(project_names)" t
}

# A client may send an empty line after a request's body, and a server
# should skip empty lines before a request (RFC 9112, 2.2): the request
# after one was answered 400 and its connection closed. It is served.
test_empty_lines_before_a_request_are_skipped() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"name":"e"}\r\n\r\n\nGET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$r" | tr '\n' ' ')" "HTTP/1.1 200 HTTP/1.1 200 " \
		"a call, empty lines, then GET /metrics: ${r:0:400}"
	expect_contains "$r" "whatsnext_build_info"
	expect_eq "$(project_names)" e
}

# A browser sends the cookies of every site on the host (not on its port),
# and one may hold UTF-8: nng's server closed the connection without a
# reply on it, and the dashboard could not reach wnd. wnd reads no cookie:
# a Cookie line is not passed on, and the request is served.
test_a_cookie_holding_utf8_does_not_stop_a_request() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local r
	r=$(printf 'POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nCookie: lang=fran\303\247ais; a=b\r\nContent-Type: application/json\r\nContent-Length: 12\r\ncookie: x=\342\202\254\r\n\r\n{"name":"c"}GET / HTTP/1.1\r\nHost: localhost\r\nCookie: k=\303\251\r\nConnection: close\r\n\r\n' | hraw)
	expect_eq "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$r" | tr '\n' ' ')" "HTTP/1.1 200 HTTP/1.1 200 " \
		"a call and a GET with UTF-8 cookies: ${r:0:300}"
	expect_eq "$(project_names)" c
	# UTF-8 elsewhere is still refused, saying why
	r=$(printf 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Lang: fran\303\247ais\r\n\r\n' | hraw)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "UTF-8 in X-Lang: $r"
}
