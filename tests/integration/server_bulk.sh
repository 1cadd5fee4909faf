# Many jobs at once: job list's filters (several statuses and projects, a
# name glob, newest first) as a script sees them over the HTTP/JSON API, and
# the bulk changes (JobService/Bulk) through wnctl: job cancel|retry|remove|
# priority|hold|release on many ids, a sweep or filters, sweep cancel|retry,
# job update --param.
source "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"

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
