# wnctl prints the server's strings without raw terminal controls: a job
# whose output clears the screen and writes the clipboard (OSC 52), and whose
# parameter holds a C1 CSI and a title change, shows them as visible escapes
# in job show, job list and error messages; --json keeps them exact.
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"

# no_controls FILE WHAT: fail if FILE holds ESC, BEL, a C1 control (UTF-8
# U+0080..U+009F) or any other C0 control but line breaks and tabs.
no_controls() {
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$1"; then
		fail "$2 holds raw terminal controls: $(od -c "$1" | head -n 5)"
	fi
}

test_job_show_escapes_terminal_controls() {
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	{
		worker_head
		cat <<'EOF'
tasks:
  t:
    command: [printf, '\033[2J\033[Hcleared \033]52;c;cHduZWQ=\007 done\n']
EOF
	} >w.yaml
	local v=$'title \e]0;pwned\a csi \xc2\x9b31m end\tx'
	local id
	id=$(wnctl job add p t --param "v=$v")
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 20
	wnctl job show "$id" >show.txt
	no_controls show.txt "job show"
	expect_contains "$(<show.txt)" 'cleared \x1b]52;c;cHduZWQ=\x07 done'
	expect_contains "$(<show.txt)" '\x1b[2J\x1b[H'
	expect_contains "$(<show.txt)" 'v=title \x1b]0;pwned\x07 csi \u009b31m end\x09x'
	wnctl job list --project p --all >list.txt
	no_controls list.txt "job list"
	# --json is exact JSON: the bytes come back as they were
	local json
	json=$(wnctl --json job show "$id")
	expect_eq "$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["params"]["v"] == sys.argv[2])' "$json" "$v")" True "the parameter in JSON"
	expect_eq "$(jget "$json" "'\x1b]52;c;cHduZWQ=\x07' in j['output_tail']")" True "the output in JSON"
	# a message from the server (stderr) is escaped too
	wnctl job add p $'t\e[2J' 2>err.txt >/dev/null || true
	[ -s err.txt ] || fail "no error message"
	no_controls err.txt "an error message"
}
