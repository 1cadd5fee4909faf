#!/usr/bin/env bash
# symbol-check: lists the exported functions (global, defined: nm's T) of the
# built libraries and wnctl's objects whose names lack the wn_ prefix
# (docs/architecture.md, "Conventions"), then a count per library. Exits 1 if
# any is found, 2 if something is not built. The protobuf-c code generated from
# the .proto and each program's main are not ours to name: they are left out.
#   scripts/symbol-check.sh        after make all (BUILD=build/san for sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
declare -A sets=(
	[libwncommon.a]="$BUILD/libwncommon.a"
	[libwnserver.a]="$BUILD/libwnserver.a"
	[libwnworker.a]="$BUILD/libwnworker.a"
	[wnctl]="$(ls "$BUILD"/obj/src/ctl/*.o 2>/dev/null | tr '\n' ' ')"
)
total=0
summary=()
for name in libwncommon.a libwnserver.a libwnworker.a wnctl; do
	files=${sets[$name]}
	for f in $files; do
		[ -f "$f" ] || { echo "symbol-check: $f is not built (make all)" >&2; exit 2; }
	done
	[ -n "$files" ] || { echo "symbol-check: no objects for $name (make all)" >&2; exit 2; }
	# nm -A: "file:sym" or "archive[member]:sym" before the address
	# shellcheck disable=SC2086
	bad=$(nm -A --defined-only -g $files |
		awk '$(NF-1) == "T" { where = $1; sub(/:[^:]*$/, "", where); sym = $NF
		                      if (where ~ /whatsnext\.pb-c\.o/) next
		                      if (sym == "main") next
		                      if (sym !~ /^wn_/) print where ": " sym }' | sort -u)
	n=0
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad"
		n=$(printf '%s\n' "$bad" | wc -l)
	fi
	summary+=("$name $n")
	total=$((total + n))
done
for s in "${summary[@]}"; do
	echo "$s without the wn_ prefix" | sed 's/^\([^ ]*\) \([0-9]*\)/\1: \2/'
done
[ "$total" -eq 0 ] || { echo "$total exported functions lack the wn_ prefix"; exit 1; }
