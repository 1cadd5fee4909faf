#!/usr/bin/env bash
# Benchmark: what TLS costs. One private wnd (relaxed durability, so that the
# transport is what is measured) listens on tcp://127.0.0.1 and on
# tls+tcp://127.0.0.1 with a certificate made here (openssl, EC P-256);
# the same no-op rows of wnbench (nng's REQ socket, as wnctl and wnworker
# speak; the direct client speaks no TLS and falls back to nng there) run
# against each, then 100 fresh connections each making one call (wnctl):
# calls/s, latency, and wnd's CPU time per call and per connection.
#
# Needs WN_BIN (wnd, wnctl, wnbench) and openssl. Knobs: WN_BENCH_TLS_SECONDS
# per row (default 3), WN_BENCH_TLS_THREADS (default 1,4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnbench}"
secs=${WN_BENCH_TLS_SECONDS:-3}
threads=${WN_BENCH_TLS_THREADS:-1,4}
command -v openssl >/dev/null || {
	echo "bench: openssl is missing (scripts/install-deps.sh)" >&2
	exit 1
}

bench_scratch wn-bench-tls

# the certificates: a CA and a server certificate for 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
	-out "$tmp/ca.pem" -days 2 -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/srv.key" \
	-out "$tmp/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=DNS:127.0.0.1,IP:127.0.0.1\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-out "$tmp/srv.pem" -days 2 -extfile "$tmp/ext" 2>/dev/null
export WN_TLS_CA=$tmp/ca.pem

read -r p1 p2 <<<"$(free_port) $(free_port)"
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
tcp=tcp://127.0.0.1:$p1
tls=tls+tcp://127.0.0.1:$p2
"$WN_BIN/wnd" --data "$tmp/data" --durability relaxed --listen "$tcp" --listen "$tls" \
	--tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key" >"$tmp/wnd.log" 2>&1 &
wnd_pid=$!
if ! "$WN_BIN/wnbench" --server "$tcp" --wait-ready 10000; then
	cat "$tmp/wnd.log" >&2
	exit 1
fi

# wnd_cpu_ms: wnd's user + system CPU time so far, ms.
wnd_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$wnd_pid/stat"
}

echo
echo "TLS: wnd on tcp:// and tls+tcp:// (mbedTLS in wnd's event loops, TLS 1.2," \
	"ECDHE-ECDSA P-256); no-op calls over nng's REQ socket; $(nproc) cpus"
header=()
declare -A calls cpu
for kind in tcp tls; do
	url=${!kind}
	before=$(wnd_cpu_ms)
	out=$("$WN_BIN/wnbench" --server "$url" --label "$kind" --client nng --ops noop \
		--threads "$threads" --duration "$secs" --warmup 0 "${header[@]}")
	after=$(wnd_cpu_ms)
	echo "$out"
	header=(--no-header)
	# jobs is the 9th field from the end of a row ("... client cpu N us/job")
	calls[$kind]=$(awk '$NF == "us/job" {n += $(NF - 8)} END {print n + 0}' <<<"$out")
	cpu[$kind]=$((after - before))
done
for kind in tcp tls; do
	printf '%-4s wnd cpu per call: %s us (%s calls)\n' "$kind" \
		"$(awk -v c="${cpu[$kind]}" -v n="${calls[$kind]}" 'BEGIN {printf "%.1f", n ? c * 1000 / n : 0}')" \
		"${calls[$kind]}"
done

# fresh connections: connect, handshake, one call, close
for kind in tcp tls; do
	url=${!kind}
	before=$(wnd_cpu_ms)
	t0=$(date +%s%N)
	for _ in $(seq 1 100); do
		"$WN_BIN/wnctl" --server "$url" project list >/dev/null
	done
	t1=$(date +%s%N)
	after=$(wnd_cpu_ms)
	printf '%-4s 100 connections with one call each (wnctl): %s ms each, wnd cpu %s us each\n' \
		"$kind" "$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1e8}')" "$(((after - before) * 10))"
done
kill -TERM "$wnd_pid"
wait "$wnd_pid" || {
	echo "bench: wnd exited badly" >&2
	tail -n 20 "$tmp/wnd.log" >&2
	exit 1
}
wnd_pid=
