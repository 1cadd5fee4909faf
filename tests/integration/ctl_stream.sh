# wnctl's text tables go out page by page: `job list --all` and `sweep results`
# print the rows of a page as soon as it comes, before the next is asked for.
source "${BASH_SOURCE[0]%/*}/lib.sh"

# stream_until_full FIFO: read nothing from FIFO until its pipe is full (the
# writer waits), then kill wnd ($WND_PID), then print all FIFO holds to its end.
stream_until_full() {
	python3 - "$1" "$WND_PID" <<'PY'
import fcntl, os, signal, sys, termios, time, array
fd = os.open(sys.argv[1], os.O_RDONLY)
size = fcntl.fcntl(fd, 1032)  # F_GETPIPE_SZ
buf = array.array("i", [0])
while True:
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    if buf[0] >= size:
        break
    time.sleep(0.05)
os.kill(int(sys.argv[2]), signal.SIGKILL)
out = b""
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
PY
}

# stream_run FIFO CMD...: run CMD with its stdout to FIFO, read it with
# stream_until_full into out.txt; CMD's exit status goes to rc.txt.
stream_run() {
	local fifo=$1 rc=0
	shift
	mkfifo "$fifo"
	("$@" >"$fifo" 2>err.txt || echo $? >rc.txt) &
	local pid=$!
	stream_until_full "$fifo" >out.txt
	wait "$pid" || rc=$?
	wait "$WND_PID" 2>/dev/null || true
	# reaped: its pid is no longer ours to end at exit
	local p kept=()
	for p in "${WN_PIDS[@]}"; do [ "$p" = "$WND_PID" ] || kept+=("$p"); done
	WN_PIDS=("${kept[@]:-}")
}

# A name that makes a page of 1000 rows larger than a pipe holds (64 KiB).
LONG=$(printf 'n%.0s' $(seq 1 100))

# The rows of the first page are printed while the rest is still to be
# fetched: a server gone after it leaves them on stdout, and an error.
test_ctl_job_list_all_prints_page_by_page() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid x=1..2000 --name "$LONG{x}" >/dev/null
	stream_run list.fifo "$WN_BIN/wnctl" --timeout 2000 job list --all --limit 1000
	expect_eq "$(head -n 1 out.txt | tr -s ' ')" "ID PROJECT TASK NAME PRIO STATUS ATTEMPT EXIT WORKER" "header"
	expect_eq "$(wc -l <out.txt)" 1001 "lines printed: the first page and its header"
	expect_eq "$(tail -n 1 out.txt | awk '{print $1, $4}')" "1000 ${LONG}1000" "last row"
	expect_eq "$(<rc.txt)" 3 "exit status once the server is gone"
	expect_contains "$(<err.txt)" "wnctl: "
}

test_ctl_sweep_results_prints_page_by_page() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	wnctl job sweep p t --grid x=1..2000 --name "$LONG{x}" >/dev/null
	stream_run res.fifo "$WN_BIN/wnctl" --timeout 2000 sweep results 1
	expect_eq "$(head -n 1 out.txt | tr -s ' ')" "ID NAME x STATUS" "header"
	expect_eq "$(wc -l <out.txt)" 1001 "lines printed: the first page and its header"
	expect_eq "$(tail -n 1 out.txt | tr -s ' ')" "1000 ${LONG}1000 1000 pending" "last row"
	expect_eq "$(<rc.txt)" 3 "exit status once the server is gone"
}

# Columns are as wide as the first page needs; a later page widens a column
# only from the row that holds a wider value. One page prints as before.
test_ctl_job_list_columns_widen_as_pages_come() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	local n
	for n in a b a-longer-name c; do wnctl job add p t --name "$n" >/dev/null; done
	expect_exit 0 wnctl job list --all --limit 2 --format id,name,prio
	expect_eq "$WN_OUT" "$(printf '%s\n' 'ID  NAME  PRIO' '1   a        0' '2   b        0' \
		'3   a-longer-name     0' '4   c                 0')"
	expect_exit 0 wnctl job list --format id,name,prio
	expect_eq "$WN_OUT" "$(printf '%s\n' 'ID  NAME           PRIO' '1   a                 0' \
		'2   b                 0' '3   a-longer-name     0' '4   c                 0')"
}

# A page of sweep results that brings a column the table lacks starts a new
# table, after a blank line, headed with every column so far.
test_ctl_sweep_results_new_column_starts_a_new_table() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		echo "list:"
		seq 1 1000 | sed 's/.*/  - {x: &}/'
		echo "  - {x: 1001, y: 7}"
	} | wnctl job sweep p t --file - --name 'j{x}' >/dev/null
	expect_exit 0 wnctl sweep results 1
	expect_eq "$(sed -n '1p;1000,1001p' <<<"$WN_OUT" | tr -s ' ')" \
		"$(printf '%s\n' 'ID NAME x STATUS' '999 j999 999 pending' '1000 j1000 1000 pending')"
	expect_eq "$(sed -n '1002,$p' <<<"$WN_OUT" | tr -s ' ')" \
		"$(printf '%s\n' '' 'ID NAME x y STATUS' '1001 j1001 1001 7 pending')"
	# as CSV the whole sweep is one table, as before
	expect_exit 0 wnctl sweep results 1 --format csv
	expect_eq "$(sed -n '1p;$p' <<<"$WN_OUT" | tr -d '\r')" "$(printf '%s\n' 'id,name,x,y,status' '1001,j1001,1001,7,pending')"
}
