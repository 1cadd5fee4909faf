# wnctl for daily use: confirmation of destructive commands, "did you mean",
# grid ranges, --format, plurals, what goes to stdout and stderr.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# on_tty ANSWER CMD...: run CMD with a terminal as its stdin, ANSWER typed on
# it (nothing typed but end-of-file when ANSWER is empty); stdout and stderr
# as they are.
on_tty() {
	python3 - "$@" <<'PY'
import os, subprocess, sys
answer, cmd = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
os.write(master, answer.encode() + b"\n" if answer else b"\x04")
rc = subprocess.run(cmd, stdin=slave).returncode
sys.exit(rc)
PY
}

test_ctl_confirm() {
	wn_start
	wnctl project create p1 >/dev/null
	wnctl task create p1 t >/dev/null
	wnctl job add p1 t >/dev/null

	# On a terminal: asked; anything but y/yes changes nothing (exit 1).
	local a
	for a in n no "" "yes please"; do
		expect_exit 1 on_tty "$a" "$WN_BIN/wnctl" project delete p1
		expect_contains "$WN_ERR" "delete project p1 with all its tasks and jobs? [y/N]" "prompt"
		expect_contains "$WN_ERR" "wnctl: not confirmed: nothing changed" "refusal"
		expect_eq "$WN_OUT" "" "stdout when refused"
	done
	expect_exit 1 on_tty n "$WN_BIN/wnctl" queue clear p1
	expect_contains "$WN_ERR" "remove every pending job of project p1? [y/N]"
	expect_exit 1 on_tty n "$WN_BIN/wnctl" queue clear p1 --task t
	expect_contains "$WN_ERR" "remove the pending jobs of task p1/t? [y/N]"
	expect_exit 1 on_tty n "$WN_BIN/wnctl" task delete p1 t
	expect_contains "$WN_ERR" "delete task p1/t with all its jobs? [y/N]"
	expect_exit 0 wnctl job show 1

	# y (or yes) goes ahead; --yes and -y ask nothing.
	expect_exit 0 on_tty Y "$WN_BIN/wnctl" queue clear p1 --task t
	expect_contains "$WN_OUT" "removed 1 pending job"
	wnctl job add p1 t >/dev/null
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" queue clear p1 --yes
	expect_not_contains "$WN_ERR" "[y/N]" "--yes"
	wnctl job add p1 t >/dev/null
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" queue clear -y p1
	expect_exit 0 on_tty "" "$WN_BIN/wnctl" task delete --yes p1 t
	expect_exit 0 on_tty yes "$WN_BIN/wnctl" project delete p1
	expect_contains "$WN_OUT" "deleted project p1"

	# Not a terminal (a script, a pipe): no question, as before.
	wnctl project create p2 >/dev/null
	expect_exit 0 wnctl project delete p2 </dev/null
	expect_eq "$WN_ERR" "" "stderr off a terminal"
	# --yes belongs to the commands that ask.
	expect_exit 2 wnctl project list --yes
}
