# The kill -9 crash loop (wncrash, tests/tools/wncrash.c; docs/testing.md):
# rounds of concurrent submitters and fetch/complete loops, wnd killed with
# SIGKILL at a random moment and started again on the same data; nothing
# acknowledged may be lost or undone.

# crash_counts FILE FIELD: the values of FIELD=N on the round lines of FILE.
crash_counts() {
	sed -n "s/^round [0-9]*:.* $2=\([0-9]*\).*/\1/p" "$1"
}

# test-tier: long
test_kill9_rounds_lose_nothing() {
	local rc=0 rounds=6
	"$WN_BIN/wncrash" --data "$WN_TMP/crash" --wnd "$WN_BIN/wnd" --rounds "$rounds" --seed 1 \
		>crash.out 2>crash.err || rc=$?
	cat crash.out
	[ "$rc" -eq 0 ] || fail "wncrash exited $rc: $(grep '^violation' crash.out | head -n 5) $(<crash.err)"
	expect_eq "$(grep -c '^round ' crash.out)" "$rounds" "rounds run"
	expect_contains "$(tail -n 1 crash.out)" "total: rounds=$rounds " "total line"
	expect_contains "$(tail -n 1 crash.out)" " violations=0" "total line"
	# A crash test that does nothing must fail: every round acknowledged
	# submits, claims and completions, and checked the jobs after its restart.
	local field n
	for field in submits completions claims checked; do
		expect_eq "$(crash_counts crash.out "$field" | wc -l)" "$rounds" "rounds with $field counted"
		for n in $(crash_counts crash.out "$field"); do
			[ "$n" -gt 0 ] || fail "a round with $field=0: $(<crash.out)"
		done
	done
}

# The check can fail: against a server that loses the newer half of its
# write-ahead log at every start, the loop finds acknowledged work gone.
test_kill9_rounds_detect_lost_writes() {
	cat >lossy-wnd <<EOF
#!/usr/bin/env bash
data=
for ((i = 1; i < \$#; i++)); do
	[ "\${!i}" = --data ] && j=\$((i + 1)) && data=\${!j}
done
for wal in "\$data"/*.log; do
	[ -f "\$wal" ] && truncate -s \$((\$(stat -c %s "\$wal") / 2)) "\$wal"
done
exec "$WN_BIN/wnd" "\$@"
EOF
	chmod +x lossy-wnd
	expect_exit 1 "$WN_BIN/wncrash" --data "$WN_TMP/crash" --wnd "$WN_TMP/lossy-wnd" --rounds 3 \
		--seed 1
	expect_contains "$WN_OUT" "violation: job " "violations found"
	expect_contains "$(tail -n 1 <<<"$WN_OUT")" "total: rounds=1 " "the loop stops at the round"
}
