#!/usr/bin/env bash
# Regenerates the fuzzers' seed corpus, tests/fuzz/corpus/<target>/, from the
# real programs and files (docs/testing.md, "Fuzzing"):
#   fuzz_envelope, fuzz_sp  what wnctl and wnworker send to a real wnd, recorded
#                           by tests/fuzz/sp_record.py between them
#   fuzz_pbcheck            fuzz_envelope's seeds, and each with a string made bad
#   fuzz_check              the records that session left in wnd's data
#                           directory (read with wnstore), whole and in parts
#   fuzz_worker_config      config/worker*.yaml, comments left out
#   fuzz_template           every template of those files, with parameter tables
#   fuzz_slurm_parse        squeue and sacct -c output of a private SLURM, run as
#                           the worker runs them, the slurm example's script and
#                           the tag of a submission
#   fuzz_batch              the batch files of docs/cli.md's `job batch`, and each
#                           form of the file and of a dependency
#   fuzz_url                every server address written in config/, docs/ and
#                           the integration tests, and the forms wire.h names
#   fuzz_pbjson             JSON bodies of real methods' requests and replies
# Usage: WN_BIN=build/rel/bin bash tests/fuzz/seeds.sh [TARGET...]
# The SLURM part needs what the SLURM tests need (SLURM, munge, root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=$here/corpus
: "${WN_BIN:?set WN_BIN to the directory holding wnd, wnctl and wnworker}"
export WN_BIN
WN_TMP=$(mktemp -d /tmp/wn-seeds.XXXXXX)
export WN_TMP
cd "$WN_TMP"
source "$root/tests/integration/lib.sh"
source "$root/tests/integration/worker_lib.sh"
finish() {
	wn_cleanup
	rm -rf "$WN_TMP"
}
trap finish EXIT

# fresh TARGET: an empty corpus directory for TARGET.
fresh() {
	rm -rf "${corpus:?}/$1"
	mkdir -p "$corpus/$1"
}

# seed TARGET NAME: stdin becomes the seed NAME of TARGET.
seed() { cat >"$corpus/$1/$2"; }

wire_seeds() {
	wn_start --durability relaxed
	local server=${WN_SERVER#ipc://}
	python3 "$here/sp_record.py" record "$WN_TMP/rec.sock" "$server" "$WN_TMP/rec" &
	WN_PIDS+=("$!")
	local i
	for i in $(seq 1 100); do [ -S "$WN_TMP/rec.sock" ] && break; sleep 0.05; done
	export WN_SERVER=ipc://$WN_TMP/rec.sock
	wnctl project create p --description "learning rates" >/dev/null
	wnctl task create p t --cpu 2 --gpu 1 --memory 4G --label site=lab --max-attempts 2 \
		--timeout 600 >/dev/null
	wnctl task update p t --description "one training run" >/dev/null
	wnctl job add p t --name first --param lr=0.1 --param epochs=3 --priority 5 >/dev/null
	wnctl job add p t --param lr=0.2 --after 1:afterany >/dev/null
	echo '[{"name": "b1", "params": {"lr": "0.3"}}, {"params": {"lr": "0.4"}, "priority": -1}]' \
		>batch.json
	wnctl job batch batch.json --project p --task t >/dev/null
	wnctl job sweep p t --grid lr=0.01,0.1 --grid epochs=1,2 --max-running 2 >/dev/null
	wnctl job show 1 >/dev/null
	wnctl job deps 2 >/dev/null
	wnctl job list --project p --status pending --limit 5 >/dev/null 2>&1
	wnctl job priority 3 9 >/dev/null
	wnctl queue show p --limit 3 --offset 1 >/dev/null 2>&1
	wnctl queue stats >/dev/null
	wnctl queue fetch p --worker w1 >/dev/null
	wnctl queue heartbeat --worker w1 3:1 >/dev/null
	wnctl queue complete 3 1 --worker w1 --fail --exit-code 2 --reason "bad lr" \
		--output "loss=nan" --duration-ms 1200 >/dev/null
	wnctl queue fetch p --worker w1 --task t >/dev/null
	wnctl queue release 1 1 --worker w1 --reason "draining" >/dev/null
	wnctl job cancel 4 --reason "not needed" >/dev/null
	wnctl job retry 4 >/dev/null
	wnctl job remove 4 >/dev/null
	wnctl queue pop p 1 >/dev/null
	wnctl project list >/dev/null
	wnctl task list p >/dev/null
	wnctl status >/dev/null
	# a worker's side: join, fetch, heartbeat, complete, leave
	worker_head p >w.yaml
	cat >>w.yaml <<EOF
tasks:
  t:
    formatter: cli
    command: [/bin/sh, -c, 'echo lr=\$1', sh, "{lr}"]
  r:
    formatter: cli
    command: [/bin/sh, -c, 'echo lr=\$1; echo "loss=\$1" >>"\$WN_RESULTS"; echo \$1 >out.txt',
              sh, "{lr}"]
    workdir: runs
    artifacts: {paths: [out.txt], upload: true}
EOF
	# a run that reports results and keeps a file (task r needs no GPU)
	mkdir -p runs
	wnctl task create p r >/dev/null
	local ran
	ran=$(wnctl job add p r --param lr=0.3)
	"$WN_BIN/wnworker" --config w.yaml --name w2 --exit-when-empty >w2.log 2>&1 ||
		fail "wnworker: $(cat w2.log)"
	wnctl worker list >/dev/null
	wnctl worker show w2 >/dev/null
	wnctl job log 2 >/dev/null
	wnctl job log "$ran" >/dev/null
	wnctl job wait "$ran" >/dev/null
	wnctl job history "$ran" >/dev/null
	wnctl job artifacts "$ran" >/dev/null
	wnctl job artifact get "$ran" out.txt -o - >/dev/null
	wnctl worker drain w2 >/dev/null
	local sweep
	sweep=$(wnctl --json sweep list p | jq -r '.sweeps[0].id')
	wnctl sweep show "$sweep" >/dev/null
	wnctl sweep results "$sweep" >/dev/null
	wnctl sweep cap "$sweep" 3 >/dev/null
	wnctl admin backup "$WN_TMP/backup" >/dev/null
	wnctl project create q >/dev/null
	wnctl task create q t >/dev/null
	wnctl job add q t >/dev/null
	wnctl queue clear q >/dev/null
	wnctl project show q >/dev/null
	wnctl project update q --description "to go" >/dev/null
	wnctl task show q t >/dev/null
	wnctl task delete q t >/dev/null
	wnctl project delete q >/dev/null
	kill -TERM "${WN_PIDS[-1]}"
	wait "${WN_PIDS[-1]}" || true
	wn_stop
	fresh fuzz_sp
	fresh fuzz_envelope
	python3 "$here/sp_record.py" seeds "$WN_TMP/rec" "$corpus/fuzz_sp" "$corpus/fuzz_envelope" \
		"$root/src/common/methods.def"
	# QueueService/CompleteBatch, which neither program sends: two results
	local i
	i=$(grep '^WN_METHOD(' "$root/src/common/methods.def" | grep -n '^WN_METHOD(QUEUE_COMPLETE_BATCH,' |
		cut -d: -f1)
	{
		printf "\\x$(printf %02x $((i - 1)))"
		printf '\x0a\x0a\x08\x05\x10\x01\x1a\x02w1\x20\x01\x0a\x0c\x08\x06\x10\x01\x1a\x02w1\x32\x02ok'
	} | seed fuzz_envelope complete-batch
	store_seeds "$WN_TMP/data"
}

# pbcheck_seeds: fuzz_pbcheck's seeds, read as fuzz_envelope's are (a method's
# index in methods.def, or 0xff, then the message): fuzz_envelope's, and each
# with the first byte of its first string made bad (a NUL, a byte never in
# UTF-8, the lead byte of a surrogate).
pbcheck_seeds() {
	fresh fuzz_pbcheck
	python3 - "$corpus/fuzz_envelope" "$corpus/fuzz_pbcheck" <<'EOF'
import hashlib, os, sys
src, out = sys.argv[1:]

def write(data):
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def varint(buf, i):
    v, shift = 0, 0
    while i < len(buf):
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return v, i

def first_string(buf):
    """Offset of the first length-delimited value that is printable ASCII
    (a string, most likely), or None."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        wt = key & 7
        if wt == 0:
            _, i = varint(buf, i)
        elif wt in (1, 5):
            i += 8 if wt == 1 else 4
        elif wt == 2:
            n, i = varint(buf, i)
            if n > 0 and all(32 <= c < 127 for c in buf[i:i + n]):
                return i
            i += n
        else:
            return None
    return None

for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    write(data)
    at = first_string(data[1:])
    if at is not None:
        for bad in (b"\x00", b"\xff", b"\xed"):
            write(data[:at + 1] + bad + data[at + 2:])
EOF
}

# store_seeds DIR: fuzz_check's seeds from the records of data directory DIR,
# as it reads them (per record: key length, key, 2-byte little-endian value
# length, value): every record, then each kind of record left out in turn.
store_seeds() {
	local dir=$1 key len
	fresh fuzz_check
	"$WN_BIN/wnstore" "$dir" list | while read -r key len; do
		echo "$key $("$WN_BIN/wnstore" "$dir" get "$key")"
	done | python3 -c '
import struct, sys
recs = []
for line in sys.stdin:
    name, val = line.rstrip("\n").rsplit(" ", 1)
    if name[:2] in ("j/", "s/", "i/") and name[2:].isdigit():
        key = name[:2].encode() + struct.pack(">Q", int(name[2:]))
    else:
        key = name.encode().decode("unicode_escape").encode("latin-1")
    recs.append((key, bytes.fromhex(val)))
def write(name, rs):
    with open(sys.argv[1] + "/" + name, "wb") as f:
        for k, v in rs:
            f.write(bytes([len(k)]) + k + struct.pack("<H", len(v)) + v)
write("store", recs)
for kind in sorted({k[:2] for k, _ in recs}):
    tag = kind.decode("latin-1").strip("/") or "other"
    write("without-" + tag, [r for r in recs if r[0][:2] != kind])
' "$corpus/fuzz_check"
}

config_seeds() {
	fresh fuzz_worker_config
	local f
	for f in "$root"/config/worker*.yaml; do
		grep -v '^[[:space:]]*#' "$f" | grep -v '^[[:space:]]*$' |
			seed fuzz_worker_config "$(basename "$f")"
	done
	printf 'tasks: {t: {formatter: cli, command: [echo, "{x"]}}\n' | seed fuzz_worker_config unclosed
	printf 'slots: -1\ntasks: {}\n' | seed fuzz_worker_config bad-slots
}

template_seeds() {
	fresh fuzz_template
	local table n=0 t
	table=$'lr=0.1\nepochs=3\njob.id=7\njob.name=first\nproject=p\ntask=t\nattempt=1\nworker=w\ninput=it\'s $(id)'
	# every string with a placeholder in the example configurations, and the
	# formatters' defaults
	while IFS= read -r t; do
		n=$((n + 1))
		printf '%s\0%s' "$t" "$table" | seed fuzz_template "config-$n"
	done < <(python3 - "$root"/config/worker*.yaml <<'EOF'
import sys, yaml
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): yield from walk(x)
    elif isinstance(v, list):
        for x in v: yield from walk(x)
    elif isinstance(v, str) and "{" in v:
        yield v
seen = set()
for f in sys.argv[1:]:
    for t in walk(yaml.safe_load(open(f))):
        if t not in seen:
            seen.add(t)
            print(t.replace("\n", "\\n"))
for t in ["{project}.{task}", "wn-{project}-{job.id}-{attempt}",
          "{project}/{task}/{job.id}.{attempt}.log"]:
    if t not in seen:
        print(t)
EOF
	)
	printf '%s\0%s' 'run {missing} {lr}' "$table" | seed fuzz_template missing
	printf '%s\0%s' 'echo ${{HOME}} {{literal}} {lr' "$table" | seed fuzz_template unclosed
	printf '%s\0' '{a-b.c_9}}' | seed fuzz_template stray-close
}

slurm_seeds() {
	source "$root/tests/integration/slurm_lib.sh"
	slurm_start MinJobAge=300
	local script=$WN_TMP/job.sh sc
	printf '#!/bin/sh\necho run; exit ${1:-0}\n' >"$script"
	sbatch -Q -o /dev/null "$script" 0
	sbatch -Q -o /dev/null "$script" 3
	sbatch -Q -o /dev/null --array=0-2 "$script" 0
	sc=$(sbatch --parsable -o /dev/null --wrap 'sleep 300')
	sbatch -Q -o /dev/null --gres=gpu:2 --wrap 'sleep 300' # waits for the one before
	sbatch -Q -o /dev/null --gres=gpu:2 -t 1 --wrap 'sleep 300'
	wait_until 30 "SLURM to run job $sc" eval '[ "$(slurm_state "$sc")" = RUNNING ]'
	wait_until 30 "SLURM to end the short jobs" eval \
		'[ "$(squeue -h -t completed,failed -r | wc -l)" -ge 5 ]'
	scancel "$sc"
	wait_until 30 "SLURM to cancel job $sc" eval '[ "$(slurm_state "$sc")" = CANCELLED ]'
	local ids
	ids=$(squeue -h -r -t all -o %i | paste -sd, -)
	fresh fuzz_slurm_parse
	{
		printf '\0'
		squeue -h -r -t all -O 'JobID:|,JobArrayID:|,State:|,exit_code:|,Reason:|' -j "$ids"
	} | seed fuzz_slurm_parse squeue
	{
		printf '\1'
		sacct -c -n -P -X -o JobIDRaw,JobID,State,ExitCode -j "$ids"
	} | seed fuzz_slurm_parse sacct-c
	local body
	body=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["tasks"]["train"]["script"], end="")' \
		"$root/config/worker-slurm.yaml")
	printf '\2%s\0%s' "$body" "it's \"\$(id)\"" | seed fuzz_slurm_parse script
	printf '\2%s\0%s' "echo '{v}' \"{v}\" # {v}" 'a b' | seed fuzz_slurm_parse script-quotes
	# the tag of a submission, as the worker writes it (docs/formatters.md)
	printf '\3%s' 'whatsnext:w.0123456789abcdef:5.1,12-15.1,19.2 lr 0.1' |
		seed fuzz_slurm_parse tag
}

# batch_seeds: fuzz_batch's seeds, each a byte (odd: --project and --task given)
# and a batch file.
batch_seeds() {
	fresh fuzz_batch
	local n=0 f
	# the ```json examples of the `job batch` section of docs/cli.md
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		printf '\1%s' "$f" | seed fuzz_batch "cli-$n"
	done < <(python3 - "$root/docs/cli.md" <<'EOF'
import re, sys
doc = open(sys.argv[1]).read()
part = doc.split("### job batch", 1)[1].split("\n### ", 1)[0]
for block in re.findall(r"```json\n(.*?)```", part, re.S):
    sys.stdout.write(block + "\0")
EOF
	)
	printf '\0[{"project": "p", "task": "t", "name": "a", "priority": -5, "params": {"s": "x", "i": 1, "r": 0.5, "b": true}, "after": [3, "4:afterany", "b", "b:afternotok", {"ref": "b", "condition": "afterany"}, {"job_id": 9}]}, {"project": "p", "task": "t", "name": "b"}]' |
		seed fuzz_batch array
	printf '\1{"name": "a"}\n\n{"name": "b", "after": ["a"]} {"name": "c"}\r\n' | seed fuzz_batch lines
	printf '\1{"sweep": {"name": "s", "max_running": 3}, "jobs": [{"name": "a"}, {"after": "a"}]}' |
		seed fuzz_batch wrapped
	printf '\1{"name": "x"}\n{"name": "x"}\n{"after": ["x", "y:afterok", "1:never"]}\n' |
		seed fuzz_batch refs
	printf '\1{"name": "a"}\n{"name": }\n' | seed fuzz_batch bad-line
	printf '\0{"sweep": {"cap": 1}, "jobs": [{"params": {"": 1, "k": null}}]}' | seed fuzz_batch bad-fields
	printf '\0prep:afternotok' | seed fuzz_batch dep
}

# url_seeds: fuzz_url's seeds, one server address each.
url_seeds() {
	fresh fuzz_url
	local url
	{
		grep -rhoE "(tcp[46]?|ipc)://[^ \"'\`),]*" "$root/config" "$root/docs" "$root/tests/integration"
		printf '%s\n' "tcp6://[::1]:7640" "tcp://*:7640" "tcp://:7640" "udp://127.0.0.1:1"
	} | sort -u | while IFS= read -r url; do
		printf '%s' "$url" | seed fuzz_url "$(printf '%s' "$url" | sha1sum | cut -c1-16)"
	done
}

# pbjson_seeds: fuzz_pbjson's seeds, JSON bodies of real methods as the HTTP
# listener gets and sends them; the first byte is the method's index in
# methods.def times two, plus one for its reply.
pbjson_seeds() {
	fresh fuzz_pbjson
	# pbjson_seed ID req|reply NAME JSON
	pbjson_seed() {
		local i
		i=$(grep -oE '^WN_METHOD\([A-Z_]+' "$root/src/common/methods.def" | cut -c11- |
			grep -nx "$1" | cut -d: -f1)
		[ -n "$i" ] || fail "no method $1 in methods.def"
		i=$(((i - 1) * 2))
		[ "$2" = req ] || i=$((i + 1))
		{ printf "\\$(printf '%03o' "$i")"; printf '%s' "$4"; } | seed fuzz_pbjson "$3"
	}
	pbjson_seed JOB_SUBMIT req submit '{"job": {"project": "p", "task": "t", "name": "first",
 "params": {"lr": "0.1", "epochs": "3"}, "priority": -5, "after": [{"jobId": "7",
 "condition": "AFTERANY"}, {"ref": "prep", "condition": 2}]}, "brief": true}'
	pbjson_seed JOB_SUBMIT reply submit-reply '{"job":{"id":"42","project":"p","task":"train",
"params":{"lr":"0.1"},"status":"JOB_RUNNING","attempt":1,"exitCode":-2,"createdMs":"1764950400123",
"results":{"loss":{"number":0.25},"phase":{"text":"warm\"up\n"},"zero":{"number":0.0}},
"artifacts":[{"path":"model.pt","size":"18446744073709551615","stored":true},{"path":"log.txt"}]}}'
	pbjson_seed JOB_SUBMIT_BATCH req batch '{"jobs":[{"project":"p","task":"t","params":{"a":"1"}},
{"project":"p","task":"t","after":[{"ref":"b1","condition":"AFTEROK"}]}],
"sweep":{"name":"grid","max_running":2}}'
	pbjson_seed JOB_LIST reply list '{"jobs":[{"id":"1","status":4,"deps":[{"jobId":"2",
"status":"JOB_COMPLETED"}]},{"id":"3","waiting":"waiting on job 1","position":"2"}],
"nextAfterId":"3"}'
	pbjson_seed JOB_LIST req list-req '{"project":"p","status":"JOB_PENDING","page_size":"10",
"afterId":5,"sweepId":1e2}'
	pbjson_seed QUEUE_HEARTBEAT req heartbeat '{"worker":"w1","leases":[{"jobId":"3","attempt":1}],
"progress":[{"jobId":"3","attempt":1,"outputOffset":"0","output":"bG9zcz0wLjUK",
"points":[{"key":"loss","value":"NaN","timeMs":"1","seq":"1"},{"key":"acc","value":"-Infinity"}],
"results":{"loss":{"number":1e-300},"note":{"text":"caf\u00e9"}}}]}'
	pbjson_seed QUEUE_HEARTBEAT reply heartbeat-reply '{"leaseExpiresMs":"-1","cancelled":["1","2"],
"lost":[3],"drain":true}'
	pbjson_seed JOB_GET_ARTIFACT reply artifact '{"offset":"4","data":"AP_-aGk"}'
	pbjson_seed TASK_CREATE req task '{"task":{"project":"p","name":"t","resources":{"cpu":2,
"gpu":"1","memory_mb":"4096","labels":{"site":"lab"}},"max_attempts":3,"timeoutS":600}}'
	pbjson_seed JOB_HISTORY reply history '{"jobId":"9","attempt":2,"series":[{"key":"loss",
"points":[{"value":0.5,"timeMs":"10","seq":"1"},{"value":0.25,"seq":"2"}],"stride":1,
"reported":"2","lastSeq":"2"}]}'
	pbjson_seed QUEUE_COMPLETE req complete '{"job_id":"3","attempt":1,"worker":"w1","success":false,
"exitCode":2,"reason":"bad lr","outputTail":"loss=nan","durationMs":1200,
"next":{"project":"p","worker":"w1","tasks":["t"],"maxJobs":2}}'
	pbjson_seed PROJECT_LIST req empty ''
}

targets=("$@")
[ "${#targets[@]}" -gt 0 ] ||
	targets=(fuzz_envelope fuzz_pbcheck fuzz_worker_config fuzz_template fuzz_slurm_parse fuzz_batch
		fuzz_url fuzz_pbjson)
# (fuzz_envelope's session also gives the seeds of fuzz_sp and fuzz_check)
for t in "${targets[@]}"; do
	case $t in
	fuzz_envelope | fuzz_sp | fuzz_check) [ -n "${wire_done:-}" ] || wire_seeds; wire_done=1 ;;
	fuzz_pbcheck) pbcheck_seeds ;;
	fuzz_worker_config) config_seeds ;;
	fuzz_template) template_seeds ;;
	fuzz_slurm_parse) slurm_seeds ;;
	fuzz_batch) batch_seeds ;;
	fuzz_url) url_seeds ;;
	fuzz_pbjson) pbjson_seeds ;;
	*) fail "no seeds for $t" ;;
	esac
done
du -sh "$corpus"/* | sed 's|'"$corpus"'/||'
