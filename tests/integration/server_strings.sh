# Strings on the wire (sent with wnraw): every string field of a request must
# be valid UTF-8 without a NUL byte. protobuf-c would cut a string at its NUL
# ("ok\0/../../x" created a project "ok") and took any bytes; wnd refuses both
# with INVALID_ARGUMENT naming the field, and changes nothing.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

M_WORKER=/whatsnext.v1.WorkerService

# Bad strings, as Python bytes literals: a NUL inside and at the end, then
# invalid UTF-8 (a lone continuation byte, an overlong "/", a surrogate, past
# U+10FFFF, a sequence cut short).
BAD=('b"ok\x00/../../x"' 'b"ok\x00"' 'b"a\x80b"' 'b"a\xc0\xafb"' 'b"\xed\xa0\x80"'
	'b"\xf4\x90\x80\x80"' 'b"ab\xe6\x97"')

setup_state() {
	wn_start
	mkproject p
	mktask p t
	wnctl job add p t --name base >/dev/null
	wnctl queue fetch p --worker w1 >/dev/null
}

# state: everything a user can list, workers too.
state() {
	snapshot
	wnctl --json worker list | jq -S 'del(.workers[]?.last_seen_ms)'
}

# expect_refused FIELD MESSAGE_TYPE WHAT: the reply in $RAW_OUT is
# INVALID_ARGUMENT naming FIELD of MESSAGE_TYPE.
expect_refused() {
	expect_raw INVALID_ARGUMENT "$3"
	local msg
	msg=$(raw_message)
	[[ $msg == "field \"$1\" of whatsnext.v1.$2 "* ]] ||
		fail "$3: expected a message naming field $1 of $2, got: $msg"
	[[ $msg == *"holds a NUL byte" || $msg == *"is not valid UTF-8 (at byte "*")" ]] ||
		fail "$3: expected a NUL or UTF-8 message, got: $msg"
}

# test-tier: long
test_strings_with_nul_or_bad_utf8_are_refused_in_every_place() {
	setup_state
	local before bad
	before=$(state)
	for bad in "${BAD[@]}"; do
		raw_call $M_PROJECT/Create "$(pbhex "[(1, $bad)]")"
		expect_refused name CreateProjectRequest "project name $bad"
		raw_call $M_PROJECT/Create "$(pbhex "[(1, \"fine\"), (2, $bad)]")"
		expect_refused description CreateProjectRequest "project description $bad"
		raw_call $M_TASK/Create "$(pbhex "[(1, [(1, \"p\"), (2, $bad)])]")"
		expect_refused task.name CreateTaskRequest "task name $bad"
		raw_call $M_JOB/Submit "$(pbhex "[(1, [(1, \"p\"), (2, \"t\"), (3, $bad)])]")"
		expect_refused job.name SubmitRequest "job name $bad"
		raw_call $M_JOB/Submit "$(pbhex "[(1, [(1, \"p\"), (2, \"t\"), (4, [(1, $bad), (2, \"v\")])])]")"
		expect_refused job.params.key SubmitRequest "parameter name $bad"
		raw_call $M_JOB/Submit "$(pbhex "[(1, [(1, \"p\"), (2, \"t\"), (4, [(1, \"k\"), (2, $bad)])])]")"
		expect_refused job.params.value SubmitRequest "parameter value $bad"
		raw_call $M_JOB/SubmitBatch "$(pbhex "[(1, [(1, \"p\"), (2, \"t\")]), (2, [(1, $bad)])]")"
		expect_refused sweep.name SubmitBatchRequest "sweep name $bad"
		raw_call $M_QUEUE/Fetch "$(pbhex "[(1, \"p\"), (2, $bad)]")"
		expect_refused worker FetchRequest "fetch worker $bad"
		raw_call $M_QUEUE/Complete "$(pbhex "[(1, 1), (2, 1), (3, \"w1\"), (4, 1), (7, $bad)]")"
		expect_refused output_tail CompleteRequest "complete output $bad"
		raw_call $M_QUEUE/CompleteBatch "$(pbhex "[(1, [(1, 1), (2, 1), (3, \"w1\"), (6, $bad)])]")"
		expect_refused results.reason CompleteBatchRequest "complete batch reason $bad"
		raw_call $M_WORKER/Join "$(pbhex "[(1, [(1, \"w2\"), (4, [(4, [(1, \"site\"), (2, $bad)])])])]")"
		expect_refused worker.capacity.labels.value JoinRequest "worker label $bad"
		raw_call /whatsnext.v1.AdminService/Backup "$(pbhex "[(1, $bad)]")"
		expect_refused dir BackupRequest "backup dir $bad"
	done
	expect_serving
	expect_eq "$(state)" "$before" "state after bad strings"
	# the name cut at its NUL was not created
	expect_exit 4 wnctl project show ok
}

test_strings_in_the_envelope_are_checked() {
	setup_state
	local before bad body
	before=$(state)
	body=$(pbhex '[(1, "q")]')
	for bad in "${BAD[@]}"; do
		# Request{id 5, method, body}: the method holds the bad string
		raw_send --hex "$(pbhex "[(1, 5), (2, b\"$M_PROJECT/Create\" + $bad), (3, bytes.fromhex(\"$body\"))]")"
		expect_refused method Request "method $bad"
		expect_eq "$(sed -n 's/^id=\([0-9]*\) .*/\1/p' <<<"$RAW_OUT")" 5 "id of the reply to $bad"
		# a valid method, the token holding it
		raw_send --hex "$(pbhex "[(1, 6), (2, \"$M_PROJECT/Create\"), (3, bytes.fromhex(\"$body\")), (4, $bad)]")"
		expect_refused token Request "token $bad"
	done
	expect_serving
	expect_eq "$(state)" "$before" "state after bad envelopes"
}

# Strings that are valid UTF-8 are taken whole, whatever their script.
test_valid_utf8_strings_are_kept_whole() {
	setup_state
	local desc='café 日本 🎉 ￿ end'
	raw_call $M_PROJECT/Create "$(pbhex '[(1, "q"), (2, A[0])]' "$desc")"
	expect_raw OK "project with a multi-byte description"
	expect_eq "$(wnctl --json project show q | jq -r .description)" "$desc" "description"
	raw_call $M_JOB/Submit "$(pbhex '[(1, [(1, "p"), (2, "t"), (4, [(1, "k"), (2, A[0])])])]' "$desc")"
	expect_raw OK "job with a multi-byte parameter"
	local id
	id=$(all_job_ids | tail -n 1)
	expect_eq "$(job_field "$id" .params.k)" "$desc" "parameter value"
}

# A label value (of a task's resources, of a worker's capacity) holding a
# line break or another control character was stored, and shown escaped
# ever after; it is refused as INVALID_ARGUMENT naming the label, as a
# label name that is no name is, and nothing changes. Labels stored before
# are still loaded and shown as they are.
test_labels_with_control_characters_are_refused() {
	setup_state
	wnctl task create p gpu --label zone=eu-west >/dev/null
	local before bad
	before=$(state)
	for bad in $'eu\nwest' $'eu\rwest' $'eu\twest' $'eu\x1bwest' $'eu\x7fwest' $'eu\xc2\x85west'; do
		expect_exit 7 wnctl task create p t2 --label "zone=$bad"
		expect_contains "$WN_ERR" "label zone: value \"eu\\" "task create with $(printf %q "$bad")"
		expect_contains "$WN_ERR" "\" holds a control character" "task create with $(printf %q "$bad")"
		expect_exit 7 wnctl task update p gpu --label "zone=$bad"
		expect_contains "$WN_ERR" "label zone: value" "task update with $(printf %q "$bad")"
	done
	expect_exit 7 wnctl task create p t2 --label $'zo\nne=eu'
	expect_contains "$WN_ERR" 'invalid label name "zo\x0ane"' "a label name with a line break"
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w2"), (4, [(4, [(1, "site"), (2, b"a\nb")])])])]')"
	expect_raw INVALID_ARGUMENT "worker label with a line break"
	expect_eq "$(raw_message)" 'label site: value "a\x0ab" holds a control character (a line break, a tab, ...): a label value is one line of text' "message"
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w2"), (4, [(4, [(1, b"si\tte"), (2, "a")])])])]')"
	expect_raw INVALID_ARGUMENT "worker label name with a tab"
	expect_serving
	expect_eq "$(state)" "$before" "state after labels with control characters"
	# other characters, spaces and '=' among them, are kept
	wnctl task create p t3 --label 'zone=eu west=1' >/dev/null
	expect_eq "$(wnctl --json task show p t3 | jq -r .resources.labels.zone)" "eu west=1" "a label value with a space"

	# a task and a worker stored with such a label (as a wnd before this
	# one took them) are loaded and shown as they are
	wnctl task create p old --label zone=euXwest >/dev/null
	raw_call $M_WORKER/Join "$(pbhex '[(1, [(1, "w3"), (4, [(4, [(1, "site"), (2, "aXb")])])])]')"
	expect_raw OK "worker w3 joins"
	wn_stop
	local k hex
	for k in t/p/old w/w3; do
		hex=$("$WN_BIN/wnstore" "$WN_TMP/data" get "$k") || fail "no record $k"
		hex=${hex//65755877657374/65750a77657374} # euXwest
		hex=${hex//615862/610a62}                 # aXb
		"$WN_BIN/wnstore" "$WN_TMP/data" put "$k" "$hex"
	done
	wn_start
	expect_eq "$(wnctl --json task show p old | jq -r .resources.labels.zone)" $'eu\nwest' "the stored task's label"
	expect_eq "$(wnctl --json worker list | jq -r '.workers[] | select(.name == "w3") | .capacity.labels.site')" $'a\nb' "the stored worker's label"
}
