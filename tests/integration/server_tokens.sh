# Named tokens with roles: every method against every role (wnmatrix), wnctl
# token create/list/revoke, secrets never stored, logged or listed, the
# bootstrap admin token file, the audit log, a job's submitter, a revoked
# token stopping a running worker, wnd --check on token records, a token's
# resent Submit after a step back of the wall clock, wnctl status of a
# token limited to some projects.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

ADMIN_SECRET=admin-secret-for-the-tests-0123456789

# start_with_admin [wnd args...]: wnd with the bootstrap admin token of
# admin.token; wnctl calls carry it (WN_TOKEN).
start_with_admin() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token "$@"
}

# grep_data SECRET: fail if a file of the data directory or the logs holds
# SECRET (RocksDB's tables, its write-ahead log, the audit log, wnd's log).
grep_data() {
	if grep -rqF -- "$1" data wnd.log; then
		fail "the secret $1 is stored in clear: $(grep -rlF -- "$1" data wnd.log)"
	fi
}

test_every_method_against_every_role() {
	start_with_admin --durability relaxed
	mkdir backups
	"$WN_BIN/wnmatrix" "$WN_SERVER" admin.token "$PWD/backups" >matrix.out 2>matrix.err ||
		fail "wnmatrix: $(<matrix.err)"
	expect_contains "$(<matrix.out)" " checks, 0 failed"
	grep_data "$ADMIN_SECRET"
}

test_token_create_list_revoke_and_roles() {
	start_with_admin
	local alice bob
	alice=$(wnctl token create alice --role user --project pa)
	[[ $alice =~ ^wn_[a-z2-7]{52}$ ]] || fail "secret: $alice"
	bob=$(wnctl token create bob --role reader 2>err)
	expect_contains "$(<err)" "shown this once"
	expect_exit 5 wnctl token create bob --role reader
	expect_exit 7 wnctl token create carol --role reader --project pa
	expect_exit 2 wnctl token create carol
	expect_exit 7 wnctl token create bootstrap --role admin
	# listed, never with a secret
	local list
	list=$(wnctl token list)
	expect_contains "$list" "alice"
	expect_contains "$(wnctl --json token list)" '"role": "user"'
	expect_not_contains "$list$(wnctl --json token list)" "$alice"
	expect_not_contains "$(wnctl --json token list)" "$bob"
	# a user of pa: pa yes, pb no; a reader reads only
	wnctl project create pa >/dev/null
	wnctl project create pb >/dev/null
	wnctl task create pa t >/dev/null
	expect_exit 0 env WN_TOKEN="$alice" "$WN_BIN/wnctl" job add pa t
	# the creator of a task and of a project
	WN_TOKEN=$alice wnctl task create pa t2 >/dev/null
	expect_eq "$(wnctl --json task show pa t2 | jq -r .created_by)" alice "task's creator"
	expect_eq "$(wnctl --json project show pa | jq -r .created_by)" bootstrap "project's creator"
	expect_exit 8 env WN_TOKEN="$alice" "$WN_BIN/wnctl" project delete pb
	expect_contains "$WN_ERR" 'token "alice" is limited to its projects'
	expect_exit 8 env WN_TOKEN="$bob" "$WN_BIN/wnctl" project create x
	expect_contains "$WN_ERR" "has role reader"
	expect_exit 0 env WN_TOKEN="$bob" "$WN_BIN/wnctl" project list
	expect_exit 8 env WN_TOKEN="$bob" "$WN_BIN/wnctl" token list
	# the submitter: shown, and a filter
	local id
	id=$(WN_TOKEN=$alice wnctl job add pa t)
	expect_contains "$(wnctl job show "$id")" "submitter: alice"
	wnctl job add pa t >/dev/null
	expect_eq "$(wnctl --json job list --submitter alice | jq -c '[.jobs[].id] | length')" 2 \
		"jobs of alice"
	expect_eq "$(wnctl --json job list --submitter bootstrap | jq -c '[.jobs[].id] | length')" 1 \
		"jobs of the admin token"
	# revoked: refused from the next call on, and after a restart
	expect_contains "$(wnctl token revoke bob)" "revoked token bob"
	expect_exit 8 env WN_TOKEN="$bob" "$WN_BIN/wnctl" project list
	expect_contains "$WN_ERR" "unknown or revoked token"
	expect_exit 4 wnctl token revoke bob
	wn_stop
	wn_start --admin-token-file admin.token
	expect_exit 8 env WN_TOKEN="$bob" "$WN_BIN/wnctl" project list
	expect_exit 0 env WN_TOKEN="$alice" "$WN_BIN/wnctl" job list --project pa
	wn_stop
	grep_data "$alice"
	grep_data "$bob"
	grep_data "$ADMIN_SECRET"
}

# A server whose only way in as an admin is a token record (no
# admin_token_file) keeps it: revoking the last admin token turned tokens off
# when it was the last token (every caller, network ones too, was then an
# admin), and left no one able to manage tokens otherwise. A first token of
# another role, sent by a client that does not check (HTTP), would lock the
# admin out too.
test_the_last_admin_token_cannot_be_revoked_nor_a_first_token_be_another() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local st
	st=$(curl -s -o reply -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{"token": {"name": "r0", "role": "ROLE_READER"}}' "$WN_HTTP/v1/TokenService/Create")
	expect_eq "$st" 400 "a first token of role reader ($(<reply))"
	expect_contains "$(jq -r .message reply)" "the server has no tokens yet"
	expect_eq "$(wnctl --json token list | jq -c '.tokens // []')" "[]" "tokens"
	expect_exit 0 wnctl project list
	local root r
	root=$(wnctl token create root --role admin 2>/dev/null)
	export WN_TOKEN=$root
	r=$(wnctl token create r --role reader 2>/dev/null)
	expect_exit 6 wnctl token revoke root --yes
	expect_contains "$WN_ERR" 'token "root" is the last admin token'
	expect_exit 8 env -u WN_TOKEN "$WN_BIN/wnctl" project create x
	expect_exit 8 env WN_TOKEN="$r" "$WN_BIN/wnctl" token list
	wnctl token revoke r --yes >/dev/null
	# the last token of all: revoking it would let everyone in
	expect_exit 6 wnctl token revoke root --yes
	expect_exit 8 env -u WN_TOKEN "$WN_BIN/wnctl" project create x
	# with a second admin token, the first may go
	local root2
	root2=$(wnctl token create root2 --role admin 2>/dev/null)
	expect_exit 0 wnctl token revoke root --yes
	expect_exit 8 wnctl project list
	export WN_TOKEN=$root2
	expect_eq "$(project_names)" "" "projects"
}

# wnd started with the deprecated WN_TOKEN (or token:) holding the secret of
# a token record, as from the shell where that token is wnctl's: revoking the
# record said "revoked", yet its secret went on in as the bootstrap admin.
test_a_token_whose_secret_is_the_bootstrap_one_is_not_revoked_in_name_only() {
	unset WN_TOKEN
	wn_start
	local ops
	ops=$(wnctl token create ops --role admin 2>/dev/null)
	wn_stop
	WN_TOKEN=$ops wn_start
	export WN_TOKEN=$ops
	expect_contains "$(<wnd.log)" \
		"token ops has the secret of the bootstrap admin token (the token setting or WN_TOKEN)"
	expect_exit 6 wnctl token revoke ops --yes
	expect_contains "$WN_ERR" 'token "ops" has the secret of the bootstrap admin token'
	expect_contains "$(wnctl token list)" "ops"
	# started with an admin_token_file of its own, wnd lets it go for good
	wn_stop
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 600 admin.token
	wn_start --admin-token-file admin.token
	expect_contains "$(wnctl token revoke ops --yes)" "revoked token ops"
	expect_exit 8 wnctl project list
}

test_audit_log_records_admin_operations() {
	start_with_admin
	local alice
	alice=$(wnctl token create alice --role user)
	wnctl project create p >/dev/null
	WN_TOKEN=$alice wnctl project create q >/dev/null
	WN_TOKEN=$alice wnctl project delete q >/dev/null
	expect_exit 8 env WN_TOKEN="$alice" "$WN_BIN/wnctl" queue clear p
	expect_exit 8 env WN_TOKEN="$alice" "$WN_BIN/wnctl" token revoke bootstrap --yes
	wnctl token revoke alice >/dev/null
	expect_eq "$(stat -c %a data/audit.log)" 600 "audit log mode"
	local log
	log=$(<data/audit.log)
	expect_not_contains "$log" "$alice"
	# one JSON object a line, with its fields
	python3 - data/audit.log <<'EOF' || fail "audit log: $log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
got = [(l["token"], l["method"], l["target"], l["result"]) for l in lines]
want = [
    ("bootstrap", "TokenService/Create", "token=alice", "OK"),
    ("bootstrap", "ProjectService/Create", "project=p", "OK"),
    ("alice", "ProjectService/Delete", "project=q", "OK"),
    ("alice", "QueueService/Clear", "project=p", "PERMISSION_DENIED"),
    ("alice", "TokenService/Revoke", "token=bootstrap", "PERMISSION_DENIED"),
    ("bootstrap", "TokenService/Revoke", "token=alice", "OK"),
]
assert got == want, got
assert all(set(l) >= {"time", "token", "role", "method", "target", "result"} for l in lines)
assert lines[3]["role"] == "user" and "needs role admin" in lines[3]["message"]
EOF
}

test_admin_token_file_must_be_private() {
	printf '%s\n' "$ADMIN_SECRET" >admin.token
	chmod 644 admin.token
	expect_exit 1 "$WN_BIN/wnd" --data data --listen "ipc://$WN_TMP/s" --admin-token-file admin.token
	expect_contains "$WN_ERR" "admin_token_file admin.token may be read or changed by other users (mode 0644): run chmod 600 admin.token"
	# no secret on the command line: there is no --token
	expect_exit 2 "$WN_BIN/wnd" --data data --listen "ipc://$WN_TMP/s" --token "$ADMIN_SECRET"
	expect_not_contains "$("$WN_BIN/wnd" --help)" "--token T"
	chmod 600 admin.token
	export WN_TOKEN=$ADMIN_SECRET
	wn_start --admin-token-file admin.token
	expect_exit 8 env -u WN_TOKEN "$WN_BIN/wnctl" project list
	expect_contains "$WN_ERR" "this server requires a token"
	expect_exit 0 wnctl project list
}

test_revoked_token_stops_a_running_worker() {
	start_with_admin
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local secret id
	secret=$(wnctl token create w1 --role worker)
	{
		worker_head p
		cat <<EOF
tasks:
  t:
    command: [sleep, "30"]
EOF
	} >w.yaml
	id=$(wnctl job add p t)
	WN_TOKEN=$secret worker_start w1 w.yaml
	local pid=$WORKER_PID
	wait_status "$id" running
	wnctl token revoke w1 >/dev/null
	# its next call (a heartbeat or a fetch) is refused, or the heartbeat the
	# server holds is answered with the refusal: it stops and says why
	wait_until 30 "wnworker to stop" worker_gone "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -ne 0 ] || fail "wnworker exited 0 after its token was revoked"
	expect_contains "$(grep 'stopping (check the worker' w1.log)" "revoked"
}

test_revoked_worker_waiting_for_a_job_gets_none() {
	start_with_admin
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local secret
	secret=$(wnctl token create w1 --role worker)
	WN_TOKEN=$secret wnctl queue fetch p --worker w1 --wait 30000 >fetch.out 2>fetch.err &
	local pid=$!
	bg_track "$pid"
	sleep 0.5 # most often parked by now; parked or not, it must get no job
	wnctl token revoke w1 >/dev/null
	# a job submitted now does not go to the fetch that waited
	local id rc=0
	id=$(wnctl job add p t)
	wait "$pid" || rc=$?
	expect_eq "$rc" 0 "the waiting fetch's exit (stderr: $(cat fetch.err))"
	expect_eq "$(<fetch.out)" "" "the waiting fetch's answer (no job)"
	expect_eq "$(job_status "$id")" pending "the job after the revoke"
	expect_exit 8 env WN_TOKEN="$secret" "$WN_BIN/wnctl" queue fetch p --worker w1
	expect_eq "$(job_status "$id")" pending "the job after a fetch with the revoked token"
}

test_revoked_admin_token_waiting_for_a_job_gets_none() {
	start_with_admin --log-level debug
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local secret
	secret=$(wnctl token create ops --role admin 2>/dev/null)
	WN_TOKEN=$secret wnctl queue fetch p --worker any --wait 30000 >fetch.out 2>fetch.err &
	local pid=$!
	bg_track "$pid"
	wait_until 20 "the fetch to wait" log_has wnd.log "of worker any waits up to"
	wnctl token revoke ops --yes >/dev/null
	# a job submitted now does not go to the fetch parked under the token
	local id rc=0
	id=$(wnctl job add p t)
	wait "$pid" || rc=$?
	expect_eq "$rc" 0 "the waiting fetch's exit (stderr: $(cat fetch.err))"
	expect_eq "$(<fetch.out)" "" "the waiting fetch's answer (no job)"
	expect_eq "$(job_status "$id")" pending "the job after the revoke"
}

test_worker_token_acts_only_as_its_worker() {
	start_with_admin
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local secret
	secret=$(wnctl token create w1 --role worker)
	{
		worker_head p
		echo "tasks: {t: {command: [true]}}"
	} >w.yaml
	WN_TOKEN=$secret worker_start w2 w.yaml
	local pid=$WORKER_PID
	wait_until 20 "wnworker w2 to stop" worker_gone "$pid"
	expect_contains "$(<w2.log)" 'worker token "w1" may not act as worker "w2"'
	expect_eq "$(wnctl --json worker list --all | jq -c '[.workers[].name]')" "[]" "workers"
}

test_check_reads_token_records() {
	start_with_admin
	wnctl token create alice --role user >/dev/null
	wn_stop
	expect_exit 0 "$WN_BIN/wnd" --check --data data
	expect_contains "$WN_OUT" "1 token(s)"
	# a token record that is not one: found, and the repair removes it
	"$WN_BIN/wnstore" data put-text a/mallory "not a token record"
	expect_exit 1 "$WN_BIN/wnd" --check --data data
	expect_contains "$WN_OUT" "a/mallory: record does not unpack as a TokenRecord; wnd does not start with it"
	expect_exit 1 "$WN_BIN/wnd" --data data --listen "ipc://$WN_TMP/s2" --admin-token-file admin.token
	expect_contains "$WN_ERR" "cannot read the token a/mallory record"
	expect_exit 0 "$WN_BIN/wnd" --check --repair --data data
	expect_exit 0 "$WN_BIN/wnd" --check --data data
	wn_start --admin-token-file admin.token
	expect_contains "$(wnctl token list)" "alice"
}

test_resent_submit_after_a_wall_clock_step_back_gets_its_job() {
	start_with_admin --test-clock clock
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local alice body first
	alice=$(wnctl token create alice --role user 2>/dev/null)
	# the wall clock steps back (an NTP correction): alice's job is dated
	# before alice's token, and is hers all the same
	set_clock -600000
	body=$(pbhex '[(1, [(1, "p"), (2, "t")])]')
	raw_call "$M_JOB/Submit" "$body" --id 4242 --token "$alice"
	expect_raw OK "the submit"
	first=$(wnctl --json job list --all | jq -r '.jobs[0].id')
	wn_stop
	wn_start --admin-token-file admin.token --test-clock clock
	raw_call "$M_JOB/Submit" "$body" --id 4242 --token "$alice"
	expect_raw OK "the submit resent after a restart"
	expect_eq "$(wnctl --json job list --all | jq -c '[.jobs[].id]')" "[$first]" "jobs"
}

# On a server without tokens the first token turns them on: a first token
# that is not an admin's would leave no one able to manage tokens (nor, with
# a worker or reader token, to change anything). wnctl refuses it and
# changes nothing; an admin token first, then the others, work.
test_first_token_must_be_an_admins() {
	wn_start
	wnctl project create p >/dev/null
	local role
	for role in user worker reader; do
		expect_exit 6 wnctl token create first --role "$role"
		expect_eq "$WN_ERR" "wnctl: the server has no tokens yet: the first one turns them on, and with only a $role token no one could manage tokens; create an admin token first (wnctl token create NAME --role admin)"
		expect_eq "$WN_OUT" "" "stdout of token create --role $role"
	done
	# nothing changed: the server still serves without a token
	expect_exit 0 wnctl token list
	expect_eq "$WN_OUT" "NAME  ROLE  PROJECTS  WORKERS  CREATED-BY  CREATED" "tokens"
	expect_exit 0 wnctl project show p
	local admin
	admin=$(wnctl token create boss --role admin 2>/dev/null)
	expect_exit 0 env WN_TOKEN="$admin" "$WN_BIN/wnctl" token create alice --role user
	expect_contains "$(WN_TOKEN=$admin wnctl token list)" "alice"
}

# wnctl status with a token limited to some projects: the counts and sweeps
# of those, a total over them, nothing of the other projects; it was refused
# (PERMISSION_DENIED: "name one of them").
test_status_of_a_token_limited_to_some_projects() {
	start_with_admin
	local p
	for p in mine other theirs; do
		wnctl project create "$p" >/dev/null
		wnctl task create "$p" t >/dev/null
	done
	wnctl job add mine t >/dev/null
	wnctl job add theirs t >/dev/null
	wnctl job sweep mine t --grid a=1,2 >/dev/null 2>&1
	wnctl job sweep theirs t --grid a=1,2,3 >/dev/null 2>&1
	# ghost: a project of the token that does not exist
	wnctl token create bob --role user --project mine --project other --project ghost \
		>bob.token 2>/dev/null
	chmod 600 bob.token
	expect_exit 0 env -u WN_TOKEN WN_TOKEN_FILE=bob.token "$WN_BIN/wnctl" status
	expect_eq "$WN_ERR" "" "stderr"
	expect_eq "$(awk 'NF {print $1, $2, $NF}' <<<"$WN_OUT")" "PROJECT PENDING TOTAL
mine 3 3
other 0 0
TOTAL 3 3
SWEEP PROJECT TOTAL
3 mine 2" "status of bob"
	expect_not_contains "$WN_OUT" "theirs"
	expect_exit 0 env -u WN_TOKEN WN_TOKEN_FILE=bob.token "$WN_BIN/wnctl" --json status
	expect_eq "$(jq -c '[[.projects[].project], .total.pending, [.sweeps[].project], .warnings]' \
		<<<"$WN_OUT")" '[["mine","other"],3,["mine"],[]]' "status of bob as JSON"
	expect_exit 0 env -u WN_TOKEN WN_TOKEN_FILE=bob.token "$WN_BIN/wnctl" --json queue stats
	expect_eq "$(jq -c '[.projects[].project]' <<<"$WN_OUT")" '["mine","other"]' "queue stats"
	# the admin sees every project
	expect_eq "$(wnctl --json status | jq -c '[[.projects[].project], [.sweeps[].id]]')" \
		'[["mine","other","theirs"],[3,5]]' "status of the admin"
	# the other calls naming every project are still refused
	expect_exit 8 env -u WN_TOKEN WN_TOKEN_FILE=bob.token "$WN_BIN/wnctl" sweep list
	expect_contains "$WN_ERR" "name one of them"
	wn_stop
}
