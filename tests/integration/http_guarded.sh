# The HTTP listener is reached through its guard alone (docs/http.md,
# "Limits"): nng's server behind it listens on a loopback port of its own,
# which takes no connection but the guard's.
source "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"

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
		expect_eq "$(cat direct.out)" "no answer" "a request sent to port $p, not the guard's $port"
	done
	# the guard's own connections go on being served, one after another
	local i out=
	for i in 1 2 3 4 5; do
		out+=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' \
			"$WN_HTTP/v1/ProjectService/List")
	done
	expect_eq "$out" "{}{}{}{}{}" "calls through the guard"
	expect_not_contains "$(cat "$WN_TMP/wnd.log")" "cannot limit"
}
