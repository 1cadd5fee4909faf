# The HTTP listener on https:// (docs/http.md, "HTTPS" and "Limits"): wnd's
# guard ends TLS itself, so what holds on http:// holds here too: a
# percent-escape in a path is refused (thousands of them crashed nng 1.5.2's
# server), a head or a TLS handshake that does not end is closed, connections
# past the limit wait; client certificates are asked for and checked as the
# settings say; and hostile TLS clients (garbage for a ClientHello, a
# renegotiation, handshakes cut short, many at once) leave wnd serving.
# Certificates from openssl, clients from python3's ssl, curl and openssl.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/pki_lib.sh"

# https_start [wnd args...]: wnd on https://127.0.0.1:0 with a certificate of
# the test's CA (pki/ca.pem, which signs the client certificate pki/client.pem
# too; pki/stranger.pem is of another CA); WN_HTTP its address.
https_start() {
	mkdir -p pki
	pki_ca ca
	pki_ca otherca
	pki_cert server ca "DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
	pki_cert client ca "DNS:worker1"
	pki_cert stranger otherca "DNS:worker2"
	wn_start --http https://127.0.0.1:0 --tls-cert pki/server.pem --tls-key pki/server.key "$@"
	wn_http_url
	[[ $WN_HTTP == https://127.0.0.1:* ]] || fail "the https address: $WN_HTTP"
}

# hcurl ARGS...: curl trusting the test's CA.
hcurl() { curl -s -m 20 --cacert pki/ca.pem "$@"; }

# A request in absolute form names its scheme: on https, an http:// URI
# names another listener than this one and is refused saying so (it was
# served); an https:// one is served as its path.
test_https_refuses_an_http_uri() {
	https_start
	local r
	r=$(printf 'GET http://localhost/metrics HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw pki/ca.pem)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "GET http://localhost/metrics: $r"
	expect_contains "$r" '"message":"an http:// URI is not served on this listener, which is https (TLS): use https://"'
	expect_not_contains "$r" "whatsnext_build_info"
	r=$(printf 'GET HTTPS://localhost/metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | hraw pki/ca.pem)
	expect_eq "$(head -1 <<<"$r" | tr -d '\r')" "HTTP/1.1 200 OK" "GET HTTPS://localhost/metrics: ${r:0:300}"
	expect_contains "$r" "whatsnext_build_info"
}

# A path ending in a percent-escape is refused over https too, and thousands
# of them leave wnd serving (nng's server, which served https itself,
# decoded them past the end of its copy of the path).
# test-tier: long
test_https_refuses_escaped_paths_and_wnd_lives() {
	https_start
	local r
	r=$(printf 'GET /v1/JobService/Get%%41 HTTP/1.1\r\nHost: localhost\r\n\r\n' | hraw pki/ca.pem)
	expect_eq "$(head -1 <<<"$r" | cut -d' ' -f2)" 400 "a path ending in an escape: $r"
	expect_contains "$r" "a percent-escape in the path is not served"
	# two clients, 2000 connections each
	local i
	for i in 1 2; do
		python3 - "${WN_HTTP##*:}" <<'PY' >"hammer$i.out" &
import socket, ssl, sys
port, codes = int(sys.argv[1]), {}
ctx = ssl.create_default_context(cafile="pki/ca.pem")
for path in [b"/v1/JobService/Get%41", b"/%41", b"/index.html#%2", b"http://localhost/x%41"] * 500:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                        server_hostname="127.0.0.1")
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    line = s.recv(4096).split(b"\r\n")[0].decode()
    codes[line] = codes.get(line, 0) + 1
    s.close()
print(codes)
PY
		WN_PIDS+=("$!")
	done
	wait "${WN_PIDS[-1]}" "${WN_PIDS[-2]}"
	for i in 1 2; do
		expect_eq "$(<"hammer$i.out")" "{'HTTP/1.1 400 Bad Request': 2000}" "client $i"
	done
	kill -0 "$WND_PID" || fail "wnd died"
	expect_eq "$(hcurl -X POST -H 'Content-Type: application/json' -d '{"name":"p"}' \
		"$WN_HTTP/v1/ProjectService/Create" | jq -r .name)" p "a call after them"
	expect_eq "$(project_names)" p
}

# A head that never ends, a connection that never starts its handshake, half
# a ClientHello, and one sent a byte a second: each is closed (nng's server
# held them for ever).
test_https_heads_and_handshakes_that_do_not_end_are_closed() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >slow.out
import socket, ssl, sys, threading, time
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile="pki/ca.pem")
def hello():
    o, i = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()
def closed(s):
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return "closed"
    except socket.timeout:
        return "still open after 40 s"
    except (ConnectionResetError, ssl.SSLError):
        return "closed"
def head(out):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=40),
                        server_hostname="127.0.0.1")
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1")
    out["head"] = closed(s)
def silent(out):
    out["silent"] = closed(socket.create_connection(("127.0.0.1", port), timeout=40))
def half(out):
    s = socket.create_connection(("127.0.0.1", port), timeout=40)
    h = hello()
    s.sendall(h[:len(h) // 2])
    out["half"] = closed(s)
def trickle(out):
    s, t0 = socket.create_connection(("127.0.0.1", port), timeout=40), time.time()
    try:
        for b in hello():
            s.sendall(bytes([b]))
            time.sleep(1)
            if time.time() - t0 > 40:
                out["trickle"] = "still open after 40 s"
                return
        out["trickle"] = "sent whole"
    except OSError:
        s.settimeout(5)
        out["trickle"] = closed(s)
out = {}
ts = [threading.Thread(target=f, args=(out,)) for f in (head, silent, half, trickle)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for k in ("head", "silent", "half", "trickle"):
    print(k, out.get(k))
PY
	expect_eq "$(<slow.out)" "$(printf 'head closed\nsilent closed\nhalf closed\ntrickle closed')" \
		"connections that do not end their head or handshake"
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "$WN_HTTP/metrics")" 200 "then /metrics"
}

# Connections past the limit wait to be accepted until one closes, their
# handshake too, while none of the 256 is idle between requests (these have
# not even begun their handshake).
test_https_connections_past_the_limit_wait_for_room() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >limit.out
import socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile="pki/ca.pem")
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(256)]
late = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3),
                       server_hostname="127.0.0.1", do_handshake_on_connect=False)
try:
    late.do_handshake()
    print("handshake done while 256 were open")
except (socket.timeout, TimeoutError):
    idle.pop().close()
    late.settimeout(20)
    late.do_handshake()
    late.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    print("waited; then", late.recv(64).decode().split("\r\n")[0])
PY
	expect_eq "$(<limit.out)" "waited; then HTTP/1.1 200 OK" "the 257th connection"
}

# tls_client_ca with tls_require_client_cert: a client without a
# certificate of that CA is refused; without the requirement a certificate is
# optional, but one that does not verify is refused.
test_https_client_certificates() {
	printf 'tls_client_ca: %s\ntls_require_client_cert: true\n' "$WN_TMP/pki/ca.pem" >wnd.yaml
	https_start --config wnd.yaml
	local url=$WN_HTTP/v1/ProjectService/List mine=(--cert pki/client.pem --key pki/client.key)
	local theirs=(--cert pki/stranger.pem --key pki/stranger.key)
	hcurl -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$url" &&
		fail "served a client without a certificate"
	hcurl -o /dev/null "${theirs[@]}" "$url" && fail "served a certificate of another CA"
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "${mine[@]}" -X POST \
		-H 'Content-Type: application/json' -d '{}' "$url")" 200 "a client certificate of the CA"
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "${mine[@]}" "$WN_HTTP/")" 200 \
		"the dashboard with a client certificate"
	wn_stop
	printf 'tls_client_ca: %s\n' "$WN_TMP/pki/ca.pem" >wnd.yaml
	wn_start --http https://127.0.0.1:0 --tls-cert pki/server.pem --tls-key pki/server.key \
		--config wnd.yaml
	wn_http_url
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "$WN_HTTP/metrics")" 200 "no certificate"
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "${mine[@]}" "$WN_HTTP/metrics")" 200 \
		"a certificate of the CA"
	hcurl -o /dev/null "${theirs[@]}" "$WN_HTTP/metrics" &&
		fail "served an optional certificate that does not verify"
	return 0
}

# Hostile TLS clients: garbage or plain HTTP for a ClientHello, a
# renegotiation, 200 handshakes cut off halfway, 100 handshakes at once;
# each bad one is closed without a reply, and wnd answers everyone else.
test_https_hostile_tls_clients_leave_wnd_serving() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >hostile.out
import os, socket, ssl, sys, threading
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile="pki/ca.pem")
def answer(s):
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    except (ConnectionResetError, ssl.SSLError):
        return out + b"<reset>"
def raw(data):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(data)
    return answer(s)
def get(path="/metrics"):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                        server_hostname="127.0.0.1")
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    return answer(s).split(b"\r\n")[0].decode()
r = raw(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
print("plain http:", "no reply" if b"HTTP" not in r else r[:40])
r = raw(os.urandom(2048))
print("garbage:", "no reply" if b"HTTP" not in r else r[:40])
r = raw(b"\x16\x03\x01\xff\xff" + os.urandom(300))
print("a record too long:", "no reply" if b"HTTP" not in r else r[:40])
o, i = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(i, o, server_hostname="127.0.0.1")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = o.read()
for n in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello[: 1 + n % (len(hello) - 1)])
    s.close()
codes = {}
lock = threading.Lock()
def one():
    try:
        line = get()
    except Exception as e:  # counted, so that the comparison shows it
        line = type(e).__name__
    with lock:  # the threads' counts added one at a time
        codes[line] = codes.get(line, 0) + 1
ts = [threading.Thread(target=one) for _ in range(100)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("at once:", codes)
PY
	expect_eq "$(<hostile.out)" "$(printf '%s\n' 'plain http: no reply' 'garbage: no reply' \
		'a record too long: no reply' "at once: {'HTTP/1.1 200 OK': 100}")" "hostile clients"
	# a renegotiation is refused: the connection closes, nothing is served on it
	local r
	r=$( (echo R; sleep 1; printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'; sleep 1) |
		timeout 20 openssl s_client -tls1_2 -connect "${WN_HTTP#https://}" -CAfile pki/ca.pem \
			-ign_eof 2>&1)
	expect_contains "$r" "Verify return code: 0 (ok)" "openssl s_client"
	expect_not_contains "$r" "HTTP/1.1 200" "a request after a renegotiation"
	kill -0 "$WND_PID" || fail "wnd died"
	expect_eq "$(hcurl -o /dev/null -w '%{http_code}' "$WN_HTTP/")" 200 "the dashboard after them"
}

# tls_cert used by https:// alone is not "unused" (wnd warned that it was);
# with neither https:// nor tls+tcp:// it is.
test_https_uses_tls_cert_without_a_warning() {
	https_start
	expect_not_contains "$(<wnd.log)" "TLS unused" "wnd's log with https://"
	wn_stop
	wn_start --http 127.0.0.1:0 --tls-cert pki/server.pem --tls-key pki/server.key
	expect_contains "$(<wnd.log)" \
		"tls_cert is set but no listener is tls+tcp:// or https://: TLS unused" "with http://"
}

# The TLS settings are checked at start as for tls+tcp://: a key other users
# may read, a key that is not the certificate's, a file that cannot be read,
# a client certificate required without a CA; nothing is served.
test_https_settings_that_cannot_work_are_refused() {
	https_start
	wn_stop
	local https=(--data d --listen "ipc://$WN_TMP/x.sock" --http https://127.0.0.1:0)
	cp pki/server.key open.key
	chmod 644 open.key
	expect_exit 1 "$WN_BIN/wnd" "${https[@]}" --tls-cert pki/server.pem --tls-key open.key
	expect_contains "$WN_ERR" "tls_key open.key is a private key that other users may read"
	expect_exit 1 "$WN_BIN/wnd" "${https[@]}" --tls-cert pki/server.pem --tls-key pki/client.key
	expect_contains "$WN_ERR" "tls_key pki/client.key is not the key of tls_cert pki/server.pem"
	expect_exit 1 "$WN_BIN/wnd" "${https[@]}" --tls-cert pki/missing.pem --tls-key pki/server.key
	expect_contains "$WN_ERR" "cannot read tls_cert pki/missing.pem"
	expect_exit 1 "$WN_BIN/wnd" "${https[@]}" --tls-cert pki/server.pem --tls-key pki/server.key \
		--tls-client-ca pki/missing.pem
	expect_contains "$WN_ERR" "cannot read tls_client_ca pki/missing.pem"
	printf 'tls_require_client_cert: true\n' >req.yaml
	expect_exit 1 "$WN_BIN/wnd" "${https[@]}" --tls-cert pki/server.pem --tls-key pki/server.key \
		--config req.yaml
	expect_contains "$WN_ERR" "tls_require_client_cert needs tls_client_ca"
	[ ! -e d ] || fail "a refused wnd made a data directory"
}

# 200 clients that send the second flight of their handshake at once (each
# costs wnd a key exchange) do not hold up a call on a kept-alive connection
# until all of them are done: the guard makes a few handshake steps at a
# time, the oldest first, between its other connections' work (it made all
# of them first, a second or more).
test_https_a_burst_of_handshakes_does_not_hold_up_open_connections() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >burst.out
import http.client, select, socket, ssl, sys
port, n = int(sys.argv[1]), 200
ctx = ssl.create_default_context(cafile="pki/ca.pem")
conns = []
for _ in range(n):
    o, i = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(o.read())
    conns.append((s, obj, i, o))
for s, obj, i, o in conns:  # the server's flight, until the client's second one is ready
    while not o.pending:
        i.write(s.recv(65536))
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
c.request("GET", "/metrics")
c.getresponse().read()
flights = [(s, o.read()) for s, obj, i, o in conns]
for s, f in flights:
    s.sendall(f)
c.request("GET", "/metrics")
status = c.getresponse().status
ready, _, _ = select.select([s for s, f in flights], [], [], 0)
print(status, "with", "every" if len(ready) == n else "not every", "handshake done")
PY
	expect_eq "$(<burst.out)" "200 with not every handshake done" "a kept-alive call in the burst"
}

# Requests pipelined on one https connection past 8 KiB of them are each
# answered, in order (nng's server left all but the first ones unanswered),
# past the 64 KiB the guard holds for a connection too.
test_https_pipelined_requests_past_8_kib_are_each_answered() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >pipelined.out
import json, re, socket, ssl, sys
port, n = int(sys.argv[1]), 700
ctx = ssl.create_default_context(cafile="pki/ca.pem")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                    server_hostname="127.0.0.1")
def call(i):
    body = b'{"name":"x%d"}' % i
    return (b"POST /v1/ProjectService/Get HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s"
            % (b"Connection: close\r\n" if i == n - 1 else b"", len(body), body))
s.sendall(b"".join(call(i) for i in range(n)))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ssl.SSLError, ConnectionResetError) as e:
    print("no end:", e)
got, pos = [], 0
while b"\r\n\r\n" in out[pos:]:
    end = out.index(b"\r\n\r\n", pos) + 4
    k = int(re.search(rb"Content-Length: (\d+)", out[pos:end]).group(1))
    got.append(json.loads(out[end:end + k])["message"])
    pos = end + k
print(len(got), "replies,", "in order" if got == ['project "x%d" not found' % i for i in range(n)]
      else "not in order")
PY
	expect_eq "$(<pipelined.out)" "700 replies, in order" "700 pipelined requests over https"
}

# At the limit of 256 connections a new one is served at once, its handshake
# too: the guard closes the one idle longest between requests, never one
# whose handshake or request has not ended, not even one that sent only the
# start of a TLS record (those are closed only by their head's time).
test_https_idle_kept_alive_connections_give_way_to_new_ones() {
	https_start
	python3 - "${WN_HTTP##*:}" <<'PY' >giveway.out
import select, socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile="pki/ca.pem")
call = (b"POST /v1/ProjectService/List HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
def tls(handshake=True):
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                           server_hostname="127.0.0.1", do_handshake_on_connect=handshake)
def reply(s):
    out = b""
    try:
        while not out.endswith(b"\r\n\r\n{}"):
            b = s.recv(4096)
            if not b:
                return "closed"
            out += b
    except (socket.timeout, TimeoutError):
        return "no reply in 30 s"
    except (ConnectionResetError, ssl.SSLError):
        return "closed"
    return out.split(b"\r\n")[0].decode()
def closed(s):
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
class Split:  # a connection whose TLS records go out as the test says
    def __init__(self):
        self.raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.i, self.o = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.i, self.o, server_hostname="127.0.0.1")
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.raw.sendall(self.o.read())
                self.i.write(self.raw.recv(65536))
        self.raw.sendall(self.o.read())
    def record(self, data):
        self.obj.write(data)
        return self.o.read()
    def reply(self):
        out = b""
        while not out.endswith(b"\r\n\r\n{}"):
            try:
                b = self.obj.read(65536)
                if not b:
                    return "closed"
                out += b
            except ssl.SSLWantReadError:
                b = self.raw.recv(65536)
                if not b:
                    return "closed"
                self.i.write(b)
        return out.split(b"\r\n")[0].decode()
split = Split()  # idle longest, then the start of a record of its next request
split.raw.sendall(split.record(call))
print("split:", split.reply())
idle = []
for _ in range(249):
    s = tls()
    s.sendall(call)
    idle.append((s, reply(s)))
print("idle:", {r for s, r in idle})
# sent once the others are open: a record begun may take 10 s to end
rec = split.record(call)
split.raw.sendall(rec[:10])
shaking = [tls(handshake=False) for _ in range(6)]  # no handshake yet
late = tls()
late.sendall(call)
print("a new connection:", reply(late))
print("the one idle longest:", "closed" if closed(idle[0][0]) else "open")
print("the others:", "one closed" if any(closed(s) for s, r in idle[1:]) else "open")
res = set()
for s in shaking:
    try:
        s.do_handshake()
        s.sendall(call)
        res.add(reply(s))
    except (OSError, ssl.SSLError) as e:
        res.add("failed: %s" % type(e).__name__)
print("without a handshake then:", res)
split.raw.sendall(rec[10:])
print("a record half sent then:", split.reply())
PY
	expect_eq "$(<giveway.out)" "$(printf '%s\n' 'split: HTTP/1.1 200 OK' \
		"idle: {'HTTP/1.1 200 OK'}" 'a new connection: HTTP/1.1 200 OK' \
		'the one idle longest: closed' 'the others: open' \
		"without a handshake then: {'HTTP/1.1 200 OK'}" \
		'a record half sent then: HTTP/1.1 200 OK')" "256 connections and a new one"
}
