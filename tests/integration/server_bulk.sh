# Many jobs at once: job list's filters (several statuses and projects, a
# name glob, newest first) as a script sees them over the HTTP/JSON API, and
# the bulk changes (JobService/Bulk) through wnctl: job cancel|retry|remove|
# priority|hold|release on many ids, a sweep or filters, sweep cancel|retry,
# job update --param.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# hlist JSON: the ids JobService/List answers to JSON over HTTP, space
# separated, then its next_after_id after a slash ("3 2 1/0").
hlist() {
	local out
	out=$(curl -sS -X POST "$WN_HTTP/v1/JobService/List" -H 'Content-Type: application/json' \
		--data-binary "$1") || fail "curl List: no reply"
	jq -r '"\([(.jobs // [])[].id] | join(" "))/\(.nextAfterId // "0")"' <<<"$out"
}

test_job_list_filters() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	mkproject p
	mkproject q
	mkproject r
	mktask p t
	mktask q t
	mktask r t
	local a b c d e
	a=$(wnctl job add p t --name train-1)
	b=$(wnctl job add q t --name train-2)
	c=$(wnctl job add r t --name eval-1)
	d=$(wnctl job add p t --name train-3)
	e=$(wnctl job add q t --name eval-2)
	wnctl job cancel "$b" >/dev/null
	wnctl job cancel "$e" >/dev/null

	expect_eq "$(hlist '{"projects":["p","q"]}')" "$a $b $d $e/0" "two projects"
	expect_eq "$(hlist '{"project":"r","projects":["q"]}')" "$b $c $e/0" "project and projects"
	expect_eq "$(hlist '{"statuses":["JOB_PENDING","JOB_CANCELLED"],"projects":["q"]}')" \
		"$b $e/0" "two statuses"
	expect_eq "$(hlist '{"status":"JOB_CANCELLED","statuses":["JOB_COMPLETED"]}')" \
		"$b $e/0" "status and statuses"
	expect_eq "$(hlist '{"nameGlob":"train-*"}')" "$a $b $d/0" "name glob"
	expect_eq "$(hlist '{"nameGlob":"*-[2]"}')" "$b $e/0" "glob class"
	# newest first, in pages of two: the cursor goes down
	expect_eq "$(hlist '{"newestFirst":true,"pageSize":2}')" "$e $d/$d" "newest page 1"
	expect_eq "$(hlist "{\"newestFirst\":true,\"pageSize\":2,\"afterId\":\"$d\"}")" \
		"$c $b/$b" "newest page 2"
	expect_eq "$(hlist "{\"newestFirst\":true,\"pageSize\":2,\"afterId\":\"$b\"}")" "$a/0" \
		"newest page 3"
	expect_eq "$(hlist '{"newestFirst":true,"nameGlob":"eval-*"}')" "$e $c/0" "newest glob"

	# bad filters are refused with a message
	local out
	out=$(curl -sS -X POST "$WN_HTTP/v1/JobService/List" -H 'Content-Type: application/json' \
		-d '{"projects":["p","nosuch"]}')
	expect_contains "$out" nosuch
	out=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$WN_HTTP/v1/JobService/List" \
		-H 'Content-Type: application/json' -d '{"statuses":[17]}')
	expect_eq "$out" 400 "unknown status"
}

# statuses ID...: the jobs' statuses, space separated.
statuses() {
	local id out=""
	for id in "$@"; do out+="$(job_status "$id") "; done
	echo "${out% }"
}

test_job_bulk_by_ids() {
	wn_start
	mkproject p
	mktask p t
	local a b c d
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t)
	d=$(wnctl job add p t)
	expect_exit 0 wnctl job cancel "$a" "$b" "$c" --reason sweep-broken
	expect_eq "$WN_OUT" "cancelled 3 jobs: $a, $b, $c" "cancel output"
	expect_eq "$(statuses "$a" "$b" "$c" "$d")" "cancelled cancelled cancelled pending"
	expect_eq "$(job_field "$b" .reason)" sweep-broken "reason recorded"
	# some refused: the others change, each refusal says why, exit 6
	expect_exit 6 wnctl job retry "$a" "$d" "$b"
	expect_contains "$WN_OUT" "retried 2 jobs: $a, $b"
	expect_contains "$WN_OUT" "left 1 job as they were:"
	expect_contains "$WN_OUT" "job $d is pending; only failed, cancelled or blocked jobs"
	expect_eq "$(statuses "$a" "$b" "$c" "$d")" "pending pending cancelled pending"
	# priority: the last argument
	expect_exit 0 wnctl job priority "$a" "$d" 7
	expect_eq "$(job_field "$d" .priority)" 7 "priority set"
	# an unknown id changes nothing
	expect_exit 4 wnctl job cancel "$a" 999999
	expect_contains "$WN_ERR" 999999
	expect_eq "$(job_status "$a")" pending "after a refused bulk call"
	# --json: the whole reply
	expect_exit 0 wnctl --json job remove "$c" "$d"
	expect_eq "$(jq -c .changed <<<"$WN_OUT")" "[$c,$d]" "removed ids"
	expect_eq "$(all_job_ids | tr '\n' ' ')" "$a $b " "jobs left"
	# one id: the single-job output, as before
	expect_exit 0 wnctl job cancel "$a"
	expect_eq "$WN_OUT" "job $a: cancelled" "one id"
	expect_exit 2 wnctl job retry
	expect_contains "$WN_ERR" "name the jobs"
}

test_job_bulk_filters_and_sweeps() {
	wn_start
	mkproject p
	mkproject q
	mktask p t --retries 0
	mktask q t
	local sw ids i got
	sw=$(wnctl job sweep p t --grid seed=1..6 | awk '{print $2; exit}')
	[[ $sw =~ ^[0-9]+$ ]] || sw=$(wnctl --json sweep list p | jq -r '.sweeps[0].id')
	ids=$(all_job_ids --sweep "$sw" | tr '\n' ' ')
	local other
	other=$(wnctl job add q t --name seed-x)
	# two fail, one completes, as a misconfigured worker would leave them
	for i in 1 2 3; do
		got=$(wnctl queue fetch p --worker w | awk '{print $1}')
		if [ "$i" = 3 ]; then
			wnctl queue complete "$got" 1 --worker w >/dev/null
		else
			wnctl queue complete "$got" 1 --worker w --fail --exit-code 1 >/dev/null
		fi
	done
	local s1 s2 s3 s4 s5 s6
	read -r s1 s2 s3 s4 s5 s6 <<<"$ids"
	expect_eq "$(statuses $ids)" "failed failed completed pending pending pending"
	# sweep cancel: only what can be cancelled, in one change
	expect_exit 0 wnctl sweep cancel "$sw"
	expect_eq "$WN_OUT" "cancelled 3 jobs: $s4, $s5, $s6"
	expect_eq "$(job_status "$other")" pending "a job of another project"
	# sweep retry --failed: the failed ones only
	expect_exit 0 wnctl sweep retry "$sw" --failed
	expect_eq "$WN_OUT" "retried 2 jobs: $s1, $s2"
	expect_eq "$(statuses $ids)" "pending pending completed cancelled cancelled cancelled"
	# sweep retry: every retryable job
	expect_exit 0 wnctl sweep retry "$sw"
	expect_eq "$WN_OUT" "retried 3 jobs: $s4, $s5, $s6"
	# filters: status, name glob, project
	expect_exit 0 wnctl job cancel --project p --name 'seed=[12]*'
	expect_eq "$WN_OUT" "cancelled 2 jobs: $s1, $s2" "cancel by name glob"
	expect_exit 0 wnctl job retry --status cancelled --project p --project q
	expect_eq "$WN_OUT" "retried 2 jobs: $s1, $s2"
	expect_exit 0 wnctl job remove --status completed --yes
	expect_eq "$WN_OUT" "removed 1 job: $s3"
	expect_exit 0 wnctl job cancel --name 'nomatch*'
	expect_eq "$WN_OUT" "no job matched: nothing cancelled"
	mktask q u
	local u
	u=$(wnctl job add q u --name seed-y)
	expect_exit 0 wnctl job cancel --task u
	expect_eq "$WN_OUT" "cancelled 1 job: $u" "cancel by task"
	expect_eq "$(job_status "$other")" pending "a job of another task"
	expect_exit 4 wnctl job cancel --project nosuch
	expect_exit 4 wnctl sweep cancel 999999
	expect_exit 2 wnctl job cancel 5 --sweep "$sw"
}

test_job_hold_release() {
	wn_start
	mkproject p
	mktask p t
	local a b c
	a=$(wnctl job add p t)
	b=$(wnctl job add p t)
	c=$(wnctl job add p t --after "$a")
	expect_exit 0 wnctl job hold "$a" "$c"
	expect_eq "$WN_OUT" "held 2 jobs: $a, $c"
	expect_eq "$(job_field "$a" .held)" true "held flag"
	expect_contains "$(wnctl job show "$a")" "held"
	# the queue view leaves held jobs out, those waiting on a dependency too
	expect_eq "$(wnctl --json queue show p | jq -c '[.jobs[].id]')" "[$b]" "queue show"
	# dispatch passes over it: the next fetch gets b, then nothing
	expect_eq "$(wnctl queue fetch p --worker w | awk '{print $1}')" "$b" "fetch skips held"
	expect_eq "$(wnctl queue fetch p --worker w)" "" "nothing else to hand out"
	expect_exit 6 wnctl job hold "$a" "$b"
	expect_contains "$WN_OUT" "job $a is already held"
	expect_contains "$WN_OUT" "job $b is running; only pending or blocked jobs can be held"
	# held across a restart
	wn_stop
	wn_start
	expect_eq "$(wnctl queue fetch p --worker w)" "" "still held after a restart"
	expect_exit 0 wnctl job release "$a"
	expect_eq "$WN_OUT" "released 1 job: $a"
	expect_eq "$(wnctl queue fetch p --worker w | awk '{print $1}')" "$a" "released runs"
	wnctl queue complete "$a" 1 --worker w >/dev/null
	# c's dependency holds now, but c stays held until released
	expect_eq "$(wnctl queue fetch p --worker w)" "" "held dependent"
	expect_exit 0 wnctl job release --project p
	expect_eq "$WN_OUT" "released 1 job: $c"
	expect_exit 0 wnctl job cancel "$c"
	expect_eq "$(job_field "$c" '.held // false')" false "a cancel ends the hold"
	expect_exit 0 wnctl job hold --project p
	expect_eq "$WN_OUT" "no job matched: nothing held" "a filter selects what can be held"
	wn_stop
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/data"
}

test_job_update_params() {
	wn_start
	mkproject p
	mktask p t
	local a b
	a=$(wnctl job add p t --param lr=0.1 --param seed=1)
	expect_exit 0 wnctl job update "$a" --param lr=0.01 --param extra=x
	expect_eq "$WN_OUT" "job $a: updated 2 parameters"
	expect_eq "$(job_field "$a" '[.params.lr, .params.seed, .params.extra] | join(" ")')" \
		"0.01 1 x" "params after update"
	expect_exit 2 wnctl job update "$a" --param lr=
	expect_exit 2 wnctl job update "$a"
	expect_exit 7 wnctl job update "$a" --param 'bad name=1'
	b=$(wnctl queue fetch p --worker w | awk '{print $1}')
	expect_eq "$b" "$a" "fetched"
	expect_exit 6 wnctl job update "$a" --param lr=1
	expect_contains "$WN_ERR" "only pending or blocked jobs can be updated"
	expect_eq "$(job_field "$a" .params.lr)" 0.01 "a refused update changes nothing"
	expect_exit 4 wnctl job update 999999 --param lr=1
}

# A job's parameters grow by updates only up to what a reply can carry: past
# that the update is refused and the job can still be read and listed.
test_job_update_size_bound() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	mkproject p
	mktask p t
	local a big body i code refused=0
	a=$(wnctl job add p t --param lr=0.1)
	big=$(head -c 1000000 /dev/zero | tr '\0' x)
	for i in 1 2 3 4; do
		body=$(printf '{"id":"%s","params":{"a%s":"%s","b%s":"%s","c%s":"%s"}}' \
			"$a" "$i" "$big" "$i" "$big" "$i" "$big")
		code=$(curl -sS -o "$WN_TMP/upd.out" -w '%{http_code}' -X POST \
			"$WN_HTTP/v1/JobService/Update" -H 'Content-Type: application/json' \
			--data-binary @- <<<"$body") || fail "curl Update: no reply"
		[[ $code == 200 ]] && continue
		refused=$i
		grep -q "over the limit" "$WN_TMP/upd.out" || fail "update $i: $(head -c 300 "$WN_TMP/upd.out")"
		break
	done
	expect_eq "$refused" 3 "the update that passes 8 MiB of parameters is refused"
	expect_eq "$(job_field "$a" .params.lr)" 0.1 "the job can still be read"
	expect_eq "$(job_field "$a" '.params | length')" 7 "the refused update changed nothing"
	expect_contains "$(wnctl job list --project p)" "$a" "the job is listed"
}

# job release by a filter selects the held jobs only: many waiting jobs that
# are not held do not make the selection too large.
test_job_release_among_many_waiting() {
	wn_start --durability relaxed
	mkproject p
	mktask p t
	local a
	wnctl job sweep p t --grid 'x=1..100000' >/dev/null
	a=$(wnctl job add p t)
	wnctl job hold "$a" >/dev/null
	expect_eq "$(wnctl job release --project p)" "released 1 job: $a" "release by a filter"
	expect_eq "$(job_field "$a" ".held // false")" false "the job is no longer held"
}
