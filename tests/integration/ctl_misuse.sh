# wnctl used as an unlucky user would: short of memory, asked for help as JSON,
# its output cut short or going nowhere, given bad settings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Out of memory, wnctl says so on one line that names it, as its other errors
# do, and stops: its stderr escapes controls through a stream that allocates,
# where the message went before, and it crashed writing it.
test_ctl_out_of_memory_is_said_with_the_program_name() {
	truncate -s 40M big.json # 40 MiB of zeros, none of it on the disk
	# a build with sanitizers reserves more address space than any limit here
	(ulimit -v 30000 && "$WN_BIN/wnctl" --version) >/dev/null 2>&1 || return 0
	local rc=0
	(ulimit -v 30000 && exec "$WN_BIN/wnctl" --server "ipc://$WN_TMP/nobody.sock" \
		job batch big.json) >out 2>err || rc=$?
	expect_eq "$rc" 134 "exit status (abort)"
	expect_eq "$(head -1 err)" "wnctl: out of memory allocating 33554432 bytes" "stderr"
	expect_eq "$(wc -c <out)" 0 "stdout"
	# far into a batch file, where a message written through the escaping
	# stream needs memory too: at whatever point memory runs out
	python3 -c '
import json
line = json.dumps({"project": "p", "task": "t", "params": {"k": "v" * 1000}})
print("\n".join([line] * 20000))' >many.jsonl
	local kb
	for kb in $(seq 40000 1000 54000); do
		rc=0
		(ulimit -v "$kb" && exec "$WN_BIN/wnctl" --server "ipc://$WN_TMP/nobody.sock" \
			job batch many.jsonl) >out 2>err || rc=$?
		[ "$rc" != 134 ] || expect_contains "$(head -1 err)" "wnctl: out of memory allocating " \
			"stderr at $kb KiB"
		[[ $rc == @(2|3|134) ]] || fail "at $kb KiB: exit $rc: $(cat err)"
	done
}
