# Who may call the HTTP listener (docs/http.md): tokens as "Authorization:
# Bearer", roles as over SP, /metrics behind a token; CORS: preflight and
# calls from allowed origins, refused ones changing nothing; https with the
# TLS settings; the secure default for a network address.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

ADMIN_SECRET=admin-secret-for-the-http-tests-012345

# code_of URL [curl args...]: the HTTP status of a POST of {} to URL.
code_of() {
	local url=$1
	shift
	curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
		"$url" "$@"
}

# denied_call METHOD BODY: POST BODY to METHOD with $READER's token; fails
# unless it is refused 403, code 7.
denied_call() {
	local st
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $READER" --data-binary "$2" "$WN_HTTP/v1/$1")
	expect_eq "$st" 403 "$1 by a reader ($(<reply))"
	expect_eq "$(jq -r .code reply)" 7 "$1's code"
}

test_audit_line_of_a_call_refused_for_its_role_names_its_target() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	READER=$(wnctl token create r1 --role reader 2>/dev/null)
	# over HTTP as over SP: the refused call's line says what it named
	denied_call TokenService/Revoke '{"name":"bootstrap"}'
	wnctl project create p >/dev/null
	denied_call ProjectService/Delete '{"name":"p"}'
	expect_exit 8 env WN_TOKEN="$READER" "$WN_BIN/wnctl" token revoke bootstrap --yes
	# a body that is not JSON is refused for the role all the same, with no target
	denied_call ProjectService/Delete '{"name":'
	# a body past 64 KiB is refused before it is read
	printf '{"name":"bootstrap","pad":"%070000d"}' 0 >big.json
	denied_call TokenService/Revoke @big.json
	expect_eq "$(project_names)" "p" "projects"
	python3 - data/audit.log <<'EOF' || fail "audit log: $(<data/audit.log)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
got = [(l["token"], l["method"], l["target"], l["result"]) for l in lines]
want = [
    ("bootstrap", "TokenService/Create", "token=r1", "OK"),
    ("r1", "TokenService/Revoke", "token=bootstrap", "PERMISSION_DENIED"),
    ("bootstrap", "ProjectService/Create", "project=p", "OK"),
    ("r1", "ProjectService/Delete", "project=p", "PERMISSION_DENIED"),
    ("r1", "TokenService/Revoke", "token=bootstrap", "PERMISSION_DENIED"),
    ("r1", "ProjectService/Delete", "", "PERMISSION_DENIED"),
    ("r1", "TokenService/Revoke", "", "PERMISSION_DENIED"),
]
assert got == want, got
assert lines[1]["role"] == "reader" and "needs role admin" in lines[1]["message"]
assert lines[1]["message"] == lines[4]["message"], (lines[1], lines[4])
EOF
}

test_tokens_and_roles_over_http() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	local reader
	reader=$(wnctl token create r1 --role reader 2>/dev/null)
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List")" 401 "no token"
	expect_eq "$(jq -r .code reply)" 16
	[ -n "$(jq -r .message reply)" ] || fail "a 401 without a message"
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List" -H 'Authorization: Bearer nope')" 401
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List" -H "Authorization: Basic $ADMIN_SECRET")" 401
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List" -H "Authorization: Bearer $ADMIN_SECRET")" 200
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List" -H "Authorization: Bearer $reader")" 200
	# a reader may not create: 403, and nothing is made
	local st
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $reader" -d '{"name":"nope"}' "$WN_HTTP/v1/ProjectService/Create")
	expect_eq "$st" 403 "a reader creating a project ($(<reply))"
	expect_eq "$(jq -r .code reply)" 7
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $ADMIN_SECRET" -d '{"name":"yes"}' \
		"$WN_HTTP/v1/ProjectService/Create")
	expect_eq "$st" 200 "the admin creating a project"
	expect_eq "$(project_names)" yes
	# the audit log names the HTTP caller as it does an SP one
	grep -q '"token":"r1"' data/audit.log 2>/dev/null ||
		grep -q 'r1' "${WN_TMP}/data/audit.log" || fail "the refused call is not in the audit log"
	# /metrics wants a token too; the dashboard's files do not (they hold no data)
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$WN_HTTP/metrics")" 401
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $reader" \
		"$WN_HTTP/metrics")" 200
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$WN_HTTP/")" 200
	# the metrics name every project: a token limited to some, or a
	# worker's, is refused them
	local limited worker
	limited=$(wnctl token create u2 --role user --project yes 2>/dev/null)
	worker=$(wnctl token create w2 --role worker 2>/dev/null)
	expect_eq "$(curl -s -o reply -w '%{http_code}' -H "Authorization: Bearer $limited" \
		"$WN_HTTP/metrics")" 403 "a project-limited token's metrics"
	expect_eq "$(jq -r .code reply)" 7
	expect_not_contains "$(<reply)" 'project="yes"'
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $worker" \
		"$WN_HTTP/metrics")" 403 "a worker token's metrics"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_SECRET" \
		"$WN_HTTP/metrics")" 200
	# a revoked token is refused at once
	wnctl token revoke r1 >/dev/null
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/List" -H "Authorization: Bearer $reader")" 401
	# a method that does not exist, as over SP: nothing but 401 without a
	# valid token (not which methods there are); 404 with one
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/Nope")" 401 "an unknown method without a token"
	expect_eq "$(jq -r .message reply)" "this server requires a token"
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/Nope" -H "Authorization: Bearer $reader")" \
		401 "an unknown method with a revoked token"
	expect_eq "$(code_of "$WN_HTTP/v1/Nope" -H "Authorization: Basic eDp5")" 401 \
		"an unknown path with a header that is not a bearer token"
	expect_eq "$(code_of "$WN_HTTP/v1/ProjectService/Nope" -H "Authorization: Bearer $limited")" \
		404 "an unknown method with a valid token"
}

test_a_request_id_answers_only_its_own_caller() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	wnctl project create a >/dev/null
	wnctl project create b >/dev/null
	wnctl task create a t >/dev/null
	wnctl task create b t >/dev/null
	local user st
	user=$(wnctl token create u1 --role user --project a 2>/dev/null)
	submit() { # TOKEN PROJECT ID [SECRET-PARAM]
		curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $1" -H "X-Request-Id: $3" \
			-d "{\"job\":{\"project\":\"$2\",\"task\":\"t\",\"params\":{\"k\":\"${4:-v}\"}}}" \
			"$WN_HTTP/v1/JobService/Submit"
	}
	batch() { # TOKEN PROJECT ID
		curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $1" -H "X-Request-Id: $3" \
			-d "{\"jobs\":[{\"project\":\"$2\",\"task\":\"t\"}]}" \
			"$WN_HTTP/v1/JobService/SubmitBatch"
	}
	expect_eq "$(submit "$ADMIN_SECRET" b 77 admin-only-secret)" 200
	local first
	first=$(jq -r .job.id reply)
	# another token with the same id gets neither the reply nor a job
	st=$(submit "$user" a 77)
	expect_eq "$st" 400 "the same id from another token ($(<reply))"
	expect_contains "$(jq -r .message reply)" "another caller"
	expect_not_contains "$(<reply)" admin-only-secret
	# the first caller's retry is still answered from the first execution
	expect_eq "$(submit "$ADMIN_SECRET" b 77 admin-only-secret)" 200
	expect_eq "$(jq -r .job.id reply)" "$first"
	expect_eq "$(batch "$ADMIN_SECRET" b 78)" 200
	expect_eq "$(batch "$user" a 78)" 400
	# and after a restart, from the stored replies
	wn_stop
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	expect_eq "$(submit "$user" a 77)" 400 "after a restart ($(<reply))"
	expect_not_contains "$(<reply)" admin-only-secret
	expect_eq "$(batch "$user" a 78)" 400 "a batch's id after a restart ($(cat reply))"
	expect_eq "$(submit "$ADMIN_SECRET" b 77 admin-only-secret)" 200
	expect_eq "$(jq -r .job.id reply)" "$first"
	expect_eq "$(wnctl --json job list --all | jq '.jobs | length')" 2
	# a token made later under a revoked token's name is another caller
	expect_eq "$(submit "$user" a 79 user-only-secret)" 200
	wnctl token revoke u1 >/dev/null
	local again
	again=$(wnctl token create u1 --role user --project b 2>/dev/null)
	st=$(submit "$again" b 79)
	expect_eq "$st" 400 "the id of a revoked token of the same name ($(<reply))"
	expect_contains "$(jq -r .message reply)" "another caller"
	expect_not_contains "$(<reply)" user-only-secret
	wn_stop
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	expect_eq "$(submit "$again" b 79)" 400 "a revoked name's id after a restart ($(cat reply))"
	expect_not_contains "$(<reply)" user-only-secret
	expect_eq "$(wnctl --json job list --all | jq '.jobs | length')" 3
}

test_cors_allowed_and_refused() {
	cat >wnd.yaml <<'EOF'
http_cors_origins: [https://app.example.org]
EOF
	wn_start --config wnd.yaml --http 127.0.0.1:0
	wn_http_url
	local url=$WN_HTTP/v1/ProjectService/Create
	# preflight from an allowed origin
	curl -s -D hdrs -o /dev/null -X OPTIONS "$url" -H 'Origin: https://app.example.org' \
		-H 'Access-Control-Request-Method: POST' \
		-H 'Access-Control-Request-Headers: authorization, content-type'
	expect_contains "$(head -1 hdrs)" 204
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Origin: https://app.example.org"
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Methods: POST"
	expect_contains "$(tr -d '\r' <hdrs | tr A-Z a-z)" "access-control-allow-headers: authorization, content-type"
	# preflight from another: refused, without the header
	curl -s -D hdrs -o /dev/null -X OPTIONS "$url" -H 'Origin: https://evil.example.net' \
		-H 'Access-Control-Request-Method: POST'
	expect_contains "$(head -1 hdrs)" 403
	expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
	# a call from the allowed origin carries the header
	local st
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://app.example.org' -H 'Content-Type: application/json' -d '{"name":"a"}')
	expect_eq "$st" 200
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Origin: https://app.example.org"
	# a call from another origin is refused and changes nothing, even one a
	# browser sends without a preflight (a form's text/plain POST)
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://evil.example.net' -H 'Content-Type: application/json' -d '{"name":"b"}')
	expect_eq "$st" 403
	expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
	st=$(curl -s -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://evil.example.net' -H 'Content-Type: text/plain' -d '{"name":"c"}')
	expect_eq "$st" 403
	# the dashboard's own origin needs no setting
	st=$(curl -s -o reply -w '%{http_code}' -X POST "$url" -H "Origin: $WN_HTTP" \
		-H 'Content-Type: application/json' -d '{"name":"d"}')
	expect_eq "$st" 200 "same origin ($(<reply))"
	expect_eq "$(project_names)" a,d
	wn_stop
	# no origins set: every other origin is refused
	wn_start --http 127.0.0.1:0
	wn_http_url
	st=$(curl -s -D hdrs -o /dev/null -w '%{http_code}' -X OPTIONS "$WN_HTTP/v1/ProjectService/List" \
		-H 'Origin: https://app.example.org' -H 'Access-Control-Request-Method: POST')
	expect_eq "$st" 403
	# an OPTIONS without Origin is no browser's: it was refused 403 "origin
	# not allowed", naming an origin it did not send; it gets the verbs
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X OPTIONS "$WN_HTTP/v1/ProjectService/List")
	expect_eq "$st" 204 "OPTIONS without Origin: $(<reply)"
	expect_contains "$(tr -d '\r' <hdrs)" "Allow: POST, OPTIONS"
	expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
}

test_https_and_the_secure_default() {
	mkdir pki
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
		-keyout pki/srv.key -out pki/srv.pem 2>/dev/null
	# a network address without TLS and tokens is refused before anything is made
	local rc=0
	"$WN_BIN/wnd" --data d2 --listen "ipc://$WN_TMP/x.sock" --http 0.0.0.0:7 >refused.log 2>&1 || rc=$?
	expect_eq "$rc" 1 "wnd with --http on every address: $(<refused.log)"
	expect_contains "$(<refused.log)" "refusing to serve"
	expect_contains "$(<refused.log)" "(serve https:// with tls_cert and tls_key"
	[ ! -e d2 ] || fail "the refused wnd made a data directory"
	# https with the TLS settings
	wn_start --http https://127.0.0.1:0 --tls-cert pki/srv.pem --tls-key pki/srv.key
	wn_http_url
	[[ $WN_HTTP == https://127.0.0.1:* ]] || fail "the https address: $WN_HTTP"
	local st
	st=$(curl -s --cacert pki/srv.pem -o reply -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' -d '{"name":"tls"}' "$WN_HTTP/v1/ProjectService/Create")
	expect_eq "$st" 200 "over https ($(<reply))"
	expect_eq "$(project_names)" tls
	# plain http to it gets no reply; https to it without trusting the CA fails
	curl -s -m 5 -o /dev/null "http://${WN_HTTP#https://}/" && fail "plain http was served"
	curl -s -m 5 -o /dev/null "$WN_HTTP/" && fail "an untrusted certificate was accepted"
	expect_eq "$(curl -s --cacert pki/srv.pem -o /dev/null -w '%{http_code}' "$WN_HTTP/")" 200
	# a missing key is a clear error at start
	wn_stop
	rc=0
	"$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/y.sock" \
		--http https://127.0.0.1:0 >nokey.log 2>&1 || rc=$?
	expect_eq "$rc" 1
	expect_contains "$(<nokey.log)" "https needs tls_cert and tls_key"
}

test_cors_origin_reads_why_its_body_was_refused() {
	cat >wnd.yaml <<'EOF'
http_cors_origins: [https://app.example.org]
EOF
	wn_start --config wnd.yaml --http 127.0.0.1:0
	wn_http_url
	local url=$WN_HTTP/v1/ProjectService/Create st
	# refused by its length before its body is read: the allowed origin's
	# page still gets the header, so the browser lets it read the reason
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://app.example.org' -H 'Content-Type: application/json' \
		-H 'Content-Length: 99999999')
	expect_eq "$st" 413
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Origin: https://app.example.org"
	expect_contains "$(<reply)" "the body is too large"
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://app.example.org' -H 'Content-Type: application/json' \
		-H 'Transfer-Encoding: chunked' -d '{"name":"a"}')
	expect_eq "$st" 411
	expect_contains "$(tr -d '\r' <hdrs)" "Access-Control-Allow-Origin: https://app.example.org"
	# another origin gets no header
	st=$(curl -s -D hdrs -o reply -w '%{http_code}' -X POST "$url" \
		-H 'Origin: https://evil.example.net' -H 'Content-Type: application/json' \
		-H 'Content-Length: 99999999')
	expect_eq "$st" 413
	expect_not_contains "$(<hdrs)" "Access-Control-Allow-Origin"
	# the refusals of the guard, before nng's server, carry it too (they
	# had none): 400 for an escape, 431 for a head too long or of too many
	# lines, the Origin read from the lines come whole
	local r many big
	many=$(printf 'a:\\r\\n%.0s' {1..120})
	big=$(printf 'b%.0s' {1..9000})
	for o in https://app.example.org https://evil.example.net; do
		for req in "POST /v1/ProjectService/Create%%41 HTTP/1.1\r\nHost: localhost\r\nOrigin: $o\r\n\r\n" \
			"POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nOrigin: $o\r\n$many\r\n" \
			"POST /v1/ProjectService/Create HTTP/1.1\r\nHost: localhost\r\nOrigin: $o\r\nCookie: $big\r\n\r\n"; do
			r=$(printf "$req" | hraw)
			[[ $r == "HTTP/1.1 4"[03]* ]] || fail "a refusal of the guard: ${r:0:200}"
			if [ "$o" = https://app.example.org ]; then
				expect_contains "$r" "Access-Control-Allow-Origin: $o"$'\r' "${r:0:200}"
				expect_contains "$r" "Vary: Origin"
			else
				expect_not_contains "$r" "Access-Control-Allow-Origin" "${r:0:200}"
			fi
		done
	done
	# wnd's own origin (the dashboard's) needs none, as in its other replies
	r=$(printf "GET /%%41 HTTP/1.1\r\nHost: ${WN_HTTP#http://}\r\nOrigin: $WN_HTTP\r\n\r\n" | hraw)
	expect_contains "$r" "HTTP/1.1 400"
	expect_not_contains "$r" "Access-Control-Allow-Origin"
	expect_eq "$(wnctl --json project list | jq ".projects | length")" 0 "projects made"
	wn_stop
}

# A 401 names the scheme a client should answer with (RFC 9110): every one
# carries "WWW-Authenticate: Bearer", not those of /metrics alone.
test_every_401_asks_for_a_bearer_token() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token --http 127.0.0.1:0
	wn_http_url
	local revoked what args
	revoked=$(wnctl token create gone --role reader 2>/dev/null)
	wnctl token revoke gone --yes >/dev/null
	while IFS='|' read -r what args; do
		local -a a=()
		[ -z "$args" ] || a=(-H "$args")
		curl -s -D head -o reply -X POST -H 'Content-Type: application/json' -d '{}' "${a[@]}" \
			"$WN_HTTP/v1/ProjectService/List"
		expect_eq "$(head -1 head | cut -d' ' -f2)" 401 "$what: $(<reply)"
		expect_contains "$(tr -d '\r' <head)" "WWW-Authenticate: Bearer" "$what"
	done <<HDRS
no token|
an unknown token|Authorization: Bearer nope
a revoked token|Authorization: Bearer $revoked
another scheme|Authorization: Basic eDp5
HDRS
	curl -s -D head -o reply -X POST -H 'Content-Type: application/json' -d '{}' \
		"$WN_HTTP/v1/ProjectService/Nope"
	expect_eq "$(head -1 head | cut -d' ' -f2)" 401 "an unknown method without a token"
	expect_contains "$(tr -d '\r' <head)" "WWW-Authenticate: Bearer" "an unknown method"
	curl -s -D head -o reply "$WN_HTTP/metrics"
	expect_contains "$(tr -d '\r' <head)" "WWW-Authenticate: Bearer" "/metrics"
	# a 200 or a 403 asks for nothing
	curl -s -D head -o reply -X POST -H 'Content-Type: application/json' -d '{}' \
		-H "Authorization: Bearer $ADMIN_SECRET" "$WN_HTTP/v1/ProjectService/List"
	expect_not_contains "$(<head)" "WWW-Authenticate"
}
