#!/usr/bin/env bash
# The WhatsNext tour, end to end: installs the Debian packages that are
# missing, builds, starts a private wnd on a temporary data directory, fills a
# queue, lets jobs be claimed and completed the way workers do, runs a sweep
# of a training script on two workers, shows its output live and the results
# the runs reported, and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

# WN_BIN: a directory holding wnd, wnctl and wnworker built already (then
# nothing is installed nor built)
if [ -n "${WN_BIN:-}" ]; then
	bin=$WN_BIN
else
	say "installing missing packages and building"
	bash scripts/install-deps.sh
	make -j"$(nproc)" >/dev/null
	bin=$root/build/rel/bin
fi
export PATH=$bin:$PATH

tmp=$(mktemp -d /tmp/whatsnext-demo.XXXXXX)
wnd_pid=
w1=
w2=
# only what the demo started and made: its workers, its wnd, its directory
# (the workers run in it, so a wn-runs/ or wn-logs/ of the tour stays)
cleanup() {
	local p
	for p in $w1 $w2 $wnd_pid; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

say "starting wnd on a temporary data directory"
export WN_SERVER=ipc://$tmp/wnd.sock
wnd --data "$tmp/data" --listen "$WN_SERVER" --http 127.0.0.1:0 --lease-ms 10000 \
	>"$tmp/wnd.log" 2>&1 &
wnd_pid=$!
for _ in $(seq 100); do wnctl --timeout 500 status >/dev/null 2>&1 && break; sleep 0.05; done
head -n 4 "$tmp/wnd.log"
http=$(grep -o 'serving http on [^ ]*' "$tmp/wnd.log" | head -n 1)
http=${http#serving http on }
http=${http%/}
echo "the dashboard is at $http/ while the demo runs"

say "a project and a task"
run wnctl project create demo --description "learning-rate sweep"
run wnctl task create demo train --retries 1 --timeout 60

say "submitting jobs: one by one, and a grid as one atomic batch"
run wnctl job add demo train --name baseline --param lr=0.1 --param epochs=3
run wnctl job add demo train --name urgent --param lr=0.5 --param epochs=1 --priority 10
python3 - >"$tmp/grid.json" <<'PY'
import json
rows = [{"name": f"lr{lr}-bs{bs}", "params": {"lr": str(lr), "bs": str(bs), "epochs": "2"},
         "priority": 5 if bs == 64 else 0}
        for lr in (0.01, 0.001) for bs in (32, 64)]
print(json.dumps(rows))
PY
run wnctl job batch "$tmp/grid.json" --project demo --task train

say "the queue in dispatch order (priority first, then submission order)"
run wnctl queue show demo

say "claiming and completing jobs the way a worker does"
for outcome in ok ok fail ok; do
	read -r id attempt < <(wnctl queue fetch demo --worker demo-worker)
	if [ "$outcome" = ok ]; then
		run wnctl queue complete "$id" "$attempt" --worker demo-worker --duration-ms 1200 \
			--output "epoch 2: loss=0.$((RANDOM % 90 + 10))"
	else
		run wnctl queue complete "$id" "$attempt" --worker demo-worker --fail --exit-code 3 \
			--reason "loss diverged" --output "epoch 1: loss=nan"
	fi
done

say "results of the hand-run jobs"
run wnctl job list --project demo

say "a real sweep: 12 training runs on two workers, each reporting its results"
run wnctl project create sweep --description "lr x epochs, run by wnworker"
run wnctl task create sweep train --retries 1 --timeout 60
printf '$ wnctl job sweep sweep train --grid lr=0.001,0.01,0.1,1 --grid epochs=2,4,6\n'
sweep=$(wnctl --json job sweep sweep train --grid lr=0.001,0.01,0.1,1 --grid epochs=2,4,6 |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["sweep_id"])')
echo "sweep $sweep: 12 jobs (the lr=1 runs diverge on purpose)"
run wnctl queue show sweep --limit 5
mkdir "$tmp/run"
ln -s "$root/examples" "$tmp/run/examples"
(cd "$tmp/run" && exec wnworker --config examples/sweep.yaml --name w1 --exit-when-empty) >"$tmp/w1.log" 2>&1 &
w1=$!
(cd "$tmp/run" && exec wnworker --config examples/sweep.yaml --name w2 --exit-when-empty) >"$tmp/w2.log" 2>&1 &
w2=$!

say "the output of the sweep's first job, live, until it ends"
run wnctl job log -f "$sweep"

say "waiting for the whole sweep (a long poll on the server, no polling loop)"
rc=0
run wnctl job wait --sweep "$sweep" || rc=$?
echo "(exit $rc: 0 when every job completed, 9 when some did not: the lr=1 runs diverge on purpose)"
wait "$w1" "$w2"
w1= w2=
echo "both workers ran the queue dry and exited; a few of their log lines:"
grep -hE "started|finished" "$tmp/w1.log" "$tmp/w2.log" | head -n 6

say "what the runs reported: the three best by loss, then every job as CSV"
run wnctl sweep results "$sweep" --sort loss --best 3
run wnctl sweep results "$sweep" --format csv
best=$(wnctl sweep results "$sweep" --sort loss --best 1 --format json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
run wnctl job show "$best"
run wnctl job history "$best"

say "the best run's checkpoint, fetched from the server and checked against its sha256"
run wnctl job artifacts "$best"
run wnctl job artifact get "$best" "wn-runs/model-$best.json" -o "$tmp/best-model.json"
run head -c 120 "$tmp/best-model.json"
echo

say "the same server over HTTP: a method as JSON, and Prometheus metrics"
run curl -s -X POST -H 'Content-Type: application/json' -d "{\"id\":\"$best\"}" \
	"$http/v1/JobService/Get"
echo
printf '$ curl -s %s/metrics | grep whatsnext_jobs{project="sweep"\n' "$http"
curl -s "$http/metrics" | grep 'whatsnext_jobs{project="sweep"' || true

say "status"
run wnctl status

say "stopping wnd"
kill -TERM "$wnd_pid"
wait "$wnd_pid"
wnd_pid=
tail -n 2 "$tmp/wnd.log"
echo
echo "done: every job above was stored in RocksDB under $tmp/data (now removed)."
