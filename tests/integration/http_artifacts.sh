# A job's artifacts over HTTP (docs/http.md, "Artifacts"): GET
# /artifacts/JOB/PATH sends the file as curl and browsers download it, a
# range of it to resume a download cut short.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# art_job [wnd args...]: start wnd with HTTP and run one job whose artifacts
# are out/model.bin (3,000,000 random bytes), out/empty.bin and
# out/a b.txt; its id in ART_ID, the model's copy in model.bin.
art_job() {
	wn_start --http 127.0.0.1:0 "$@"
	wn_http_url
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<YAML
tasks:
  t:
    command: [/bin/sh, -c, 'mkdir -p out && head -c 3000000 /dev/urandom >out/model.bin &&
              : >out/empty.bin && echo hi >"out/a b.txt" && d=out/\$(printf %0200d 0) &&
              mkdir -p \$d/\$(printf %0200d 1) && echo deep >\$d/\$(printf %0200d 1)/\$(printf %0200d 2)']
    workdir: "$WN_TMP/wd/{job.id}"
    artifacts:
      paths: [out]
      upload: true
YAML
	} >w.yaml
	ART_ID=$(wnctl job add p t)
	mkdir -p "wd/$ART_ID"
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	expect_eq "$(job_get "$ART_ID" "j['status']")" completed "the job's status"
	cp "wd/$ART_ID/out/model.bin" model.bin
}

# get URL [curl args...]: GET URL into body, its head into hdrs; prints the status.
get() {
	local url=$1
	shift
	: >body
	curl -s -o body -D hdrs -w '%{http_code}' "$@" "$url"
}

test_an_artifact_is_downloaded_whole_and_resumed() {
	art_job
	local url=$WN_HTTP/artifacts/$ART_ID/out/model.bin sum
	sum=$(sha256sum model.bin | cut -d' ' -f1)
	expect_eq "$(get "$url")" 200 "the whole file"
	cmp body model.bin || fail "the file downloaded differs"
	tr -d '\r' <hdrs >h
	expect_contains "$(<h)" "Content-Length: 3000000"
	expect_contains "$(<h)" "ETag: \"$sum\""
	expect_contains "$(<h)" "Accept-Ranges: bytes"
	expect_contains "$(<h)" "Content-Disposition: attachment; filename*=UTF-8''model.bin"
	expect_contains "$(<h)" "Content-Security-Policy: sandbox"
	# curl -C - resumes a download cut short, and gets the rest alone
	head -c 1234567 model.bin >part.bin
	curl -s -C - -o part.bin -D hdrs "$url"
	cmp part.bin model.bin || fail "the resumed file differs"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes 1234567-2999999/3000000"
	expect_eq "$(get "$url" -H 'Range: bytes=-10')" 206 "the last 10 bytes"
	cmp body <(tail -c 10 model.bin) || fail "the last 10 bytes differ"
	expect_eq "$(get "$url" -H 'Range: bytes=262140-524300')" 206 "a range over two chunks"
	cmp body <(tail -c +262141 model.bin | head -c 262161) || fail "the range differs"
	expect_eq "$(get "$url" -H 'Range: bytes=3000000-')" 416 "past the end"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes */3000000"
	expect_eq "$(get "$url" -H 'Range: bytes=0-9' -H "If-Range: \"$sum\"")" 206 "If-Range: its tag"
	expect_eq "$(get "$url" -H 'Range: bytes=0-9' -H 'If-Range: "0"')" 200 "If-Range: another"
	cmp body model.bin || fail "the whole file for another If-Range"
	expect_eq "$(get "$url" -H "If-None-Match: \"$sum\"")" 304 "If-None-Match"
	expect_eq "$(get "$url" -H 'If-Match: "0"')" 412 "If-Match of another"
	# a HEAD says what a GET would send, without it; its Range is ignored
	expect_eq "$(get "$url" -I -H 'Range: bytes=0-9')" 200 "HEAD"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Length: 3000000"
	cmp -s body hdrs || fail "a HEAD had a body (curl -I writes the head alone)"
	# an empty file; a name that needs escaping in Content-Disposition
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID/out/empty.bin")" 200 "an empty file"
	expect_eq "$(wc -c <body)" 0 "an empty file's bytes"
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID/out/empty.bin" -H 'Range: bytes=0-')" 416 \
		"a range of an empty file"
	expect_contains "$(tr -d '\r' <hdrs)" "Content-Range: bytes */0"
	# a name that needs escaping: no path may hold an escape (the guard
	# refuses them), so it is named, escaped, in ?path=
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID/out/a%20b.txt")" 400 "an escape in the path"
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID?path=out%2Fa%20b.txt" -H 'Range: bytes=1-')" 206 \
		"?path= escaped"
	expect_eq "$(<body)" "$(printf 'i\n')" "the file named in ?path="
	expect_contains "$(tr -d '\r' <hdrs)" "filename*=UTF-8''a%20b.txt"
	local q
	for q in 'path=out/a%2' 'path=%00' 'path=%zz'; do
		expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID?$q")" 400 "?$q"
		expect_contains "$(<body)" "the path parameter must be"
	done
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID?path=")" 404 "?path= empty"
	# a path of 617 bytes, as long as an artifact's may be
	local deep
	deep=out/$(printf %0200d 0)/$(printf %0200d 1)/$(printf %0200d 2)
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID/$deep")" 200 "a long path"
	expect_eq "$(<body)" deep "the file of a long path"
	# after a download the connection serves the next request
	local out
	out=$(printf "GET /artifacts/$ART_ID/out/model.bin HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-299999\r\n\r\nHEAD /artifacts/$ART_ID/out/model.bin HTTP/1.1\r\nHost: localhost\r\n\r\nGET /favicon.svg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" | hraw | tr -d '\0' | grep -a -o 'HTTP/1.1 [0-9]*' | tr '\n' ' ')
	expect_eq "$out" "HTTP/1.1 206 HTTP/1.1 200 HTTP/1.1 200 " "three replies on one connection"
	# what names no artifact
	expect_eq "$(get "$WN_HTTP/artifacts/$ART_ID/out/none")" 404 "no such artifact"
	expect_eq "$(get "$WN_HTTP/artifacts/999/out/model.bin")" 404 "no such job"
	local p
	for p in "artifacts/$ART_ID" "artifacts/$ART_ID/" "artifacts/x/out/model.bin" "artifacts/"; do
		expect_eq "$(get "$WN_HTTP/$p")" 404 "/$p"
		expect_contains "$(<body)" "GET /artifacts/JOB/PATH"
	done
	expect_eq "$(get "$url" -X DELETE)" 405 "DELETE"
	# as a hostile client asks: a path that climbs (the name is looked up
	# among the job's artifacts, no file is opened by it), numbers past
	# 2^64, a thousand ranges (served whole: never one part per range)
	for p in "artifacts/$ART_ID/../$ART_ID/out/model.bin" "artifacts/$ART_ID/./out/model.bin" \
		"artifacts/$ART_ID//out/model.bin" "artifacts/$ART_ID/out/model.bin/"; do
		expect_eq "$(get "$WN_HTTP/$p" --path-as-is)" 404 "/$p"
	done
	expect_eq "$(get "$WN_HTTP/artifacts/99999999999999999999999/out/model.bin")" 404 \
		"a job id past 2^64"
	expect_eq "$(get "$url" -H 'Range: bytes=99999999999999999999999-')" 416 "a first byte past 2^64"
	expect_eq "$(get "$url" -H 'Range: bytes=-99999999999999999999999')" 206 "the last 2^64 and more"
	cmp body model.bin || fail "the last 2^64 bytes and more are the whole file"
	expect_eq "$(get "$url" -H "Range: bytes=0-0$(printf ',1-1%.0s' $(seq 1000))")" 200 \
		"a thousand ranges"
	cmp body model.bin || fail "a thousand ranges: the whole file"
	wn_stop
}

# A download's client that reads slowly, stops reading, or goes away in the
# middle holds no other client up: wnd sends a chunk at a time as the
# client takes it, other downloads and calls are answered meanwhile, and a
# SIGTERM ends wnd with such a download under way.
test_slow_and_vanishing_downloaders_hold_no_one_up() {
	art_job
	local port=${WN_HTTP##*:} url=$WN_HTTP/artifacts/$ART_ID/out/model.bin
	python3 - "$port" "$ART_ID" >slow.out <<'PY' &
import socket, sys, time
port, job = int(sys.argv[1]), sys.argv[2]
req = ("GET /artifacts/%s/out/model.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" % job).encode()
gone = []
for i in range(20):  # clients that read a little and go away
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.recv(1000)
    s.close()
held = []
for i in range(60):  # clients that stop reading, or never read
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req if i % 3 else req.replace(b"\r\n\r\n", b"\r\nRange: bytes=100-\r\n\r\n"))
    held.append(s)
ok = all(len(s.recv(10)) > 0 for s in held[:30])
for s in held[30:45]:  # gone in the middle
    s.close()
print(ok, flush=True)
sys.stdin.read()  # until the test is done
PY
	local slow=$!
	WN_PIDS+=("$slow")
	wait_until 10 "the slow reader's first bytes" grep -q True slow.out
	expect_eq "$(get "$url")" 200 "a download beside them"
	cmp body model.bin || fail "the download beside them differs"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{}' "$WN_HTTP/v1/ProjectService/List")" 200 "a call beside them"
	wn_stop # with the held downloads under way (under the sanitizers: nothing leaked)
	kill "$slow" 2>/dev/null || true
}

# Once wnd has tokens a download needs one that may read the job, as
# JobService/GetArtifact does; the token goes in the Authorization header.
test_an_artifact_download_needs_a_token() {
	local secret=wn_admin_0123456789abcdef0123456789abcdef
	printf '%s\n' "$secret" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$secret
	printf 'http_cors_origins: [https://app.example.org]\n' >wnd.yaml
	art_job --admin-token-file "$WN_TMP/admin.token" --config "$WN_TMP/wnd.yaml"
	local url=$WN_HTTP/artifacts/$ART_ID/out/model.bin
	expect_eq "$(get "$url")" 401 "without a token"
	expect_contains "$(tr -d '\r' <hdrs)" "WWW-Authenticate: Bearer"
	expect_not_contains "$(<body)" "$(head -c 8 model.bin)"
	expect_eq "$(get "$url" -H 'Authorization: Bearer wrong')" 401 "an unknown token"
	expect_eq "$(get "$url" -H 'Authorization: Basic eDp5')" 401 "not a bearer token"
	expect_eq "$(get "$url" -H "Authorization: Bearer $secret" \
		-H 'Range: bytes=5-')" 206 "with the token"
	cmp body <(tail -c +6 model.bin) || fail "the range with the token differs"
	# a page of an allowed origin reads the reply and the headers of its range
	expect_eq "$(get "$url" -H "Authorization: Bearer $secret" -H 'Range: bytes=0-9' \
		-H 'Origin: https://app.example.org')" 206 "from an allowed origin"
	tr -d '\r' <hdrs >h
	expect_contains "$(<h)" "Access-Control-Allow-Origin: https://app.example.org"
	expect_contains "$(<h)" "Access-Control-Expose-Headers: Content-Disposition, Content-Range, ETag"
	expect_eq "$(get "$url" -H "Authorization: Bearer $secret" \
		-H 'Origin: https://evil.example.net')" 200 "from another origin"
	expect_not_contains "$(<hdrs)" "Access-Control-"
	wn_stop
}

# A SIGTERM while downloads are under way, some of their clients reading,
# some not, some gone: wnd stops cleanly. It left nng's hold on its handler
# behind (the sanitizers' leak check failed at exit), the downloads being
# cut by nng's stop rather than ended by wnd before it.
test_a_sigterm_with_downloads_under_way_stops_cleanly() {
	art_job
	python3 - "${WN_HTTP##*:}" "$ART_ID" >held.out <<'PY' &
import socket, sys
port, job = int(sys.argv[1]), sys.argv[2]
req = ("GET /artifacts/%s/out/model.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" % job).encode()
cs = []
for i in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req if i % 3 else req.replace(b"\r\n\r\n", b"\r\nRange: bytes=100-\r\n\r\n"))
    cs.append(s)
ok = all(len(s.recv(10)) > 0 for s in cs[:30])
for s in cs[30:45]:
    s.close()
print(ok, flush=True)
sys.stdin.read()
PY
	local held=$!
	WN_PIDS+=("$held")
	wait_until 10 "the downloads under way" grep -q True held.out
	wn_stop
	expect_contains "$(<"$WN_TMP/wnd.log")" "stopped cleanly"
	kill "$held" 2>/dev/null || true
}
