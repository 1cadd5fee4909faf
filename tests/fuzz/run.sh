#!/usr/bin/env bash
# Runs each libFuzzer target given for FUZZ_SECONDS (default 20) on a copy of
# its checked-in corpus, tests/fuzz/corpus/<target>/ (the corpus itself is
# never modified; a target without one starts from nothing). Fails when any
# target crashes, leaks, hangs or trips a sanitizer; the input that did it is
# kept in FUZZ_ARTIFACTS (default build/fuzz/artifacts) and its log's end is
# printed. Usage (from make fuzz-run): bash tests/fuzz/run.sh build/fuzz/fuzz_*
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-20}
artifacts=${FUZZ_ARTIFACTS:-build/fuzz/artifacts}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_SECONDS must be a positive number" >&2; exit 2; }
[ "$#" -gt 0 ] || { echo "usage: tests/fuzz/run.sh FUZZ_TARGET..." >&2; exit 2; }
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)
# undefined behaviour stops the run like a crash does
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=()
for bin in "$@"; do
	name=$(basename "$bin")
	bin=$(cd "$(dirname "$bin")" && pwd)/$name
	work=$(mktemp -d /tmp/wn-fuzz-run.XXXXXX)
	mkdir "$work/corpus"
	seeds=0
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$work/corpus/"
		seeds=$(find "$here/corpus/$name" -type f | wc -l)
	fi
	rc=0
	(cd "$work" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$artifacts/$name-" corpus) >"$work/log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	[ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$work/log" | tail -n 1 | tr -d '#')
	if [ "$rc" -eq 0 ]; then
		echo "ok   $name: ${runs:-?} runs in ${seconds}s from $seeds seeds"
	else
		echo "FAIL $name: exit $rc after ${runs:-?} runs (inputs in $artifacts)"
		grep -v '^#[0-9]' "$work/log" | tail -n 40 | sed 's/^/    /'
		failed+=("$name")
	fi
	rm -rf "$work"
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzzing failed: ${failed[*]}"
	exit 1
fi
