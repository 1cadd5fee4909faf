# wnctl sweep results, job list --results and job show over the results real
# jobs of a cli worker reported through $WN_RESULTS.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# results_setup: wnd, project sw with tasks train (examples/train.py) and note
# (a shell script writing key=value lines or a JSON object), a worker config
# w.yaml for both.
results_setup() {
	wn_start
	wnctl project create sw >/dev/null
	wnctl task create sw train >/dev/null
	wnctl task create sw note >/dev/null
	{
		worker_head sw
		cat <<EOF
slots: 2
tasks:
  train:
    command: [python3, $REPO/examples/train.py, --lr, "{lr}", --epochs, "{epochs}",
              --seconds-per-epoch, "0.01", --fail-above-lr, "0.5",
              --checkpoint, "$WN_TMP/model-{job.id}.json"]
    artifacts:
      paths: ["model-{job.id}.json"]
      upload: true
  note:
    command: [/bin/sh, $WN_TMP/note.sh, "{n}"]
EOF
	} >w.yaml
	# Task note for parameter n: 1 key=value lines, 2 a JSON object with a
	# text holding a comma, quotes and non-ASCII, 3 nothing at all.
	cat >note.sh <<'EOF'
case "$1" in
1) printf 'loss=0.5\nnote=plain text\n' >"$WN_RESULTS" ;;
2) cat >"$WN_RESULTS" <<'JSON'
{"loss": 0.25, "note": "a, \"quoted\" t\u00e9xt"}
JSON
	;;
esac
EOF
}

# expected_train SWEEP: the CSV the train sweep must give, computed from the
# jobs' parameters by train.py's formula (not from what the server holds).
expected_train() {
	wnctl --json job list --sweep "$1" --all | python3 -c '
import csv, io, json, math, sys
out = io.StringIO()
w = csv.writer(out, lineterminator="\r\n")
w.writerow(["id", "name", "epochs", "lr", "status", "acc", "checkpoint", "epoch", "loss"])
for j in json.load(sys.stdin)["jobs"]:
    lr, ep = float(j["params"]["lr"]), int(j["params"]["epochs"])
    loss = abs(math.log10(lr) + 2) * 0.3 + 1.0 / (1 + ep) + 0.01
    ok = lr <= 0.5
    ck = sys.argv[1] + "/model-%d.json" % j["id"] if ok else ""
    w.writerow([j["id"], j["name"], j["params"]["epochs"], j["params"]["lr"],
                "completed" if ok else "failed", repr(round(1 - loss / 2, 4)), ck, ep,
                repr(round(loss, 4))])
sys.stdout.write(out.getvalue())' "$WN_TMP"
}

test_sweep_results_of_a_training_sweep() {
	results_setup
	local sweep
	sweep=$(wnctl --json job sweep sw train --grid lr=0.001,0.01,0.1,1 --grid epochs=1,3 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60

	# CSV: every job, its parameters, status and results, as train.py computes them.
	local csv want
	csv=$(wnctl sweep results "$sweep" --format csv)
	want=$(expected_train "$sweep")
	expect_eq "$csv" "$want" "sweep results --format csv"
	[[ $csv == *$'\r\n'* ]] || fail "CSV lines do not end in CRLF"

	# The table: same rows, "-" where a failed job has no checkpoint.
	local table
	table=$(wnctl sweep results "$sweep")
	expect_eq "$(echo "$table" | head -n 1 | tr -s ' ')" \
		"ID NAME epochs lr STATUS acc checkpoint epoch loss" "table header"
	expect_eq "$(echo "$table" | awk 'NR > 1 && $5 == "failed" {print $7}' | sort -u)" "-" \
		"checkpoint of the failed jobs"
	expect_eq "$(echo "$table" | wc -l)" 9 "table lines"

	# --sort loss --best 3: the three smallest losses, smallest first (ties by id).
	local best want_best
	best=$(wnctl sweep results "$sweep" --sort loss --best 3 | awk 'NR > 1 {print $1}' | tr '\n' ' ')
	want_best=$(echo "$want" | python3 -c '
import csv, sys
rows = [r for r in csv.DictReader(sys.stdin) if r["loss"]]
rows.sort(key=lambda r: (float(r["loss"]), int(r["id"])))
print(" ".join(r["id"] for r in rows[:3]), end=" ")')
	expect_eq "$best" "$want_best" "--sort loss --best 3"
	best=$(wnctl sweep results "$sweep" --sort acc --desc --best 3 | awk 'NR > 1 {print $1}' | tr '\n' ' ')
	expect_eq "$best" "$want_best" "--sort acc --desc --best 3 (acc falls as loss grows)"
	# Sorting by a text: the jobs without one (failed) last.
	local last
	last=$(wnctl sweep results "$sweep" --sort checkpoint --format csv | python3 -c '
import csv, sys
print(" ".join(r["status"] for r in list(csv.DictReader(sys.stdin))[-3:]))')
	expect_eq "$last" "completed failed failed" "jobs lacking the sort key come last"

	# JSON: the same values as the CSV, numbers as numbers, missing keys absent.
	wnctl sweep results "$sweep" --format json >r.json
	wnctl --json sweep results "$sweep" >r2.json
	cmp -s r.json r2.json || fail "--json and --format json differ"
	python3 - "$want" <<'PY' || fail "JSON rows differ from the expected CSV"
import csv, io, json, sys
rows = json.load(open("r.json"))
want = list(csv.DictReader(io.StringIO(sys.argv[1])))
assert len(rows) == len(want), (len(rows), len(want))
for r, w in zip(rows, want):
    assert r["id"] == int(w["id"]) and r["name"] == w["name"] and r["status"] == w["status"], r
    assert r["params"] == {"lr": w["lr"], "epochs": w["epochs"]}, r
    for k in ("acc", "epoch", "loss"):
        assert isinstance(r["results"][k], (int, float)) and r["results"][k] == float(w[k]), (k, r)
    assert r["results"].get("checkpoint", "") == w["checkpoint"], r
    assert ("checkpoint" in r["results"]) == (w["status"] == "completed"), r
PY

	# job list --results: the asked columns, with job list's own.
	local list
	list=$(wnctl job list --sweep "$sweep" --results loss,nosuch | tail -n +2 | awk '{print $1, $(NF-1), $NF}')
	expect_eq "$list" "$(echo "$want" | python3 -c '
import csv, sys
for r in csv.DictReader(sys.stdin):
    print(r["id"], r["loss"], "-")')" \
		"job list --results loss,nosuch"

	# job show: the results in key order, the checkpoint as an artifact.
	local show sum size
	show=$(wnctl job show "$sweep")
	sum=$(sha256sum "$WN_TMP/model-$sweep.json" | cut -d' ' -f1)
	size=$(wc -c <"$WN_TMP/model-$sweep.json")
	expect_contains "$show" "artifacts:
  model-$sweep.json ($size bytes, sha256 $sum, stored)" "job show's artifacts"
	local failed
	failed=$(echo "$want" | python3 -c '
import csv, sys
print([r["id"] for r in csv.DictReader(sys.stdin) if r["status"] == "failed"][0])')
	expect_contains "$(wnctl job show "$failed")" "artifacts:
  model-$failed.json: no file matched" "job show of a job whose checkpoint is missing"
	expect_contains "$show" "$(echo "$want" | python3 -c '
import csv, sys
r = next(csv.DictReader(sys.stdin))
print("results:")
for k in ("acc", "checkpoint", "epoch", "loss"):
    print("  %s=%s" % (k, r[k]))')" "job show"
}

test_sweep_results_text_values_and_missing_keys() {
	results_setup
	local sweep
	sweep=$(wnctl --json job sweep sw note --grid n=1,2,3 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sweep_id"])')
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 30
	local s1=$sweep s2=$((sweep + 1)) s3=$((sweep + 2))
	# CSV keeps the text exact, quoted as RFC 4180 says; job 3 reported nothing.
	expect_eq "$(wnctl sweep results "$sweep" --format csv)" \
		"id,name,n,status,loss,note"$'\r'"
$s1,n=1,1,completed,0.5,plain text"$'\r'"
$s2,n=2,2,completed,0.25,\"a, \"\"quoted\"\" téxt\""$'\r'"
$s3,n=3,3,completed,,"$'\r' "CSV with texts and missing keys"
	# Sorted by the text: byte order; descending reverses the texts, the job
	# without one stays last.
	expect_eq "$(wnctl sweep results "$sweep" --sort note --format csv | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" \
		"$s2 $s1 $s3 " "--sort note"
	expect_eq "$(wnctl sweep results "$sweep" --sort note --desc --format csv | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" \
		"$s1 $s2 $s3 " "--sort note --desc"
	expect_eq "$(wnctl sweep results "$sweep" --sort loss --best 5 | awk 'NR > 1 {print $1}' | tr '\n' ' ')" \
		"$s2 $s1 " "--best keeps the jobs that have the key"
	python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert rows[1]["results"]["note"] == "a, \"quoted\" t\u00e9xt", rows[1]
assert rows[2]["results"] == {}, rows[2]' <<<"$(wnctl sweep results "$sweep" --format json)" ||
		fail "JSON of text values"

	# Bad input: a clear message, the right exit code.
	expect_exit 4 wnctl sweep results 999
	expect_contains "$WN_ERR" "sweep 999 not found"
	expect_exit 2 wnctl sweep results "$sweep" --format xml
	expect_contains "$WN_ERR" "invalid --format 'xml'"
	expect_exit 2 wnctl sweep results "$sweep" --best 2
	expect_contains "$WN_ERR" "--best needs --sort"
	expect_exit 2 wnctl sweep results "$sweep" --best 0 --sort loss
	expect_exit 0 wnctl sweep results "$sweep" --sort nosuch
	expect_contains "$WN_ERR" "no job of sweep $sweep has a result nosuch"
	expect_exit 2 wnctl job list --results loss,
	expect_contains "$WN_ERR" "an empty key"
}
