# TLS: wnd serving tls+tcp:// with certificates this test makes with
# openssl; wnctl, wnworker running real jobs and an independent Python ssl
# client over it; each wrong setup refused with a message that says what is
# wrong (another CA, another name, an expired certificate, plain tcp:// to a
# TLS port and TLS to a plain one, a missing client certificate); and the
# secure default: a network listener without TLS or tokens is refused unless
# --insecure, which is then told to every `wnctl status`. Every address is
# on loopback; the one wildcard listener runs in a network namespace of its
# own that has nothing but loopback.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/pki_lib.sh"

TLS_PEER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/tls_peer.py"

# tls_start CERT [wnd args...]: wnd on tls+tcp://127.0.0.1:PORT with
# pki/CERT.pem as its certificate; WN_SERVER and WN_TLS_CA (our CA) are
# exported for wnctl.
tls_start() {
	local cert=$1
	shift
	TLS_PORT=$(free_port)
	export WN_SERVER=tls+tcp://127.0.0.1:$TLS_PORT WN_TLS_CA=$WN_TMP/pki/ca.pem
	# ready when it says so (a client may not be able to connect, by design)
	"$WN_BIN/wnd" --listen "$WN_SERVER" --data "$WN_TMP/data" --tls-cert "pki/$cert.pem" \
		--tls-key "pki/$cert.key" "$@" >>"$WN_TMP/wnd.log" 2>&1 &
	WND_PID=$!
	WN_PIDS+=("$WND_PID")
	WN_PAUSE_MS=0
	until grep -q "listening on $WN_SERVER" wnd.log; do
		kill -0 "$WND_PID" 2>/dev/null || { cat wnd.log >&2; fail "wnd exited during start"; }
		wn_poll_pause
	done
}

# worker_yaml PROJECT [TLS LINES...]: a worker config running `echo` jobs,
# each further argument a line under `tls:`.
worker_yaml() {
	worker_head "$1"
	shift
	if [ $# -gt 0 ]; then
		echo "tls:"
		printf '  %s\n' "$@"
	fi
	cat <<EOF
tasks:
  say:
    command: [echo, "said {word}"]
EOF
}

test_wnctl_and_wnworker_run_jobs_over_tls() {
	pki_make
	tls_start server
	expect_contains "$(<wnd.log)" "listening on tls+tcp://127.0.0.1:$TLS_PORT"
	mkproject p
	mktask p say
	local i
	for i in 1 2 3; do wnctl job add p say --param word=w$i >/dev/null; done
	# the worker reads its CA from its config (a relative name: from its directory)
	unset WN_TLS_CA
	mkdir -p conf
	cp pki/ca.pem conf/lab-ca.pem
	worker_yaml p "ca: conf/lab-ca.pem" >conf/w.yaml
	worker_start w1 conf/w.yaml --server "$WN_SERVER" --exit-when-empty
	worker_wait "$WORKER_PID" 60
	export WN_TLS_CA=$WN_TMP/pki/ca.pem
	expect_eq "$(jobs_table p "j['status'] + ' ' + j['output_tail'].strip()" | sort | tr '\n' ,)" \
		"completed said w1,completed said w2,completed said w3," "jobs run over TLS"
	# the flag beats the environment; the name given explicitly is the one checked
	expect_eq "$(WN_TLS_CA=/nonexistent wnctl --tls-ca pki/ca.pem project list | tail -n1 | awk '{print $1}')" \
		p "wnctl --tls-ca"
	expect_fail wnctl --tls-server-name db.example.org project list
	expect_contains "$WN_ERR" 'certificate is not for "db.example.org"'
}

test_independent_python_ssl_client_makes_a_call() {
	pki_make
	tls_start server
	mkproject p
	local out
	out=$(python3 "$TLS_PEER" "$WN_SERVER" pki/ca.pem "$M_PROJECT/Create" "$(pbhex '[(1, "from_python")]')") ||
		fail "python ssl client: $out"
	expect_eq "${out%% *}" 0 "code of the Create over Python's ssl"
	expect_eq "$(wnctl project list | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')" "from_python p " \
		"projects seen by wnctl"
	# the same client refuses a server whose certificate it cannot verify
	expect_fail python3 "$TLS_PEER" "$WN_SERVER" pki/otherca.pem "$M_PROJECT/List" ""
	expect_contains "$WN_ERR" "CERTIFICATE_VERIFY_FAILED"
}

test_large_messages_cross_tls_records_both_ways() {
	pki_make
	tls_start server
	mkproject p
	mktask p say
	# a 900 KB parameter: about 55 TLS records each way, read by wnd as they
	# come and in bursts (decrypted bytes mbedTLS holds are drained too)
	pb_encode big.bin '[(1, [(1, "p"), (2, "say"), (4, [(1, "word"), (2, "%s" % ("0123456789abcdef" * 56250))])])]'
	local out
	out=$(python3 "$TLS_PEER" "$WN_SERVER" pki/ca.pem "$M_JOB/Submit" @big.bin) ||
		fail "python client, large Submit: $out"
	expect_eq "${out%% *}" 0 "code of the large Submit"
	local id
	id=$(wnctl --json job list --project p --all | jq_jobs | jq -r .id)
	expect_eq "$(wnctl --json job show "$id" | jq -r '.params.word | length')" 900000 \
		"the parameter read back through wnctl over TLS"
	expect_eq "$(wnctl --json job show "$id" | jq -r '.params.word' | md5sum)" \
		"$(python3 -c 'print("0123456789abcdef" * 56250)' | md5sum)" "its bytes"
}

test_wrong_ca_is_refused_with_a_clear_message() {
	pki_make
	tls_start foreign
	expect_exit 3 wnctl project list
	expect_contains "$WN_ERR" "cannot connect to $WN_SERVER: the server's certificate is not signed by the CA in $WN_TMP/pki/ca.pem"
	expect_eq "$(wc -l <<<"$WN_ERR")" 1 "lines of the message"
	# a worker, which retries, says the same in its log
	worker_yaml p "ca: $WN_TMP/pki/ca.pem" >w.yaml
	worker_start w1 w.yaml --server "$WN_SERVER"
	wait_until 30 "the worker's message" grep -q "is not signed by the CA in $WN_TMP/pki/ca.pem" w1.log
	# and nothing was done on the server
	export WN_TLS_CA=$WN_TMP/pki/otherca.pem
	expect_eq "$(jget "$(wnctl --json worker list)" "len(j.get('workers', []))")" 0 "workers joined"
}

test_wrong_name_is_refused_with_a_clear_message() {
	pki_make
	tls_start elsewhere
	expect_exit 3 wnctl project list
	expect_contains "$WN_ERR" "the server's certificate is not for \"127.0.0.1\" but for db.example.org"
	# connecting by the name the certificate holds, declared, works
	expect_exit 0 wnctl --tls-server-name db.example.org project list
}

test_expired_certificate_is_refused_with_a_clear_message() {
	pki_make
	tls_start expired
	expect_exit 3 wnctl project list
	expect_contains "$WN_ERR" "the server's certificate expired on 2020-02-01 00:00 UTC"
	# and wnd said so at its start, where whoever starts it looks
	expect_contains "$(<wnd.log)" \
		"warn: tls_cert pki/expired.pem expired on 2020-02-01 00:00 UTC: clients refuse it"
}

test_plain_tcp_to_tls_and_tls_to_plain_are_refused_with_a_clear_message() {
	pki_make
	local ports plain
	ports=$(free_port 2)
	TLS_PORT=${ports% *}
	plain=${ports#* }
	export WN_SERVER=tls+tcp://127.0.0.1:$TLS_PORT WN_TLS_CA=$WN_TMP/pki/ca.pem
	wn_start --listen "tcp://127.0.0.1:$plain" --tls-cert pki/server.pem --tls-key pki/server.key
	expect_exit 3 wnctl --server "tcp://127.0.0.1:$TLS_PORT" project list
	expect_contains "$WN_ERR" "the server speaks TLS on this port (connect with tls+tcp://127.0.0.1:$TLS_PORT"
	expect_exit 3 wnctl --server "tls+tcp://127.0.0.1:$plain" project list
	expect_contains "$WN_ERR" "the server does not speak TLS on this port (connect with tcp://127.0.0.1:$plain"
	# both listeners still serve
	expect_exit 0 wnctl project list
	expect_exit 0 wnctl --server "tcp://127.0.0.1:$plain" project list
}

test_tls_settings_that_cannot_work_are_refused() {
	pki_make
	local port
	port=$(free_port)
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port"
	expect_contains "$WN_ERR" "tls+tcp:// needs tls_cert and tls_key"
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki/server.pem --tls-key pki/client.key
	expect_contains "$WN_ERR" "tls_key pki/client.key is not the key of tls_cert pki/server.pem"
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki/missing.pem --tls-key pki/server.key
	expect_contains "$WN_ERR" "cannot read tls_cert pki/missing.pem: No such file or directory"
	# a directory, a CA bundle with a certificate that does not read: said
	# so, not in mbedTLS's words ("Memory allocation failed", "Generic error")
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki --tls-key pki/server.key
	expect_contains "$WN_ERR" "cannot read tls_cert pki: not a regular file"
	{
		cat pki/ca.pem
		printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
	} >bundle.pem
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki/server.pem --tls-key pki/server.key --tls-client-ca bundle.pem
	expect_contains "$WN_ERR" \
		"cannot read tls_client_ca bundle.pem: 1 of its certificates are not valid PEM"
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki/server.pem --tls-key pki/server.key --tls-client-ca pki
	expect_contains "$WN_ERR" "cannot read tls_client_ca pki: not a regular file"
	[ ! -e d ] || fail "a refused wnd made a data directory"
	expect_exit 2 wnctl --server "tls+tcp://127.0.0.1:$port" --tls-ca pki/missing.pem project list
	expect_contains "$WN_ERR" "cannot read the CA file pki/missing.pem"
	expect_exit 2 wnctl --server "tls+tcp://127.0.0.1:$port" --tls-ca pki/ca.pem \
		--tls-cert pki/client.pem project list
	expect_contains "$WN_ERR" "needs both its certificate and its key"
	# a private key other users may read: refused by wnd and by wnctl
	cp pki/server.key open.key
	chmod 644 open.key
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://127.0.0.1:$port" \
		--tls-cert pki/server.pem --tls-key open.key
	expect_contains "$WN_ERR" \
		"tls_key open.key is a private key that other users may read or change (mode 0644): run chmod 600 open.key"
	cp pki/client.key client-open.key
	chmod 604 client-open.key
	expect_exit 2 wnctl --server "tls+tcp://127.0.0.1:$port" --tls-ca pki/ca.pem \
		--tls-cert pki/client.pem --tls-key client-open.key project list
	expect_contains "$WN_ERR" "client key client-open.key is a private key that other users may"
}

test_a_group_readable_server_key_is_taken() {
	pki_make
	chmod 640 pki/server.key
	tls_start server --insecure
	expect_exit 0 wnctl project list
}

test_mutual_tls_refuses_workers_without_a_good_certificate() {
	pki_make
	cat >wnd.yaml <<EOF
tls_client_ca: $WN_TMP/pki/ca.pem
tls_require_client_cert: true
EOF
	tls_start server --config wnd.yaml
	# without a certificate: refused, and told why
	expect_exit 3 wnctl project list
	expect_contains "$WN_ERR" "the server refused the TLS handshake: it requires a client certificate"
	# a certificate from another CA: refused
	expect_exit 3 wnctl --tls-cert pki/stranger.pem --tls-key pki/stranger.key project list
	expect_contains "$WN_ERR" "the server refused this client's certificate"
	# with the lab's client certificate (flags, then the environment)
	wnctl --tls-cert pki/client.pem --tls-key pki/client.key project create p >/dev/null
	export WN_TLS_CERT=$WN_TMP/pki/client.pem WN_TLS_KEY=$WN_TMP/pki/client.key
	mktask p say
	wnctl job add p say --param word=mtls >/dev/null
	unset WN_TLS_CERT WN_TLS_KEY
	# a worker without its certificate runs nothing and says why
	worker_yaml p "ca: $WN_TMP/pki/ca.pem" >bare.yaml
	worker_start w0 bare.yaml --server "$WN_SERVER"
	local bare=$WORKER_PID
	wait_until 30 "the refused worker's message" grep -q "requires a client certificate" w0.log
	kill -TERM "$bare"
	wait "$bare" || true
	# the worker with its certificate runs the job
	worker_yaml p "ca: $WN_TMP/pki/ca.pem" "cert: $WN_TMP/pki/client.pem" \
		"key: $WN_TMP/pki/client.key" >w.yaml
	worker_start w1 w.yaml --server "$WN_SERVER" --exit-when-empty
	worker_wait "$WORKER_PID" 60
	export WN_TLS_CERT=$WN_TMP/pki/client.pem WN_TLS_KEY=$WN_TMP/pki/client.key
	expect_eq "$(jobs_table p "j['status'] + ' ' + j['worker'] + ' ' + j['output_tail'].strip()")" \
		"completed w1 said mtls" "the job run with mutual TLS"
	# the independent client, with and without its certificate
	local out
	out=$(python3 "$TLS_PEER" "$WN_SERVER" pki/ca.pem "$M_PROJECT/List" "" pki/client.pem pki/client.key) ||
		fail "python client with a certificate: $out"
	expect_eq "${out%% *}" 0 "code with a client certificate"
	expect_fail python3 "$TLS_PEER" "$WN_SERVER" pki/ca.pem "$M_PROJECT/List" ""
}

test_network_listener_without_tls_or_tokens_is_refused_before_binding() {
	pki_make
	local port rc
	port=$(free_port)
	for url in "tcp://0.0.0.0:$port" "tcp://[::]:$port" "tcp://*:$port"; do
		expect_exit 1 "$WN_BIN/wnd" --data d --listen "$url"
		expect_contains "$WN_ERR" "refusing to serve $url without TLS and without tokens"
		expect_contains "$WN_ERR" "--insecure"
	done
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tls+tcp://0.0.0.0:$port" \
		--tls-cert pki/server.pem --tls-key pki/server.key
	expect_contains "$WN_ERR" "refusing to serve tls+tcp://0.0.0.0:$port without tokens"
	printf 'a-long-enough-admin-secret\n' >admin.token
	chmod 600 admin.token
	expect_exit 1 "$WN_BIN/wnd" --data d --listen "tcp://0.0.0.0:$port" --admin-token-file admin.token
	expect_contains "$WN_ERR" "refusing to serve tcp://0.0.0.0:$port without TLS:"
	expect_contains "$WN_ERR" "(serve tls+tcp:// with tls_cert"
	# the same from the config file
	printf 'listen: tcp://0.0.0.0:%s\n' "$port" >wnd.yaml
	expect_exit 1 "$WN_BIN/wnd" --data d --config wnd.yaml
	expect_contains "$WN_ERR" "refusing to serve tcp://0.0.0.0:$port"
	# refused before binding: the port was never taken, nothing was created
	python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" ||
		fail "the port was bound"
	[ ! -e d ] || fail "the data directory was created"
}

# insecure_in_namespace PORT: inside a network namespace that has loopback
# only, start wnd --insecure on 0.0.0.0:PORT and run `wnctl status` against
# it; prints wnctl's stderr, then wnd's log.
insecure_in_namespace() {
	unshare -rn bash -c '
		set -e
		ip link set lo up
		# nothing but loopback here: the wildcard reaches no network
		[ "$(ip -o link | grep -vc ": lo:")" = 0 ]
		"$1/wnd" --insecure --data "$2/data" --listen "tcp://0.0.0.0:$3" >"$2/wnd.log" 2>&1 &
		pid=$!
		for i in $(seq 1 100); do
			"$1/wnctl" --server "tcp://127.0.0.1:$3" --timeout 500 project list >/dev/null 2>&1 && break
			sleep 0.05
		done
		"$1/wnctl" --server "tcp://127.0.0.1:$3" status 2>&1 >/dev/null
		"$1/wnctl" --server "tcp://127.0.0.1:$3" --json status 2>/dev/null |
			python3 -c "import json,sys; print(\"json:\", json.load(sys.stdin)[\"warnings\"][0])"
		kill -TERM $pid
		wait $pid
	' _ "$WN_BIN" "$WN_TMP" "$1"
	cat wnd.log
}

test_insecure_serves_the_network_with_warnings() {
	local port out
	port=$(free_port)
	out=$(insecure_in_namespace "$port") || fail "insecure wnd in a namespace: $out"
	expect_contains "$out" "wnctl: warning: the server says: insecure: tcp://0.0.0.0:$port serves the network without TLS and without tokens"
	expect_contains "$out" "json: insecure: tcp://0.0.0.0:$port serves the network without TLS and without tokens"
	expect_contains "$out" "warn: insecure: tcp://0.0.0.0:$port serves the network without TLS and without tokens; anyone who reaches it can read and change every job"
	# a loopback server has nothing to warn about
	wn_start
	expect_eq "$(wnctl status 2>&1 >/dev/null)" "" "warnings of a loopback server"
}

# insecure: true in a config file could not be turned off for one run; the
# command line's --no-insecure does, as any option overrides the file's key.
# Both runs are in a network namespace of their own, loopback only.
test_no_insecure_overrides_the_config_file() {
	local port out
	port=$(free_port)
	printf 'insecure: true\nlisten: tcp://0.0.0.0:%s\n' "$port" >insecure.yaml
	out=$(unshare -rn bash -c '
		ip link set lo up
		[ "$(ip -o link | grep -vc ": lo:")" = 0 ] || exit 99
		"$1/wnd" --config insecure.yaml --no-insecure --data "$2/refused"
		echo "exit $?"
		"$1/wnd" --config insecure.yaml --data "$2/served" >"$2/served.log" 2>&1 &
		pid=$!
		for i in $(seq 1 100); do
			"$1/wnctl" --server "tcp://127.0.0.1:$3" --timeout 500 project list >/dev/null 2>&1 && break
			sleep 0.05
		done
		"$1/wnctl" --server "tcp://127.0.0.1:$3" status 2>&1 >/dev/null
		kill -TERM $pid
		wait $pid
	' _ "$WN_BIN" "$WN_TMP" "$port" 2>&1) || fail "wnd in a namespace: $out"
	expect_contains "$out" "wnd: refusing to serve tcp://0.0.0.0:$port without TLS and without tokens" \
		"--no-insecure over the file's insecure: true"
	expect_contains "$out" "exit 1" "exit status with --no-insecure"
	[ ! -e refused ] || fail "the refused wnd created its data directory"
	# without it the file's insecure: true serves the network, warned
	expect_contains "$out" "wnctl: warning: the server says: insecure: tcp://0.0.0.0:$port serves the network without TLS and without tokens"
}

# A worker over TLS (nng's client, not the direct one) whose server takes
# its calls and answers none (stopped) stops on the first signal, not after
# its rpc_timeout_ms of 10 minutes.
test_a_stop_gives_up_a_tls_server_that_does_not_answer() {
	pki_make
	tls_start server
	mkproject p
	mktask p say
	worker_yaml p "ca: pki/ca.pem" | sed 's/^rpc_timeout_ms: .*/rpc_timeout_ms: 600000/' >w.yaml
	worker_start w1 w.yaml --server "$WN_SERVER"
	local pid=$WORKER_PID
	wait_until 20 "the worker to join" wnctl worker show w1
	kill -STOP "$WND_PID"
	wait_stopped "$WND_PID"
	kill -TERM "$pid"
	worker_wait "$pid" 60
	kill -CONT "$WND_PID"
	expect_contains "$(<w1.log)" "worker w1 stopped"
}
