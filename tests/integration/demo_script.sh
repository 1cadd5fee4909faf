# scripts/demo.sh, the README's first command, run with the programs built
# already (WN_BIN): it runs to its end and takes away only what it made.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

test_demo_keeps_the_files_of_the_tour() {
	# a checkout where the README's tour ran first: its workers left their
	# checkpoints in wn-runs/ and their logs in wn-logs/
	mkdir -p root/scripts root/wn-runs root/wn-logs
	cp "$REPO/scripts/demo.sh" root/scripts/
	cp -r "$REPO/examples" root/examples
	echo mine >root/wn-runs/model-14.json
	echo mine >root/wn-logs/job-14.log
	local out rc=0
	out=$(WN_BIN=$WN_BIN bash root/scripts/demo.sh </dev/null 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "scripts/demo.sh: exit $rc: $(tail -n 20 <<<"$out")"
	expect_contains "$out" "done: every job above was stored"
	expect_contains "$out" "wn-runs/model-"
	expect_eq "$(cat root/wn-runs/model-14.json 2>&1)" mine "the tour's checkpoint after the demo"
	expect_eq "$(cat root/wn-logs/job-14.log 2>&1)" mine "the tour's log after the demo"
	expect_eq "$(ls root/wn-runs)" model-14.json "wn-runs/ after the demo"
}
