#!/usr/bin/env bash
# Test runner: every unit test binary, then every integration test function.
# Usage: tests/run.sh [--unit|--integration] [PATTERN]
# Needs WN_BIN (directory of wnd, wnctl, wnworker) and WN_UNIT (unit test binaries).
# Closing line: "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
only=all
case "${1:-}" in
--unit) only=unit; shift ;;
--integration) only=integration; shift ;;
esac
pattern=${1:-}
passed=0
failed=0
failures=()
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnctl}"
export WN_BIN

if [ "$only" != integration ] && [ -n "${WN_UNIT:-}" ]; then
	for t in "$WN_UNIT"/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
		tmp=$(mktemp -d /tmp/wn-unit.XXXXXX)
		out=$(cd "$tmp" && timeout 300 "$t" 2>&1)
		rc=$?
		rm -rf "$tmp"
		p=$(grep -c '^ok ' <<<"$out")
		f=$(grep -c '^not ok ' <<<"$out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			out+=$'\n'"not ok - $name exited with status $rc"
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -gt 0 ]; then
			echo "$out" | grep -v '^ok ' | sed "s/^/[$name] /"
			failures+=("$name")
		fi
		echo "unit $name: $p passed, $f failed"
	done
fi

if [ "$only" != unit ]; then
	for file in "$here"/integration/*.sh; do
		[ "$(basename "$file")" = lib.sh ] && continue
		for fn in $(grep -oE '^test_[A-Za-z0-9_]+' "$file"); do
			[ -n "$pattern" ] && [[ $fn != *$pattern* ]] && [[ $file != *$pattern* ]] && continue
			tmp=$(mktemp -d /tmp/wn-it.XXXXXX)
			start=$(date +%s)
			out=$(cd "$tmp" && WN_TMP=$tmp timeout -k 5 "${WN_TEST_TIMEOUT:-180}" bash -c '
				set -euo pipefail
				source "$1"; source "$2"
				trap wn_cleanup EXIT
				"$3"' _ "$here/integration/lib.sh" "$file" "$fn" 2>&1)
			rc=$?
			secs=$(($(date +%s) - start))
			pkill -9 -f "$tmp" >/dev/null 2>&1 || true
			if [ "$rc" -eq 0 ]; then
				passed=$((passed + 1))
				echo "ok   $(basename "$file" .sh)/$fn (${secs}s)"
				rm -rf "$tmp"
			else
				failed=$((failed + 1))
				failures+=("$fn")
				[ "$rc" -eq 124 ] && out+=$'\n'"timed out"
				echo "FAIL $(basename "$file" .sh)/$fn (${secs}s, status $rc; files kept in $tmp)"
				echo "$out" | tail -n 40 | sed 's/^/    /'
			fi
		done
	done
fi

if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
