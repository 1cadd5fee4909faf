# The README's tour, run as written: every command of the sh blocks of its
# "A short tour" section, in order, against a private wnd (its address in
# WN_SERVER, the one thing the tour leaves to the reader); each must exit 0,
# or the code its comment names ("exit 9"); `sweep results` must print the
# table the README shows under it.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# tour_lines: the command lines of the tour's sh blocks.
tour_lines() {
	awk '/^## / { on = ($0 == "## A short tour") }
		on && /^```/ { sh = !sh && $0 == "```sh"; next }
		on && sh && NF' "$REPO/README.md"
}

# tour_table: the lines of the block that follows the one with the sweep results command.
tour_table() {
	awk '/^## / { on = ($0 == "## A short tour") }
		on && /wnctl sweep results/ { seen = 1 }
		seen && /^```/ { if (++fence == 3) exit; next }
		fence == 2' "$REPO/README.md"
}

# tour_run LINE: run one line of the tour as its reader would.
tour_run() {
	local line=$1 want=0 rc=0 code
	[[ $line =~ \#.*exit\ ([0-9]+) ]] && want=${BASH_REMATCH[1]}
	code=${line%%#*}
	code=${code%"${code##*[![:space:]]}"}
	case $code in
	make*) return 0 ;; # the programs are built already: WN_BIN
	"export PATH="*)
		export PATH=$WN_BIN:$PATH
		return 0
		;;
	*"&&") ;;
	"wnd "*"&")
		eval "${code%&} --listen \"\$WN_SERVER\" </dev/null >>wnd.log 2>&1 &"
		WND_PID=$!
		WN_PIDS+=("$WND_PID")
		wn_wait_ready
		return 0
		;;
	*"&")
		eval "${code%&} </dev/null >>background.log 2>&1 &"
		WN_PIDS+=("$!")
		return 0
		;;
	esac
	eval "$code" </dev/null >out 2>err || rc=$?
	[ "$rc" = "$want" ] || fail "README: '$line' exited $rc, not $want: $(<err)"
	cat out >>tour.out
}

test_readme_tour() {
	export WN_SERVER=ipc://$WN_TMP/wnd.sock
	ln -s "$REPO/examples" examples
	local line n=0
	while IFS= read -r line; do
		tour_run "$line"
		n=$((n + 1))
		case $line in
		*"sweep results"*) expect_eq "$(<out)" "$(tour_table)" "the README's sweep results" ;;
		*"job deps"*) expect_contains "$(<out)" "afterany 2 lr0.05: " "the README's job deps" ;;
		esac
	done < <(tour_lines)
	((n > 20)) || fail "the README's tour has $n command lines"
	expect_eq "$(wnctl --json job show 1 | jq -r .status)" completed "job 1 after the tour"
}
